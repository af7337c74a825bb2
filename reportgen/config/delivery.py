"""Config models for the ``smtp:`` and ``deliveries:`` sections, embedded by the main config.

Shape only: each model validates what it can see on its own (a cron expression has five fields, a
timezone exists, a password is never written into YAML). Cross-references such as "the audience
exists" belong to the main config's meaning pass. Reading the recipients a delivery names (its CSV
file, its SQL query) is the delivery layer's work: ``reportgen.delivery.recipients``.
"""
from __future__ import annotations

import string
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter
from pydantic import Field, field_validator, model_validator

from reportgen.config.base import ConfigModel

LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
SUBJECT_PLACEHOLDERS = frozenset({"title", "period", "company", "segment"})
AttachmentFormat = Literal["pdf", "html", "csv", "xlsx"]
# Keys people naturally write into YAML that would put a secret in a file under version control.
_SECRET_KEYS = {"password": "password_env", "username": "username_env", "user": "username_env"}


def check_address(address: str, *, field: str = "address") -> str:
    """Return ``address`` if it is a plain ``local@domain`` mailbox, else raise ``ValueError``.

    Deliberately strict: no display names, no whitespace or line breaks (header injection), ASCII
    only (SMTPUTF8 is not negotiated), exactly one ``@``. A typo caught here is better than a
    bounce a week later.
    """
    if any(ch in address for ch in "\r\n"):
        raise ValueError(f"{field} {address!r} contains a line break")
    if not address.isascii():
        raise ValueError(f"{field} {address!r} contains non-ASCII characters; only ASCII addresses are supported")
    local, at, domain = address.partition("@")
    if not at or not local or not domain or "@" in domain:
        raise ValueError(f"{field} {address!r} is not an email address like 'name@example.com'")
    if any(ch.isspace() or ch in '<>(),;:"[]\\' for ch in address):
        raise ValueError(f"{field} {address!r} contains characters not allowed in an address")
    if domain.startswith(".") or domain.endswith(".") or ".." in domain:
        raise ValueError(f"{field} {address!r} has a malformed domain {domain!r}")
    return address


def _reject_line_breaks(value: str | None, field: str) -> str | None:
    if value is not None and any(ch in value for ch in "\r\n"):
        raise ValueError(f"{field} {value!r} contains a line break")
    return value


class SmtpSettings(ConfigModel):
    """How to reach the outgoing mail server. Secrets are read from environment variables, never YAML."""

    host: str = Field(description="SMTP server host name, e.g. 'smtp.example.com'.")
    port: int = Field(
        default=587, ge=1, le=65535, description="SMTP port: usually 587 for starttls, 465 for ssl, 25 for none."
    )
    security: Literal["starttls", "ssl", "none"] = Field(
        default="starttls",
        description="Transport security: 'starttls' (upgrade after connecting), 'ssl' (TLS from the first byte), "
        "or 'none' (plain text, allowed only for localhost relays).",
    )
    username_env: str | None = Field(
        default=None, description="Name of the environment variable holding the SMTP user name (not the name itself)."
    )
    password_env: str | None = Field(
        default=None, description="Name of the environment variable holding the SMTP password (not the password)."
    )
    from_address: str = Field(description="Envelope and From: address, e.g. 'reports@example.com'.")
    from_name: str | None = Field(default=None, description="Display name in the From: header, e.g. 'Sales Ops'.")
    timeout_seconds: float = Field(default=30, gt=0, description="Socket timeout for each SMTP connection, in seconds.")
    verify_certificates: bool = Field(
        default=True, description="Verify the server's TLS certificate and host name. Turn off only for testing."
    )
    ca_file: Path | None = Field(
        default=None, description="PEM file of extra CA certificates to trust, e.g. a company's internal CA."
    )
    max_message_bytes: int = Field(
        default=10 * 1024 * 1024,
        gt=0,
        description="Largest message to send, measured after MIME encoding (base64 adds about a third).",
    )
    retries: int = Field(
        default=3, ge=0, description="How many times to retry a temporary failure (4xx, connection refused)."
    )
    backoff_seconds: float = Field(
        default=2.0, ge=0, description="Wait before the first retry; doubled before each further retry."
    )

    @model_validator(mode="before")
    @classmethod
    def _refuse_secrets_in_yaml(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for key, replacement in _SECRET_KEYS.items():
                if key in data:
                    raise ValueError(
                        f"smtp.{key} is not allowed: secrets do not belong in the config file; "
                        f"set {replacement} to the NAME of an environment variable holding it"
                    )
        return data

    @field_validator("from_address")
    @classmethod
    def _valid_from_address(cls, value: str) -> str:
        return check_address(value, field="from_address")

    @field_validator("from_name")
    @classmethod
    def _single_line_name(cls, value: str | None) -> str | None:
        return _reject_line_breaks(value, "from_name")

    @field_validator("username_env", "password_env")
    @classmethod
    def _looks_like_variable_name(cls, value: str | None) -> str | None:
        if value is not None and not value.replace("_", "a").isalnum():
            raise ValueError(f"{value!r} is not an environment variable name (expected something like 'SMTP_PASSWORD')")
        return value

    @model_validator(mode="after")
    def _plain_text_only_locally(self) -> SmtpSettings:
        if self.security == "none" and self.host.lower() not in LOCAL_HOSTS:
            raise ValueError(
                f"security 'none' sends mail and passwords unencrypted and is allowed only for "
                f"{', '.join(sorted(LOCAL_HOSTS))}; found host {self.host!r}: use 'starttls' or 'ssl'"
            )
        if self.password_env is not None and self.username_env is None:
            raise ValueError("password_env is set but username_env is not: SMTP login needs both")
        return self


class Recipient(ConfigModel):
    """One person a scorecard is mailed to."""

    email: str = Field(description="Mailbox address, e.g. 'ana@example.com'.")
    name: str | None = Field(default=None, description="Display name for the To: header, e.g. 'Ana Müller'.")
    locale: str | None = Field(default=None, description="Locale for numbers and dates, e.g. 'de_DE'.")
    segment: str | None = Field(
        default=None, description="Value of the delivery's burst_by dimension this person receives, e.g. 'EMEA'."
    )

    @field_validator("email")
    @classmethod
    def _valid_email(cls, value: str) -> str:
        return check_address(value, field="email")

    @field_validator("name", "locale", "segment")
    @classmethod
    def _single_line(cls, value: str | None) -> str | None:
        return _reject_line_breaks(value, "value")


class DeliverySpec(ConfigModel):
    """One scheduled mailing: which audience's scorecard, to whom, when, with which attachments."""

    name: str = Field(description="Unique name of this delivery; the ledger records sends under it.")
    audience: str = Field(description="Audience whose scorecard is sent, e.g. 'executive'.")
    schedule: str = Field(description="Cron expression with 5 fields, in the delivery's timezone, e.g. '0 8 1 * *'.")
    timezone: str = Field(default="UTC", description="IANA timezone the schedule is read in, e.g. 'Europe/Berlin'.")
    recipients: list[Recipient] = Field(default_factory=list, description="Recipients listed inline.")
    recipients_csv: Path | None = Field(
        default=None, description="CSV file of further recipients with columns segment,email[,name,locale,audience]."
    )
    recipients_url: str | None = Field(
        default=None, description="SQLAlchemy URL of a database holding recipients (use ${ENV_VAR} for secrets)."
    )
    recipients_query: str | None = Field(
        default=None,
        description="SQL query on recipients_url returning columns segment,email[,name,locale,audience].",
    )
    burst_by: str | None = Field(
        default=None, description="Dimension to split by: each recipient gets the scorecard of their segment."
    )
    subject: str = Field(
        default="{title} — {period}",
        description="Subject line; may use {title}, {period}, {company} and {segment}.",
    )
    attach: list[AttachmentFormat] = Field(
        default_factory=lambda: list[AttachmentFormat](["pdf"]),
        description="Formats attached to the email: any of pdf, html, csv, xlsx.",
    )
    period: str = Field(
        default="last_complete", description="Which period to report: 'last_complete' or a label such as '2025-03'."
    )
    when: str | None = Field(
        default=None,
        description="Send only when this condition on the period's computed KPIs holds, e.g. "
        "\"status(revenue) == 'bad'\", 'win_rate < 0.2' or 'abs(change(revenue)) > 0.1' (see "
        "reportgen/config/conditions.py); sent at most once per period, re-checked by each scheduled run until then.")
    min_pages: int = Field(
        default=1, ge=1, le=1000,
        description="Fewest pages the scorecard's PDF may have; a shorter one holds the delivery (nothing is sent).")
    grace_hours: float = Field(
        default=24,
        ge=0,
        description="Slots missed while the scheduler was down are still sent if at most this many hours late; "
        "older ones are logged as missed.",
    )

    @field_validator("schedule")
    @classmethod
    def _five_field_cron(cls, value: str) -> str:
        fields = value.split()
        if len(fields) != 5:
            raise ValueError(
                f"schedule {value!r} has {len(fields)} fields; expected 5 (minute hour day month weekday), "
                f"e.g. '0 8 * * 1' for Mondays at 08:00"
            )
        if not croniter.is_valid(value):
            raise ValueError(f"schedule {value!r} is not a valid cron expression")
        return value

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"timezone {value!r} is not an IANA timezone such as 'Europe/Berlin'") from exc
        return value

    @field_validator("subject")
    @classmethod
    def _known_placeholders(cls, value: str) -> str:
        _reject_line_breaks(value, "subject")
        try:
            names = {name for _, name, _, _ in string.Formatter().parse(value) if name is not None}
        except ValueError as exc:
            raise ValueError(
                f"subject {value!r} is not a valid template: {exc}; write '{{{{' for a literal brace"
            ) from exc
        unknown = names - SUBJECT_PLACEHOLDERS
        if unknown:
            raise ValueError(
                f"subject uses unknown placeholder(s) {sorted(unknown)}; "
                f"available: {', '.join('{' + p + '}' for p in sorted(SUBJECT_PLACEHOLDERS))}"
            )
        return value

    @field_validator("when")
    @classmethod
    def _valid_condition(cls, value: str | None) -> str | None:
        if value is not None:
            from reportgen.config.conditions import parse_condition
            from reportgen.errors import ConfigError

            try:
                parse_condition(value)
            except ConfigError as exc:
                raise ValueError(str(exc)) from None
        return value

    @model_validator(mode="after")
    def _query_needs_url(self) -> DeliverySpec:
        if bool(self.recipients_url) != bool(self.recipients_query):
            raise ValueError("recipients_url and recipients_query go together: give both or neither")
        return self

    @field_validator("attach")
    @classmethod
    def _no_duplicate_formats(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError(f"attach lists a format twice: {value}")
        return value


class LedgerSettings(ConfigModel):
    """Where the delivery ledger lives and how long to wait for another run's lock on it.

    Written as a plain path (``ledger: state/ledger.sqlite``) or as a mapping with these keys."""

    path: str = Field(default="reportgen-ledger.sqlite",
                      description="Ledger file, relative to the config file; its journal is written beside it "
                      "(<path>.journal.jsonl) and must stay with it.")
    lock_timeout_seconds: float = Field(
        default=10, gt=0, le=600,
        description="How long to wait while another run holds the ledger's lock before giving up with one line.")
