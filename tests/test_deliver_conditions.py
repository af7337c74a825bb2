"""Issue 20's delivery items end to end: `send` checks every delivery before the first message leaves,
conditional sends (`when:`) kept once per period, and dataset freshness (`max_age`). Real SMTP server
process, real ledger; the expected numbers come from deals.csv and targets.csv directly."""
from __future__ import annotations

import os
import shutil
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reportgen.config.load import parse_config
from reportgen.errors import ConfigError
from tests.fixtures.smtp import SmtpServerHandle
from tests.test_deliver import SAMPLES, config_text, december_revenue, revenue_target, run_cli

NOW = "2026-01-01T07:00+01:00"


def _delivery(name: str, email: str, extra: str = "") -> str:
    return textwrap.dedent(f"""\
        - name: {name}
          audience: executive
          schedule: "0 7 1 * *"
          timezone: Europe/Berlin
          recipients: [{{email: {email}}}]
        """) + textwrap.indent(extra, "  ")


def _shown(value: float) -> str:
    return f"{value:,.2f}".rstrip("0").rstrip(".")


def test_send_checks_every_delivery_before_the_first_message_leaves(
        tmp_path: Path, smtp_server: SmtpServerHandle) -> None:
    config = tmp_path / "sales.yaml"
    broken = _delivery("second", "cfo@example.com", "recipients_csv: missing.csv\n").replace(
        "audience: executive", "audience: executve")
    config.write_text(config_text(smtp_server.port, deliveries=_delivery("first", "ceo@example.com") + broken))

    result = run_cli("send", config, "--now", NOW)

    assert result.exit_code == 2
    assert smtp_server.messages() == []  # delivery 1 was not mailed before delivery 2's errors appeared
    lines = result.output.splitlines()
    assert any("'executve'" in line and "did you mean 'executive'?" in line for line in lines), lines
    assert all(line.startswith("error: ") for line in lines)


def test_a_condition_sends_once_per_period_when_it_holds_and_says_condition_not_met_otherwise(
        tmp_path: Path, smtp_server: SmtpServerHandle) -> None:
    revenue, _ = december_revenue()
    target = revenue_target()
    beats_plan = revenue > target
    threshold = round(revenue / 2)
    config = tmp_path / "sales.yaml"
    config.write_text(config_text(smtp_server.port, deliveries=(
        _delivery("beat-plan", "sales@example.com", 'when: "revenue > target(revenue)"\n')
        + _delivery("revenue-drop", "cfo@example.com", f'when: "revenue < {threshold} or status(revenue) == \'bad\'"\n')
    )))
    not_met = (f"condition not met: revenue < {threshold} or status(revenue) == 'bad' "
               f"(revenue = {_shown(revenue)}, status(revenue) = ")

    first = run_cli("send", config, "--now", NOW)
    second = run_cli("send", config, "--now", NOW)
    due = run_cli("deliver", "--due", config, "--now", "2026-01-01T06:20Z")

    assert (first.exit_code, second.exit_code, due.exit_code) == (0, 0, 0), first.output
    assert first.output.splitlines()[0].startswith(
        "sent         beat-plan 2025-12 sales@example.com" if beats_plan else "not_met      beat-plan 2025-12")
    assert first.output.splitlines()[1].startswith(f"not_met      revenue-drop 2025-12 1 recipient(s): {not_met}")
    assert "status(revenue) = 'bad'" not in first.output
    assert second.output.splitlines()[0].startswith("already_sent beat-plan 2025-12" if beats_plan else "not_met")
    assert due.output.splitlines()[1].startswith(
        f"not met      revenue-drop slot 2026-01-01T07:00+01:00 period 2025-12: {not_met}")
    assert [m.rcpt_tos for m in smtp_server.messages()] == ([["sales@example.com"]] if beats_plan else [])


@pytest.mark.parametrize(("when", "message"), [
    ("revenu > 1", "condition reads unknown KPI 'revenu' - did you mean 'revenue'?"),
    ("__import__('os').system('true') == 0", "unknown function \"__import__('os').system\""),
    ("revenue", "'revenue' is not a comparison"),
    ("status(revenue) > 1", "a status is compared with == or != to one of 'good', 'warning', 'bad'"),
    ("status(revenue) == 'awful'", "'awful' is not a status"),
    ("revenue.__class__ > 1", "'revenue.__class__' is not allowed here"),
])
def test_a_bad_condition_is_refused_when_the_config_loads(tmp_path: Path, when: str, message: str) -> None:
    text = config_text(2525, deliveries=_delivery("alert", "cfo@example.com", f"when: \"{when}\"\n"))
    with pytest.raises(ConfigError) as raised:
        parse_config(text, tmp_path / "sales.yaml")
    assert message.replace('"', "'") in str(raised.value).replace('"', "'"), str(raised.value)
    assert "sales.yaml:" in str(raised.value)


def test_an_export_older_than_max_age_holds_the_delivery_in_one_line(
        tmp_path: Path, smtp_server: SmtpServerHandle) -> None:
    for name in ("deals.csv", "targets.csv"):
        shutil.copy(SAMPLES / name, tmp_path / name)
    config = tmp_path / "sales.yaml"
    config.write_text(config_text(smtp_server.port, deliveries=_delivery("exec", "ceo@example.com")).replace(
        f"deals: {{path: {SAMPLES / 'deals.csv'}}}", "deals: {path: deals.csv, max_age: 3}").replace(
        f"targets: {{path: {SAMPLES / 'targets.csv'}}}", "targets: {path: targets.csv}"))
    now = datetime(2026, 1, 1, 6, 0, tzinfo=UTC)
    written = now - timedelta(days=5)
    os.utime(tmp_path / "deals.csv", (written.timestamp(), written.timestamp()))

    held = run_cli("send", config, "--now", NOW)

    assert held.exit_code == 1
    assert held.output.splitlines() == [
        "held         exec 2025-12 1 recipient(s): nothing sent: dataset 'deals' (deals.csv) is 5.0 days old, "
        "over its max_age of 3 days (last written 2025-12-27 06:00 UTC); refresh the export"]
    assert smtp_server.messages() == []

    fresh = now - timedelta(days=1)
    os.utime(tmp_path / "deals.csv", (fresh.timestamp(), fresh.timestamp()))
    sent = run_cli("send", config, "--now", NOW)
    assert sent.exit_code == 0, sent.output
    assert len(smtp_server.messages()) == 1

    os.utime(tmp_path / "deals.csv", (written.timestamp(), written.timestamp()))  # stale again, period already sent
    again = run_cli("send", config, "--now", NOW)
    assert (again.exit_code, again.output) == (0, "already_sent exec 2025-12 ceo@example.com\n")

    with pytest.raises(ConfigError, match="max_age reads a file's modification time; a SQL dataset has none"):
        parse_config(textwrap.dedent("""\
            datasets:
              deals: {url: "sqlite:///crm.db", table: deals, max_age: 2}
            """), tmp_path / "sql.yaml")


TOKENS = ["revenue", "win_rate", "status(", "change(", "abs(", "prior(", "target(", ")", "(", " < ", " >= ", " == ",
          " != ", "'bad'", "'good'", "'x'", " and ", " or ", "not ", "0.1", "-", "+", " * ", " / ", "1e308", "0", ",",
          ".", "__class__", "[", "]", "lambda", ":", "\x00", "\n", '"', "revenue < 1", "status(revenue) == 'bad'"]


@settings(max_examples=400, deadline=None)
@given(parts=st.lists(st.sampled_from(TOKENS), max_size=40),
       value=st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True)),
       status=st.sampled_from([None, "good", "warning", "bad", ""]))
def test_any_condition_text_is_refused_in_one_line_or_evaluates_without_error(
        parts: list[str], value: float | None, status: str | None) -> None:
    from reportgen.config.conditions import evaluate_condition, parse_condition

    try:
        condition = parse_condition("".join(parts))
    except ConfigError as exc:
        assert str(exc).startswith("condition ")
        return
    row = {"value": value, "prior": value, "target": 0.0, "pct_prior": value, "status": status}
    verdict = evaluate_condition(condition, lambda kpi: row if kpi == "revenue" else None)
    assert isinstance(verdict.met, bool)
