"""What stands between a scorecard and a mailbox: the PDF sanity check, per-recipient isolation, a run killed
before DATA, a server's odd DATA replies, attachment names and subjects. Real SMTP server process, real
SQLite ledger, real PDFs, the CLI as an operator runs it."""
from __future__ import annotations

import logging
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from reportgen.delivery.ledger import Ledger
from tests.fixtures.smtp import SmtpServerHandle
from tests.test_deliver import config_text, parse, run_cli

REPO = Path(__file__).resolve().parent.parent
CLI = [sys.executable, "-c", "import reportgen.cli.delivery; from reportgen.cli.app import main; main()"]
NOW = "2026-01-01T07:00+01:00"
THREE = """\
- name: exec-monthly
  audience: executive
  schedule: "0 7 1 * *"
  timezone: Europe/Berlin
  recipients: [{email: ceo@example.com}, {email: cfo@example.com}, {email: cso@example.com}]
"""
ONE = THREE.replace(", {email: cfo@example.com}, {email: cso@example.com}", "")


def _with_template(text: str, body: str, folder: Path) -> str:
    (folder / "tpl").mkdir()
    (folder / "tpl" / "custom.html").write_text(body)
    return text.replace("  output_dir: out\n", "  output_dir: out\n  template_dirs: [tpl]\n").replace(
        "executive: {template: executive}", "executive: {template: custom.html}")


@pytest.mark.parametrize(("body", "reason"), [
    ("<html><body></body></html>",
     "the PDF has no text on its 1 page(s); the template rendered an empty scorecard"),
    ("<html><body><h1>Quarterly notes</h1><p>Numbers follow next month.</p></body></html>",
     "the PDF shows none of the 4 KPI value(s) of 2025-12 (e.g. revenue "),
])
def test_a_blank_or_numberless_scorecard_is_held_in_one_line_and_nothing_is_sent(
        tmp_path: Path, smtp_server: SmtpServerHandle, body: str, reason: str) -> None:
    config = tmp_path / "sales.yaml"
    config.write_text(_with_template(config_text(smtp_server.port, deliveries=THREE), body, tmp_path))

    result = run_cli("send", config, "--now", NOW)

    assert result.exit_code == 1
    [line] = result.output.splitlines()
    assert line.startswith(f"held         exec-monthly 2025-12 3 recipient(s): nothing sent: {reason}")
    assert smtp_server.messages() == []
    with Ledger(tmp_path / "reportgen-ledger.sqlite") as ledger:
        assert ledger.history() == []  # nothing claimed: the next run, after the fix, sends to all three


def test_a_pdf_shorter_than_min_pages_is_held(tmp_path: Path, smtp_server: SmtpServerHandle) -> None:
    from pypdf import PdfReader

    config = tmp_path / "sales.yaml"
    config.write_text(config_text(smtp_server.port, deliveries=ONE))
    dry = run_cli("send", config, "--now", NOW, "--dry-run", "-o", tmp_path / "eml")
    assert dry.exit_code == 0, dry.output
    [pdf] = (tmp_path / "out" / "deliveries" / "exec-monthly" / "2025-12").glob("*.pdf")
    pages = len(PdfReader(pdf).pages)
    config.write_text(config_text(smtp_server.port, deliveries=ONE + f"  min_pages: {pages + 1}\n"))

    result = run_cli("send", config, "--now", NOW)

    assert result.exit_code == 1
    assert result.output.splitlines() == [
        f"held         exec-monthly 2025-12 1 recipient(s): nothing sent: the PDF has {pages} page(s), fewer "
        f"than the delivery's min_pages {pages + 1}"]
    assert smtp_server.messages() == []


def test_a_malformed_address_in_recipients_csv_fails_only_that_recipient(
        tmp_path: Path, smtp_server: SmtpServerHandle) -> None:
    (tmp_path / "people.csv").write_text("segment,email\n,ceo@example.com\n,bob@@example.com\n,cfo@example.com\n")
    config = tmp_path / "sales.yaml"
    config.write_text(config_text(smtp_server.port, deliveries=ONE.replace(
        "  recipients: [{email: ceo@example.com}]\n", "  recipients_csv: people.csv\n")))

    result = run_cli("send", config, "--now", NOW)

    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[0] == (f"failed       exec-monthly 2025-12 'bob@@example.com': {tmp_path / 'people.csv'}:3: "
                        f"email 'bob@@example.com' is not an email address like 'name@example.com'")
    assert [line.split()[0] for line in lines[1:3]] == ["sent", "sent"]
    assert lines[3] == "1 message(s) not delivered; a re-run sends only those"
    assert sorted(r for m in smtp_server.messages() for r in m.rcpt_tos) == ["ceo@example.com", "cfo@example.com"]


def test_a_run_killed_before_data_is_retried_by_the_next_run(tmp_path: Path, smtp_server: SmtpServerHandle) -> None:
    config = tmp_path / "sales.yaml"
    config.write_text(config_text(smtp_server.port, deliveries=ONE))
    smtp_server.configure(hang_at_rcpt=True)  # the run claims, connects, and is stuck before DATA
    run = subprocess.Popen([*CLI, "send", str(config), "--now", NOW], cwd=REPO, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
    try:
        _wait_for_status(tmp_path / "reportgen-ledger.sqlite", "sending", timeout=90)
    finally:
        run.send_signal(signal.SIGKILL)
        run.wait(timeout=10)
    smtp_server.configure()

    again = run_cli("send", config, "--now", NOW)

    assert again.exit_code == 0, again.output
    assert again.output.startswith("sent         exec-monthly 2025-12 ceo@example.com: <")
    [message] = smtp_server.messages()
    assert message.rcpt_tos == ["ceo@example.com"]
    with Ledger(tmp_path / "reportgen-ledger.sqlite") as ledger:
        [entry] = ledger.history()
    assert (entry.status, entry.attempts, entry.error) == ("sent", 2, None)


@pytest.mark.parametrize(("fault", "error"), [
    ({"data_command_reply": "250 2.0.0 OK, carry on"},
     "server answered DATA with 250 '2.0.0 OK, carry on' instead of 354 (go ahead); the message was not transmitted"),
    ({"data_reply": "554 5.7.1 Message rejected as spam"},
     "server rejected the message after its content: 554 '5.7.1 Message rejected as spam'"),
])
def test_a_data_reply_the_code_cannot_accept_is_quoted_in_the_output_the_ledger_and_the_log(
        tmp_path: Path, smtp_server: SmtpServerHandle, caplog: pytest.LogCaptureFixture, fault: dict[str, str],
        error: str) -> None:
    config = tmp_path / "sales.yaml"
    config.write_text(config_text(smtp_server.port, deliveries=ONE))
    smtp_server.configure(**fault)  # type: ignore[arg-type]

    with caplog.at_level(logging.WARNING, logger="reportgen.delivery.sending"):
        result = run_cli("send", config, "--now", NOW)

    assert result.exit_code == 1
    assert result.output.splitlines() == [f"failed       exec-monthly 2025-12 ceo@example.com: {error}",
                                          "1 message(s) not delivered; a re-run sends only those"]
    with Ledger(tmp_path / "reportgen-ledger.sqlite") as ledger:
        [entry] = ledger.history()
    assert (entry.status, entry.error) == ("failed", error)
    assert f"exec-monthly 2025-12 ceo@example.com: not sent: {error}" in caplog.messages
    assert smtp_server.messages() == []


def test_attachment_names_keep_a_non_ascii_config_name_and_the_subject_loses_bidi_controls(
        tmp_path: Path, smtp_server: SmtpServerHandle) -> None:
    config = tmp_path / "Rapport März.yaml"
    config.write_text(config_text(smtp_server.port, deliveries=ONE).replace(
        "title: Sales Pulse", 'title: "Sales \\u202eesluP\\u202c"'))

    result = run_cli("send", config, "--now", NOW)

    assert result.exit_code == 0, result.output
    [received] = smtp_server.messages()
    assert b"filename*=utf-8''Rapport%20M%C3%A4rz-executive-2025-12.pdf" in received.data  # RFC 2231
    message = parse(received.data)
    [attachment] = list(message.iter_attachments())
    assert attachment.get_filename() == "Rapport März-executive-2025-12.pdf"
    assert message["Subject"] == "Sales esluP — December 2025"


def _wait_for_status(path: Path, status: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists():
            try:
                with sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True) as db:
                    if db.execute("SELECT 1 FROM deliveries WHERE status = ?", (status,)).fetchone():
                        return
            except sqlite3.Error:
                pass  # created, not yet migrated
        time.sleep(0.1)
    pytest.fail(f"no ledger row reached {status!r} within {timeout}s")


def test_send_lays_out_its_scorecards_in_a_process_that_loaded_weasyprint_apart(tmp_path: Path) -> None:
    """`send` forks the layout process before it reads any data, as `build` does: its own process never
    imports WeasyPrint, and the attached PDF comes out whole."""
    config = tmp_path / "sales.yaml"
    config.write_text(config_text(2525, deliveries=ONE))
    run = subprocess.run([sys.executable, "-X", "importtime", "-m", "reportgen", "send", str(config), "--now", NOW,
                          "--dry-run", "-o", str(tmp_path / "eml")], capture_output=True, text=True, timeout=180,
                         cwd=tmp_path)
    assert run.returncode == 0, run.stderr[-2000:]
    imported = {line.rsplit("|", 1)[-1].strip() for line in run.stderr.splitlines() if line.startswith("import time")}
    assert "pandas.core.frame" in imported
    assert not {name for name in imported if name.split(".")[0] == "weasyprint"}
    [eml] = list((tmp_path / "eml").rglob("*.eml"))
    assert b"%PDF-" in parse(eml.read_bytes()).get_payload()[-1].get_payload(decode=True)
