"""The engine on hand-worked examples: the seed articles' numbers, overrides, custom KPIs, status."""
from __future__ import annotations

import math
import textwrap
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from reportgen.errors import ConfigError
from reportgen.pipeline.build import Segment, compute_for_config
from tests.shared import require_shared

NOW = datetime(2026, 1, 15, tzinfo=UTC)

DEALS = """\
deal_id,created_date,close_date,stage,amount,rep,region,product,customer_id
D1,2025-01-05,2025-01-20,Closed Won,100000,ann,North,Core,C1
D2,2025-01-10,2025-02-10,Closed Won,60000,ann,North,Pro,C2
D3,2025-01-12,2025-02-14,Closed Won,60000,bob,South,Core,C3
D4,2025-01-15,2025-02-20,Closed Lost,50000,bob,South,Core,C4
D5,2025-02-01,,In Negotiation,40000,bob,South,Core,C5
D6,2025-02-03,2025-02-25,Closed Lost,10000,ann,North,Core,C6
"""


def scorecard(tmp_path: Path, kpis: str, extra: str = "", deals: str = DEALS) -> Path:
    (tmp_path / "deals.csv").write_text(deals)
    cfg = tmp_path / "sc.yaml"
    cfg.write_text(textwrap.dedent("""\
        scorecard: {as_of: 2025-02-28, history: 2, breakdowns: [region, rep], allow_partial_period: true}
        datasets:
          deals:
            path: deals.csv
            stages: {won: [Closed Won], lost: [Closed Lost], open: [In Negotiation]}
        """) + kpis + extra)
    return cfg


def compute(cfg: Path, **kw):
    from reportgen.config.load import load_config

    return compute_for_config(load_config(cfg), now=NOW, **kw)


def value(metrics, kpi: str, period: str, column: str = "value") -> float:
    row = metrics.row(kpi, period)
    assert row is not None, f"no row for {kpi} {period}"
    return float(row[column])


def test_seed_revenue_growth_and_target_achievement(tmp_path: Path) -> None:
    """Seed: $100,000 -> $120,000 is 20% growth; $120,000 of a $150,000 target is 80%."""
    cfg = scorecard(tmp_path, "kpis:\n  - id: revenue\n    target: {2025-02: 150000}\n"
                              "  - revenue_growth\n  - target_achievement\n")
    m = compute(cfg)
    assert value(m, "revenue", "2025-01") == 100_000
    assert value(m, "revenue", "2025-02") == 120_000
    assert value(m, "revenue_growth", "2025-02") == pytest.approx(0.20)
    assert value(m, "target_achievement", "2025-02") == pytest.approx(0.80)
    assert math.isnan(value(m, "target_achievement", "2025-01"))  # no target: missing, not 0
    row = m.row("revenue", "2025-02")
    assert (row["prior"], row["delta_prior"], row["pct_prior"]) == (100_000, 20_000, pytest.approx(0.2))
    # the fixture's deals end mid-February: a partial month is not judged against the whole month's plan
    assert row["coverage"] == "partial" and row["target"] == 150_000
    assert math.isnan(row["achievement"]) and row["status"] == ""


def test_win_rate_pipeline_and_open_deal_dates(tmp_path: Path) -> None:
    m = compute(scorecard(tmp_path, "kpis: [win_rate, pipeline_value, open_opportunities, sales_cycle_days]\n"))
    assert value(m, "win_rate", "2025-01") == 1.0          # 1 won, 0 lost
    assert value(m, "win_rate", "2025-02") == pytest.approx(2 / 4)
    # open at 2025-01-31: D2, D3, D4 (closed in Feb); at 2025-02-28: D5 (open)
    assert value(m, "pipeline_value", "2025-01") == 170_000
    assert value(m, "open_opportunities", "2025-02") == 1
    assert value(m, "sales_cycle_days", "2025-02") == pytest.approx((31 + 33) / 2)


def test_filter_override_and_custom_kpis(tmp_path: Path) -> None:
    kpis = textwrap.dedent("""\
        kpis:
          - id: revenue
            name: Core revenue
            filter: "product = 'Core'"
          - deals_won
          - id: revenue_per_deal_won
            expression: deals_won_amount / deals_won
            unit: money
          - id: deals_won_amount
            measure: {dataset: deals, agg: sum, column: amount, date: close_date, filter: "stage = 'won'"}
            unit: money
          - id: biggest_deal
            measure: {dataset: deals, agg: max, column: amount, date: created_date}
            unit: money
        """)
    m = compute(scorecard(tmp_path, kpis))
    assert value(m, "revenue", "2025-02") == 60_000       # only D3 is Core among February wins
    assert m.kpis["revenue"].name == "Core revenue"
    assert value(m, "deals_won_amount", "2025-02") == 120_000
    assert value(m, "revenue_per_deal_won", "2025-02") == 60_000
    assert value(m, "biggest_deal", "2025-01") == 100_000
    assert "Only rows where product = 'Core'" in m.kpis["revenue"].definition


def test_expression_cycle_is_a_config_error(tmp_path: Path) -> None:
    kpis = "kpis:\n  - {id: a, unit: count, expression: b + 1}\n  - {id: b, unit: count, expression: a + 1}\n"
    with pytest.raises(ConfigError, match="cycle"):
        compute(scorecard(tmp_path, kpis))


def test_breakdown_restricts_numerator_and_denominator_and_ranks(tmp_path: Path) -> None:
    m = compute(scorecard(tmp_path, "kpis: [revenue, win_rate]\n"))
    north = m.breakdown("win_rate", "region", "2025-02").set_index("segment")
    assert north.loc["North", "value"] == pytest.approx(1 / 2)   # D2 won, D6 lost
    assert north.loc["South", "value"] == pytest.approx(1 / 2)   # D3 won, D4 lost
    rev = m.breakdown("revenue", "rep", "2025-01").set_index("segment")
    assert rev.loc["ann", "value"] == 100_000 and rev.loc["bob", "value"] == 0
    assert (rev.loc["ann", "rank"], rev.loc["bob", "rank"]) == (1, 2)


def test_benchmark_gives_status_and_lower_is_better_inverts(tmp_path: Path) -> None:
    kpis = textwrap.dedent("""\
        kpis:
          - id: win_rate
            benchmark: {value: 0.6, source: "Industry median"}
          - id: sales_cycle_days
            target: 40
        """)
    m = compute(scorecard(tmp_path, kpis))
    wr = m.row("win_rate", "2025-02")
    assert wr["benchmark_source"] == "Industry median"
    assert wr["status"] == "bad"                # 0.5 / 0.6 = 83% < 90%
    cyc = m.row("sales_cycle_days", "2025-02")  # 32 days against a 40-day target: good
    assert cyc["achievement"] == pytest.approx(40 / 32) and cyc["status"] == "good"


def test_unavailable_kpi_names_missing_dataset(tmp_path: Path) -> None:
    m = compute(scorecard(tmp_path, "kpis: [revenue, churn_rate, cac]\n"))
    assert m.unavailable["churn_rate"] == "unavailable: needs dataset subscriptions"
    assert "spend" in m.unavailable["cac"]
    assert set(m.table["kpi"]) == {"revenue"}


def test_unmapped_stage_is_an_error_naming_the_value(tmp_path: Path) -> None:
    from reportgen.errors import DataError

    deals = DEALS + "D7,2025-02-05,2025-02-06,Closed - Pending,1,ann,North,Core,C7\n"
    with pytest.raises(DataError, match=r"unmapped stage value\(s\) 'Closed - Pending' \(1 rows\)"):
        compute(scorecard(tmp_path, "kpis: [revenue]\n", deals=deals))


def test_segment_restriction_keeps_only_that_segment(tmp_path: Path) -> None:
    m = compute(scorecard(tmp_path, "kpis: [revenue, deals_won]\n"), segment=Segment("region", "South"))
    assert value(m, "revenue", "2025-02") == 60_000
    assert value(m, "deals_won", "2025-01") == 0
    assert "region" not in set(m.table["dimension"])


def test_missing_denominator_is_missing_not_zero(tmp_path: Path) -> None:
    # the data covers March (a deal created on its last day) but no deal closed in it
    deals = DEALS + "D7,2025-03-31,,In Negotiation,1000,ann,North,Core,C7\n"
    m = compute(scorecard(tmp_path, "kpis: [average_deal_size, win_rate]\n", deals=deals), period="2025-03")
    assert m.row("win_rate", "2025-03")["coverage"] == ""  # covered: missing because nothing closed
    assert math.isnan(value(m, "average_deal_size", "2025-03"))
    assert math.isnan(value(m, "win_rate", "2025-03"))


def test_status_thresholds_and_edges() -> None:
    import numpy as np
    import pandas as pd

    from reportgen.engine import status

    value = pd.Series([100.0, 95.0, 80.0, 0.0, 5.0, np.nan, 3.0, -0.02])
    ref = pd.Series([100.0, 100.0, 100.0, 0.02, 4.0, 10.0, np.nan, -0.05])
    lower = pd.Series([False, False, False, True, True, False, False, False])
    got = status(value, ref, lower).tolist()
    # 100% good; 95% warning; 80% bad; zero churn meets a 2% churn target; 5 days against a 4-day
    # target is 80% (bad); missing value or reference: no status; -2% growth beats a -5% target
    assert got == ["good", "warning", "bad", "good", "bad", "", "", "good"]


def test_fiscal_quarter_and_iso_week_grains(tmp_path: Path) -> None:
    cfg = scorecard(tmp_path, "kpis: [revenue, deals_won]\n")
    text = cfg.read_text().replace("scorecard: {as_of: 2025-02-28, history: 2,",
                                   "scorecard: {as_of: 2025-02-28, history: 2, grain: quarter, fiscal_year_start: 2,")
    cfg.write_text(text)
    m = compute(cfg)
    # fiscal year starting in February: FY2026-Q1 is Feb-Apr 2025, FY2025-Q4 is Nov 2024-Jan 2025
    assert [p.label for p in m.periods] == ["FY2025-Q4", "FY2026-Q1"]
    assert value(m, "revenue", "FY2025-Q4") == 100_000 and value(m, "revenue", "FY2026-Q1") == 120_000
    cfg.write_text(text.replace("grain: quarter, fiscal_year_start: 2,", "grain: week,"))
    m = compute(cfg, period="2025-W07")
    # D2 closes Mon 2025-02-10 and D3 Fri 2025-02-14: both in ISO week 7
    assert value(m, "revenue", "2025-W07") == 120_000 and value(m, "deals_won", "2025-W06") == 0


@pytest.mark.parametrize("grain, first, last", [("month", "2023-01", "2024-12"), ("quarter", "2023-Q1", "2024-Q4"),
                                               ("week", "2024-W01", "2024-W30")])
def test_customer_windows_equal_count_distinct(grain: str, first: str, last: str) -> None:
    """The island trick for "distinct customers with a win in the 12 months ending P.end" gives the
    plain count(DISTINCT) for every period and segment (the conformance cases check it only for the
    whole company)."""
    from reportgen.data import load_canonical_folder
    from reportgen.engine import _days_frame, _periods_frame
    from reportgen.kpis.catalogue import CUSTOMER_WINDOWS
    from reportgen.kpis.periods import parse_period, period_range

    data = load_canonical_folder(require_shared() / "conformance" / "crm-24m" / "data")
    periods = period_range(parse_period(first, grain), parse_period(last, grain))
    con = data.con
    con.register("p_df", _periods_frame(periods))
    con.execute("CREATE OR REPLACE TEMP TABLE periods AS SELECT * FROM p_df")
    con.register("d_df", _days_frame(periods, window_months=12))
    con.execute("CREATE OR REPLACE TEMP TABLE days_12m AS SELECT * FROM d_df")
    for segment in ("''", "region", "rep"):
        islands = con.execute(
            f"WITH base AS (SELECT *, {segment} AS __segment FROM deals), rel AS ({CUSTOMER_WINDOWS}) "
            "SELECT p.ord, t.__segment, count(*) FROM periods p JOIN rel t ON p.ord BETWEEN t.lo AND t.hi "
            "GROUP BY ALL ORDER BY ALL").fetchall()
        distinct = con.execute(
            f"SELECT p.ord, {segment.replace('region', 't.region').replace('rep', 't.rep')} AS s, "
            "count(DISTINCT t.customer_id) FROM periods p JOIN deals t ON t.stage = 'won' "
            "AND t.customer_id IS NOT NULL AND t.close_date BETWEEN p.start_12m AND p.\"end\" "
            "GROUP BY ALL ORDER BY ALL").fetchall()
        assert islands == distinct, (grain, segment)


# --------------------------------------------------------------------------------------------------
# Coverage, the reporting-period guard, customer-level churn, to-date windows
# --------------------------------------------------------------------------------------------------

def _folder_metrics(tmp_path: Path, files: dict[str, str], first: str, last: str, windows=(), fys: int = 1):
    from reportgen.data import load_canonical_folder
    from reportgen.engine import compute_metrics, resolve_kpis
    from reportgen.kpis.periods import parse_period, period_range

    for name, text in files.items():
        (tmp_path / name).write_text(text)
    periods = period_range(parse_period(first, "month", fys), parse_period(last, "month", fys))
    return compute_metrics(load_canonical_folder(tmp_path), resolve_kpis(None), periods, windows=windows)


CANON_DEALS = DEALS.replace("Closed Won", "won").replace("Closed Lost", "lost").replace("In Negotiation", "open")


def test_coverage_missing_with_reason_before_and_after_the_data_and_partial(tmp_path: Path) -> None:
    m = _folder_metrics(tmp_path, {"deals.csv": CANON_DEALS}, "2024-12", "2025-03")
    dec, jan, feb, mar = (m.row("revenue", p) for p in ("2024-12", "2025-01", "2025-02", "2025-03"))
    # before the first close date and after the last date of the export: missing, never 0
    assert math.isnan(dec["value"]) and (dec["coverage"], dec["note"]) == ("none", "deals begin 2025-01-20")
    assert math.isnan(mar["value"]) and (mar["coverage"], mar["note"]) == ("none", "deals end 2025-02-25")
    # partly covered months are computed and marked partial with the reason
    assert (jan["value"], jan["coverage"], jan["note"]) == (100_000, "partial", "deals begin 2025-01-20")
    assert (feb["value"], feb["coverage"], feb["note"]) == (120_000, "partial", "deals end 2025-02-25")
    assert math.isnan(jan["prior"])  # the comparison respects coverage too: December is unknown, not 0
    # each KPI is placed by its own column: deals were created from 5 January
    assert m.row("opportunities_created", "2025-01")["note"] == "deals begin 2025-01-05"
    assert m.data_through == {"deals": date(2025, 2, 25)}


def test_inside_the_covered_span_an_empty_month_is_a_real_zero(tmp_path: Path) -> None:
    deals = CANON_DEALS + "D7,2025-04-02,,open,1000,ann,North,Core,C7\n"
    m = _folder_metrics(tmp_path, {"deals.csv": deals}, "2025-03", "2025-03")
    row = m.row("revenue", "2025-03")
    assert (row["value"], row["coverage"]) == (0, "")
    assert math.isnan(m.row("win_rate", "2025-03")["value"])  # 0 / 0 stays missing


def test_header_only_dataset_is_missing_with_reason(tmp_path: Path) -> None:
    m = _folder_metrics(tmp_path, {"deals.csv": DEALS.splitlines()[0] + "\n"}, "2025-01", "2025-02")
    rows = m.company[m.company["kpi"] == "revenue"]
    assert rows["value"].isna().all()
    assert set(rows["coverage"]) == {"none"} and set(rows["note"]) == {"deals has no dated rows"}


def test_reporting_period_guard_messages(tmp_path: Path) -> None:
    from reportgen.errors import DataError

    cfg = scorecard(tmp_path, "kpis: [revenue]\n")
    cfg.write_text(cfg.read_text().replace(", allow_partial_period: true", ""))
    with pytest.raises(DataError) as partial:
        compute(cfg)
    assert str(partial.value) == (
        "dataset 'deals' ends 2025-02-25, before the reporting period 2025-02 ends (2025-02-28); "
        "set scorecard.allow_partial_period: true to report it as partial, or choose --period (compute: --to)")
    with pytest.raises(DataError) as after:
        compute(cfg, period="2025-03")
    assert str(after.value) == ("dataset 'deals' ends 2025-02-25, before the reporting period 2025-03 begins "
                                "(2025-03-01); choose --period (compute: --to)")
    # allowed: computed and marked partial
    cfg.write_text(
        cfg.read_text().replace("breakdowns: [region, rep]", "breakdowns: [region, rep], allow_partial_period: true")
    )
    assert compute(cfg).row("revenue", "2025-02")["coverage"] == "partial"
    with pytest.raises(DataError, match="before the reporting period 2025-03 begins"):  # not covered: always an error
        compute(cfg, period="2025-03")


def test_custom_measure_over_a_text_column_is_one_line(tmp_path: Path) -> None:
    from reportgen.errors import DataError

    cfg = scorecard(
        tmp_path,
        "kpis:\n  - id: rep_total\n    measure: {dataset: deals, agg: sum, column: rep, date: close_date}\n"
        "    unit: count\n",
    )
    with pytest.raises(DataError) as err:
        compute(cfg)
    assert str(err.value) == ("KPI 'rep_total': cannot sum column 'rep' of dataset 'deals': it holds varchar, "
                              "not numbers; choose a numeric column or agg: count")
    cfg = scorecard(
        tmp_path,
        "kpis:\n  - id: x\n    measure: {dataset: deals, agg: sum, column: amount, date: paid_on}\n    unit: money\n",
    )
    with pytest.raises(DataError, match="dataset 'deals' has no column 'paid_on'"):
        compute(cfg)


SUBS = """\
customer_id,start_date,end_date,mrr
A,2024-10-01,2025-02-10,100
A,2025-01-15,,30
B,2024-10-01,2025-02-20,200
C,2024-11-01,,50
C,2025-02-01,,70
"""


def test_churn_counts_customers_not_subscriptions(tmp_path: Path) -> None:
    m = _folder_metrics(tmp_path, {"subscriptions.csv": SUBS}, "2025-02", "2025-02")
    # S = {A, B, C} on 31 January; A ends one subscription but another runs on (contraction, not churn)
    assert value(m, "churn_rate", "2025-02") == pytest.approx(1 / 3)          # only B churned
    assert value(m, "retention_rate", "2025-02") == pytest.approx(2 / 3)
    assert value(m, "active_customers", "2025-02") == 2
    assert value(m, "arpa", "2025-02") == pytest.approx((30 + 50 + 70) / 2)
    # MRR of A, B, C on 31 Jan: 130 + 200 + 50 = 380; at 28 Feb: 30 + 0 + 120 = 150; capped: 30 + 0 + 50
    assert value(m, "nrr", "2025-02") == pytest.approx(150 / 380)
    assert value(m, "grr", "2025-02") == pytest.approx(80 / 380)


def test_fiscal_ytd_window_is_one_period_not_a_sum(tmp_path: Path) -> None:
    deals = """\
deal_id,created_date,close_date,stage,amount,rep
D1,2025-01-02,2025-03-10,won,100,ann
D2,2025-01-02,2025-04-10,won,200,ann
D3,2025-01-02,2025-04-11,lost,50,ann
D4,2025-01-02,2025-05-12,won,300,ann
D5,2025-01-02,2025-05-13,lost,10,ann
D6,2025-01-02,2025-05-14,lost,10,ann
D7,2025-01-02,2025-05-15,lost,10,ann
D8,2025-01-02,2025-06-30,open,10,ann
"""
    m = _folder_metrics(tmp_path, {"deals.csv": deals}, "2025-03", "2025-05", windows=("ytd", "qtd", "r12"), fys=4)
    ytd = m.window_row("revenue", "2025-05", "ytd")
    assert ytd["value"] == 500 and ytd["period_start"] == "2025-04-01"  # fiscal year from April: March left out
    # win rate over the whole window (2 won of 6 closed), not the mean of April's 1/2 and May's 1/4
    assert m.window_row("win_rate", "2025-05", "ytd")["value"] == pytest.approx(2 / 6)
    assert m.window_row("revenue", "2025-03", "ytd")["value"] == 100  # March closes FY2025
    assert m.window_row("revenue", "2025-05", "qtd")["value"] == 500  # fiscal Q1 = April-June
    assert m.window_row("revenue", "2025-05", "r12")["value"] == 600
    assert m.window_row("revenue", "2025-05", "r12")["coverage"] == "partial"  # reaches before the data begins
    assert m.window_row("revenue_growth", "2025-05", "ytd") is None  # no window form
    assert len(m.company[m.company["kpi"] == "revenue"]) == 3  # window rows stay out of the period rows


def test_a_partial_period_is_not_judged_against_the_whole_period_plan(tmp_path: Path) -> None:
    from datetime import datetime

    from reportgen.config.load import load_config
    from reportgen.pipeline.build import compute_for_config

    (tmp_path / "deals.csv").write_text("deal_id,created_date,close_date,stage,amount\n"  # covers all of January
                                        "Z,2024-12-01,2024-12-31,lost,0\nA,2025-01-02,2025-01-10,won,100\n"
                                        "B,2025-02-02,2025-02-10,won,50\n")
    (tmp_path / "targets.csv").write_text("period,kpi,value\n2025-01,revenue,100\n2025-02,revenue,200\n")
    cfg = tmp_path / "c.yaml"
    cfg.write_text("scorecard: {as_of: 2025-02-28, allow_partial_period: true}\n"
                   "datasets:\n  deals: {path: deals.csv, data_through: 2025-02-15}\n  targets: {path: targets.csv}\n"
                   "kpis: [revenue, win_rate]\n")
    m = compute_for_config(load_config(cfg), now=datetime(2026, 1, 1, tzinfo=UTC), first="2025-01")
    feb, jan = m.row("revenue", "2025-02"), m.row("revenue", "2025-01")
    assert feb["coverage"] == "partial" and feb["target"] == 200
    assert math.isnan(feb["achievement"]) and feb["status"] == ""
    assert jan["status"] == "good" and jan["achievement"] == 1.0


def test_sums_of_amounts_are_the_same_on_every_run(tmp_path: Path) -> None:
    """A plain SQL sum of doubles depends on the order DuckDB's threads combine rows in: the same
    export computed twice gave values differing in the 15th digit. Amount sums (one-stage, two-stage,
    a custom sum) and a custom average must be identical, bit for bit, however often they are computed."""
    import numpy as np
    import pandas as pd

    from reportgen.config.load import load_config
    from reportgen.engine import compute_metrics, resolve_kpis
    from reportgen.kpis.periods import parse_period, period_range
    from reportgen.pipeline.build import load_data

    rng = np.random.default_rng(7)
    n = 400_000  # several of DuckDB's row groups, so both threads take part
    created = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 700, n), unit="D")
    pd.DataFrame({
        "deal_id": np.arange(n), "created_date": created.strftime("%Y-%m-%d"),
        "close_date": (created + pd.to_timedelta(rng.integers(0, 60, n), unit="D")).strftime("%Y-%m-%d"),
        "stage": rng.choice(["Closed Won", "Closed Lost", "In Negotiation"], n),
        "amount": np.round(rng.lognormal(9, 1.5, n), 2), "rep": rng.choice(["ann", "bob", "cy"], n),
        "region": rng.choice(["North", "South"], n), "product": "Core", "customer_id": rng.integers(0, 5000, n),
    }).to_csv(tmp_path / "deals.csv", index=False)
    custom = """\
        kpis:
          - revenue
          - pipeline_value
          - {id: won_total, name: Won total, unit: money, measure: {dataset: deals, date: close_date, agg: sum,
             column: amount, filter: "stage = 'won'"}}
          - {id: won_mean, name: Mean won deal, unit: money, measure: {dataset: deals, date: close_date, agg: avg,
             column: amount, filter: "stage = 'won'"}}
        """
    loaded = load_config(scorecard(tmp_path, textwrap.dedent(custom), deals=(tmp_path / "deals.csv").read_text()))
    kpis = resolve_kpis(loaded.config.kpis)
    periods = period_range(parse_period("2024-01", "month"), parse_period("2025-10", "month"))
    data = load_data(loaded, today=date(2026, 1, 5))
    tables = [compute_metrics(data, kpis, periods, breakdowns=["region", "rep"]).table for _ in range(4)]
    assert tables[0]["value"].notna().sum() > 100
    for table in tables[1:]:
        pd.testing.assert_frame_equal(table, tables[0], check_exact=True)


# --------------------------------------------------------------------------------------------------
# Partial comparison bases (kpi-spec.md, "Comparisons") and the scorecard's clock ("Coverage")
# --------------------------------------------------------------------------------------------------

PARTIAL_BASE_DEALS = """deal_id,created_date,close_date,stage,amount,rep,region,product,customer_id
A1,2024-10-01,2024-10-20,won,1000,ann,North,Core,C1
A2,2024-10-02,2024-11-10,won,2000,ann,North,Core,C2
A3,2024-11-03,2024-12-05,won,3000,bob,South,Core,C3
A4,2025-09-01,2025-10-15,won,5000,bob,South,Core,C4
A5,2025-10-01,2025-11-12,won,7000,ann,North,Core,C5
"""


def test_a_comparison_against_a_partly_covered_base_is_marked_partial_with_the_reason(tmp_path: Path) -> None:
    m = _folder_metrics(tmp_path, {"deals.csv": PARTIAL_BASE_DEALS}, "2024-11", "2025-11")
    oct25 = m.row("revenue", "2025-10")
    # October 2024, the year-ago base, is covered from the 20th only (the first close): computed, marked
    assert (oct25["value"], oct25["year_ago"]) == (5000, 1000)
    assert (oct25["year_ago_coverage"], oct25["year_ago_note"]) == ("partial", "deals begin 2024-10-20")
    assert oct25["pct_year_ago"] == 4.0  # still computed: the page decides how to show it
    assert (oct25["coverage"], oct25["prior_coverage"]) == ("", "")  # the month itself and September: whole
    nov24 = m.row("revenue", "2024-11")
    assert (nov24["prior_coverage"], nov24["prior_note"]) == ("partial", "deals begin 2024-10-20")
    assert nov24["year_ago_coverage"] == "none" and math.isnan(nov24["year_ago"])
    # a growth KPI reads its base: its own value is only as covered as October 2024
    growth = m.row("revenue_growth", "2024-11")
    assert growth["value"] == 1.0 and (growth["coverage"], growth["note"]) == ("partial", "deals begin 2024-10-20")
    assert m.row("revenue_growth", "2024-12")["coverage"] == ""  # November's base is whole


def test_coverage_reasons_are_data_and_read_back_from_the_note() -> None:
    from reportgen.engine import Reason, reasons_of

    reasons = [Reason("deals", "begin", date(2024, 10, 20)), Reason("leads", "end", date(2025, 1, 31)),
               Reason("spend", "no_dates"), Reason("deals", "no_column", column="close_date")]
    note = "; ".join(r.text for r in reasons)
    assert note == ("deals begin 2024-10-20; leads end 2025-01-31; spend has no dated rows; "
                    "deals has no close_date")
    assert reasons_of(note) == reasons
    assert reasons_of("") == [] and reasons_of("something else") == []


def test_open_deals_and_dates_after_now_never_extend_coverage(tmp_path: Path) -> None:
    from reportgen.data import load_canonical_folder

    deals = PARTIAL_BASE_DEALS + "O1,2025-11-02,2026-03-31,open,9000,ann,North,Core,C6\n"
    (tmp_path / "deals.csv").write_text(deals)
    # an open deal's expected close date (2026-03-31) is no event: the data ends at the last real date
    assert load_canonical_folder(tmp_path, today=date(2026, 12, 1)).quality["deals"].last_date == date(2025, 11, 12)
    # the scorecard's clock, not the machine's: computed "on" 2025-10-20, the November close is no data yet
    early = load_canonical_folder(tmp_path, today=date(2025, 10, 20)).quality["deals"]
    assert early.last_date == date(2025, 10, 15)


def test_build_now_drives_the_future_date_rule_and_coverage(tmp_path: Path) -> None:
    cfg = scorecard(tmp_path, "kpis: [revenue]\n")
    # the config's deals end 2025-02-25; computed as of 2025-02-10 the later rows are not yet data
    metrics = compute_for_config(load_config_of(cfg), now=datetime(2025, 2, 10, tzinfo=UTC))
    assert metrics.quality["deals"].last_date == date(2025, 2, 10)
    feb = metrics.row("revenue", "2025-02")
    assert (feb["coverage"], feb["note"]) == ("partial", "deals end 2025-02-10")
    later = compute_for_config(load_config_of(cfg), now=NOW).row("revenue", "2025-02")
    assert (later["coverage"], later["note"]) == ("partial", "deals end 2025-02-25")


def load_config_of(cfg: Path):
    from reportgen.config.load import load_config

    return load_config(cfg)
