"""reportgen.delivery.ledger: exactly-once bookkeeping on a real SQLite file, with real processes.

Run as ``python -m tests.test_ledger send|claim ...`` this module is the worker process the tests
start (and kill).
"""
from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta, timezone
from email.message import EmailMessage
from pathlib import Path

import pytest

from reportgen.config.delivery import SmtpSettings
from reportgen.delivery.email import compose_message, make_address, make_message_id
from reportgen.delivery.ledger import ClaimLost, Ledger
from reportgen.delivery.sending import send_once
from reportgen.errors import DeliveryError
from tests.fixtures.smtp import SmtpServerHandle

REPO = Path(__file__).resolve().parent.parent
DELIVERY, PERIOD = "exec-monthly", "2025-03"
RECIPIENTS = [f"person{i}@example.com" for i in range(1, 6)]


class FakeClock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


def test_claim_then_sent_is_never_claimed_again(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "ledger.sqlite")

    assert ledger.claim(DELIVERY, PERIOD, "a@example.com", message_id="<m1@example.com>") is True
    assert ledger.claim(DELIVERY, PERIOD, "a@example.com") is False  # in flight
    ledger.mark_sent(DELIVERY, PERIOD, "a@example.com")

    assert ledger.claim(DELIVERY, PERIOD, "a@example.com") is False
    assert Ledger(tmp_path / "ledger.sqlite").claim(DELIVERY, PERIOD, "a@example.com") is False  # another process
    [entry] = ledger.history()
    assert (entry.status, entry.attempts, entry.message_id, entry.error) == ("sent", 1, "<m1@example.com>", None)
    assert entry.updated_at.tzinfo == UTC


def test_failed_is_claimable_again_and_counts_attempts(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "ledger.sqlite")
    ledger.claim(DELIVERY, PERIOD, "a@example.com")
    ledger.mark_failed(DELIVERY, PERIOD, "a@example.com", "451 try later")

    assert ledger.claim(DELIVERY, PERIOD, "a@example.com") is True
    ledger.mark_sent(DELIVERY, PERIOD, "a@example.com")

    [entry] = ledger.history(DELIVERY)
    assert (entry.status, entry.attempts, entry.error) == ("sent", 2, None)


def test_unknown_waits_for_a_person_to_resolve_it(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "ledger.sqlite")
    ledger.claim(DELIVERY, PERIOD, "a@example.com")
    ledger.mark_unknown(DELIVERY, PERIOD, "a@example.com", "connection lost after DATA")

    assert ledger.claim(DELIVERY, PERIOD, "a@example.com") is False
    ledger.resolve(DELIVERY, PERIOD, "a@example.com", "failed", "not in the relay's log")
    assert ledger.claim(DELIVERY, PERIOD, "a@example.com") is True
    with pytest.raises(DeliveryError, match="no delivery awaiting review"):
        ledger.resolve(DELIVERY, PERIOD, "a@example.com", "sent", "again")


def test_marking_without_holding_the_claim_is_refused(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "ledger.sqlite")

    with pytest.raises(DeliveryError, match="this process does not hold its claim"):
        ledger.mark_sent(DELIVERY, PERIOD, "a@example.com")


def test_claim_from_another_host_becomes_unknown_only_when_stale(tmp_path: Path) -> None:
    clock = FakeClock(datetime(2025, 4, 1, 8, 0, tzinfo=UTC))
    path = tmp_path / "ledger.sqlite"
    Ledger(path, clock=clock).claim(DELIVERY, PERIOD, "a@example.com")
    with sqlite3.connect(path) as db:  # the claim now looks like it came from another machine, mid-content
        db.execute("UPDATE deliveries SET owner = 'other-host:4242:abc', stage = 'data'")
    ledger = Ledger(path, clock=clock, stale_after=timedelta(hours=1))

    clock.now += timedelta(minutes=59)
    assert ledger.claim(DELIVERY, PERIOD, "a@example.com") is False
    assert ledger.history()[0].status == "sending"
    clock.now += timedelta(minutes=2)
    assert ledger.claim(DELIVERY, PERIOD, "a@example.com") is False
    [entry] = ledger.history()
    assert entry.status == "unknown"
    assert entry.error == "process other-host:4242:abc died while sending; check the mail log, then resolve"


def test_a_stale_claim_that_never_reached_data_is_taken_over_and_the_old_owner_cannot_send(tmp_path: Path) -> None:
    clock = FakeClock(datetime(2025, 4, 1, 8, 0, tzinfo=UTC))
    path = tmp_path / "ledger.sqlite"
    slow = Ledger(path, clock=clock)
    assert slow.claim(DELIVERY, PERIOD, "a@example.com") is True
    with sqlite3.connect(path) as db:  # the claim is another machine's, still connecting
        db.execute("UPDATE deliveries SET owner = 'other-host:4242:abc'")
    clock.now += timedelta(hours=2)

    ledger = Ledger(path, clock=clock)
    assert ledger.claim(DELIVERY, PERIOD, "a@example.com") is True  # nothing can have reached a server
    [entry] = ledger.history()
    assert (entry.status, entry.attempts) == ("sending", 2)
    assert entry.error == "retried: process other-host:4242:abc died before the message content was sent"
    with pytest.raises(ClaimLost, match="another run took this message over; not sent"):
        slow.mark_transmitting(DELIVERY, PERIOD, "a@example.com")  # the old owner, waking up at 354
    ledger.mark_transmitting(DELIVERY, PERIOD, "a@example.com")
    ledger.mark_sent(DELIVERY, PERIOD, "a@example.com")
    assert ledger.history()[0].status == "sent"


def test_last_run_round_trips_as_utc(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "ledger.sqlite")
    assert ledger.last_run(DELIVERY) is None
    slot = datetime(2025, 3, 30, 8, 0, tzinfo=timezone(timedelta(hours=2)))

    ledger.record_run(DELIVERY, slot)

    assert Ledger(tmp_path / "ledger.sqlite").last_run(DELIVERY) == datetime(2025, 3, 30, 6, 0, tzinfo=UTC)


def test_concurrent_processes_never_claim_the_same_row(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    Ledger(path).close()
    keys = [f"r{i}@example.com" for i in range(40)]

    (tmp_path / "barrier").mkdir()
    workers = [_worker("claim", str(path), *keys, barrier=f"{tmp_path / 'barrier'}:4") for _ in range(4)]
    outputs = [worker.communicate(timeout=60)[0] for worker in workers]

    assert [w.returncode for w in workers] == [0, 0, 0, 0]
    claimed = [line for output in outputs for line in output.split()]
    assert sorted(claimed) == sorted(keys)


def test_killed_run_then_rerun_delivers_each_message_exactly_once(
    smtp_server: SmtpServerHandle, tmp_path: Path
) -> None:
    ledger_path = tmp_path / "ledger.sqlite"
    # The server stores message 3, then never answers: the worker is stuck between "the server
    # has it" and "the ledger knows", the worst moment to die.
    smtp_server.configure(hang_after_data_nth=3)
    first = _worker("send", str(ledger_path), smtp_server.host, str(smtp_server.port), *RECIPIENTS)
    smtp_server.wait_for_messages(3)
    os.kill(first.pid, signal.SIGKILL)
    first.wait(timeout=10)  # reap it, or its pid would still look alive
    first.stdout.close()  # type: ignore[union-attr]
    statuses = {e.recipient: e.status for e in Ledger(ledger_path).history()}
    assert statuses == {RECIPIENTS[0]: "sent", RECIPIENTS[1]: "sent", RECIPIENTS[2]: "sending"}

    smtp_server.configure()
    second = _worker("send", str(ledger_path), smtp_server.host, str(smtp_server.port), *RECIPIENTS)
    output, _ = second.communicate(timeout=60)
    third = _worker("send", str(ledger_path), smtp_server.host, str(smtp_server.port), *RECIPIENTS)
    output_again, _ = third.communicate(timeout=60)

    assert output.split("\n")[:-1] == [
        f"{RECIPIENTS[0]} skipped", f"{RECIPIENTS[1]} skipped", f"{RECIPIENTS[2]} skipped",
        f"{RECIPIENTS[3]} sent", f"{RECIPIENTS[4]} sent",
    ]
    assert output_again.split() == [part for r in RECIPIENTS for part in (r, "skipped")]
    received = sorted(rcpt for message in smtp_server.messages() for rcpt in message.rcpt_tos)
    assert received == sorted(RECIPIENTS)
    entries = {e.recipient: e for e in Ledger(ledger_path).history()}
    assert {r: e.status for r, e in entries.items()} == {
        RECIPIENTS[0]: "sent", RECIPIENTS[1]: "sent", RECIPIENTS[2]: "unknown",
        RECIPIENTS[3]: "sent", RECIPIENTS[4]: "sent",
    }
    assert "died while sending" in (entries[RECIPIENTS[2]].error or "")


def test_send_once_records_refused_recipient_as_failed(smtp_server: SmtpServerHandle, tmp_path: Path) -> None:
    smtp_server.configure(reject=["b@example.com"])
    ledger = Ledger(tmp_path / "ledger.sqlite")
    settings = _settings(smtp_server.host, smtp_server.port)

    for recipient in ("a@example.com", "b@example.com"):
        send_once(
            ledger, delivery=DELIVERY, period=PERIOD, recipient=recipient, msg=_message(recipient),
            settings=settings, username=None, password=None,
        )

    entries = {e.recipient: e for e in ledger.history()}
    assert entries["a@example.com"].status == "sent"
    assert entries["a@example.com"].message_id == make_message_id(DELIVERY, PERIOD, "a@example.com", "example.com")
    assert entries["b@example.com"].status == "failed"
    assert entries["b@example.com"].error == "b@example.com: 550 5.1.1 <b@example.com>: mailbox unavailable"


def _worker(*args: str, barrier: str = "") -> subprocess.Popen[str]:
    env = {**os.environ, "LEDGER_BARRIER": barrier} if barrier else None
    return subprocess.Popen(
        [sys.executable, "-m", "tests.test_ledger", *args], cwd=REPO, stdout=subprocess.PIPE, text=True, env=env
    )


def _settings(host: str, port: int) -> SmtpSettings:
    return SmtpSettings(
        host=host, port=port, security="none", from_address="reports@example.com", timeout_seconds=60,
        retries=1, backoff_seconds=0.01,
    )


def _message(recipient: str) -> EmailMessage:
    return compose_message(
        sender=make_address("reports@example.com", "Sales Ops"),
        recipient=make_address(recipient),
        subject=f"Scorecard {PERIOD}",
        html_body="<p>Revenue</p>",
        text_body="Revenue",
        inline_images={},
        attachments=[],
        message_id_domain="example.com",
        message_id=make_message_id(DELIVERY, PERIOD, recipient, "example.com"),
    )


def _wait_for_the_others() -> None:
    """Stay alive until every claiming worker has finished (``LEDGER_BARRIER=folder:count``): a worker that
    exits with its claims open is rightly judged dead by one still claiming, which takes the claims over
    (crash recovery), so "no two processes claim one row" is only a question while they all live."""
    barrier = os.environ.get("LEDGER_BARRIER")
    if not barrier:
        return
    folder, count = barrier.rsplit(":", 1)
    Path(folder, f"done-{os.getpid()}").touch()
    deadline = time.monotonic() + 50
    while len(list(Path(folder).glob("done-*"))) < int(count) and time.monotonic() < deadline:
        time.sleep(0.02)


def _main(argv: list[str]) -> None:
    """Worker process: ``send LEDGER HOST PORT RECIPIENT...`` or ``claim LEDGER KEY...``."""
    command, ledger_path, *rest = argv
    ledger = Ledger(ledger_path)
    if command == "claim":
        for key in rest:
            if ledger.claim(DELIVERY, PERIOD, key):
                print(key, flush=True)
        _wait_for_the_others()
        return
    host, port, *recipients = rest
    settings = _settings(host, int(port))
    for recipient in recipients:
        result = send_once(
            ledger, delivery=DELIVERY, period=PERIOD, recipient=recipient, msg=_message(recipient),
            settings=settings, username=None, password=None,
        )
        print(recipient, "skipped" if result is None else result.status, flush=True)


if __name__ == "__main__":
    _main(sys.argv[1:])
