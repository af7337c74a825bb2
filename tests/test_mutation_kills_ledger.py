"""The ledger's exactly-once rules at their edges: the survivors of the mutation run over
reportgen.delivery.ledger (scripts/mutation.sh ledger, docs/mutation.md).

Real SQLite files and real processes, as in test_ledger. Expected behaviour from the module's
docstring: a claim whose owner process on this host is gone is taken over at once, one whose owner
is alive is never taken over however old; another host's claim only once it is *older than*
``stale_after``; and every change is in the journal before it commits, so the journal's last word on
a row is the row.
"""
from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from reportgen.delivery import journal
from reportgen.delivery.ledger import Ledger, LedgerDamaged, table_rows
from reportgen.delivery.ledger_repair import repair_ledger
from reportgen.errors import DeliveryError

DELIVERY, PERIOD, TO = "exec-monthly", "2025-03", "a@example.com"
START = datetime(2025, 4, 1, 8, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


def _claimed_by(path: Path, owner: str, stage: str = "data") -> None:
    """A ``sending`` row left by ``owner`` (host:pid:token) in ``stage``."""
    assert Ledger(path, clock=Clock()).claim(DELIVERY, PERIOD, TO) is True
    with sqlite3.connect(path) as db:
        db.execute("UPDATE deliveries SET owner = ?, stage = ?", (owner, stage))


def _status(ledger: Ledger) -> str:
    return ledger.states(DELIVERY, PERIOD)[TO]


def test_a_claim_of_a_live_process_on_this_host_is_never_taken_over_however_old(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        _claimed_by(path, f"{socket.gethostname()}:{alive.pid}:feedbeef0000")
        clock = Clock()
        clock.now += timedelta(days=3)  # far past stale_after: age does not matter on this host
        ledger = Ledger(path, clock=clock)
        assert ledger.claim(DELIVERY, PERIOD, TO) is False
        assert _status(ledger) == "sending"
    finally:
        alive.kill()
        alive.wait()
    # the same claim once that process is gone: at once, no waiting for stale_after
    assert Ledger(path, clock=Clock()).claim(DELIVERY, PERIOD, TO) is False
    assert _status(Ledger(path)) == "unknown"  # it was in stage data: a person decides


def test_a_claim_of_a_dead_process_on_this_host_that_never_reached_data_is_taken_over_at_once(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    _claimed_by(path, f"{socket.gethostname()}:{gone.pid}:feedbeef0000", stage="connecting")
    ledger = Ledger(path, clock=Clock())
    assert ledger.claim(DELIVERY, PERIOD, TO) is True
    [entry] = ledger.history()
    assert (entry.status, entry.attempts) == ("sending", 2)


def test_an_earlier_ledger_of_this_very_process_is_dead_but_this_one_is_not(tmp_path: Path) -> None:
    """Our pid with another token is an earlier incarnation that reused the pid; our own token is us."""
    path = tmp_path / "ledger.sqlite"
    _claimed_by(path, f"{socket.gethostname()}:{os.getpid()}:000000000000")
    ledger = Ledger(path, clock=Clock())
    assert ledger.claim(DELIVERY, PERIOD, TO) is False
    assert _status(ledger) == "unknown"

    ours = Ledger(tmp_path / "own.sqlite", clock=Clock())
    assert ours.claim(DELIVERY, PERIOD, TO) is True
    with sqlite3.connect(tmp_path / "own.sqlite") as db:
        db.execute("UPDATE deliveries SET stage = 'data'")
    assert ours.claim(DELIVERY, PERIOD, TO) is False  # in flight, and it is ours: not abandoned
    assert _status(ours) == "sending"


def test_another_host_claim_exactly_stale_after_old_is_not_yet_abandoned(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    _claimed_by(path, "other-host:4242:abc")
    clock = Clock()
    ledger = Ledger(path, clock=clock, stale_after=timedelta(minutes=30))
    clock.now = START + timedelta(minutes=30)  # not older than 30 minutes
    assert ledger.claim(DELIVERY, PERIOD, TO) is False and _status(ledger) == "sending"
    clock.now += timedelta(seconds=1)
    assert ledger.claim(DELIVERY, PERIOD, TO) is False and _status(ledger) == "unknown"


def test_the_journal_has_every_change_of_a_row(tmp_path: Path) -> None:
    """Each transition's new state is journaled: replaying the journal gives the database's rows."""
    path = tmp_path / "ledger.sqlite"
    ledger = Ledger(path, clock=Clock())
    replayed: list[str] = []

    def journal_agrees() -> None:
        replay = journal.replay(journal.journal_path(path))
        with sqlite3.connect(path) as db:
            rows = {(r["delivery"], r["period"], r["recipient"]): r
                    for r in table_rows(db, "deliveries", journal.ROW_COLUMNS)}
        assert replay.rows == rows
        replayed.append(str(replay.rows[(DELIVERY, PERIOD, TO)]["status"]))

    ledger.claim(DELIVERY, PERIOD, TO, message_id="<m1@example.com>")
    journal_agrees()
    ledger.mark_failed(DELIVERY, PERIOD, TO, "451 try later")
    journal_agrees()
    ledger.claim(DELIVERY, PERIOD, TO)
    ledger.mark_transmitting(DELIVERY, PERIOD, TO)
    journal_agrees()
    ledger.mark_unknown(DELIVERY, PERIOD, TO, "connection lost after DATA")
    journal_agrees()
    ledger.resolve(DELIVERY, PERIOD, TO, "failed", "not in the relay's log")
    journal_agrees()
    ledger.claim(DELIVERY, PERIOD, TO)
    ledger.mark_sent(DELIVERY, PERIOD, TO, message_id="<m3@example.com>")
    journal_agrees()
    assert replayed == ["sending", "failed", "sending", "unknown", "failed", "sent"]
    [entry] = ledger.history()
    assert (entry.attempts, entry.message_id) == (3, "<m3@example.com>")


def test_states_names_each_recipient_of_one_delivery_and_period(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "ledger.sqlite", clock=Clock())
    ledger.claim(DELIVERY, PERIOD, "a@example.com")
    ledger.claim(DELIVERY, PERIOD, "b@example.com")
    ledger.mark_sent(DELIVERY, PERIOD, "b@example.com")
    ledger.claim(DELIVERY, "2025-04", "c@example.com")
    ledger.claim("other", PERIOD, "d@example.com")
    assert ledger.states(DELIVERY, PERIOD) == {"a@example.com": "sending", "b@example.com": "sent"}


def test_a_ledger_in_a_folder_not_made_yet_is_made_with_its_folders(tmp_path: Path) -> None:
    """A fresh deployment: `state/ledger/` does not exist yet; the first send must not fail on it."""
    path = tmp_path / "state" / "ledger" / "deliveries.sqlite"
    assert Ledger(path).claim(DELIVERY, PERIOD, TO) is True
    assert path.is_file()


def test_a_ledger_path_that_cannot_be_opened_is_one_delivery_error(tmp_path: Path) -> None:
    (tmp_path / "ledger.sqlite").mkdir()  # a folder where the file should be
    with pytest.raises(DeliveryError, match=r"^cannot open delivery ledger .*ledger\.sqlite: unable to open"):
        Ledger(tmp_path / "ledger.sqlite")


def test_a_lost_database_beside_its_journal_is_not_restarted_empty(tmp_path: Path) -> None:
    """The database file is gone (deleted, moved aside by hand) but its journal records a sent email:
    an empty ledger would send it again. The ledger refuses, naming the repair, which brings the row
    back from the journal."""
    path = tmp_path / "ledger.sqlite"
    with Ledger(path) as ledger:
        ledger.claim(DELIVERY, PERIOD, TO)
        ledger.mark_sent(DELIVERY, PERIOD, TO)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)

    with pytest.raises(LedgerDamaged, match=r"^ledger .*ledger\.sqlite is missing, but its journal .* records 1 "
                                            r"row.*`reportgen ledger repair CONFIG`"):
        Ledger(path)
    assert not path.exists()  # nothing created that would pass for the ledger

    repair_ledger(path)
    assert Ledger(path).claim(DELIVERY, PERIOD, TO) is False  # sent: never again


def test_by_default_another_host_claim_is_stale_after_one_hour(tmp_path: Path) -> None:
    """The module docstring: a claim from another host is judged dead once older than 1 hour."""
    path = tmp_path / "ledger.sqlite"
    _claimed_by(path, "other-host:4242:abc")
    clock = Clock()
    ledger = Ledger(path, clock=clock)
    clock.now = START + timedelta(minutes=59)
    assert ledger.claim(DELIVERY, PERIOD, TO) is False and _status(ledger) == "sending"
    clock.now = START + timedelta(minutes=61)
    assert ledger.claim(DELIVERY, PERIOD, TO) is False and _status(ledger) == "unknown"


def test_a_ledger_whose_folder_cannot_be_made_is_one_delivery_error(tmp_path: Path) -> None:
    (tmp_path / "state").write_text("a file where the ledger's folder should be")
    with pytest.raises(DeliveryError) as refused:
        Ledger(tmp_path / "state" / "ledger.sqlite")
    assert str(refused.value) == (f"cannot create the folder of delivery ledger {tmp_path}/state/ledger.sqlite: "
                                  "File exists")


def test_a_journal_that_cannot_be_written_records_nothing(tmp_path: Path) -> None:
    """The journal line is written before the commit; when it cannot be, the change is rolled back
    (a claim the journal does not know would be lost by a repair) and the error is one line."""
    path = tmp_path / "ledger.sqlite"
    Ledger(path).close()
    journal_file = journal.journal_path(path)
    journal_file.unlink()
    journal_file.mkdir()  # the journal cannot be opened for appending
    ledger = Ledger(path)
    with pytest.raises(DeliveryError) as failed:
        ledger.claim(DELIVERY, PERIOD, TO)
    assert str(failed.value) == (f"cannot write the journal of ledger {path}: Is a directory; nothing was recorded")
    assert ledger.states(DELIVERY, PERIOD) == {}


def test_a_journal_grown_over_the_compaction_size_is_rewritten_with_one_line_per_row(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    with Ledger(path) as ledger:
        ledger.claim(DELIVERY, PERIOD, TO)
        ledger.mark_sent(DELIVERY, PERIOD, TO)
    journal_file = journal.journal_path(path)
    last = journal_file.read_bytes().splitlines(keepends=True)[-1]
    with open(journal_file, "ab") as grow:  # a long history of the same row, over the threshold
        grow.write(last * (journal.COMPACT_OVER_BYTES // len(last) + 1))

    Ledger(path).close()

    assert journal_file.stat().st_size < 4096
    assert [journal.decode(line)["status"] for line in journal_file.read_bytes().splitlines()] == ["sent"]  # type: ignore[index]
