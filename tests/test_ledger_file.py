"""The ledger's file under bad luck: locked by another process, overwritten with garbage, rebuilt from its
journal, and the connections a frequent schedule holds. Real SQLite files, real processes, the real SMTP
server; every command through the CLI as an operator runs it."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from reportgen.delivery import journal
from reportgen.delivery.ledger import Ledger
from tests.fixtures.smtp import SmtpServerHandle
from tests.test_deliver import config_text, run_cli

NOW = "2026-01-01T07:00+01:00"
TWO = """\
- name: exec-monthly
  audience: executive
  schedule: "0 7 1 * *"
  timezone: Europe/Berlin
  recipients: [{email: ceo@example.com}, {email: cfo@example.com}]
"""
FAST_LOCK = "ledger: {path: reportgen-ledger.sqlite, lock_timeout_seconds: 1}\n"


def _config(tmp_path: Path, smtp_server: SmtpServerHandle, deliveries: str = TWO, extra: str = FAST_LOCK) -> Path:
    config = tmp_path / "sales.yaml"
    config.write_text(config_text(smtp_server.port, deliveries=deliveries) + extra)
    return config


def _hold_lock(path: Path, mode: str) -> subprocess.Popen[str]:
    """A second process that takes the ledger's lock and keeps it until killed ('write' or 'exclusive')."""
    script = (
        "import sqlite3, sys, time\n"
        f"db = sqlite3.connect({str(path)!r}, isolation_level=None)\n"
        + ("db.execute('PRAGMA locking_mode=EXCLUSIVE'); db.execute('BEGIN EXCLUSIVE')\n" if mode == "exclusive"
           else "db.execute('BEGIN IMMEDIATE')\n")
        + "db.execute(\"UPDATE runs SET recorded_at = recorded_at\")\n"
        "print('locked', flush=True)\ntime.sleep(600)\n"
    )
    holder = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
    return holder


def _stop(process: subprocess.Popen[str]) -> None:
    process.kill()
    process.wait(timeout=10)
    if process.stdout is not None:
        process.stdout.close()


def test_a_ledger_locked_by_another_process_is_one_line_after_the_bounded_wait(
        tmp_path: Path, smtp_server: SmtpServerHandle) -> None:
    config = _config(tmp_path, smtp_server)
    ledger = tmp_path / "reportgen-ledger.sqlite"
    Ledger(ledger).close()

    holder = _hold_lock(ledger, "write")
    try:
        started = time.monotonic()
        sent = run_cli("send", config, "--now", NOW)
        waited = time.monotonic() - started
        history = run_cli("history", config)  # WAL: a writer's lock does not stop a reader
    finally:
        _stop(holder)

    assert sent.exit_code == 2
    assert sent.output == f"error: ledger {ledger} is locked by another run; wait and retry (waited 1 s for its lock)\n"
    assert 1 <= waited < 10  # bounded by lock_timeout_seconds, not SQLite's 30 s, and before any build
    assert smtp_server.messages() == []
    assert history.exit_code == 0 and "ledger" in history.output

    holder = _hold_lock(ledger, "exclusive")  # now readers are shut out too
    try:
        history = run_cli("history", config)
    finally:
        _stop(holder)
    assert history.exit_code == 2
    assert history.output == f"error: ledger {ledger} is locked by another run; wait and retry " \
                             f"(waited 1 s for its lock)\n"

    after = run_cli("send", config, "--now", NOW)  # the lock is gone: the run goes ahead
    assert after.exit_code == 0, after.output
    assert len(smtp_server.messages()) == 2


def test_a_ledger_overwritten_with_garbage_is_one_line_and_repair_brings_back_every_sent_row(
        tmp_path: Path, smtp_server: SmtpServerHandle) -> None:
    config = _config(tmp_path, smtp_server, extra="")
    ledger = tmp_path / "reportgen-ledger.sqlite"
    first = run_cli("send", config, "--now", NOW)
    assert first.exit_code == 0, first.output
    assert len(smtp_server.messages()) == 2
    assert not Path(f"{ledger}-wal").exists()  # the last connection checkpointed: the file is the ledger

    ledger.write_bytes(os.urandom(3000) + b"garbage" * 500)
    damaged = (f"error: ledger {ledger} is damaged (file is not a database); stop scheduled runs and rebuild it "
               f"from its journal with `reportgen ledger repair {config}` (the damaged file is kept beside it)\n")
    send = run_cli("send", config, "--now", NOW)
    assert (send.exit_code, send.output) == (2, damaged)
    history = run_cli("history", config)
    assert (history.exit_code, history.output) == (2, damaged)
    check = run_cli("ledger", "check", config)
    assert check.exit_code == 1
    assert check.output.startswith(f"ledger {ledger} is damaged (file is not a database)")
    assert len(check.output.splitlines()) == 1
    assert len(smtp_server.messages()) == 2  # the damaged ledger sent nothing again

    repair = run_cli("ledger", "repair", config)
    assert repair.exit_code == 0, repair.output
    assert repair.output.startswith(f"ledger {ledger} rebuilt from its journal: 2 rows (2 sent, 0 awaiting review), "
                                    f"0 schedules; the damaged file is kept as reportgen-ledger.sqlite.damaged-")
    [kept] = tmp_path.glob("reportgen-ledger.sqlite.damaged-*")
    assert kept.read_bytes().endswith(b"garbage")

    check = run_cli("ledger", "check", config)
    assert check.exit_code == 0, check.output
    assert "sound; 2 rows (2 sent, 0 awaiting review, 0 failed)" in check.output
    again = run_cli("send", config, "--now", NOW)
    assert again.exit_code == 0, again.output
    assert again.output.splitlines() == ["already_sent exec-monthly 2025-12 ceo@example.com",
                                         "already_sent exec-monthly 2025-12 cfo@example.com"]
    assert len(smtp_server.messages()) == 2  # nobody got the scorecard twice

    refused = run_cli("ledger", "repair", config)
    assert refused.exit_code == 2
    assert refused.output == f"error: ledger {ledger} is sound (`reportgen ledger check` says why it agrees); " \
                             f"nothing to repair\n"


def test_the_journal_skips_a_torn_last_line_and_check_finds_a_row_it_does_not_know(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    with Ledger(path) as ledger:
        ledger.claim("d", "2025-12", "a@example.com")
        ledger.mark_sent("d", "2025-12", "a@example.com")
    journal_file = journal.journal_path(path)
    lines = journal_file.read_bytes().splitlines(keepends=True)
    assert [journal.decode(line)["status"] for line in lines] == ["sending", "sent"]  # type: ignore[index]
    journal_file.write_bytes(b"".join(lines) + lines[-1][:25])  # a crash in the middle of an append

    replay = journal.replay(journal_file)
    assert (replay.torn_tail_only, replay.rows[("d", "2025-12", "a@example.com")]["status"]) == (True, "sent")
    assert journal.decode(lines[-1].replace(b"sent", b"sant")) is None  # a changed byte fails its CRC

    from reportgen.delivery.ledger_repair import check_ledger

    assert check_ledger(path).ok
    journal_file.write_bytes(lines[0])  # the journal lost the 'sent' line: the row is newer than its journal
    verdict = check_ledger(path)
    assert not verdict.ok
    assert "1 row(s) newer than their journal line (e.g. a@example.com)" in verdict.line


def test_a_ledger_made_before_the_journal_gets_one_and_keeps_its_rows(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as db:  # the schema of the previous release: no stage column, no journal
        db.executescript(
            "CREATE TABLE deliveries (delivery TEXT NOT NULL, period TEXT NOT NULL, recipient TEXT NOT NULL, "
            "status TEXT NOT NULL, message_id TEXT, attempts INTEGER NOT NULL DEFAULT 0, owner TEXT, "
            "created_at TEXT NOT NULL, updated_at TEXT NOT NULL, error TEXT, "
            "PRIMARY KEY (delivery, period, recipient));"
            "CREATE TABLE runs (delivery TEXT PRIMARY KEY, last_slot TEXT NOT NULL, recorded_at TEXT NOT NULL);"
            "INSERT INTO deliveries VALUES ('d', '2025-11', 'a@example.com', 'sent', NULL, 1, NULL, "
            "'2025-12-01T06:00:00+00:00', '2025-12-01T06:00:01+00:00', NULL);")
    db.close()
    Ledger(path).close()

    replay = journal.replay(journal.journal_path(path))
    assert replay.rows[("d", "2025-11", "a@example.com")]["status"] == "sent"


def test_every_minute_schedule_first_run_collapses_into_one_run_and_leaves_no_connection_open(
        tmp_path: Path, smtp_server: SmtpServerHandle) -> None:
    from reportgen.cli.app import parse_now
    from reportgen.config.load import load_config
    from reportgen.delivery.due import run_due

    every_minute = TWO.replace('"0 7 1 * *"', '"* * * * *"')
    config = _config(tmp_path, smtp_server, deliveries=every_minute, extra="")
    started = time.monotonic()
    # the grace window (24 h) holds 1,440 slots, every one of them reporting December
    first = run_cli("deliver", "--due", config, "--now", "2026-01-02T12:00Z")
    assert first.exit_code == 0, first.output
    assert first.output == ("ran          exec-monthly slot 2026-01-02T13:00+01:00 period 2025-12: 2 ok, 0 failed; "
                            "1439 earlier slot(s) of this period collapsed into this run\n")
    assert time.monotonic() - started < 60  # one build, not 1,441
    assert len(smtp_server.messages()) == 2

    ledger_files = {str(tmp_path / name) for name in ("reportgen-ledger.sqlite", "reportgen-ledger.sqlite-wal",
                                                      "reportgen-ledger.sqlite-shm")}

    def open_ledger_handles() -> int:
        return sum(1 for fd in os.listdir("/proc/self/fd") if _target(fd) in ledger_files)

    loaded = load_config(config)
    for minute in range(1, 21):  # the scheduler's ticks, in this process
        runs = run_due(loaded, now=parse_now(f"2026-01-02T12:{minute:02d}Z"))
        assert [run.report.period if run.report else None for run in runs] == ["2025-12"]
        assert open_ledger_handles() == 0
    assert len(smtp_server.messages()) == 2


def test_a_new_frequent_schedule_sends_only_the_latest_period_and_says_what_it_skipped(
        tmp_path: Path, smtp_server: SmtpServerHandle) -> None:
    from datetime import datetime

    config = _config(tmp_path, smtp_server, deliveries=TWO.replace('"0 7 1 * *"', '"* * * * *"'), extra="")
    # first run at 13:00 Berlin on 1 January: the grace window's slots on 31 December report November
    result = run_cli("deliver", "--due", config, "--now", "2026-01-01T12:00Z")

    november = int((datetime(2026, 1, 1, 0, 0) - datetime(2025, 12, 31, 13, 1)).total_seconds() // 60)  # 13:01..23:59
    december = 24 * 60 - november
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        f"skipped      exec-monthly {november} slots up to 2025-12-31T23:59+01:00 (period 2025-11): first run of "
        f"this schedule, only the latest period is sent",
        f"ran          exec-monthly slot 2026-01-01T13:00+01:00 period 2025-12: 2 ok, 0 failed; {december - 1} "
        f"earlier slot(s) of this period collapsed into this run"]
    assert all(b"December 2025" in m.data for m in smtp_server.messages()) and len(smtp_server.messages()) == 2


def _target(fd: str) -> str:
    try:
        return os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        return ""


def test_racing_processes_leave_a_journal_that_agrees_with_the_database(tmp_path: Path) -> None:
    from reportgen.delivery.ledger_repair import check_ledger
    from tests.test_ledger import _worker

    path = tmp_path / "ledger.sqlite"
    Ledger(path).close()
    keys = [f"r{i}@example.com" for i in range(40)]

    workers = [_worker("claim", str(path), *keys) for _ in range(4)]
    for worker in workers:
        worker.communicate(timeout=60)

    replay = journal.replay(journal.journal_path(path))
    # one whole line per change, none torn: a claim each, plus a take-over line when a worker that exited
    # was judged dead by a later one (that row is then claimed again, and journaled again)
    assert (replay.bad_lines, len(replay.rows)) == ([], 40) and replay.lines >= 40
    verdict = check_ledger(path)
    assert verdict.ok, verdict.line
