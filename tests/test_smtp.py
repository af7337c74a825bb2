"""reportgen.delivery.smtp against a real SMTP server process (tests/fixtures/smtp.py)."""
from __future__ import annotations

import email
import email.policy
import socket
from email.message import EmailMessage

import pytest
from pydantic import ValidationError

from reportgen.config.delivery import SmtpSettings
from reportgen.delivery.email import compose_message, make_address
from reportgen.delivery.smtp import Refusal, credentials_from_env, send_message
from reportgen.errors import DeliveryError
from tests.fixtures.smtp import TLS_PASSWORD, TLS_USER, CertificateFiles, SmtpServerHandle


class RecordingSleep:
    """Records the backoff delays instead of waiting them, so retry timing is asserted exactly."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


def settings_for(server: SmtpServerHandle, **overrides: object) -> SmtpSettings:
    values: dict[str, object] = {
        "host": server.host,
        "port": server.port,
        "security": "none",
        "from_address": "reports@example.com",
        "from_name": "Sales Ops",
        "timeout_seconds": 5,
        "retries": 3,
        "backoff_seconds": 0.25,
    }
    values.update(overrides)
    return SmtpSettings.model_validate(values)


def message_to(*addresses: str, subject: str = "Scorecard 2025-03") -> EmailMessage:
    msg = compose_message(
        sender=make_address("reports@example.com", "Sales Ops"),
        recipient=make_address(addresses[0]),
        subject=subject,
        html_body="<p>Revenue up 4%</p>",
        text_body="Revenue up 4%",
        inline_images={},
        attachments=[],
        message_id_domain="example.com",
    )
    del msg["To"]
    msg["To"] = [make_address(address) for address in addresses]
    return msg


def test_message_reaches_server_with_envelope_and_subject(smtp_server: SmtpServerHandle) -> None:
    msg = message_to("ana@example.com", "bo@example.com")

    result = send_message(msg, settings_for(smtp_server), username=None, password=None)

    assert (result.status, result.accepted, result.refused, result.attempts) == (
        "sent", ("ana@example.com", "bo@example.com"), (), 1,
    )
    assert result.message_id == msg["Message-ID"]
    [received] = smtp_server.messages()
    assert received.mail_from == "reports@example.com"
    assert received.rcpt_tos == ["ana@example.com", "bo@example.com"]
    parsed = email.message_from_bytes(received.data, policy=email.policy.default)
    assert parsed["Subject"] == "Scorecard 2025-03"
    assert parsed["Message-ID"] == msg["Message-ID"]


def test_temporary_failures_are_retried_with_doubling_backoff(smtp_server: SmtpServerHandle) -> None:
    smtp_server.configure(tempfail_first=2)
    sleep = RecordingSleep()

    result = send_message(
        message_to("ana@example.com"), settings_for(smtp_server), username=None, password=None, sleep=sleep
    )

    assert (result.status, result.attempts) == ("sent", 3)
    assert sleep.delays == [0.25, 0.5]
    assert len(smtp_server.messages()) == 1


def test_temporary_failures_give_up_after_the_configured_retries(smtp_server: SmtpServerHandle) -> None:
    smtp_server.configure(tempfail_first=100)
    sleep = RecordingSleep()

    result = send_message(
        message_to("ana@example.com"), settings_for(smtp_server, retries=2), username=None, password=None, sleep=sleep
    )

    assert (result.status, result.attempts, result.accepted) == ("failed", 3, ())
    assert result.error == "gave up after 3 attempts: MAIL FROM: 451 4.3.0 Temporary failure, try again later"
    assert sleep.delays == [0.25, 0.5]
    assert smtp_server.messages() == []


def test_permanent_refusal_fails_only_that_recipient(smtp_server: SmtpServerHandle) -> None:
    smtp_server.configure(reject=["bo@example.com"])

    result = send_message(
        message_to("ana@example.com", "bo@example.com", "cy@example.com"), settings_for(smtp_server),
        username=None, password=None, sleep=RecordingSleep(),
    )

    assert result.status == "partial"
    assert result.accepted == ("ana@example.com", "cy@example.com")
    assert result.refused == (Refusal("bo@example.com", 550, "5.1.1 <bo@example.com>: mailbox unavailable"),)
    [received] = smtp_server.messages()
    assert received.rcpt_tos == ["ana@example.com", "cy@example.com"]


def test_all_recipients_refused_sends_nothing(smtp_server: SmtpServerHandle) -> None:
    smtp_server.configure(reject=["ana@example.com"])

    result = send_message(message_to("ana@example.com"), settings_for(smtp_server), username=None, password=None)

    assert (result.status, result.accepted) == ("failed", ())
    assert result.error == "ana@example.com: 550 5.1.1 <ana@example.com>: mailbox unavailable"
    assert smtp_server.messages() == []


def test_connection_dropped_after_data_is_unknown_and_not_resent(smtp_server: SmtpServerHandle) -> None:
    smtp_server.configure(drop_after_data_first=1)
    sleep = RecordingSleep()

    result = send_message(
        message_to("ana@example.com"), settings_for(smtp_server), username=None, password=None, sleep=sleep
    )

    assert (result.status, result.attempts, sleep.delays) == ("unknown", 1, [])
    assert "may have been delivered, so it was not resent" in (result.error or "")
    assert len(smtp_server.messages()) == 1


def test_timeout_waiting_for_final_reply_is_unknown(smtp_server: SmtpServerHandle) -> None:
    smtp_server.configure(hang_after_data_nth=1)

    result = send_message(
        message_to("ana@example.com"), settings_for(smtp_server, timeout_seconds=0.5),
        username=None, password=None, sleep=RecordingSleep(),
    )

    assert result.status == "unknown"
    assert "timed out" in (result.error or "")
    assert len(smtp_server.messages()) == 1


def test_unreachable_server_is_retried_then_reported(unused_port: int) -> None:
    settings = SmtpSettings(
        host="127.0.0.1", port=unused_port, security="none", from_address="reports@example.com",
        retries=2, backoff_seconds=0.01,
    )
    sleep = RecordingSleep()

    with pytest.raises(DeliveryError, match=rf"^cannot reach SMTP server 127.0.0.1:{unused_port} after 3 attempts: "):
        send_message(message_to("ana@example.com"), settings, username=None, password=None, sleep=sleep)
    assert sleep.delays == [0.01, 0.02]


def test_oversized_message_is_refused_before_connecting(smtp_server: SmtpServerHandle) -> None:
    with pytest.raises(
        DeliveryError, match=r"^message is \d+ bytes, over the 100 bytes limit of smtp.max_message_bytes; "
    ):
        send_message(
            message_to("ana@example.com"),
            settings_for(smtp_server, max_message_bytes=100),
            username=None,
            password=None,
        )
    assert smtp_server.messages() == []


def test_starttls_demanded_but_not_offered_is_a_clear_error(smtp_server: SmtpServerHandle) -> None:
    with pytest.raises(DeliveryError, match="does not offer STARTTLS; set smtp.security to 'ssl'"):
        send_message(
            message_to("ana@example.com"), settings_for(smtp_server, security="starttls", host="localhost"),
            username=None, password=None,
        )


def test_starttls_rejects_unknown_certificate_without_ca_file(smtp_tls_server: SmtpServerHandle) -> None:
    settings = settings_for(smtp_tls_server, security="starttls", host="localhost")

    with pytest.raises(DeliveryError, match=r"TLS certificate of localhost:\d+ was not accepted .*point smtp.ca_file"):
        send_message(message_to("ana@example.com"), settings, username=None, password=None, sleep=RecordingSleep())
    assert smtp_tls_server.messages() == []


def test_starttls_with_ca_file_and_login_delivers(
    smtp_tls_server: SmtpServerHandle, smtp_certificate: CertificateFiles
) -> None:
    settings = settings_for(
        smtp_tls_server, security="starttls", host="localhost", ca_file=smtp_certificate.ca_file,
        username_env="SMTP_USER", password_env="SMTP_PASSWORD",
    )
    username, password = credentials_from_env(settings, {"SMTP_USER": TLS_USER, "SMTP_PASSWORD": TLS_PASSWORD})

    result = send_message(message_to("ana@example.com"), settings, username=username, password=password)

    assert result.status == "sent"
    assert [m.rcpt_tos for m in smtp_tls_server.messages()] == [["ana@example.com"]]


def test_wrong_password_is_a_clear_error(smtp_tls_server: SmtpServerHandle, smtp_certificate: CertificateFiles) -> None:
    settings = settings_for(smtp_tls_server, security="starttls", host="localhost", ca_file=smtp_certificate.ca_file)

    with pytest.raises(DeliveryError, match=r"^SMTP login as 'reports' was refused: 535 .*smtp.password_env$"):
        send_message(message_to("ana@example.com"), settings, username=TLS_USER, password="wrong")


def test_implicit_tls_verifies_against_ca_file(
    smtps_server: SmtpServerHandle, smtp_certificate: CertificateFiles
) -> None:
    with pytest.raises(DeliveryError, match="was not accepted"):
        send_message(
            message_to("ana@example.com"), settings_for(smtps_server, security="ssl", host="localhost"),
            username=None, password=None, sleep=RecordingSleep(),
        )

    settings = settings_for(smtps_server, security="ssl", host="localhost", ca_file=smtp_certificate.ca_file)
    result = send_message(message_to("ana@example.com"), settings, username=None, password=None)

    assert result.status == "sent"
    assert len(smtps_server.messages()) == 1


def test_credentials_from_env_names_the_missing_variable() -> None:
    settings = SmtpSettings(
        host="smtp.example.com", from_address="reports@example.com", username_env="SMTP_USER", password_env="SMTP_PW"
    )

    assert credentials_from_env(settings, {"SMTP_USER": "u", "SMTP_PW": "p"}) == ("u", "p")
    with pytest.raises(DeliveryError, match=r"^environment variable SMTP_PW \(named by smtp.password_env\) is not set"):
        credentials_from_env(settings, {"SMTP_USER": "u"})
    no_login = SmtpSettings(host="smtp.example.com", from_address="reports@example.com")
    assert credentials_from_env(no_login, {}) == (None, None)


def test_settings_refuse_a_password_in_yaml() -> None:
    with pytest.raises(ValidationError, match="smtp.password is not allowed: .*set password_env to the NAME"):
        SmtpSettings.model_validate(
            {"host": "smtp.example.com", "from_address": "r@example.com", "password": "hunter2"}
        )


def test_settings_allow_plain_text_only_for_localhost() -> None:
    with pytest.raises(ValidationError, match="security 'none' .* found host 'smtp.example.com'"):
        SmtpSettings(host="smtp.example.com", security="none", from_address="r@example.com")
    assert SmtpSettings(host="localhost", port=25, security="none", from_address="r@example.com").security == "none"


def test_settings_defaults_and_descriptions() -> None:
    settings = SmtpSettings(host="smtp.example.com", from_address="r@example.com")

    assert (settings.timeout_seconds, settings.verify_certificates, settings.retries, settings.backoff_seconds) == (
        30, True, 3, 2.0,
    )
    assert settings.max_message_bytes == 10 * 1024 * 1024
    assert all(field.description for field in SmtpSettings.model_fields.values())


@pytest.fixture
def unused_port() -> int:
    """A port nothing listens on (bound, read, released), so connecting is refused for real."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
