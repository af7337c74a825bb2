"""Build the MIME message for one recipient, and refuse messages that would go out broken.

Structure (empty layers are omitted)::

    multipart/mixed
      multipart/related
        multipart/alternative
          text/plain          the plain-text body
          text/html           the email-safe HTML body, charts as <img src="cid:...">
        image/png (inline)    one per chart, found by its Content-ID
      application/pdf etc.    the attachments, byte for byte

Everything that reaches a header passes through a check for CR/LF first, so a recipient name or
subject taken from data can never add a ``Bcc:`` header. Non-ASCII names and subjects are encoded
by the ``SMTP`` email policy (RFC 2047), filenames by RFC 2231.
"""
from __future__ import annotations

import hashlib
import os
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage, MIMEPart
from email.policy import SMTP
from email.utils import formatdate, make_msgid

from reportgen.atomic import atomic_write_bytes
from reportgen.config.delivery import check_address
from reportgen.errors import DeliveryError

MIME_TYPES = {
    "pdf": "application/pdf",
    "html": "text/html",
    "csv": "text/csv",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_CID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*(@[A-Za-z0-9.-]+)?")
_CID_REFERENCE = re.compile(r"""cid:([^"'\s)>]+)""")


@dataclass(frozen=True)
class Attachment:
    """A file to attach: its name as the recipient sees it, its exact bytes, and its MIME type."""

    filename: str
    data: bytes
    mime_type: str

    @classmethod
    def for_format(cls, fmt: str, filename: str, data: bytes) -> Attachment:
        """Attachment for one of the ``attach:`` formats (pdf, html, csv, xlsx)."""
        if fmt not in MIME_TYPES:
            raise DeliveryError(f"cannot attach format {fmt!r}; expected one of {', '.join(MIME_TYPES)}")
        return cls(filename=filename, data=data, mime_type=MIME_TYPES[fmt])


def make_address(email: str, name: str | None = None) -> Address:
    """A validated mailbox for a From:/To: header; raises ``DeliveryError`` on a bad address or name."""
    try:
        check_address(email)
    except ValueError as exc:
        raise DeliveryError(str(exc)) from exc
    _single_line(name or "", "display name")
    username, _, domain = email.partition("@")
    return Address(display_name=name or "", username=username, domain=domain)


def make_message_id(delivery: str, period: str, recipient: str, domain: str) -> str:
    """The same Message-ID for the same (delivery, period, recipient), different for any other.

    Deterministic so an audit can match a mailbox copy to its ledger row, and so a duplicate, if
    one ever slipped through, is recognisable as such by the receiving server and by people.
    """
    _single_line(domain, "message-id domain")
    digest = hashlib.sha256("\x1f".join((delivery, period, recipient.lower())).encode()).hexdigest()[:32]
    return f"<{digest}.reportgen@{domain}>"


_INVISIBLE = dict.fromkeys(map(ord, "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"  # bidi embeddings
                                        "\u200e\u200f\u061c"  # bidi marks
                                        "\u200b\u2060\ufeff"))  # zero-width space, word joiner, BOM
"""Characters that change how the text around them *reads* without showing themselves: a rep named
``Ann\u202eevil\u202c`` would read as ``Annlive``. Removed. (ZWJ/ZWNJ stay: scripts and emoji need them.)"""


def header_text(value: str) -> str:
    """Text from config or data made safe for a header or a file name, the rest kept as it is.

    Bidi controls and zero-width characters are removed; control characters (NUL, tab, CR, LF, ...)
    and line/paragraph separators become a space, so a value can never start a new header line;
    runs of spaces are collapsed."""
    kept = (" " if unicodedata.category(ch) in ("Cc", "Zl", "Zp") else ch for ch in value.translate(_INVISIBLE))
    return re.sub(" {2,}", " ", "".join(kept)).strip()


def file_name_text(value: str, *, limit: int = 150) -> str:
    """``value`` as an attachment file name: :func:`header_text`, no path separators or characters
    Windows refuses, no leading dot, at most ``limit`` characters; letters of any script kept (RFC 2231)."""
    text = "".join("_" if ch in '/\\:*?"<>|' else ch for ch in header_text(value)).lstrip(". ")
    return text[:limit] or "_"


def render_subject(template: str, *, title: str, period: str, company: str, segment: str | None) -> str:
    """Fill the subject placeholders; unknown ``{names}`` stay as written instead of crashing the send.

    Every value is passed through :func:`header_text` first: a segment from the CRM may carry a line
    break or a bidi override, and the subject is the first thing a reader trusts."""
    values = _KeepUnknown(title=header_text(title), period=header_text(period), company=header_text(company),
                          segment=header_text(segment or ""))
    subject = header_text(template.format_map(values))
    _single_line(subject, "subject")
    return subject


def compose_message(
    *,
    sender: Address,
    recipient: Address,
    subject: str,
    html_body: str,
    text_body: str,
    inline_images: Mapping[str, bytes],
    attachments: list[Attachment],
    message_id_domain: str,
    message_id: str | None = None,
) -> EmailMessage:
    """One recipient's message. ``inline_images`` maps a Content-ID (as used in ``cid:`` URLs) to PNG bytes.

    Pass ``message_id`` from :func:`make_message_id` for exactly-once auditing; without it a
    random unique one is generated.
    """
    for role, address in (("sender", sender), ("recipient", recipient)):
        _check_header_address(address, role)
    _single_line(subject, "subject")
    _check_inline_images(html_body, inline_images)

    body = _mime_tree(text_body, html_body, inline_images, attachments)
    msg = EmailMessage(policy=SMTP)
    msg["From"] = sender
    msg["To"] = recipient
    msg["Subject"] = subject
    msg["Date"] = formatdate(localtime=False, usegmt=True)
    msg["Message-ID"] = message_id or make_msgid(domain=message_id_domain)
    msg["MIME-Version"] = "1.0"
    for name, value in body.items():
        msg[name] = value
    msg.set_payload(body.get_payload())
    return msg


def _mime_tree(
    text_body: str, html_body: str, inline_images: Mapping[str, bytes], attachments: list[Attachment]
) -> MIMEPart:
    """alternative(text, html), wrapped in related with the images, wrapped in mixed with the attachments.

    Built bottom-up because ``EmailMessage.add_related`` would nest the images under the HTML part
    only, which some clients then show as attachments as well.
    """
    body = MIMEPart(policy=SMTP)
    body.set_content(text_body, subtype="plain", cte="quoted-printable")
    body.add_alternative(html_body, subtype="html", cte="quoted-printable")
    if inline_images:
        related = MIMEPart(policy=SMTP)
        related.make_related()
        related.set_param("type", "multipart/alternative")  # RFC 2387: names the root part's type
        related.attach(body)
        for cid, png in inline_images.items():
            image = MIMEPart(policy=SMTP)
            image.set_content(
                png, maintype="image", subtype="png", cid=f"<{cid}>", disposition="inline", filename=f"{cid}.png"
            )
            related.attach(image)
        body = related
    if attachments:
        mixed = MIMEPart(policy=SMTP)
        mixed.make_mixed()
        mixed.attach(body)
        for attachment in attachments:
            _single_line(attachment.filename, "attachment filename")
            maintype, _, subtype = attachment.mime_type.partition("/")
            mixed.add_attachment(attachment.data, maintype=maintype, subtype=subtype, filename=attachment.filename)
        body = mixed
    return body


def message_size(msg: EmailMessage) -> int:
    """Size in bytes on the wire: headers plus bodies after base64/quoted-printable encoding."""
    return len(msg.as_bytes(policy=SMTP))


def check_size(msg: EmailMessage, limit: int) -> int:
    """Raise ``DeliveryError`` if the message is over ``limit`` bytes; return the size otherwise.

    An oversized message is refused by most servers after the upload, or worse, silently dropped;
    sending a stripped or empty email instead would look like a report with no numbers.
    """
    size = message_size(msg)
    if size > limit:
        raise DeliveryError(
            f"message is {_human_size(size)}, over the {_human_size(limit)} limit of smtp.max_message_bytes; "
            f"attach fewer formats or lower chart resolution"
        )
    return size


def write_eml(msg: EmailMessage, path: str | os.PathLike[str]) -> None:
    """Save the message as a ``.eml`` file (for ``--dry-run`` and archives), atomically."""
    atomic_write_bytes(path, msg.as_bytes(policy=SMTP))


class _KeepUnknown(dict[str, str]):
    """format_map mapping that leaves unknown placeholders untouched, e.g. a literal '{Q1}'."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def _single_line(value: str, what: str) -> None:
    if "\r" in value or "\n" in value:
        raise DeliveryError(f"{what} {value!r} contains a line break, which could inject email headers")


def _check_header_address(address: Address, role: str) -> None:
    if not isinstance(address, Address):
        raise DeliveryError(f"{role} must be an email.headerregistry.Address (see make_address), got {address!r}")
    _single_line(address.display_name, f"{role} name")
    try:
        check_address(address.addr_spec, field=f"{role} address")
    except ValueError as exc:
        raise DeliveryError(str(exc)) from exc


def _check_inline_images(html_body: str, inline_images: Mapping[str, bytes]) -> None:
    """Every ``cid:`` the HTML uses must be supplied, and every image must be a PNG with a safe id."""
    for cid, png in inline_images.items():
        if not _CID.fullmatch(cid):
            raise DeliveryError(f"inline image id {cid!r} must be letters, digits, '.', '_' or '-'")
        if not png.startswith(PNG_SIGNATURE):
            raise DeliveryError(f"inline image {cid!r} is not a PNG (starts with {png[:8]!r})")
    missing = sorted(set(_CID_REFERENCE.findall(html_body)) - set(inline_images))
    if missing:
        raise DeliveryError(
            f"HTML body refers to inline image(s) {missing} that were not supplied; the chart would show as broken"
        )


def _human_size(size: int) -> str:
    """'12.4 MB' / '10 MB' as in the limit's own unit; small sizes in KB or bytes so they never read '0 MB'."""
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.1f}".removesuffix(".0") + " MB"
    if size >= 1024:
        return f"{size / 1024:.1f}".removesuffix(".0") + " KB"
    return f"{size} bytes"
