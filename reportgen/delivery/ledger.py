"""The delivery ledger: one SQLite row per (delivery, period, recipient), so each email goes out once.

Life of a row::

    pending --claim--> sending --send ok--> sent
                          |----refused---> failed   (claimable again: the server did not take it)
                          |----lost------> unknown  (never claimed again automatically)

Exactly-once rules:

* ``claim`` runs in a ``BEGIN IMMEDIATE`` transaction, so of two processes racing for the same
  row exactly one wins; a ``sent``, ``sending`` or ``unknown`` row is never claimed.
* The claim (status ``sending``, stage ``connecting``) is committed *before* the SMTP conversation
  starts, and the row records who claimed it (host, process id, and a token for this ``Ledger``).
  Just before the message content goes out (after the server's ``354``) the row's stage becomes
  ``data``, committed, and only if this process still holds the claim.
* A row found in ``sending`` whose owner is gone (same host and that process no longer exists, or
  the claim is older than ``stale_after``, default 1 hour, for other hosts) died somewhere between
  claim and result. In stage ``connecting`` nothing can have reached the server, so it is claimed
  again and sent. In stage ``data`` the email may or may not have left: it becomes ``unknown`` and
  is **not** resent; a person checks the mail log and resolves it with :meth:`Ledger.resolve`.

So re-running a period sends nothing already sent, and a run killed half-way sends each remaining
message once when restarted; only a message killed while its content was on the wire waits for review.

The file itself: every change is also appended to the journal beside it (:mod:`.journal`) before
it commits, so a damaged database loses no row (``reportgen ledger repair``). A file locked by
another process is waited for ``lock_timeout`` seconds, then reported in one line; a damaged one is
reported in one line naming the repair command. One ``Ledger`` holds one connection: open it once
per run and close it (it is a context manager).
"""
from __future__ import annotations

import os
import socket
import sqlite3
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from reportgen.delivery import journal
from reportgen.errors import DeliveryError

Status = Literal["pending", "sending", "sent", "failed", "unknown"]
CLAIMABLE: frozenset[str] = frozenset({"pending", "failed"})
DEFAULT_LOCK_TIMEOUT = 10.0
"""Seconds to wait for another process's write lock; claims hold it for milliseconds, so a longer wait
means something else holds the file (an open `sqlite3` shell, a copy, a hung process)."""

SCHEMA = """
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
    stage       TEXT,
    PRIMARY KEY (delivery, period, recipient)
);
CREATE TABLE IF NOT EXISTS runs (
    delivery    TEXT PRIMARY KEY,
    last_slot   TEXT NOT NULL,
    recorded_at TEXT NOT NULL
);
"""
_KEY = "WHERE delivery = ? AND period = ? AND recipient = ?"


class LedgerLocked(DeliveryError):
    """Another process held the ledger's lock for longer than the wait allowed."""


class LedgerDamaged(DeliveryError):
    """The ledger file is not a readable SQLite database any more."""


class ClaimLost(DeliveryError):
    """This process's claim was taken over (it was judged dead) before the content went out."""


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


def ledger_errors(path: Path, repair_hint: str, lock_timeout: float) -> Callable[[sqlite3.Error], DeliveryError]:
    """The one-line error for a failed SQLite call on the ledger at ``path``: locked, damaged, or other."""
    def translate(exc: sqlite3.Error) -> DeliveryError:
        text = str(exc)
        if isinstance(exc, sqlite3.OperationalError) and ("locked" in text or "busy" in text):
            return LedgerLocked(f"ledger {path} is locked by another run; wait and retry "
                                f"(waited {lock_timeout:g} s for its lock)")
        if isinstance(exc, sqlite3.OperationalError) and "unable to open" in text:
            return DeliveryError(f"cannot open delivery ledger {path}: {text}")
        if isinstance(exc, sqlite3.OperationalError) and "disk I/O" not in text:
            return DeliveryError(f"delivery ledger {path}: {text}")
        return LedgerDamaged(f"ledger {path} is damaged ({text}); stop scheduled runs and rebuild it from its journal "
                             f"with `{repair_hint}` (the damaged file is kept beside it)")
    return translate


class Ledger:
    """SQLite-backed record of every delivery attempt, journaled. Safe to share between processes."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        stale_after: timedelta = timedelta(hours=1),
        lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
        repair_hint: str = "reportgen ledger repair CONFIG",
    ) -> None:
        self.path = Path(path)
        self.journal = journal.journal_path(self.path)
        self._clock = clock
        self._stale_after = stale_after
        self._owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:12]}"
        self._errors = ledger_errors(self.path, repair_hint, lock_timeout)
        self._journal_lines: list[bytes] = []
        try:
            # a fresh deployment has no folder for the ledger yet; `send` must not fail on that
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DeliveryError(f"cannot create the folder of delivery ledger {self.path}: {exc.strerror or exc}") \
                from exc
        self._refuse_a_lost_database(repair_hint)
        try:
            self._db = sqlite3.connect(self.path, timeout=lock_timeout, isolation_level=None)
        except sqlite3.Error as exc:
            raise self._errors(exc) from None
        try:
            with self._guard():
                # WAL lets `reportgen history` read while a run writes; FULL makes each commit durable
                # before the SMTP conversation that depends on it starts.
                self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute("PRAGMA synchronous=FULL")
                self._prepare()
        except BaseException:
            self._db.close()
            raise

    def _refuse_a_lost_database(self, repair_hint: str) -> None:
        """No database but a journal of rows: the file was deleted or moved aside. Starting an empty
        ledger would send again every email the journal records as sent; the repair rebuilds it."""
        if self.path.exists() or not self.journal.exists():
            return
        replay = journal.replay(self.journal)
        if replay.rows or replay.runs:
            raise LedgerDamaged(f"ledger {self.path} is missing, but its journal {self.journal.name} records "
                                f"{len(replay.rows)} row(s): an empty ledger would send them again; rebuild it "
                                f"with `{repair_hint}`")

    def close(self) -> None:
        self._db.close()

    def check_writable(self) -> None:
        """Take and release the write lock: a run finds a ledger held by another process before it builds
        anything (``LedgerLocked`` after the bounded wait), not at its first claim."""
        with self._guard():
            self._db.execute("BEGIN IMMEDIATE")
            self._db.execute("ROLLBACK")

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def claim(self, delivery: str, period: str, recipient: str, *, message_id: str | None = None) -> bool:
        """Take the right to send this email now; ``False`` if it is sent, in flight, or awaiting review.

        A claim left behind by a dead process is taken over if it never reached the message content,
        else turned into ``unknown`` (see module docstring).
        """
        now = self._now()
        key = (delivery, period, recipient)
        with self._transaction() as db:
            row = db.execute(f"SELECT status, owner, updated_at, stage FROM deliveries {_KEY}", key).fetchone()
            if row is None:
                db.execute(
                    "INSERT INTO deliveries (delivery, period, recipient, status, message_id, attempts, owner, "
                    "created_at, updated_at, stage) VALUES (?, ?, ?, 'sending', ?, 1, ?, ?, ?, 'connecting')",
                    (*key, message_id, self._owner, now, now),
                )
                self._journal_row(db, key)
                return True
            status, owner, updated_at, stage = row
            note = None
            if status == "sending" and self._is_abandoned(owner, datetime.fromisoformat(updated_at)):
                if stage != "connecting":  # the content may have reached the server: a person decides
                    db.execute(f"UPDATE deliveries SET status = 'unknown', updated_at = ?, error = ? {_KEY}",
                               (now, f"process {owner} died while sending; check the mail log, then resolve", *key))
                    self._journal_row(db, key)
                    return False
                status, note = "failed", f"retried: process {owner} died before the message content was sent"
            if status not in CLAIMABLE:
                return False
            db.execute(
                "UPDATE deliveries SET status = 'sending', stage = 'connecting', attempts = attempts + 1, owner = ?, "
                f"message_id = COALESCE(?, message_id), updated_at = ?, error = ? {_KEY}",
                (self._owner, message_id, now, note, *key),
            )
            self._journal_row(db, key)
            return True

    def mark_transmitting(self, delivery: str, period: str, recipient: str) -> None:
        """The server said go ahead (354): from now on a crash leaves the outcome unknown.

        Raises :class:`ClaimLost` if another run took the claim over meanwhile (it judged this one
        dead): the content must then not be sent, or the recipient could get it twice."""
        key = (delivery, period, recipient)
        with self._transaction() as db:
            changed = db.execute(f"UPDATE deliveries SET stage = 'data', updated_at = ? {_KEY} "
                                 "AND status = 'sending' AND owner = ?", (self._now(), *key, self._owner)).rowcount
            if changed != 1:
                raise ClaimLost(f"{delivery!r} {period} {recipient}: another run took this message over; not sent")
            self._journal_row(db, key)

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
        key = (delivery, period, recipient)
        with self._transaction() as db:
            changed = db.execute(
                f"UPDATE deliveries SET status = ?, error = ?, updated_at = ? {_KEY} AND status = 'unknown'",
                (status, f"resolved by hand: {note}", self._now(), *key),
            ).rowcount
            if changed == 1:
                self._journal_row(db, key)
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
        with self._guard():
            rows = self._db.execute(query, (*params, limit)).fetchall()
        return [
            LedgerEntry(d, p, r, s, m, a, datetime.fromisoformat(c), datetime.fromisoformat(u), e)
            for d, p, r, s, m, a, c, u, e in rows
        ]

    def states(self, delivery: str, period: str) -> dict[str, str]:
        """Recipient -> status of every row of one delivery and period."""
        with self._guard():
            rows = self._db.execute("SELECT recipient, status FROM deliveries WHERE delivery = ? AND period = ?",
                                    (delivery, period)).fetchall()
        return dict(rows)

    def last_run(self, delivery: str) -> datetime | None:
        """The last schedule slot handled for this delivery (UTC), or ``None`` if never run."""
        with self._guard():
            row = self._db.execute("SELECT last_slot FROM runs WHERE delivery = ?", (delivery,)).fetchone()
        return datetime.fromisoformat(row[0]) if row else None

    def record_run(self, delivery: str, slot: datetime) -> None:
        """Remember that ``slot`` was handled (sent or logged as missed) so it is not handled again."""
        if slot.tzinfo is None:
            raise ValueError("slot must be timezone-aware")
        run = {"delivery": delivery, "last_slot": slot.astimezone(UTC).isoformat(), "recorded_at": self._now()}
        with self._transaction() as db:
            db.execute(
                "INSERT INTO runs (delivery, last_slot, recorded_at) VALUES (:delivery, :last_slot, :recorded_at) "
                "ON CONFLICT (delivery) DO UPDATE SET last_slot = excluded.last_slot, "
                "recorded_at = excluded.recorded_at",
                run,
            )
            self._journal_lines.append(journal.encode("run", run))

    def _finish(
        self, delivery: str, period: str, recipient: str, status: Status, *, error: str | None,
        message_id: str | None = None,
    ) -> None:
        key = (delivery, period, recipient)
        with self._transaction() as db:
            changed = db.execute(
                f"UPDATE deliveries SET status = ?, error = ?, message_id = COALESCE(?, message_id), updated_at = ? "
                f"{_KEY} AND status = 'sending' AND owner = ?",
                (status, error, message_id, self._now(), *key, self._owner),
            ).rowcount
            if changed == 1:
                self._journal_row(db, key)
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

    def _prepare(self) -> None:
        """Create the tables, add columns a ledger of an older reportgen lacks, and start (or compact) the journal.

        Only what needs changing takes the write lock, so `history` reads a busy ledger without waiting."""
        db = self._db
        tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        columns = {row[1] for row in db.execute("PRAGMA table_info(deliveries)")}
        journal_size = self.journal.stat().st_size if self.journal.exists() else None
        if {"deliveries", "runs"} <= tables and "stage" in columns and journal_size is not None \
                and journal_size <= journal.COMPACT_OVER_BYTES:
            return
        with self._transaction() as db:
            for statement in SCHEMA.split(";"):
                if statement.strip():
                    db.execute(statement)
            if "stage" not in {row[1] for row in db.execute("PRAGMA table_info(deliveries)")}:
                db.execute("ALTER TABLE deliveries ADD COLUMN stage TEXT")
            if not self.journal.exists() or self.journal.stat().st_size > journal.COMPACT_OVER_BYTES:
                # a ledger made before the journal existed, or a long one: one line per current row
                journal.write_snapshot(self.journal, table_rows(db, "deliveries", journal.ROW_COLUMNS),
                                       table_rows(db, "runs", journal.RUN_COLUMNS))

    def _journal_row(self, db: sqlite3.Connection, key: tuple[str, str, str]) -> None:
        """Queue the row's new state for the journal, written just before the transaction commits."""
        values = db.execute(f"SELECT {', '.join(journal.ROW_COLUMNS)} FROM deliveries {_KEY}", key).fetchone()
        self._journal_lines.append(journal.encode("row", dict(zip(journal.ROW_COLUMNS, values))))

    @contextmanager
    def _guard(self) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as exc:
            raise self._errors(exc) from None

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._guard():
            self._db.execute("BEGIN IMMEDIATE")
            self._journal_lines = []
            try:
                yield self._db
                journal.append(self.journal, self._journal_lines)  # durable before the commit
            except OSError as exc:
                self._rollback()
                raise DeliveryError(f"cannot write the journal of ledger {self.path}: {exc.strerror or exc}; "
                                    f"nothing was recorded") from None
            except BaseException:
                self._rollback()
                raise
            finally:
                self._journal_lines = []
            self._db.execute("COMMIT")

    def _rollback(self) -> None:
        if self._db.in_transaction:
            try:
                self._db.execute("ROLLBACK")
            except sqlite3.Error:
                pass  # the original error is the one to report

    def _now(self) -> str:
        return self._clock().astimezone(UTC).isoformat()


def table_rows(db: sqlite3.Connection, table: str, columns: tuple[str, ...]) -> list[dict[str, Any]]:
    """Every row of ``table`` as a column -> value mapping (for journal snapshots and checks)."""
    return [dict(zip(columns, row)) for row in db.execute(f"SELECT {', '.join(columns)} FROM {table}")]

def _process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    return True
