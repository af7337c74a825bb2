"""Exactly once at the deliver level, without the pre-filter's help (issue 22).

``send_group`` reads the ledger before building and leaves out recipients already ``sent`` or
``unknown``; only the ledger's claim, made after the build just before SMTP, decides in a race. With
the pre-filter in the way, a claim that let a ``sent`` row through passed every deliver-level test.
Here another run finishes (or loses track of) the same emails while this run is building its
scorecard, after its pre-filter looked: this run's claim alone must keep each email to one copy.
The other run is a real ``reportgen send`` process for ``sent``; the real SMTP server counts copies.
"""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import reportgen.delivery.deliver as deliver_module
from reportgen.delivery.ledger import Ledger
from tests.fixtures.smtp import SmtpServerHandle
from tests.test_deliver import COMPANY, NOW, PERIOD, REPO, config_text, run_cli

RECIPIENTS = ["ceo@example.com", "cfo@example.com"]


def _during_the_build(monkeypatch: pytest.MonkeyPatch, other_run: Any) -> list[int]:
    """Run ``other_run()`` once this run's pre-filter has looked and its scorecard is built, before
    any claim; returns a list that counts the builds."""
    real = deliver_module.build_for_group
    builds: list[int] = []

    def build_then_race(*args: Any, **kwargs: Any) -> Any:
        built = real(*args, **kwargs)
        builds.append(1)
        other_run()
        return built

    monkeypatch.setattr(deliver_module, "build_for_group", build_then_race)
    return builds


def test_emails_another_run_sent_during_the_build_are_not_sent_again(
    tmp_path: Path, smtp_server: SmtpServerHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "sales.yaml"
    config.write_text(config_text(smtp_server.port, deliveries=COMPANY))

    def another_send_process() -> None:
        result = subprocess.run([sys.executable, "-m", "reportgen", "send", str(config), "--now", NOW],
                                capture_output=True, text=True, cwd=REPO, timeout=120)
        assert result.returncode == 0, result.stderr
        assert len(smtp_server.messages()) == 2  # the other run sent both

    builds = _during_the_build(monkeypatch, another_send_process)
    result = run_cli("send", config, "--now", NOW)

    assert builds == [1]  # this run did build: the pre-filter saw nothing sent
    assert result.exit_code == 0, result.output
    for email in RECIPIENTS:
        assert re.search(rf"already_sent\s+monthly-exec {PERIOD} {email}", result.stdout), result.stdout
    assert sorted(m.rcpt_tos[0] for m in smtp_server.messages()) == RECIPIENTS  # one copy each
    ledger = Ledger(tmp_path / "reportgen-ledger.sqlite")
    assert {(e.recipient, e.status, e.attempts) for e in ledger.history("monthly-exec")} == {
        (email, "sent", 1) for email in RECIPIENTS}


def test_emails_another_run_lost_track_of_during_the_build_wait_for_a_person(
    tmp_path: Path, smtp_server: SmtpServerHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``unknown``: the other run's SMTP conversation broke after DATA, so the email may have left.
    Sending it again could make a second copy; it waits for ``reportgen resolve``."""
    config = tmp_path / "sales.yaml"
    config.write_text(config_text(smtp_server.port, deliveries=COMPANY))

    def another_run_loses_the_outcome() -> None:
        other = Ledger(tmp_path / "reportgen-ledger.sqlite")
        for email in RECIPIENTS:
            assert other.claim("monthly-exec", PERIOD, email)
            other.mark_unknown("monthly-exec", PERIOD, email, "connection lost after DATA")
        other.close()

    builds = _during_the_build(monkeypatch, another_run_loses_the_outcome)
    result = run_cli("send", config, "--now", NOW)

    assert builds == [1]
    assert smtp_server.messages() == []
    for email in RECIPIENTS:
        assert re.search(rf"unknown\s+monthly-exec {PERIOD} {email}: ", result.output), result.output
    assert result.exit_code != 0  # an unknown outcome is not a success
    ledger = Ledger(tmp_path / "reportgen-ledger.sqlite")
    assert {(e.recipient, e.status) for e in ledger.history("monthly-exec")} == {
        (email, "unknown") for email in RECIPIENTS}
