"""The engine on hand-worked examples: the seed articles' numbers, overrides, custom KPIs, status."""
from __future__ import annotations

import math
import textwrap
from datetime import datetime, timezone
from pathlib import Path

import pytest

from reportgen.build import Segment, compute_for_config
from reportgen.config import parse_config
from reportgen.errors import ConfigError

NOW = datetime(2026, 1, 15, tzinfo=timezone.utc)

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
    from reportgen.config import load_config

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
    assert row["target"] == 150_000 and row["achievement"] == pytest.approx(0.8) and row["status"] == "bad"


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

    from reportgen.compute import status

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
    from reportgen.catalogue import CUSTOMER_WINDOWS
    from reportgen.compute import _days_frame, _periods_frame
    from reportgen.data import load_canonical_folder
    from reportgen.periods import parse_period, period_range

    data = load_canonical_folder(Path(__file__).resolve().parents[2] / "shared" / "conformance" / "crm-24m" / "data")
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
