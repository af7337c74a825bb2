"""The delivery commands end to end: `deliver --due` across slots, `schedule` as a real process,
`history` / `resolve` of a message whose outcome is unknown. Real SMTP server, real ledger."""
from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

from reportgen.delivery.ledger import Ledger
from tests.fixtures.smtp import SmtpServerHandle
from tests.test_deliver import config_text, parse, run_cli

REPO = Path(__file__).resolve().parent.parent
CLI = [sys.executable, "-c", "import reportgen.cli.delivery; from reportgen.cli.app import main; main()"]

MONTHLY = """\
- name: exec-monthly
  audience: executive
  schedule: "0 7 1 * *"
  timezone: Europe/Berlin
  grace_hours: 24
  recipients: [{email: ceo@example.com}]
"""


def test_deliver_due_sends_a_slot_once_and_logs_missed_slots(tmp_path: Path, smtp_server: SmtpServerHandle) -> None:
    config = tmp_path / "sales.yaml"
    config.write_text(config_text(smtp_server.port, deliveries=MONTHLY))

    before = run_cli("deliver", "--due", config, "--now", "2026-01-01T05:30Z")  # 06:30 Berlin: not yet
    at_slot = run_cli("deliver", "--due", config, "--now", "2026-01-01T06:20Z")  # 07:20 Berlin
    later = run_cli("deliver", "--due", config, "--now", "2026-01-01T09:00Z")

    assert (before.exit_code, before.output) == (0, "")
    assert at_slot.exit_code == 0, at_slot.output
    assert at_slot.stdout == "ran          exec-monthly slot 2026-01-01T07:00+01:00 period 2025-12: 1 ok, 0 failed\n"
    assert (later.exit_code, later.output) == (0, "")
    [message] = smtp_server.messages()
    assert "December 2025" in parse(message.data)["Subject"]

    # the scheduler was down through February's and March's slots: both logged, neither sent
    missed = run_cli("deliver", "--due", config, "--now", "2026-03-05T12:00Z")
    assert missed.exit_code == 0
    assert missed.stderr.splitlines() == [
        "missed       exec-monthly slot 2026-02-01T07:00+01:00: more than the grace period late, not sent",
        "missed       exec-monthly slot 2026-03-01T07:00+01:00: more than the grace period late, not sent",
    ]
    assert len(smtp_server.messages()) == 1
    again = run_cli("deliver", "--due", config, "--now", "2026-03-05T12:05Z")
    assert (again.exit_code, again.output) == (0, "")
    assert (
        Ledger(tmp_path / "reportgen-ledger.sqlite").last_run("exec-monthly").isoformat() == "2026-03-01T06:00:00+00:00"
    )


def test_deliver_due_exits_non_zero_and_retries_when_the_server_is_down(
    tmp_path: Path, smtp_server: SmtpServerHandle
) -> None:
    config = tmp_path / "sales.yaml"
    # a port nobody listens on: the server is "down"
    config.write_text(config_text(smtp_server.port, deliveries=MONTHLY).replace(f"port: {smtp_server.port}", "port: 9"))

    down = run_cli("deliver", "--due", config, "--now", "2026-01-01T06:20Z")

    assert down.exit_code == 1
    assert "failed       exec-monthly 2025-12 ceo@example.com: cannot reach SMTP server 127.0.0.1:9" in down.stderr
    assert Ledger(tmp_path / "reportgen-ledger.sqlite").last_run("exec-monthly") is None  # slot not used up

    config.write_text(config_text(smtp_server.port, deliveries=MONTHLY))
    back = run_cli("deliver", "--due", config, "--now", "2026-01-01T06:40Z")
    assert back.exit_code == 0, back.output
    assert [m.rcpt_tos for m in smtp_server.messages()] == [["ceo@example.com"]]


def test_schedule_runs_due_deliveries_and_stops_cleanly_on_sigterm(
    tmp_path: Path, smtp_server: SmtpServerHandle
) -> None:
    config = tmp_path / "sales.yaml"
    every_minute = MONTHLY.replace('"0 7 1 * *"', '"* * * * *"') + '  period: "2025-12"\n'
    config.write_text(config_text(smtp_server.port, deliveries=every_minute))
    process = subprocess.Popen([*CLI, "schedule", str(config)], cwd=REPO, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        smtp_server.wait_for_messages(1, timeout=60)
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, stderr
    assert "ran          exec-monthly slot" in stdout and "period 2025-12: 1 ok, 0 failed" in stdout
    assert "received SIGTERM; stopping after the current run" in stderr
    assert stderr.rstrip().endswith("scheduler stopped")
    assert len(smtp_server.messages()) == 1


def test_unknown_outcome_is_listed_resolved_and_never_resent(tmp_path: Path, smtp_server: SmtpServerHandle) -> None:
    config = tmp_path / "sales.yaml"
    config.write_text(config_text(smtp_server.port, deliveries=MONTHLY))
    smtp_server.configure(drop_after_data_first=1)  # the server stores it, then hangs up before replying

    first = run_cli("send", config, "--now", "2026-01-01T07:00+01:00")
    assert first.exit_code == 1
    assert "unknown      exec-monthly 2025-12 ceo@example.com: connection lost after the message" in first.stderr

    history = run_cli("history", config, "--unknown")
    assert history.exit_code == 0
    assert "ceo@example.com" in history.stdout and "unknown" in history.stdout and "resolve" in history.stdout

    rerun = run_cli("send", config, "--now", "2026-01-01T07:00+01:00")
    assert rerun.exit_code == 1  # still awaiting review: reported, not resent
    assert len(smtp_server.messages()) == 1

    resolved = run_cli("resolve", config, "--delivery", "exec-monthly", "--period", "2025-12",
                       "--recipient", "ceo@example.com", "--as", "sent", "--note", "found in relay log")
    assert resolved.exit_code == 0
    assert run_cli("send", config, "--now", "2026-01-01T07:00+01:00").exit_code == 0
    assert len(smtp_server.messages()) == 1
    [entry] = Ledger(tmp_path / "reportgen-ledger.sqlite").history()
    assert (entry.status, entry.error) == ("sent", "resolved by hand: found in relay log")
    assert "exec-monthly" in run_cli("history", config, "--limit", "5").stdout
