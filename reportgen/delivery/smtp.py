"""Send one message over SMTP, retrying only when a retry cannot produce a duplicate.

When is it safe to try again?

* Before the message content is transmitted (connect, TLS, MAIL, RCPT, the ``DATA`` command and
  its ``354`` go-ahead): the server has nothing to deliver yet, so a connection refused, a dropped
  connection or a 4xx reply is retried with exponential backoff (``backoff_seconds``, doubled each
  time, ``retries`` times).
* After the content has started to go out and before the server's final reply arrives: the
  server may already have queued it. A dropped connection or timeout here is reported as status
  ``"unknown"`` and never resent; the ledger keeps it for a human to check.
* A definite final reply: 2xx is sent; 4xx is retried (the server said it did not take it); 5xx
  is failed.

Each recipient is sent its own RCPT command, so a 5xx for one address fails only that address;
the others still get the message.
"""
from __future__ import annotations

import copy
import smtplib
import socket
import ssl
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import getaddresses
from typing import Literal

from reportgen.config.delivery import SmtpSettings
from reportgen.delivery.email import check_size
from reportgen.errors import DeliveryError

SendStatus = Literal["sent", "partial", "failed", "unknown"]


@dataclass(frozen=True)
class Refusal:
    """A recipient the server would not take, with its reply so the log says why."""

    address: str
    code: int
    reply: str


@dataclass(frozen=True)
class SendResult:
    """What happened to one message.

    ``sent``: every recipient accepted. ``partial``: some accepted, the rest are in ``refused``.
    ``failed``: nobody accepted (see ``error``). ``unknown``: the connection was lost while the
    content was being transmitted; the message may or may not have been queued; do not resend.
    """

    status: SendStatus
    message_id: str
    accepted: tuple[str, ...] = ()
    refused: tuple[Refusal, ...] = ()
    attempts: int = 1
    error: str | None = None


@dataclass(frozen=True)
class _Temporary(Exception):
    """Nothing was delivered and trying again may work."""

    reason: str


class _Unreachable(Exception):
    """The server could not be connected to at all (refused, DNS, timeout on connect)."""


@dataclass
class _Attempt:
    accepted: list[str] = field(default_factory=list)
    refused: list[Refusal] = field(default_factory=list)


def credentials_from_env(settings: SmtpSettings, environ: Mapping[str, str]) -> tuple[str | None, str | None]:
    """Read the SMTP user name and password from the variables the config names; ``(None, None)`` if none."""
    return _read_env(settings.username_env, "username_env", environ), _read_env(
        settings.password_env, "password_env", environ
    )


def send_message(
    msg: EmailMessage,
    settings: SmtpSettings,
    *,
    password: str | None,
    username: str | None,
    sleep: Callable[[float], None] = time.sleep,
    before_content: Callable[[], None] | None = None,
) -> SendResult:
    """Send ``msg`` to the addresses in its To/Cc/Bcc headers from ``settings.from_address``.

    Raises ``DeliveryError`` for problems no retry can fix (message over ``max_message_bytes``,
    TLS certificate, login refused, server unreachable after all retries); returns a :class:`SendResult` otherwise.
    ``before_content`` is called after the server's 354 and before the first byte of content (the
    ledger records there that a crash from now on leaves the outcome unknown); what it raises stops
    the send with nothing transmitted.
    """
    recipients = _envelope_recipients(msg)
    if not recipients:
        raise DeliveryError("message has no recipients in To, Cc or Bcc")
    check_size(msg, settings.max_message_bytes)  # refuse before connecting, never send a stripped copy
    message_id = str(msg.get("Message-ID", ""))
    content = _wire_bytes(msg)
    attempts = 0
    while True:
        attempts += 1
        try:
            outcome = _send_once(content, recipients, settings, username=username, password=password,
                                 before_content=before_content)
        except _Temporary as temporary:
            if attempts > settings.retries:
                return SendResult(
                    "failed", message_id, attempts=attempts,
                    error=f"gave up after {attempts} attempts: {temporary.reason}",
                )
            sleep(settings.backoff_seconds * 2 ** (attempts - 1))
            continue
        except _Unreachable as unreachable:
            if attempts > settings.retries:
                raise DeliveryError(
                    f"cannot reach SMTP server {settings.host}:{settings.port} after {attempts} attempts: {unreachable}"
                ) from None
            sleep(settings.backoff_seconds * 2 ** (attempts - 1))
            continue
        return _result(outcome, message_id, attempts)


@dataclass(frozen=True)
class _Outcome:
    status: SendStatus
    accepted: tuple[str, ...]
    refused: tuple[Refusal, ...]
    error: str | None = None


def _result(outcome: _Outcome, message_id: str, attempts: int) -> SendResult:
    return SendResult(
        outcome.status, message_id, accepted=outcome.accepted, refused=outcome.refused,
        attempts=attempts, error=outcome.error,
    )


def _send_once(
    content: bytes, recipients: list[str], settings: SmtpSettings, *, username: str | None, password: str | None,
    before_content: Callable[[], None] | None = None,
) -> _Outcome:
    """One SMTP session. Raises ``_Temporary``/``_Unreachable`` only while a retry cannot duplicate."""
    server = _connect(settings)
    try:
        _greet(server, settings, username=username, password=password)
        attempt = _envelope(server, settings.from_address, recipients)
        if not attempt.accepted:
            return _Outcome("failed", (), tuple(attempt.refused), error=_refusal_summary(attempt.refused))
        code, reply = server.docmd("DATA")
        _raise_if_temporary(code, reply, "DATA")
        if code != 354:  # a 250 here is as wrong as a 554: the server never asked for the content
            return _Outcome("failed", (), tuple(attempt.refused) + _refuse_all(attempt.accepted, code, reply),
                            error=f"server answered DATA with {code} {_text(reply)!r} instead of 354 (go ahead); "
                            f"the message was not transmitted")
        if before_content is not None:
            try:
                before_content()
            except BaseException:
                server.close()  # not QUIT: after 354 the server would read it as message content
                raise
        # From here on the server may queue the message: a lost connection is "unknown", never retried.
        try:
            server.send(_dot_stuffed(content) + b".\r\n")
            code, reply = server.getreply()
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            return _Outcome(
                "unknown", (), tuple(attempt.refused),
                error=f"connection lost after the message was transmitted ({_describe(exc)}); "
                f"it may have been delivered, so it was not resent",
            )
        _raise_if_temporary(code, reply, "end of data")
        if code // 100 != 2:
            return _Outcome(
                "failed", (), tuple(attempt.refused) + _refuse_all(attempt.accepted, code, reply),
                error=f"server rejected the message after its content: {code} {_text(reply)!r}",
            )
        status: SendStatus = "partial" if attempt.refused else "sent"
        error = _refusal_summary(attempt.refused) if attempt.refused else None
        return _Outcome(status, tuple(attempt.accepted), tuple(attempt.refused), error=error)
    except (smtplib.SMTPServerDisconnected, smtplib.SMTPConnectError, OSError) as exc:
        # smtplib's exceptions are OSErrors too; a permanent (5xx) reply is not worth retrying.
        if isinstance(exc, smtplib.SMTPResponseException) and exc.smtp_code >= 500:
            raise DeliveryError(
                f"SMTP server {settings.host}:{settings.port} refused the session: "
                f"{exc.smtp_code} {_text(exc.smtp_error)}"
            ) from None
        raise _Temporary(f"connection lost before the message was sent ({_describe(exc)})") from exc
    finally:
        _close(server)


def _connect(settings: SmtpSettings) -> smtplib.SMTP:
    try:
        if settings.security == "ssl":
            return smtplib.SMTP_SSL(
                settings.host, settings.port, timeout=settings.timeout_seconds, context=_tls_context(settings)
            )
        return smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout_seconds)
    except ssl.SSLCertVerificationError as exc:
        raise _certificate_error(settings, exc) from None
    except smtplib.SMTPConnectError as exc:
        if 400 <= exc.smtp_code < 500:
            raise _Unreachable(f"server greeting {exc.smtp_code} {_text(exc.smtp_error)}") from None
        raise DeliveryError(
            f"SMTP server {settings.host}:{settings.port} refused the session: {exc.smtp_code} {_text(exc.smtp_error)}"
        ) from None
    except (OSError, smtplib.SMTPServerDisconnected) as exc:
        raise _Unreachable(_describe(exc)) from None


def _greet(server: smtplib.SMTP, settings: SmtpSettings, *, username: str | None, password: str | None) -> None:
    server.ehlo()
    if settings.security == "starttls":
        if not server.has_extn("starttls"):
            raise DeliveryError(
                f"SMTP server {settings.host}:{settings.port} does not offer STARTTLS; "
                f"set smtp.security to 'ssl' (usually port 465) if it expects TLS from the start"
            )
        try:
            server.starttls(context=_tls_context(settings))
        except ssl.SSLCertVerificationError as exc:
            raise _certificate_error(settings, exc) from None
        server.ehlo()
    if username is not None:
        try:
            server.login(username, password or "")
        except smtplib.SMTPAuthenticationError as exc:
            raise DeliveryError(
                f"SMTP login as {username!r} was refused: {exc.smtp_code} {_text(exc.smtp_error)}; "
                f"check the variables named by smtp.username_env and smtp.password_env"
            ) from None
        except smtplib.SMTPNotSupportedError:
            raise DeliveryError(f"SMTP server {settings.host} does not offer AUTH; remove smtp.username_env") from None


def _envelope(server: smtplib.SMTP, sender: str, recipients: list[str]) -> _Attempt:
    code, reply = server.mail(sender)
    _raise_if_temporary(code, reply, "MAIL FROM")
    if code // 100 != 2:
        raise DeliveryError(f"SMTP server refused sender {sender!r}: {code} {_text(reply)}")
    attempt = _Attempt()
    for address in recipients:
        code, reply = server.rcpt(address)
        # A temporary refusal of any recipient retries the whole transaction: nothing has been sent yet.
        _raise_if_temporary(code, reply, f"RCPT TO {address}")
        if code // 100 == 2:
            attempt.accepted.append(address)
        else:
            attempt.refused.append(Refusal(address, code, _text(reply)))
    return attempt


def _raise_if_temporary(code: int, reply: bytes, step: str) -> None:
    if 400 <= code < 500:
        raise _Temporary(f"{step}: {code} {_text(reply)}")


def _tls_context(settings: SmtpSettings) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(settings.ca_file) if settings.ca_file else None)
    if not settings.verify_certificates:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def _certificate_error(settings: SmtpSettings, exc: ssl.SSLCertVerificationError) -> DeliveryError:
    return DeliveryError(
        f"TLS certificate of {settings.host}:{settings.port} was not accepted ({exc.verify_message}); "
        f"if the server uses a private CA, point smtp.ca_file at its PEM certificate"
    )


def _envelope_recipients(msg: EmailMessage) -> list[str]:
    fields = [str(value) for name in ("To", "Cc", "Bcc") for value in msg.get_all(name, [])]
    return [address for _, address in getaddresses(fields) if address]


def _wire_bytes(msg: EmailMessage) -> bytes:
    """The message as transmitted: CRLF line ends, Bcc removed (it must not reach the recipients)."""
    if "Bcc" in msg:
        msg = _copy_without_bcc(msg)
    return msg.as_bytes(policy=SMTP)


def _copy_without_bcc(msg: EmailMessage) -> EmailMessage:
    clone = copy.copy(msg)
    del clone["Bcc"]
    return clone


def _dot_stuffed(content: bytes) -> bytes:
    """RFC 5321 4.5.2: a line starting with '.' gets another '.'; content ends with CRLF."""
    stuffed = content.replace(b"\r\n.", b"\r\n..")
    if stuffed.startswith(b"."):
        stuffed = b"." + stuffed
    if not stuffed.endswith(b"\r\n"):
        stuffed += b"\r\n"
    return stuffed


def _refuse_all(addresses: list[str], code: int, reply: bytes) -> tuple[Refusal, ...]:
    return tuple(Refusal(address, code, _text(reply)) for address in addresses)


def _refusal_summary(refused: list[Refusal]) -> str:
    return "; ".join(f"{r.address}: {r.code} {r.reply}" for r in refused)


def _read_env(variable: str | None, setting: str, environ: Mapping[str, str]) -> str | None:
    if variable is None:
        return None
    value = environ.get(variable)
    if not value:
        raise DeliveryError(
            f"environment variable {variable} (named by smtp.{setting}) is not set; export it before sending"
        )
    return value


def _close(server: smtplib.SMTP) -> None:
    try:
        server.quit()
    except (smtplib.SMTPException, OSError):
        server.close()


def _text(reply: bytes | str) -> str:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply
    return " ".join(text.split())


def _describe(exc: BaseException) -> str:
    if isinstance(exc, socket.timeout):
        return "timed out"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
