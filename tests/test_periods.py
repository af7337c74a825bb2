"""Period arithmetic: edges of months, fiscal years, ISO weeks."""
from __future__ import annotations

from datetime import date

import pytest

from reportgen.kpis.periods import (
    last_complete_period,
    months_back,
    parse_period,
    period_containing,
    period_range,
)


def test_month_bounds_include_last_day_and_leap_february() -> None:
    p = parse_period("2024-02")
    assert (p.start, p.end, p.days) == (date(2024, 2, 1), date(2024, 2, 29), 29)
    assert period_containing(date(2025, 1, 31), "month").label == "2025-01"
    assert period_containing(date(2025, 2, 1), "month").label == "2025-02"


def test_prior_and_year_ago_cross_year_boundaries() -> None:
    jan = parse_period("2025-01")
    assert jan.prior.label == "2024-12"
    assert jan.year_ago.label == "2024-01"
    assert parse_period("2025-Q1").prior.label == "2024-Q4"
    assert parse_period("2025-Q1").year_ago.label == "2024-Q1"


def test_calendar_quarters() -> None:
    q = parse_period("2025-Q3")
    assert (q.start, q.end) == (date(2025, 7, 1), date(2025, 9, 30))
    assert period_containing(date(2025, 12, 31), "quarter").label == "2025-Q4"


def test_fiscal_year_starting_in_april_is_named_by_its_end_year() -> None:
    q1 = period_containing(date(2025, 4, 1), "quarter", fiscal_year_start=4)
    assert (q1.label, q1.start, q1.end) == ("FY2026-Q1", date(2025, 4, 1), date(2025, 6, 30))
    q4 = period_containing(date(2026, 3, 31), "quarter", fiscal_year_start=4)
    assert (q4.label, q4.start, q4.end) == ("FY2026-Q4", date(2026, 1, 1), date(2026, 3, 31))
    fy = period_containing(date(2025, 3, 31), "year", fiscal_year_start=4)
    assert (fy.label, fy.start, fy.end) == ("FY2025", date(2024, 4, 1), date(2025, 3, 31))
    assert parse_period("FY2026-Q1", "quarter", 4) == q1
    assert q1.prior.label == "FY2025-Q4"


def test_iso_weeks_at_year_edges() -> None:
    # 2020-12-31 is a Thursday in ISO week 2020-W53; 2021-01-04 starts 2021-W01
    w = period_containing(date(2021, 1, 1), "week")
    assert (w.label, w.start, w.end) == ("2020-W53", date(2020, 12, 28), date(2021, 1, 3))
    assert w.shift(1).label == "2021-W01"
    assert parse_period("2025-W01").start == date(2024, 12, 30)
    with pytest.raises(ValueError):
        parse_period("2025-W53")  # 2025 has 52 ISO weeks


def test_last_complete_period_and_ranges() -> None:
    assert last_complete_period(date(2025, 3, 1), "month").label == "2025-02"
    assert last_complete_period(date(2025, 3, 31), "month").label == "2025-02"
    assert [p.label for p in period_range(parse_period("2024-11"), parse_period("2025-02"))] == [
        "2024-11", "2024-12", "2025-01", "2025-02"]


def test_twelve_month_window_start() -> None:
    assert months_back(date(2025, 3, 31), 12) == date(2024, 4, 1)
    assert months_back(date(2024, 2, 29), 12) == date(2023, 3, 1)
    assert months_back(date(2025, 12, 31), 12) == date(2025, 1, 1)


def test_bad_labels_are_rejected() -> None:
    for bad in ("2025-13", "2025-Q5", "25-01", "March"):
        with pytest.raises(ValueError):
            parse_period(bad)


def test_window_starts_calendar_and_fiscal() -> None:
    from reportgen.kpis.periods import window_start

    feb = parse_period("2025-02")
    assert window_start(feb, "ytd") == date(2025, 1, 1) and window_start(feb, "qtd") == date(2025, 1, 1)
    assert window_start(feb, "r12") == date(2024, 3, 1)  # the 12 months ending 28 February 2025
    fiscal = parse_period("2025-02", "month", 4)  # fiscal year from April: Feb 2025 is in FY2025
    assert window_start(fiscal, "ytd") == date(2024, 4, 1) and window_start(fiscal, "qtd") == date(2025, 1, 1)
    with pytest.raises(ValueError, match="unknown window"):
        window_start(feb, "mtd")
