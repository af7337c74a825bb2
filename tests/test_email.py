"""reportgen.delivery.email: the MIME message, checked after a trip through a real SMTP server."""
from __future__ import annotations

import email
import email.policy
import os
import re
import textwrap
from email.message import EmailMessage
from pathlib import Path

import pytest

from reportgen.atomic import atomic_write_bytes
from reportgen.config.delivery import Recipient, SmtpSettings
from reportgen.delivery.email import (
    Attachment,
    check_size,
    compose_message,
    make_address,
    make_message_id,
    message_size,
    render_subject,
    write_eml,
)
from reportgen.delivery.recipients import read_recipients_csv
from reportgen.delivery.smtp import send_message
from reportgen.errors import DeliveryError
from tests.fixtures.smtp import SmtpServerHandle

PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)
HTML = '<h1>Scorecard</h1><img src="cid:revenue-trend" alt="Revenue"><img src="cid:win-rate" alt="Win rate">'
TEXT = "Scorecard\nRevenue: 1.2M (+4%)\n.\n.. a line starting with dots survives SMTP dot-stuffing\n"


def scorecard_message(pdf: bytes, **overrides: object) -> EmailMessage:
    values: dict[str, object] = {
        "sender": make_address("reports@example.com", "Sales Ops"),
        "recipient": make_address("ana@example.com", "Ana Müller"),
        "subject": "Executive scorecard — März 2025",
        "html_body": HTML,
        "text_body": TEXT,
        "inline_images": {"revenue-trend": PNG, "win-rate": PNG + b"2"},
        "attachments": [
            Attachment.for_format("pdf", "Scorecard März.pdf", pdf),
            Attachment.for_format("csv", "kpis.csv", b"kpi,value\r\nrevenue,1200000\r\n"),
        ],
        "message_id_domain": "example.com",
        "message_id": make_message_id("exec", "2025-03", "ana@example.com", "example.com"),
    }
    values.update(overrides)
    return compose_message(**values)  # type: ignore[arg-type]


def test_scorecard_survives_a_real_smtp_server(smtp_server: SmtpServerHandle, tmp_path: Path) -> None:
    pdf_path = tmp_path / "scorecard.pdf"
    atomic_write_bytes(pdf_path, b"%PDF-1.7\n" + os.urandom(5000) + b"\n.\r\n..leading dots\r\n%%EOF\n")
    settings = SmtpSettings(
        host=smtp_server.host, port=smtp_server.port, security="none", from_address="reports@example.com"
    )

    send_message(scorecard_message(pdf_path.read_bytes()), settings, username=None, password=None)

    [received] = smtp_server.messages()
    assert (received.mail_from, received.rcpt_tos) == ("reports@example.com", ["ana@example.com"])
    parsed = email.message_from_bytes(received.data, policy=email.policy.default)
    assert parsed["Subject"] == "Executive scorecard — März 2025"
    assert str(parsed["To"]) == "Ana Müller <ana@example.com>"
    assert parsed["Message-ID"] == make_message_id("exec", "2025-03", "ana@example.com", "example.com")
    assert [part.get_content_type() for part in parsed.walk()] == [
        "multipart/mixed",
        "multipart/related",
        "multipart/alternative",
        "text/plain",
        "text/html",
        "image/png",
        "image/png",
        "application/pdf",
        "text/csv",
    ]
    alternative = next(p for p in parsed.walk() if p.get_content_type() == "multipart/alternative")
    text_part, html_part = alternative.iter_parts()
    # Line ends travel as CRLF on the wire; the words must be intact.
    assert text_part.get_content().replace("\r\n", "\n") == TEXT
    assert html_part.get_content().rstrip("\r\n") == HTML
    images = {
        part["Content-ID"].strip("<>"): part.get_content()
        for part in parsed.walk()
        if part.get_content_maintype() == "image"
    }
    assert images == {"revenue-trend": PNG, "win-rate": PNG + b"2"}
    assert set(re.findall(r'src="cid:([^"]+)"', html_part.get_content())) == set(images)
    [pdf_part] = [part for part in parsed.iter_attachments() if part.get_content_type() == "application/pdf"]
    assert pdf_part.get_filename() == "Scorecard März.pdf"
    assert pdf_part.get_content() == pdf_path.read_bytes()


def test_non_ascii_headers_are_encoded_not_raw(tmp_path: Path) -> None:
    raw = scorecard_message(b"%PDF-1.7").as_bytes()
    headers = raw.split(b"\r\n\r\n", 1)[0]

    assert headers.isascii()
    assert b"\r\nTo: Ana =?utf-8?q?M=C3=BCller?= <ana@example.com>\r\n" in headers


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"subject": "Scorecard\r\nBcc: all@example.com"},
            "subject 'Scorecard\\r\\nBcc: all@example.com' contains a line break",
        ),
        ({"subject": "Scorecard\nX-Evil: 1"}, "contains a line break, which could inject email headers"),
        (
            {"attachments": [Attachment.for_format("pdf", "a.pdf\r\nBcc: x@evil.test", b"%PDF")]},
            "attachment filename 'a.pdf\\r\\nBcc: x@evil.test' contains a line break",
        ),
        (
            {"html_body": '<img src="cid:missing-chart">'},
            "refers to inline image(s) ['missing-chart'] that were not supplied",
        ),
        ({"inline_images": {"revenue-trend": b"GIF89a", "win-rate": PNG}}, "inline image 'revenue-trend' is not a PNG"),
        ({"inline_images": {"revenue trend>": PNG}}, "inline image id 'revenue trend>' must be letters, digits"),
    ],
)
def test_compose_rejects(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(DeliveryError) as excinfo:
        scorecard_message(b"%PDF", **overrides)
    assert message in str(excinfo.value)


@pytest.mark.parametrize(
    ("address", "name", "message"),
    [
        ("ana@example.com\r\nBcc: x@evil.test", None, "contains a line break"),
        ("ana@example.com", "Ana\nBcc: x@evil.test", "display name 'Ana\\nBcc: x@evil.test' contains a line break"),
        ("ana example.com", None, "is not an email address like 'name@example.com'"),
        ("ana,bo@example.com", None, "contains characters not allowed"),
        ("ana@exa..mple.com", None, "has a malformed domain"),
        ("anä@example.com", None, "only ASCII addresses are supported"),
    ],
)
def test_make_address_rejects(address: str, name: str | None, message: str) -> None:
    with pytest.raises(DeliveryError) as excinfo:
        make_address(address, name)
    assert message in str(excinfo.value)


def test_size_limit_counts_base64_overhead() -> None:
    pdf = b"%PDF" + os.urandom(9 * 1024 * 1024)  # 9 MB on disk, about 12.2 MB once base64-encoded
    msg = scorecard_message(pdf)

    size = message_size(msg)
    assert size > len(pdf) * 4 / 3
    with pytest.raises(DeliveryError) as excinfo:
        check_size(msg, 10 * 1024 * 1024)
    assert str(excinfo.value) == (
        f"message is {size / 1024 / 1024:.1f} MB, over the 10 MB limit of smtp.max_message_bytes; "
        f"attach fewer formats or lower chart resolution"
    )
    assert check_size(msg, size) == size


def test_message_id_is_stable_per_delivery_period_recipient() -> None:
    first = make_message_id("exec", "2025-03", "ana@example.com", "example.com")

    assert first == make_message_id("exec", "2025-03", "ANA@example.com", "example.com")
    assert re.fullmatch(r"<[0-9a-f]{32}\.reportgen@example\.com>", first)
    others = {
        make_message_id("exec", "2025-04", "ana@example.com", "example.com"),
        make_message_id("exec", "2025-03", "bo@example.com", "example.com"),
        make_message_id("sales", "2025-03", "ana@example.com", "example.com"),
    }
    assert first not in others and len(others) == 3


def test_render_subject_fills_placeholders_and_leaves_unknown_braces() -> None:
    subject = render_subject(
        "{company} {title} — {period} ({segment}) {unknown}", title="Scorecard", period="2025-03", company="Acme",
        segment="EMEA",
    )

    assert subject == "Acme Scorecard — 2025-03 (EMEA) {unknown}"
    # text from data cannot start a header line, reverse the reading order or hide characters
    assert render_subject("{segment}", title="", period="", company="", segment="EMEA\r\nBcc: x@evil.test") \
        == "EMEA Bcc: x@evil.test"
    assert render_subject("Rep: {segment} ({period})", title="", period="2025-03", company="",
                          segment="Ann\u202eevil\u202c\u200b\x00\tX") == "Rep: Annevil X (2025-03)"
    kept = "Zoë 김 👩\u200d💻"
    assert render_subject("{segment}", title="", period="", company="", segment=kept) == kept


def test_write_eml_round_trips(tmp_path: Path) -> None:
    msg = scorecard_message(b"%PDF-1.7 body")
    write_eml(msg, tmp_path / "ana.eml")

    parsed = email.message_from_bytes((tmp_path / "ana.eml").read_bytes(), policy=email.policy.default)
    assert parsed["Subject"] == msg["Subject"]
    assert os.listdir(tmp_path) == ["ana.eml"]


def test_recipients_csv_filters_by_audience(tmp_path: Path) -> None:
    path = tmp_path / "recipients.csv"
    path.write_text(textwrap.dedent("""\
        segment,email,name,locale,audience
        EMEA,ana@example.com,Ana Müller,de_DE,executive
        AMER,bo@example.com,,,
        APAC,cy@example.com,Cy,en_AU,sales
    """), encoding="utf-8")

    assert read_recipients_csv(path, audience="executive") == [
        Recipient(email="ana@example.com", name="Ana Müller", locale="de_DE", segment="EMEA"),
        Recipient(email="bo@example.com", segment="AMER"),
    ]


def test_recipients_csv_errors_name_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "recipients.csv"
    path.write_text("segment,email\nEMEA,ana@example.com\nAMER,bo at example.com\n")
    with pytest.raises(DeliveryError, match=r"recipients.csv:3: .*'bo at example.com' is not an email address"):
        read_recipients_csv(path, audience="executive")

    path.write_text("segment,mail\nEMEA,ana@example.com\n")
    with pytest.raises(
        DeliveryError, match=r"recipients.csv: missing column\(s\) \['email'\]; found \['segment', 'mail'\]"
    ):
        read_recipients_csv(path, audience="executive")
