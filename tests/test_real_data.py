"""Real public data, read as published with only a mapping, checked against independent arithmetic.

The expected numbers are computed here with the csv module and plain Python, not with reportgen's
code paths, so a shared mistake cannot hide.
"""
from __future__ import annotations

import csv
from collections import defaultdict
from datetime import date, datetime, timezone
from pathlib import Path
from statistics import mean

import pytest

from reportgen.build import compute_for_config
from reportgen.config import load_config

NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)


def _d(text: str) -> date:
    return date.fromisoformat(text)


@pytest.fixture(scope="module")
def crm(repo_root: Path, shared_dir: Path):
    path = shared_dir / "real-data" / "crm-sales-opportunities" / "sales_pipeline.csv"
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    metrics = compute_for_config(load_config(repo_root / "configs" / "crm-sales-opportunities.yaml"), now=NOW,
                                 first="2017-03")
    return rows, metrics


def test_crm_monthly_win_rate_revenue_and_cycle(crm) -> None:
    rows, metrics = crm
    won, lost, revenue, cycles = defaultdict(int), defaultdict(int), defaultdict(float), defaultdict(list)
    for r in rows:
        if r["deal_stage"] not in ("Won", "Lost") or not r["close_date"]:
            continue
        month = r["close_date"][:7]
        if r["deal_stage"] == "Won":
            won[month] += 1
            revenue[month] += float(r["close_value"])
            if r["engage_date"]:
                cycles[month].append((_d(r["close_date"]) - _d(r["engage_date"])).days)
        else:
            lost[month] += 1
    months = sorted(set(won) | set(lost))
    assert months[0] == "2017-03" and months[-1] == "2017-12"
    for month in months:
        assert metrics.row("win_rate", month)["value"] == pytest.approx(won[month] / (won[month] + lost[month]))
        assert metrics.row("revenue", month)["value"] == pytest.approx(revenue[month])
        assert metrics.row("sales_cycle_days", month)["value"] == pytest.approx(mean(cycles[month]))
    # the published sanity figures of SOURCE.md
    assert sum(revenue.values()) == pytest.approx(10_005_534)
    total_won, total_lost = sum(won.values()), sum(lost.values())
    assert round(total_won / (total_won + total_lost), 4) == 0.6315


def test_crm_region_via_lookup_matches_published_office_totals(crm) -> None:
    _, metrics = crm
    table = metrics.table
    by_region = table[(table["kpi"] == "revenue") & (table["dimension"] == "region")].groupby("segment")["value"].sum()
    assert by_region.to_dict() == pytest.approx({"West": 3_568_647, "Central": 3_346_293, "East": 3_090_594})


def test_crm_prospecting_rows_without_engage_date_are_reported(crm) -> None:
    _, metrics = crm
    assert metrics.quality["deals"].missing_values["created_date"] == 500


def test_superstore_reads_bom_crlf_us_dates(repo_root: Path, shared_dir: Path) -> None:
    path = shared_dir / "real-data" / "superstore" / "Sample - Superstore.csv"
    sales, orders = defaultdict(float), defaultdict(set)
    with path.open(newline="", encoding="utf-8-sig") as fh:
        for r in csv.DictReader(fh):
            m, d, y = (int(x) for x in r["Order Date"].split("/"))
            key = f"{y:04d}-{m:02d}"
            sales[key] += float(r["Sales"])
            orders[key].add(r["Order ID"])
    loaded = load_config(repo_root / "configs" / "superstore.yaml")
    metrics = compute_for_config(loaded, now=NOW, first="2016-01")
    assert metrics.quality["deals"].date_formats == {"created_date": "%m/%d/%Y", "close_date": "%m/%d/%Y"}
    assert len(metrics.periods) == 48
    for month in sorted(sales):
        assert metrics.row("revenue", month)["value"] == pytest.approx(sales[month])
        assert metrics.row("orders", month)["value"] == len(orders[month])
    assert metrics.series("revenue").sum() == pytest.approx(2_297_200.8603)


def test_crm_comparisons_before_the_first_close_are_missing_not_zero(crm) -> None:
    """The export's first close is 2017-03-01 (its first engage date is 2016-10-20): revenue of
    2016-12 or 2017-02 is unknown, so "vs last year" and "vs last month" must say n/a, not +inf% vs $0."""
    import math

    _, metrics = crm
    dec, mar = metrics.row("revenue", "2017-12"), metrics.row("revenue", "2017-03")
    assert math.isnan(dec["year_ago"]) and math.isnan(dec["pct_year_ago"])
    assert math.isnan(mar["prior"]) and not math.isnan(dec["prior"])
    # pipeline history starts with the first engage date: open deals a year before are a real number
    assert metrics.row("open_opportunities", "2017-12")["year_ago"] >= 0
