"""Generated sentences from small hand-made metric tables, asserted word for word."""
from __future__ import annotations

import math

import pandas as pd
import pytest

from reportgen.engine import METRIC_COLUMNS, Metrics, ResolvedKpi
from reportgen.kpis.expressions import parse_formula
from reportgen.kpis.periods import parse_period
from reportgen.render.narrative import change_sentence, plan_clause, status_changes, top_movers, what_changed

NAN = math.nan


def _kpi(kid: str, name: str, unit: str, direction: str = "higher") -> ResolvedKpi:
    return ResolvedKpi(kid, name, unit, direction, "growth", parse_formula("won_amount"), f"{name} definition.")


def _row(kid, name, unit, direction, period, value, prior, target=NAN, status=""):
    return {
        "kpi": kid, "name": name, "unit": unit, "direction": direction, "period": period, "period_start": "",
        "period_end": "", "dimension": "", "segment": "", "value": value, "prior": prior,
        "delta_prior": value - prior, "pct_prior": value / prior - 1 if prior else NAN, "year_ago": NAN,
        "delta_year_ago": NAN, "pct_year_ago": NAN, "target": target,
        "achievement": value / target if target == target else NAN, "benchmark": NAN, "benchmark_source": "",
        "status": status, "rank": NAN,
    }


@pytest.fixture
def metrics() -> Metrics:
    kpis = {
        "revenue": _kpi("revenue", "Revenue", "money"),
        "churn_rate": _kpi("churn_rate", "Churn rate", "percent", "lower"),
        "cac": _kpi("cac", "CAC", "money", "lower"),
        "calls_made": _kpi("calls_made", "Calls", "count"),
    }
    rows = [
        _row("revenue", "Revenue", "money", "higher", "2025-02", 1_100_000, 1_000_000, 1_200_000, "warning"),
        _row("revenue", "Revenue", "money", "higher", "2025-03", 1_240_000, 1_100_000, 1_203_883.5, "good"),
        _row("churn_rate", "Churn rate", "percent", "lower", "2025-02", 0.015, 0.016, 0.02, "good"),
        _row("churn_rate", "Churn rate", "percent", "lower", "2025-03", 0.036, 0.015, 0.02, "bad"),
        _row("cac", "CAC", "money", "lower", "2025-02", 1000, 1000),
        _row("cac", "CAC", "money", "lower", "2025-03", 800, 1000),
        _row("calls_made", "Calls", "count", "higher", "2025-02", 100, 100),
        _row("calls_made", "Calls", "count", "higher", "2025-03", 101, 100),
    ]
    table = pd.DataFrame(rows)[METRIC_COLUMNS]
    periods = [parse_period("2025-02", "month"), parse_period("2025-03", "month")]
    return Metrics(table, kpis, {}, periods, {}, "month")


def test_change_sentence_with_plan_in_english():
    row = {"value": 1_240_000, "prior": 1_103_202.85, "pct_prior": 0.124, "target": 1_203_883.5}
    assert change_sentence("Revenue", "money", row) == "Revenue rose 12.4% on last month to $1.24M, 3.0% above plan."


def test_rates_move_in_percentage_points_and_fall_below_plan():
    row = {"value": 0.18, "prior": 0.20, "pct_prior": -0.1, "target": 0.21}
    assert change_sentence("Win rate", "percent", row) == (
        "Win rate fell 2.0\u00a0pp on last month to 18.0%, 3.0\u00a0pp below plan.")


def test_unchanged_missing_prior_and_missing_value():
    assert change_sentence("Calls", "count", {"value": 100, "prior": 100, "pct_prior": 0.0, "target": NAN}) == (
        "Calls was unchanged on last month at 100.")
    assert change_sentence("Calls", "count", {"value": 100, "prior": NAN, "pct_prior": NAN}) == "Calls was 100."
    assert change_sentence("Calls", "count", {"value": NAN}) == "Calls is not available for this period."


def test_german_and_french_sentences_use_their_own_separators():
    row = {"value": 1_240_000, "prior": 1_103_202.85, "pct_prior": 0.124, "target": 1_203_883.5}
    assert change_sentence("Umsatz", "money", row, locale="de_DE", currency="EUR") == (
        "Umsatz: Anstieg gegenüber dem Vormonat um 12,4\u00a0% auf 1,24\u00a0Mio.\u00a0€, 3,0\u00a0% über Plan.")
    assert change_sentence("Chiffre d’affaires", "money", row, locale="fr_FR", currency="EUR", grain="quarter") == (
        "Chiffre d’affaires\u00a0: hausse de 12,4\u00a0% par rapport au trimestre précédent, à 1,24\u00a0M\u00a0€, "
        "3,0\u00a0% au-dessus du budget.")


def test_unknown_language_falls_back_to_english_patterns():
    assert change_sentence("Calls", "count", {"value": 5, "prior": 4, "pct_prior": 0.25}, locale="sv_SE") == (
        "Calls rose 25,0\u00a0% on last month to 5.")
    # Italian now ships as a catalogue
    assert change_sentence("Calls", "count", {"value": 5, "prior": 4, "pct_prior": 0.25}, locale="it_IT") == (
        "Calls: in aumento di 25,0% rispetto al mese precedente a 5.")


def test_plan_clause_on_plan_and_without_target():
    assert plan_clause("money", 100.0, 100.0) == "on plan"
    assert plan_clause("money", 100.0, NAN) == ""


def test_top_movers_are_ranked_by_relative_size_and_judged_by_direction(metrics):
    movers = top_movers(metrics, ["revenue", "churn_rate", "cac", "calls_made"], n=3)
    assert [(m.kpi, round(m.pct, 3), m.tone) for m in movers] == [
        ("churn_rate", 1.4, "bad"), ("cac", -0.2, "good"), ("revenue", 0.127, "good")]


def test_status_changes_compare_prior_and_current_status(metrics):
    assert status_changes(metrics, ["revenue", "churn_rate", "cac"]) == [("churn_rate", "good", "bad")]


def test_what_changed_headline_then_slips_then_movers(metrics):
    texts = [s.text for s in what_changed(metrics, ["revenue", "churn_rate", "cac", "calls_made"], limit=3)]
    assert texts == [
        "Revenue rose 12.7% on last month to $1.24M, 3.0% above plan.",
        "Churn rate slipped from good to bad (3.6%; plan 2.0%).",
        "CAC fell 20.0% on last month to $800.",
    ]


def test_what_changed_does_not_crash_in_german_or_french(metrics):
    for locale in ("de_DE", "fr_FR"):
        statements = what_changed(metrics, ["revenue", "churn_rate", "cac"], locale=locale, currency="EUR")
        assert len(statements) == 3 and all(s.text.endswith(".") for s in statements)


def _with_breakdown(metrics: Metrics, rows: list[tuple[str, str, float, float]]) -> Metrics:
    from dataclasses import replace

    extra = []
    for dimension, segment, value, prior in rows:
        r = _row("revenue", "Revenue", "money", "higher", "2025-03", value, prior)
        extra.append({**r, "dimension": dimension, "segment": segment})
    table = pd.concat([metrics.table, pd.DataFrame(extra)[METRIC_COLUMNS]], ignore_index=True)
    kpis = {**metrics.kpis, "revenue": replace(metrics.kpis["revenue"], additive=True)}
    return replace(metrics, table=table, kpis=kpis)


def test_driver_names_the_segment_that_moved_the_total_most(metrics):
    from reportgen.render.narrative import driver_clause

    # company +140,000: North +120,000 (86%), South +40,000, East -20,000; by product Pro +70,000 (50%)
    m = _with_breakdown(metrics, [("region", "North", 520_000, 400_000), ("region", "South", 440_000, 400_000),
                                  ("region", "East", 280_000, 300_000), ("product", "Pro", 570_000, 500_000)])
    assert driver_clause(m, "revenue") == "largest contribution: Region North (+$120,000)"
    assert what_changed(m, ["revenue"])[0].text == (
        "Revenue rose 12.7% on last month to $1.24M, 3.0% above plan; largest contribution: Region North (+$120,000).")
    assert driver_clause(m, "revenue", locale="de_DE").startswith("größter Beitrag: Region North (+120.000")


def test_no_driver_when_no_segment_explains_a_quarter_or_for_ratios(metrics):
    from reportgen.render.narrative import driver_clause

    spread = _with_breakdown(metrics, [("rep", f"r{i}", 100_000 + 14_000, 100_000) for i in range(10)])
    assert driver_clause(spread, "revenue") == ""     # each rep explains 10% of the change
    assert driver_clause(metrics, "revenue") == ""    # no breakdown rows at all
    assert driver_clause(metrics, "churn_rate") == ""  # not additive


def test_a_score_moves_in_points_not_percent():
    """NPS 26.1 -> 51.4 rose 25.3 points; "+96.8%" of a score that can be negative means nothing."""
    row = {"value": 51.4, "prior": 26.1, "pct_prior": 51.4 / 26.1 - 1, "delta_prior": 25.3, "target": 60.0}
    text = change_sentence("Net Promoter Score", "score", row)
    assert text == "Net Promoter Score rose 25.3 points on last month to 51.4, 8.6 points below plan."


def test_sentence_uses_the_kpis_one_format():
    """With the scorecard's format of the KPI the sentence says "$1.76M" and the driver "+$0.24M" as the
    table does, not "+$243,773" beside "$1.76M"."""
    from reportgen.render.kpiformat import kpi_format

    row = {"value": 1_757_575.0, "prior": 1_361_000.0, "pct_prior": 0.2914, "delta_prior": 396_575.0,
           "target": 1_461_000.0}
    number = kpi_format([1_757_575.0, 14_920_000.0], "money")
    assert change_sentence("Sales revenue", "money", row, number=number).startswith(
        "Sales revenue rose 29.1% on last month to $1.76M")
