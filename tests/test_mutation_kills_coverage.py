"""Coverage (kpi-spec.md, "Coverage") at its edges: the survivors of the mutation run over
reportgen.engine.coverage (scripts/mutation.sh coverage, docs/mutation.md).

The end-to-end tests in test_compute place a period well inside or well outside the data; these put a
period's first or last day exactly on the data's first or last day, where a `<` written as `<=` turns
a covered day into a missing month. Expected values come from the spec: the data speaks for every day
from its first date to its last date, both included; a period with at least one such day is computed
(partial when some of its days are outside), a period with none is missing with the reason.
"""
from __future__ import annotations

import math
from datetime import date
from pathlib import Path

from reportgen.config.models import KpiSpec
from reportgen.data import load_canonical_folder
from reportgen.engine import compute_metrics, resolve_kpis
from reportgen.engine.coverage import (
    COVERED,
    NONE,
    PARTIAL,
    Coverage,
    Reason,
    Span,
    base_functions,
    combined,
    period_coverage,
    reasons_of,
    window_coverage,
    with_bases,
)
from reportgen.kpis.periods import parse_period, period_range

FIRST, LAST = date(2025, 1, 20), date(2025, 2, 25)
DEALS = Span("deals", "close_date", FIRST, LAST)
BEGIN, END = Reason("deals", "begin", FIRST), Reason("deals", "end", LAST)


def test_a_period_ending_on_the_first_day_of_data_has_one_covered_day_so_it_is_partial() -> None:
    assert period_coverage([DEALS], date(2025, 1, 1), FIRST) == Coverage(PARTIAL, (BEGIN,))
    assert period_coverage([DEALS], date(2025, 1, 1), date(2025, 1, 19)) == Coverage(NONE, (BEGIN,))


def test_a_period_starting_on_the_last_day_of_data_has_one_covered_day_so_it_is_partial() -> None:
    assert period_coverage([DEALS], LAST, date(2025, 2, 28)) == Coverage(PARTIAL, (END,))
    assert period_coverage([DEALS], date(2025, 2, 26), date(2025, 2, 28)) == Coverage(NONE, (END,))


def test_a_period_on_exactly_the_days_of_the_data_is_wholly_covered() -> None:
    assert period_coverage([DEALS], FIRST, LAST) == COVERED
    assert period_coverage([DEALS], FIRST, date(2025, 1, 31)) == COVERED  # starts on the first day
    assert period_coverage([DEALS], date(2025, 2, 1), LAST) == COVERED  # ends on the last day


def test_a_period_wider_than_the_data_is_partial_for_both_reasons_in_order() -> None:
    assert period_coverage([DEALS], date(2025, 1, 1), date(2025, 3, 31)) == Coverage(PARTIAL, (BEGIN, END))


def test_a_dataset_without_a_first_date_bounds_only_the_end() -> None:
    open_start = Span("targets", "month", None, LAST)
    assert period_coverage([open_start], date(2000, 1, 1), date(2000, 1, 31)) == COVERED
    assert period_coverage([open_start], date(2025, 2, 1), date(2025, 2, 28)) == \
        Coverage(PARTIAL, (Reason("targets", "end", LAST),))


def test_one_missing_dataset_makes_the_period_missing_with_only_the_missing_reasons() -> None:
    """A KPI over two datasets (revenue per lead) is missing when either is; the other dataset's
    partial reason is not part of why the value is missing."""
    leads = Span("leads", "created_date", date(2025, 3, 1), date(2025, 6, 30))
    feb = period_coverage([DEALS, leads], date(2025, 2, 1), date(2025, 2, 28))
    assert feb == Coverage(NONE, (Reason("leads", "begin", date(2025, 3, 1)),))
    no_dates, no_column = Span("spend", "", None, None), Span("deals", "created_date", None, None, empty_column=True)
    assert period_coverage([no_dates, no_column], FIRST, LAST) == \
        Coverage(NONE, (Reason("spend", "no_dates"), Reason("deals", "no_column", column="created_date")))


def test_a_to_date_window_is_missing_when_its_period_is_even_if_it_reaches_covered_days() -> None:
    march = parse_period("2025-03", "month")
    assert window_coverage([DEALS], date(2025, 1, 1), march) == Coverage(NONE, (END,))


def test_a_to_date_window_reaching_back_before_the_data_is_partial_though_its_period_is_covered() -> None:
    feb = parse_period("2025-02", "month")
    whole = Span("deals", "close_date", date(2024, 12, 1), date(2025, 2, 28))
    assert window_coverage([whole], date(2025, 1, 1), feb) == COVERED  # YTD inside the data
    assert window_coverage([whole], date(2024, 11, 1), feb) == \
        Coverage(PARTIAL, (Reason("deals", "begin", date(2024, 12, 1)),))
    assert window_coverage([DEALS], date(2025, 1, 1), feb) == Coverage(PARTIAL, (END, BEGIN))


def test_a_value_with_a_missing_base_is_missing_with_the_base_reason_only() -> None:
    partial_own = Coverage(PARTIAL, (END,))
    missing_base = Coverage(NONE, (BEGIN,))
    assert combined(partial_own, missing_base) == Coverage(NONE, (BEGIN,))
    assert combined(COVERED, Coverage(PARTIAL, (BEGIN,))) == Coverage(PARTIAL, (BEGIN,))
    assert combined(partial_own, Coverage(PARTIAL, (BEGIN,))) == Coverage(PARTIAL, (END, BEGIN))
    assert combined(COVERED, COVERED) == COVERED and combined(COVERED) == COVERED


def test_growth_against_the_prior_period_or_the_year_ago_takes_that_period_coverage() -> None:
    """Ordinals of months: 100 is partial, the others whole. A prior-period comparison marks 101
    (whose base is 100); a year-ago one marks 112; neither touches a period whose base is absent."""
    by_ordinal = {o: COVERED for o in range(99, 114)} | {100: Coverage(PARTIAL, (BEGIN,))}
    prior = with_bases(by_ordinal, {"prior"}, 12)
    assert {o for o, c in prior.items() if c.state == PARTIAL} == {100, 101}
    year_ago = with_bases(by_ordinal, {"year_ago"}, 12)
    assert {o for o, c in year_ago.items() if c.state == PARTIAL} == {100, 112}
    both = with_bases(by_ordinal, {"prior", "year_ago"}, 4)
    assert {o for o, c in both.items() if c.state == PARTIAL} == {100, 101, 104}
    assert with_bases(by_ordinal, set(), 12) == by_ordinal
    assert prior[99] == COVERED  # its base (98) is outside the table: left as it is


def test_the_reasons_of_a_note_skip_text_they_did_not_write_and_keep_reading() -> None:
    assert reasons_of("computed by hand; deals end 2025-02-25") == [END]
    assert reasons_of("deals has no dated rows") == [Reason("deals", "no_dates")]


def test_a_dataset_with_dates_but_none_in_the_column_placing_a_kpi_leaves_it_missing_with_that_reason(
        tmp_path: Path) -> None:
    """Only open deals: the export has created dates, but not one close (an open deal's expected
    close date is not data). Revenue cannot be placed in any month: missing, saying why; the deals
    created are placed by created_date and are counted (January is partial: they begin on the 5th)."""
    (tmp_path / "deals.csv").write_text("deal_id,created_date,close_date,stage,amount\n"
                                        "D1,2025-01-05,2025-03-20,open,100\nD2,2025-01-20,,open,50\n"
                                        "D3,2025-02-10,,open,70\n")
    months = period_range(parse_period("2025-01", "month"), parse_period("2025-02", "month"))
    metrics = compute_metrics(load_canonical_folder(tmp_path), resolve_kpis(None), months)
    revenue = metrics.row("revenue", "2025-02")
    assert math.isnan(revenue["value"])
    assert (revenue["coverage"], revenue["note"]) == ("none", "deals has no close_date")
    created = metrics.row("opportunities_created", "2025-01")
    assert (created["value"], created["coverage"], created["note"]) == (2, "partial", "deals begin 2025-01-05")


def test_a_kpi_that_reads_a_growth_kpi_reads_its_base_period_too() -> None:
    """A custom "growth in points" over revenue_growth compares with the prior period as revenue_growth
    does (kpi-spec "Comparisons"), so it is only as covered as that period."""
    kpis = resolve_kpis([KpiSpec(id="revenue"),
                         KpiSpec(id="growth_points", expression="revenue_growth * 100", unit="percent")])
    assert base_functions(kpis["growth_points"], kpis) == {"prior"}
    assert base_functions(kpis["revenue"], kpis) == set()


def test_a_snapshot_taken_on_the_first_day_of_a_period_covers_that_day() -> None:
    """A state as of 1 March (a month-start export) speaks for March up to the 1st: partial, not
    missing (kpi-spec "Coverage"; snapshot datasets cover the period holding their day, up to it)."""
    days = (date(2025, 2, 1), date(2025, 3, 1))
    status = Span("customers", "as_of", days[0], days[-1], snapshots=days)
    assert period_coverage([status], date(2025, 3, 1), date(2025, 3, 31)) == \
        Coverage(PARTIAL, (Reason("customers", "end", date(2025, 3, 1)),))
    assert period_coverage([status], date(2025, 2, 1), date(2025, 2, 28)) == \
        Coverage(PARTIAL, (Reason("customers", "end", date(2025, 2, 1)),))
