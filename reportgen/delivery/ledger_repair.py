"""``reportgen ledger check`` / ``repair``: is the ledger file sound, and rebuild it from its journal.

``check`` reads without writing (a read-only connection): SQLite's ``quick_check``, then every row
compared with the journal's last line for it. ``repair`` rebuilds the database from the journal
alone, under the journal's lock so no run appends meanwhile, keeps the damaged file beside it
(``<ledger>.damaged-<UTC time>``) and swaps the rebuilt one in with a rename. It refuses a sound
ledger: a ledger older than its journal may hold rows the journal does not.
"""
from __future__ import annotations

import os
import sqlite3
from collections import Counter
from collections.abc import Callable, Iterable
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from reportgen.delivery import journal
from reportgen.delivery.ledger import DEFAULT_LOCK_TIMEOUT, SCHEMA, LedgerDamaged, ledger_errors
from reportgen.errors import DeliveryError


@dataclass(frozen=True)
class LedgerCheck:
    """The verdict of ``reportgen ledger check``: one line, and whether it is a problem."""

    ok: bool
    line: str


def check_ledger(path: Path, *, lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
                 repair_hint: str = "reportgen ledger repair CONFIG") -> LedgerCheck:
    """Is the ledger a sound database, and does every row agree with its journal? Never writes."""
    journal_file = journal.journal_path(path)
    if not path.exists():
        return LedgerCheck(True, f"no ledger at {path} yet: nothing has been sent")
    try:
        rows, runs = _read(path, lock_timeout, repair_hint)
    except LedgerDamaged as exc:
        return LedgerCheck(False, str(exc))
    except sqlite3.Error as exc:
        raise ledger_errors(path, repair_hint, lock_timeout)(exc) from None
    counts = Counter(row["status"] for row in rows)
    summary = f"{len(rows)} rows ({counts['sent']} sent, {counts['unknown']} awaiting review, " \
              f"{counts['failed']} failed), {len(runs)} schedules"
    if not journal_file.exists():
        return LedgerCheck(True, f"ledger {path}: sound; {summary}; no journal yet (the next run writes one)")
    replay = journal.replay(journal_file)
    problems = _disagreements(rows, replay)
    bad = [n for n in replay.bad_lines if not replay.torn_tail_only]
    if bad:
        problems.append(f"journal lines {_numbers(bad)} are unreadable")
    if problems:
        return LedgerCheck(False, f"ledger {path}: {'; '.join(problems)}; if runs keep failing, "
                                  f"`{repair_hint}` rebuilds it from the journal")
    return LedgerCheck(True, f"ledger {path}: sound; {summary}; journal {journal_file.name} agrees "
                             f"({replay.lines} lines)")


def repair_ledger(path: Path, *, lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
                  clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> str:
    """Rebuild a damaged ledger from its journal; the one line says what was restored and where the old file is."""
    journal_file = journal.journal_path(path)
    if not journal_file.exists():
        raise DeliveryError(f"ledger {path} has no journal ({journal_file.name}) to rebuild it from: restore the "
                            f"ledger from a backup (moving it aside starts an empty ledger, and every message of a "
                            f"period not yet over would be sent again)")
    if path.exists():
        try:
            _read(path, lock_timeout, "reportgen ledger repair")
        except LedgerDamaged:
            pass
        except sqlite3.Error as exc:
            raise ledger_errors(path, "reportgen ledger repair", lock_timeout)(exc) from None
        else:
            raise DeliveryError(f"ledger {path} is sound (`reportgen ledger check` says why it agrees); "
                                f"nothing to repair")
    with journal.locked(journal_file):  # no run appends while the database is swapped
        replay = journal.replay(journal_file)
        rebuilt = path.with_name(path.name + ".rebuilt")
        _remove(rebuilt)
        _write_database(rebuilt, replay.rows.values(), replay.runs.values())
        kept = path.with_name(f"{path.name}.damaged-{clock().astimezone(UTC):%Y%m%dT%H%M%SZ}")
        for suffix in ("", "-wal", "-shm"):  # the WAL of a damaged database belongs to it, not to the new one
            if Path(f"{path}{suffix}").exists():
                os.replace(f"{path}{suffix}", f"{kept}{suffix}")
        os.replace(rebuilt, path)
        _fsync_folder(path.parent)
    counts = Counter(row["status"] for row in replay.rows.values())
    skipped = f"; {len(replay.bad_lines)} unreadable journal line(s) skipped" if replay.bad_lines else ""
    return (f"ledger {path} rebuilt from its journal: {len(replay.rows)} rows ({counts['sent']} sent, "
            f"{counts['unknown']} awaiting review), {len(replay.runs)} schedules{skipped}; "
            f"the damaged file is kept as {kept.name}")


def _read(path: Path, lock_timeout: float, repair_hint: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Every row and run, read-only; ``LedgerDamaged`` if SQLite cannot read the file or finds it corrupt."""
    translate = ledger_errors(path, repair_hint, lock_timeout)
    try:
        with closing(sqlite3.connect(f"{path.absolute().as_uri()}?mode=ro", uri=True, timeout=lock_timeout)) as db:
            verdict = db.execute("PRAGMA quick_check").fetchone()[0]
            if verdict != "ok":
                raise LedgerDamaged(f"ledger {path} is damaged (SQLite's check: {verdict}); stop scheduled runs and "
                                    f"rebuild it from its journal with `{repair_hint}`")
            present = {row[1] for row in db.execute("PRAGMA table_info(deliveries)")}
            rows = _select(db, "deliveries", journal.ROW_COLUMNS, present)
            runs = _select(db, "runs", journal.RUN_COLUMNS, {row[1] for row in db.execute("PRAGMA table_info(runs)")})
    except sqlite3.Error as exc:
        error = translate(exc)
        if isinstance(error, LedgerDamaged):
            raise error from None
        raise
    return rows, runs


def _select(db: sqlite3.Connection, table: str, columns: tuple[str, ...], present: set[str]) -> list[dict[str, Any]]:
    if not present:
        return []
    chosen = ", ".join(name if name in present else "NULL" for name in columns)  # a ledger older than `stage`
    return [dict(zip(columns, row)) for row in db.execute(f"SELECT {chosen} FROM {table}")]


def _disagreements(rows: list[dict[str, Any]], replay: journal.Replay) -> list[str]:
    """Rows the journal does not know or knows in an older state. A journal *ahead* of a row is normal:
    its line is written before the commit, so a transaction that then failed leaves one."""
    missing, older = [], []
    for row in rows:
        known = replay.rows.get((row["delivery"], row["period"], row["recipient"]))
        if known is None:
            missing.append(row["recipient"])
        elif known["updated_at"] < row["updated_at"] or (
                known["updated_at"] == row["updated_at"] and known["status"] != row["status"]):
            older.append(row["recipient"])
    in_db = {(row["delivery"], row["period"], row["recipient"]) for row in rows}
    absent = [key[2] for key in replay.rows if key not in in_db]
    problems = []
    if missing:
        problems.append(f"{len(missing)} row(s) not in the journal (e.g. {missing[0]})")
    if older:
        problems.append(f"{len(older)} row(s) newer than their journal line (e.g. {older[0]})")
    if absent:
        problems.append(f"{len(absent)} journal row(s) missing from the database (e.g. {absent[0]})")
    return problems


def _write_database(path: Path, rows: Iterable[dict[str, Any]], runs: Iterable[dict[str, Any]]) -> None:
    with closing(sqlite3.connect(path, isolation_level=None)) as db:
        db.execute("PRAGMA journal_mode=DELETE")  # one file to rename; the next Ledger switches it to WAL
        db.execute("BEGIN")
        for statement in SCHEMA.split(";"):
            if statement.strip():
                db.execute(statement)
        names = ", ".join(journal.ROW_COLUMNS)
        db.executemany(f"INSERT INTO deliveries ({names}) VALUES ({', '.join('?' * len(journal.ROW_COLUMNS))})",
                       [tuple(row[c] for c in journal.ROW_COLUMNS) for row in rows])
        db.executemany("INSERT INTO runs (delivery, last_slot, recorded_at) VALUES (?, ?, ?)",
                       [tuple(run[c] for c in journal.RUN_COLUMNS) for run in runs])
        db.execute("COMMIT")


def _remove(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def _fsync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _numbers(values: list[int]) -> str:
    shown = ", ".join(str(v) for v in values[:5])
    return shown + (f" and {len(values) - 5} more" if len(values) > 5 else "")
