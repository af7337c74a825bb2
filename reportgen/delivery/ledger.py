"""The delivery ledger: one SQLite row per (delivery, period, recipient), so each email goes out once.

Life of a row::

    pending --claim--> sending --send ok--> sent
                          |----refused---> failed   (claimable again: the server did not take it)
                          |----lost------> unknown  (never claimed again automatically)

Exactly-once rules:

* ``claim`` runs in a ``BEGIN IMMEDIATE`` transaction, so of two processes racing for the same
  row exactly one wins; a ``sent``, ``sending`` or ``unknown`` row is never claimed.
* The claim (status ``sending``) is committed *before* the SMTP conversation starts, and the row
  records who claimed it (host, process id, and a token for this ``Ledger`` object).
* A row found in ``sending`` whose owner is gone (same host and that process no longer exists, or
  the claim is older than ``stale_after``, default 1 hour, for other hosts) is turned into
  ``unknown``: the process died somewhere between claiming and recording the result, so the email
  may or may not have left. It is **not** resent; a person checks the mail log and resolves it
  with :meth:`Ledger.resolve` (``sent`` or ``failed``; ``failed`` makes it claimable again).

So re-running a period sends nothing already sent, and a run killed half-way sends each remaining
message once when restarted; the one message in flight at the kill is left for human review.
"""
from __future__ import annotations

import os
import socket
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Literal

from reportgen.config.delivery import SmtpSettings
from reportgen.delivery.smtp import SendResult, send_message
from reportgen.errors import DeliveryError

Status = Literal["pending", "sending", "sent", "failed", "unknown"]
CLAIMABLE: frozenset[str] = frozenset({"pending", "failed"})

_SCHEMA = """
CREATE TABLE IF NOT EXISTS deliveries (
    delivery    TEXT NOT NULL,
    period      TEXT NOT NULL,
    recipient   TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('pending', 'sending', 'sent', 'failed', 'unknown')),
    message_id  TEXT,
    attempts    INTEGER NOT NULL DEFAULT 0,
    owner       TEXT,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    error       TEXT,
    PRIMARY KEY (delivery, period, recipient)
);
CREATE TABLE IF NOT EXISTS runs (
    delivery    TEXT PRIMARY KEY,
    last_slot   TEXT NOT NULL,
    recorded_at TEXT NOT NULL
);
"""


@dataclass(frozen=True)
class LedgerEntry:
    """One recipient's email for one delivery and period, as the ledger knows it."""

    delivery: str
    period: str
    recipient: str
    status: Status
    message_id: str | None
    attempts: int
    created_at: datetime
    updated_at: datetime
    error: str | None


class Ledger:
    """SQLite-backed record of every delivery attempt. Safe to share between processes."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        stale_after: timedelta = timedelta(hours=1),
    ) -> None:
        self.path = Path(path)
        self._clock = clock
        self._stale_after = stale_after
        self._owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:12]}"
        try:
            # a fresh deployment has no folder for the ledger yet; `send` must not fail on that
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        except OSError as exc:
            raise DeliveryError(f"cannot create the folder of delivery ledger {self.path}: {exc.strerror or exc}") \
                from exc
        except sqlite3.Error as exc:
            raise DeliveryError(f"cannot open delivery ledger {self.path}: {exc}") from exc
        # WAL lets `reportgen history` read while a run writes; FULL makes each commit durable
        # before the SMTP conversation that depends on it starts.
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def enqueue(self, delivery: str, period: str, recipients: list[str]) -> None:
        """Record the recipients a run intends to send to as ``pending`` (existing rows are kept)."""
        now = self._now()
        with self._transaction() as db:
            db.executemany(
                "INSERT OR IGNORE INTO deliveries (delivery, period, recipient, status, created_at, updated_at) "
                "VALUES (?, ?, ?, 'pending', ?, ?)",
                [(delivery, period, recipient, now, now) for recipient in recipients],
            )

    def claim(self, delivery: str, period: str, recipient: str, *, message_id: str | None = None) -> bool:
        """Take the right to send this email now; ``False`` if it is sent, in flight, or awaiting review.

        A claim left behind by a dead process is turned into ``unknown`` here (see module docstring).
        """
        now = self._now()
        with self._transaction() as db:
            row = db.execute(
                "SELECT status, owner, updated_at FROM deliveries WHERE delivery = ? AND period = ? AND recipient = ?",
                (delivery, period, recipient),
            ).fetchone()
            if row is None:
                db.execute(
                    "INSERT INTO deliveries (delivery, period, recipient, status, message_id, attempts, owner, "
                    "created_at, updated_at) VALUES (?, ?, ?, 'sending', ?, 1, ?, ?, ?)",
                    (delivery, period, recipient, message_id, self._owner, now, now),
                )
                return True
            status, owner, updated_at = row
            if status in CLAIMABLE:
                db.execute(
                    "UPDATE deliveries SET status = 'sending', attempts = attempts + 1, owner = ?, "
                    "message_id = COALESCE(?, message_id), updated_at = ?, error = NULL "
                    "WHERE delivery = ? AND period = ? AND recipient = ?",
                    (self._owner, message_id, now, delivery, period, recipient),
                )
                return True
            if status == "sending" and self._is_abandoned(owner, datetime.fromisoformat(updated_at)):
                db.execute(
                    "UPDATE deliveries SET status = 'unknown', updated_at = ?, error = ? "
                    "WHERE delivery = ? AND period = ? AND recipient = ?",
                    (now, f"process {owner} died while sending; check the mail log, then resolve", delivery, period,
                     recipient),
                )
            return False

    def mark_sent(self, delivery: str, period: str, recipient: str, *, message_id: str | None = None) -> None:
        """The server accepted the message for this recipient."""
        self._finish(delivery, period, recipient, "sent", error=None, message_id=message_id)

    def mark_failed(self, delivery: str, period: str, recipient: str, error: str) -> None:
        """The server definitely did not take it; a later run may claim and try again."""
        self._finish(delivery, period, recipient, "failed", error=error)

    def mark_unknown(self, delivery: str, period: str, recipient: str, error: str) -> None:
        """The outcome cannot be known (connection lost mid-message); never retried automatically."""
        self._finish(delivery, period, recipient, "unknown", error=error)

    def resolve(self, delivery: str, period: str, recipient: str, status: Literal["sent", "failed"], note: str) -> None:
        """A person's verdict on an ``unknown`` row: ``sent`` closes it, ``failed`` lets the next run resend."""
        with self._transaction() as db:
            changed = db.execute(
                "UPDATE deliveries SET status = ?, error = ?, updated_at = ? "
                "WHERE delivery = ? AND period = ? AND recipient = ? AND status = 'unknown'",
                (status, f"resolved by hand: {note}", self._now(), delivery, period, recipient),
            ).rowcount
        if changed != 1:
            raise DeliveryError(f"no delivery awaiting review for {delivery!r} {period} {recipient}")

    def history(self, delivery: str | None = None, *, limit: int = 100) -> list[LedgerEntry]:
        """Most recently updated rows first, optionally for one delivery."""
        query = (
            "SELECT delivery, period, recipient, status, message_id, attempts, created_at, updated_at, error "
            "FROM deliveries"
        )
        params: tuple[object, ...] = ()
        if delivery is not None:
            query += " WHERE delivery = ?"
            params = (delivery,)
        query += " ORDER BY updated_at DESC, rowid DESC LIMIT ?"
        rows = self._db.execute(query, (*params, limit)).fetchall()
        return [
            LedgerEntry(d, p, r, s, m, a, datetime.fromisoformat(c), datetime.fromisoformat(u), e)
            for d, p, r, s, m, a, c, u, e in rows
        ]

    def last_run(self, delivery: str) -> datetime | None:
        """The last schedule slot handled for this delivery (UTC), or ``None`` if never run."""
        row = self._db.execute("SELECT last_slot FROM runs WHERE delivery = ?", (delivery,)).fetchone()
        return datetime.fromisoformat(row[0]) if row else None

    def record_run(self, delivery: str, slot: datetime) -> None:
        """Remember that ``slot`` was handled (sent or logged as missed) so it is not handled again."""
        if slot.tzinfo is None:
            raise ValueError("slot must be timezone-aware")
        with self._transaction() as db:
            db.execute(
                "INSERT INTO runs (delivery, last_slot, recorded_at) VALUES (?, ?, ?) "
                "ON CONFLICT (delivery) DO UPDATE SET last_slot = excluded.last_slot, "
                "recorded_at = excluded.recorded_at",
                (delivery, slot.astimezone(UTC).isoformat(), self._now()),
            )

    def _finish(
        self, delivery: str, period: str, recipient: str, status: Status, *, error: str | None,
        message_id: str | None = None,
    ) -> None:
        with self._transaction() as db:
            changed = db.execute(
                "UPDATE deliveries SET status = ?, error = ?, message_id = COALESCE(?, message_id), updated_at = ? "
                "WHERE delivery = ? AND period = ? AND recipient = ? AND status = 'sending' AND owner = ?",
                (status, error, message_id, self._now(), delivery, period, recipient, self._owner),
            ).rowcount
        if changed != 1:
            raise DeliveryError(
                f"cannot mark {delivery!r} {period} {recipient} as {status}: this process does not hold its claim"
            )

    def _is_abandoned(self, owner: str | None, claimed_at: datetime) -> bool:
        if owner == self._owner:
            return False
        host, _, rest = (owner or "").partition(":")
        pid_text, _, _token = rest.partition(":")
        if host == socket.gethostname() and pid_text.isdigit():
            pid = int(pid_text)
            # Our own pid with another token is an earlier incarnation that reused the pid: dead.
            return pid == os.getpid() or not _process_exists(pid)
        return self._clock() - claimed_at > self._stale_after

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def _now(self) -> str:
        return self._clock().astimezone(UTC).isoformat()


def send_once(
    ledger: Ledger,
    *,
    delivery: str,
    period: str,
    recipient: str,
    msg: EmailMessage,
    settings: SmtpSettings,
    username: str | None,
    password: str | None,
    sleep: Callable[[float], None] = time.sleep,
) -> SendResult | None:
    """Claim, send, record. Returns ``None`` when the ledger says this email is not to be sent now.

    ``DeliveryError`` from the transport (server unreachable, TLS, login) is recorded as
    ``failed`` and re-raised so the run stops instead of failing every remaining recipient.
    """
    message_id = str(msg["Message-ID"]) if msg["Message-ID"] else None
    if not ledger.claim(delivery, period, recipient, message_id=message_id):
        return None
    try:
        result = send_message(msg, settings, username=username, password=password, sleep=sleep)
    except DeliveryError as exc:
        ledger.mark_failed(delivery, period, recipient, str(exc))
        raise
    if result.status == "sent" or (result.status == "partial" and recipient in result.accepted):
        ledger.mark_sent(delivery, period, recipient, message_id=message_id)
    elif result.status == "unknown":
        ledger.mark_unknown(delivery, period, recipient, result.error or "outcome unknown")
    else:
        ledger.mark_failed(delivery, period, recipient, result.error or result.status)
    return result


def _process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    return True
