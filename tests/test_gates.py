"""The gates that stop a scorecard with wrong numbers, tested where users meet them (the CLI and the
Python API), at their boundaries: the reporting-period guard (kpi-spec 'Coverage'), the rejected-share
gate (``quality.max_rejected_share``) and the unreadable-column gate. The loader-level tests in
test_compute/test_data/test_messy_data test each gate once; these catch a gate that is bypassed on
the way to the user or off by one at its edge."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

import reportgen
from reportgen.errors import DataError
from tests.hostile import cli, one_error_line

NOW = datetime(2026, 1, 5, tzinfo=UTC)


def _config(folder: Path, *, first: date = date(2025, 10, 1), last: date = date(2025, 12, 31), rows: int = 100,
            bad_amounts: int = 0, scorecard: str = "", extra: str = "") -> Path:
    """``folder/c.yaml`` over ``rows`` won deals closed evenly from ``first`` to ``last`` (both included);
    the first ``bad_amounts`` deals have the amount ``n/a``."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = ["deal_id,created_date,close_date,stage,amount"]
    span = (last - first).days
    for i in range(rows):
        closed = first + timedelta(days=i * span // (rows - 1))
        amount = "n/a" if i < bad_amounts else str(100 + i)
        lines.append(f"D{i},{first.isoformat()},{closed.isoformat()},won,{amount}")
    (folder / "deals.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    config = folder / "c.yaml"
    config.write_text(f"scorecard: {{as_of: 2025-12-31{scorecard}}}\ndatasets:\n  deals: {{path: deals.csv}}\n"
                      f"kpis: [revenue, deals_won]\n{extra}", encoding="utf-8")
    return config


def _revenue(config: Path, period: str | None = None) -> float:
    return float(reportgen.compute(config, period=period, now=NOW).row("revenue", period or "2025-12")["value"])


# The reporting-period guard


def test_build_refuses_a_partly_covered_period_in_one_line_and_writes_nothing(tmp_path: Path) -> None:
    config = _config(tmp_path, last=date(2025, 12, 30))
    result = cli("build", config, "-o", tmp_path / "out")
    assert one_error_line(result) == (
        "error: dataset 'deals' ends 2025-12-30, before the reporting period 2025-12 ends (2025-12-31); "
        "set scorecard.allow_partial_period: true to report it as partial, or choose --period "
        "(compute: --to), or, if the export "
        "covers the period through its last day with no later rows, set data_through: 2025-12-31 for dataset 'deals'")
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_validate_refuses_a_period_after_the_data_even_when_partial_is_allowed(tmp_path: Path) -> None:
    config = _config(tmp_path, scorecard=", allow_partial_period: true")
    config.write_text(config.read_text().replace("as_of: 2025-12-31", "as_of: 2026-01-31"))
    assert one_error_line(cli("validate", config)) == (
        "error: dataset 'deals' ends 2025-12-31, before the reporting period 2026-01 begins (2026-01-01); "
        "choose --period (compute: --to)")


def test_a_period_covered_to_its_last_day_needs_no_partial_flag(tmp_path: Path) -> None:
    """Data through the period's last day (and from its first day) covers it: the guard's edges are
    inclusive, so the API computes the real total."""
    config = _config(tmp_path, first=date(2025, 12, 1), last=date(2025, 12, 31), rows=31)
    assert _revenue(config) == sum(100 + i for i in range(31))


def test_a_period_inside_the_data_is_covered(tmp_path: Path) -> None:
    """Data that starts before the period and ends after it covers it: an earlier ``--period`` than
    the data's last month needs no partial flag."""
    config = _config(tmp_path, first=date(2025, 10, 1), last=date(2025, 12, 31), rows=92)
    november = sum(100 + i for i in range(92) if date(2025, 11, 1) <= date(2025, 10, 1) + timedelta(days=i)
                   <= date(2025, 11, 30))
    assert _revenue(config, "2025-11") == november


@pytest.mark.parametrize(("first", "last", "period", "message"), [
    (date(2025, 12, 2), date(2025, 12, 31), "2025-12",
     "dataset 'deals' begins 2025-12-02, after the reporting period 2025-12 begins (2025-12-01); "
     "set scorecard.allow_partial_period: true to report it as partial, or choose --period (compute: --to)"),
    (date(2025, 10, 1), date(2025, 12, 31), "2025-09",
     "dataset 'deals' begins 2025-10-01, after the reporting period 2025-09 ends (2025-09-30); choose --period "
     "(compute: --to)"),
    (date(2025, 10, 1), date(2025, 11, 30), "2025-12",
     "dataset 'deals' ends 2025-11-30, before the reporting period 2025-12 begins (2025-12-01); choose --period "
     "(compute: --to)"),
])
def test_the_api_refuses_a_period_the_data_does_not_cover(tmp_path: Path, first: date, last: date, period: str,
                                                          message: str) -> None:
    config = _config(tmp_path, first=first, last=last, rows=31)
    with pytest.raises(DataError) as info:
        reportgen.compute(config, period=period, now=NOW)
    assert str(info.value) == message


@pytest.mark.parametrize(("first", "last"), [
    (date(2025, 10, 1), date(2025, 12, 30)),
    (date(2025, 10, 1), date(2025, 12, 1)),  # the data ends on the period's first day: it touches it
    (date(2025, 12, 31), date(2026, 1, 31)),  # the data begins on the period's last day
], ids=["ends a day early", "ends on the first day", "begins on the last day"])
def test_a_partial_period_is_allowed_only_when_asked_and_then_marked_partial(tmp_path: Path, first: date,
                                                                             last: date) -> None:
    config = _config(tmp_path, first=first, last=last, rows=62, scorecard=", allow_partial_period: true")
    row = reportgen.compute(config, now=NOW).row("revenue", "2025-12")
    assert row["coverage"] == "partial" and row["value"] > 0


# The rejected-share gate


def test_a_share_of_unreadable_rows_exactly_at_the_limit_is_allowed(tmp_path: Path) -> None:
    """1 unreadable amount in 100 rows is 1%, the default limit: allowed, and the bad row adds nothing."""
    config = _config(tmp_path, bad_amounts=1)
    december = [100 + i for i in range(100) if i >= 1 and date(2025, 10, 1) + timedelta(days=i * 91 // 99)
                >= date(2025, 12, 1)]
    assert _revenue(config) == sum(december)


def test_build_refuses_unreadable_rows_over_the_limit_with_the_first_rows(tmp_path: Path) -> None:
    result = cli("build", _config(tmp_path, bad_amounts=2), "-o", tmp_path / "out")
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert result.stderr.splitlines() == [
        "error: dataset 'deals' (deals.csv): 2 of 100 rows (2.0%) cannot be used, over the 1% allowed "
        "(quality.max_rejected_share): 2 unreadable amount",
        "error: deals.csv:2: column 'amount': cannot read 'n/a' as a number (not a number; fix the value or map the "
        "right column)",
        "error: deals.csv:3: column 'amount': cannot read 'n/a' as a number (not a number; fix the value or map the "
        "right column)",
    ]


def test_the_limit_is_the_configured_share(tmp_path: Path) -> None:
    allowed = _config(tmp_path / "a", bad_amounts=2, extra="quality: {max_rejected_share: 0.02}\n")
    assert _revenue(allowed) > 0
    refused = _config(tmp_path / "r", bad_amounts=3, extra="quality: {max_rejected_share: 0.02}\n")
    with pytest.raises(DataError, match=r"^dataset 'deals' \(deals.csv\): 3 of 100 rows \(3.0%\) cannot be used, "
                                        r"over the 2% allowed"):
        reportgen.compute(refused, now=NOW)


# The unreadable-column gate


def test_a_column_with_no_readable_value_stops_the_build_even_when_every_row_may_be_rejected(tmp_path: Path) -> None:
    """Not one amount can be read: that is a wrong mapping or number setting, not a few bad rows, so a
    ``max_rejected_share`` of 1 does not let the scorecard show a revenue of nothing."""
    config = _config(tmp_path, rows=3, bad_amounts=3, extra="quality: {max_rejected_share: 1}\n")
    result = cli("build", config, "-o", tmp_path / "out")
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.splitlines()
    assert lines[0] == ("error: dataset 'deals' (deals.csv): no value of column 'amount' can be read; "
                        "check the column mapping and the number/date settings")
    assert lines[1].startswith("error: deals.csv:2: column 'amount': cannot read 'n/a' as a number")
    with pytest.raises(DataError, match=r"no value of column 'amount' can be read"):
        reportgen.compute(config, now=NOW)


def test_one_readable_value_is_enough_for_the_column_gate(tmp_path: Path) -> None:
    config = _config(tmp_path, rows=3, bad_amounts=2, extra="quality: {max_rejected_share: 1}\n",
                     first=date(2025, 12, 1))
    assert _revenue(config) == 102  # the one readable amount, the two unreadable ones add nothing
