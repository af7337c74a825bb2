"""The ledger's journal: an append-only file beside the SQLite ledger, so a sent row survives its database.

Why a second record: the ledger is one SQLite file on (often shared) storage. If that file is
damaged (a disk error, a copy taken mid-write, someone writing into it) every "sent" row in it is
gone, and the next run would mail every recipient again. The journal is plain text that only ever
grows, one line per change of a row, written *and fsynced before* the SQLite transaction that makes
the same change commits. So:

* every committed row state is in the journal (a crash between journal and commit leaves the journal
  one step *ahead*: at worst a row reads ``sending``, which the claim rules already handle);
* replaying the journal (the last line per key wins) gives back every row, and ``reportgen ledger
  repair`` rebuilds the database from it.

Each line is JSON with a CRC-32 of its own content (``"crc"``), so a torn last line (a crash mid-append)
or a damaged one is recognised and skipped, and counted, never half-read. Lines are appended by
one ``write`` with ``O_APPEND`` while the writer holds an exclusive ``flock`` on the file (and the
ledger's SQLite write lock), so lines from racing processes never interleave.

Line kinds: ``{"kind": "row", ...every column of the deliveries table...}`` and
``{"kind": "run", "delivery", "last_slot", "recorded_at"}`` (the schedule's last handled slot).
"""
from __future__ import annotations

import fcntl
import json
import os
import zlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROW_COLUMNS = ("delivery", "period", "recipient", "status", "stage", "message_id", "attempts", "owner",
               "created_at", "updated_at", "error")
RUN_COLUMNS = ("delivery", "last_slot", "recorded_at")
COMPACT_OVER_BYTES = 16 * 1024 * 1024
"""A journal larger than this is rewritten as one line per current row when the healthy ledger opens."""


def journal_path(ledger: Path) -> Path:
    """``reportgen-ledger.sqlite`` -> ``reportgen-ledger.sqlite.journal.jsonl`` (not SQLite's own ``-journal``)."""
    return ledger.with_name(ledger.name + ".journal.jsonl")


def encode(kind: str, values: dict[str, Any]) -> bytes:
    """One journal line: the values, their kind and a CRC-32 of both, newline-terminated."""
    body = json.dumps({"kind": kind, **values}, sort_keys=True, ensure_ascii=True, separators=(",", ":"))
    crc = zlib.crc32(body.encode())
    return (body[:-1] + f',"crc":{crc}}}\n').encode()


def decode(line: bytes) -> dict[str, Any] | None:
    """The values of one line, or ``None`` if it is torn, damaged or not ours."""
    text = line.decode("ascii", "replace").rstrip("\n")
    head, sep, tail = text.rpartition(',"crc":')
    if not sep or not tail.endswith("}") or not tail[:-1].isdigit():
        return None
    body = head + "}"
    if zlib.crc32(body.encode()) != int(tail[:-1]):
        return None
    try:
        values = json.loads(body)
    except ValueError:
        return None
    return values if isinstance(values, dict) and values.get("kind") in ("row", "run") else None


@contextmanager
def locked(path: Path) -> Iterator[int]:
    """The journal opened for appending, under an exclusive ``flock`` (repair takes the same lock)."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield fd
    finally:
        os.close(fd)  # closing releases the lock


def append(path: Path, lines: Iterable[bytes]) -> None:
    """Append ``lines`` durably: one write, then fsync, before the caller's SQLite commit."""
    data = b"".join(lines)
    if not data:
        return
    with locked(path) as fd:
        written = os.write(fd, data)
        if written != len(data):  # a full disk: the line is torn, and the commit must not happen
            raise OSError(f"journal {path}: wrote {written} of {len(data)} bytes")
        os.fsync(fd)


def write_snapshot(path: Path, rows: Iterable[dict[str, Any]], runs: Iterable[dict[str, Any]]) -> None:
    """Replace the journal by one line per current row and run (atomically: temp file, fsync, rename)."""
    temp = path.with_name(path.name + ".tmp")
    with open(temp, "wb") as handle:
        handle.writelines(encode("row", row) for row in rows)
        handle.writelines(encode("run", run) for run in runs)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temp, path)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


@dataclass
class Replay:
    """The ledger's content as the journal tells it: the last state of every row and run."""

    rows: dict[tuple[str, str, str], dict[str, Any]] = field(default_factory=dict)
    runs: dict[str, dict[str, Any]] = field(default_factory=dict)
    lines: int = 0
    bad_lines: list[int] = field(default_factory=list)

    @property
    def torn_tail_only(self) -> bool:
        """Only the last line is unreadable: a crash mid-append, expected and harmless."""
        return self.bad_lines == [self.lines]


def replay(path: Path) -> Replay:
    """Read the journal from the start; unreadable lines are skipped and their numbers kept."""
    result = Replay()
    with open(path, "rb") as handle:
        for number, line in enumerate(handle, start=1):
            result.lines = number
            values = decode(line)
            if values is None:
                result.bad_lines.append(number)
            elif values["kind"] == "row":
                row = {name: values.get(name) for name in ROW_COLUMNS}
                result.rows[(str(row["delivery"]), str(row["period"]), str(row["recipient"]))] = row
            else:
                result.runs[values["delivery"]] = {name: values.get(name) for name in RUN_COLUMNS}
    return result
