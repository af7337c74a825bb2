"""A delivery's recipients: listed inline, read from a CSV file or queried from a database.

The config (``reportgen.config.delivery``) holds what the YAML says, parsed and validated: the
inline ``Recipient`` entries and the *names* of a CSV file or a query. Reading those sources is I/O
and happens here, at send time (and when ``send`` checks every delivery before the first message).
"""
from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from reportgen.config.delivery import DeliverySpec, Recipient
from reportgen.config.models import LoadedConfig
from reportgen.errors import DeliveryError

RECIPIENT_COLUMNS = ("segment", "email", "name", "locale", "audience")


@dataclass(frozen=True)
class RecipientProblem:
    """A recipient row that is not usable: where it is, what it says, and why it was refused."""

    where: str
    address: str
    reason: str

    @property
    def shown(self) -> str:
        """The address as written, quoted so a control character or a blank one is visible."""
        return repr(self.address[:80]) if self.address else f"(no address at {self.where})"


def recipients_from_rows(rows: Iterable[tuple[int, Mapping[str, object]]], header: Sequence[str], *,
                         audience: str, source: str, problems: list[RecipientProblem] | None = None) -> list[Recipient]:
    """Recipients from (position, row) pairs with columns segment,email[,name,locale,audience].

    Rows with an empty or missing ``audience`` apply to every delivery; otherwise only to the
    delivery of that audience. Errors name the source and position so the sales-ops owner can fix them.
    With ``problems`` a bad row is appended there and skipped (one malformed address must not stop
    the mail to everyone else); without it the first bad row raises ``DeliveryError``.
    """
    missing = {"segment", "email"} - set(header)
    if missing:
        raise DeliveryError(f"{source}: missing column(s) {sorted(missing)}; found {list(header)}")
    unknown = set(header) - set(RECIPIENT_COLUMNS)
    if unknown:
        raise DeliveryError(f"{source}: unknown column(s) {sorted(unknown)}; allowed: {','.join(RECIPIENT_COLUMNS)}")

    def text(row: Mapping[str, object], key: str) -> str:
        value = row.get(key)
        return "" if value is None else str(value).strip()

    recipients: list[Recipient] = []
    for where, row in rows:
        row_audience = text(row, "audience")
        if row_audience and row_audience != audience:
            continue
        try:
            recipients.append(Recipient(email=text(row, "email"), name=text(row, "name") or None,
                                        locale=text(row, "locale") or None, segment=text(row, "segment") or None))
        except ValueError as exc:
            first = exc.errors()[0]["msg"] if hasattr(exc, "errors") else str(exc)
            first = first.removeprefix("Value error, ")
            if problems is None:
                raise DeliveryError(f"{source}:{where}: {first}") from exc
            problems.append(RecipientProblem(f"{source}:{where}", text(row, "email"), first))
    return recipients


def read_recipients_csv(path: Path, *, audience: str,
                        problems: list[RecipientProblem] | None = None) -> list[Recipient]:
    """Recipients from a CSV file (see :func:`recipients_from_rows`); errors give file and line."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            rows = ((reader.line_num, row) for row in reader)
            return recipients_from_rows(rows, reader.fieldnames or [], audience=audience, source=str(path),
                                        problems=problems)
    except UnicodeDecodeError as exc:
        raise DeliveryError(f"cannot read recipients file {path}: not UTF-8 text ({exc.reason} at byte "
                            f"{exc.start}); save it as UTF-8") from None
    except csv.Error as exc:
        raise DeliveryError(f"cannot read recipients file {path}: {exc}") from None
    except OSError as exc:
        raise DeliveryError(f"cannot read recipients file {path}: {exc.strerror or exc}") from exc


def read_recipients_sql(url: str, query: str, *, audience: str,
                        problems: list[RecipientProblem] | None = None) -> list[Recipient]:
    """Recipients from a SQL query (columns as for the CSV); errors give the row number."""
    import sqlalchemy

    from reportgen.environment import expand_env

    engine = sqlalchemy.create_engine(expand_env(url))
    try:
        with engine.connect() as conn:
            result = conn.execute(sqlalchemy.text(query))
            header = list(result.keys())
            rows = list(enumerate((dict(r._mapping) for r in result), start=1))
    except sqlalchemy.exc.SQLAlchemyError as exc:
        raise DeliveryError(f"recipients query failed: {str(exc).splitlines()[0]}") from None
    finally:
        engine.dispose()
    return recipients_from_rows(rows, header, audience=audience, source="recipients_query row", problems=problems)


def resolve_recipients(loaded: LoadedConfig, spec: DeliverySpec) -> tuple[list[Recipient], list[RecipientProblem]]:
    """Inline recipients, then the CSV's or query's rows for this audience; the first entry of an address wins.

    A row that is not a usable address is returned as a problem (reported as that recipient's
    failure) instead of stopping the whole delivery; an unreadable source still stops it."""
    recipients = list(spec.recipients)
    problems: list[RecipientProblem] = []
    if spec.recipients_csv is not None:
        recipients += read_recipients_csv(loaded.resolve(str(spec.recipients_csv)), audience=spec.audience,
                                          problems=problems)
    if spec.recipients_url and spec.recipients_query:
        recipients += read_recipients_sql(spec.recipients_url, spec.recipients_query, audience=spec.audience,
                                          problems=problems)
    unique: dict[str, Recipient] = {}
    for recipient in recipients:
        unique.setdefault(recipient.email.lower(), recipient)
    if not unique and not problems:
        raise DeliveryError(
            f"delivery {spec.name!r} has no recipients (inline 'recipients', 'recipients_csv' or 'recipients_query')"
        )
    return list(unique.values()), problems
