"""Reporting periods: calendar and fiscal months, quarters, years, and ISO weeks.

Every KPI is defined over a closed interval of whole days ``[start, end]`` (kpi-spec.md, "Periods").
A period knows its label, its bounds and its neighbours, so comparisons (prior period, same period a
year ago) are plain arithmetic on an ordinal instead of date juggling spread over the engine.

Fiscal years are named by the calendar year in which they *end* (a fiscal year starting in April 2025
is ``FY2026``), the most common convention; with ``fiscal_year_start=1`` labels are plain calendar
labels (``2025-Q1``, ``2025``).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal, get_args

#: The one home of the reporting grains: the config's ``scorecard.grain``, the CLI's ``--grain`` and the
#: period arithmetic all read these.
Grain = Literal["month", "quarter", "year", "week"]
GRAINS: tuple[str, ...] = get_args(Grain)

#: Years a reporting period may lie in: a config or ``--period`` outside them is a typo (``0001-01``,
#: ``9999-12-31``), and the margins leave room for 60 periods of history and 3 of forecast on either
#: side inside the dates Python can represent.
MIN_YEAR, MAX_YEAR = 1900, 2199


def year_problem(year: int) -> str | None:
    """Why ``year`` cannot be reported on (``None``: it can)."""
    if MIN_YEAR <= year <= MAX_YEAR:
        return None
    return f"year {year} is outside {MIN_YEAR}-{MAX_YEAR}"


#: How many periods of each grain make a year: the offset for "same period a year ago".
PERIODS_PER_YEAR: dict[str, int] = {"month": 12, "quarter": 4, "year": 1, "week": 52}


@dataclass(frozen=True, order=True)
class Period:
    """One reporting period. ``ordinal`` orders periods of one grain and makes P-1 and P-1y cheap."""

    ordinal: int
    grain: str
    fiscal_year_start: int
    label: str
    start: date
    end: date

    def shift(self, n: int) -> Period:
        """The period ``n`` steps later (negative: earlier) of the same grain."""
        return period_from_ordinal(self.ordinal + n, self.grain, self.fiscal_year_start)

    @property
    def prior(self) -> Period:
        return self.shift(-1)

    @property
    def year_ago(self) -> Period:
        return self.shift(-PERIODS_PER_YEAR[self.grain])

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


def _month_start(index: int) -> date:
    """First day of the month with absolute index ``year*12 + month0``."""
    return date(index // 12, index % 12 + 1, 1)


def _last_day_of_month(index: int) -> date:
    return _month_start(index + 1) - timedelta(days=1)


def _fiscal_label(fy_end_year: int, fiscal_year_start: int) -> str:
    return f"FY{fy_end_year}" if fiscal_year_start != 1 else f"{fy_end_year}"


def period_from_ordinal(ordinal: int, grain: str, fiscal_year_start: int = 1) -> Period:
    """Build the period with the given ordinal.

    Ordinals: months count from year 0 (``year*12 + month-1``); quarters and years count in units of
    3 and 12 months from the fiscal year start; weeks count Mondays from ``date.min``.
    """
    fys = fiscal_year_start
    if grain == "month":
        start, end = _month_start(ordinal), _last_day_of_month(ordinal)
        return Period(ordinal, grain, fys, f"{start.year:04d}-{start.month:02d}", start, end)
    if grain == "quarter":
        first_month = ordinal * 3 + (fys - 1)
        start, end = _month_start(first_month), _last_day_of_month(first_month + 2)
        fy_index, q = divmod(ordinal, 4)
        fy_end_year = fy_index if fys == 1 else fy_index + 1
        return Period(ordinal, grain, fys, f"{_fiscal_label(fy_end_year, fys)}-Q{q + 1}", start, end)
    if grain == "year":
        first_month = ordinal * 12 + (fys - 1)
        start, end = _month_start(first_month), _last_day_of_month(first_month + 11)
        fy_end_year = ordinal if fys == 1 else ordinal + 1
        return Period(ordinal, grain, fys, _fiscal_label(fy_end_year, fys), start, end)
    if grain == "week":
        start = date.min + timedelta(days=ordinal * 7)  # date.min (0001-01-01) is a Monday
        iso = start.isocalendar()
        return Period(ordinal, grain, fys, f"{iso.year:04d}-W{iso.week:02d}", start, start + timedelta(days=6))
    raise ValueError(f"unknown grain {grain!r}; expected one of {', '.join(GRAINS)}")


def period_containing(day: date, grain: str, fiscal_year_start: int = 1) -> Period:
    """The period of ``grain`` that contains ``day``."""
    month_index = day.year * 12 + day.month - 1
    if grain == "month":
        return period_from_ordinal(month_index, grain, fiscal_year_start)
    if grain == "quarter":
        return period_from_ordinal((month_index - (fiscal_year_start - 1)) // 3, grain, fiscal_year_start)
    if grain == "year":
        return period_from_ordinal((month_index - (fiscal_year_start - 1)) // 12, grain, fiscal_year_start)
    if grain == "week":
        return period_from_ordinal((day - date.min).days // 7, grain, fiscal_year_start)
    raise ValueError(f"unknown grain {grain!r}; expected one of {', '.join(GRAINS)}")


_LABEL_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("month", re.compile(r"^(\d{4})-(\d{2})$")),
    ("quarter", re.compile(r"^(?:FY)?(\d{4})-Q([1-4])$")),
    ("week", re.compile(r"^(\d{4})-W(\d{2})$")),
    ("year", re.compile(r"^(?:FY)?(\d{4})$")),
]


def grain_of_label(label: str) -> str:
    """Which grain a label like ``2025-03``, ``2025-Q1``, ``FY2026``, ``2025-W07`` belongs to."""
    for grain, pattern in _LABEL_PATTERNS:
        if pattern.match(label):
            return grain
    raise ValueError(f"{label!r} is not a period label (expected YYYY-MM, YYYY-Qn, YYYY or YYYY-Www)")


def parse_period(label: str, grain: str | None = None, fiscal_year_start: int = 1) -> Period:
    """Parse a period label of the given (or inferred) grain."""
    grain = grain or grain_of_label(label)
    for g, pattern in _LABEL_PATTERNS:
        if g != grain:
            continue
        m = pattern.match(label)
        if not m:
            break
        a, b = int(m.group(1)), int(m.group(2)) if m.lastindex and m.lastindex > 1 else 0
        if problem := year_problem(a):
            raise ValueError(f"{label!r}: {problem}")
        if grain == "month":
            if not 1 <= b <= 12:
                break
            return period_from_ordinal(a * 12 + b - 1, grain, fiscal_year_start)
        if grain == "quarter":
            fy_index = a if fiscal_year_start == 1 else a - 1
            return period_from_ordinal(fy_index * 4 + b - 1, grain, fiscal_year_start)
        if grain == "year":
            return period_from_ordinal(a if fiscal_year_start == 1 else a - 1, grain, fiscal_year_start)
        if grain == "week":
            try:
                monday = date.fromisocalendar(a, b, 1)
            except ValueError:
                break
            return period_containing(monday, grain, fiscal_year_start)
    raise ValueError(f"{label!r} is not a valid {grain} label")


def period_range(first: Period, last: Period) -> list[Period]:
    """All periods from ``first`` to ``last`` inclusive."""
    if first.grain != last.grain:
        raise ValueError("period range needs two periods of one grain")
    return [first.shift(i) for i in range(last.ordinal - first.ordinal + 1)]


def last_complete_period(today: date, grain: str, fiscal_year_start: int = 1) -> Period:
    """The most recent period that ended before ``today``: what a monthly scorecard reports on."""
    return period_containing(today, grain, fiscal_year_start).prior


def months_back(day: date, months: int) -> date:
    """The day after the same calendar day ``months`` months before ``day + 1``.

    Used for "the 12 months ending P.end": for P.end = 2025-03-31 it gives 2024-04-01.
    """
    nxt = day + timedelta(days=1)
    index = nxt.year * 12 + nxt.month - 1 - months
    year, month0 = divmod(index, 12)
    # clamp the day to the target month's length (29 Feb and friends)
    last = _last_day_of_month(index).day
    return date(year, month0 + 1, min(nxt.day, last))


#: To-date windows (kpi-spec.md, "To-date windows"): each ends at P.end.
Window = Literal["ytd", "qtd", "r12"]
WINDOWS: tuple[str, ...] = get_args(Window)


def window_start(period: Period, window: str) -> date:
    """First day of a to-date window ending at ``period.end``.

    ``ytd`` and ``qtd`` start on the first day of the (fiscal) year or quarter holding P.end, so a
    scorecard with ``fiscal_year_start: 4`` shows April-to-date; ``r12`` is the 12 months ending P.end
    (P.end = 2025-02-28 gives 2024-03-01).
    """
    if window == "ytd":
        return period_containing(period.end, "year", period.fiscal_year_start).start
    if window == "qtd":
        return period_containing(period.end, "quarter", period.fiscal_year_start).start
    if window == "r12":
        return months_back(period.end, 12)
    raise ValueError(f"unknown window {window!r}; expected one of {', '.join(WINDOWS)}")
