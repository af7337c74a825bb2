"""Real public data, read as published with only a mapping, checked against independent arithmetic.

The expected numbers are computed here with the csv module and plain Python, not with reportgen's
code paths, so a shared mistake cannot hide.
"""
from __future__ import annotations

import csv
import re
from collections import defaultdict
from datetime import UTC, date, datetime
from pathlib import Path
from statistics import mean

import pytest

from reportgen.config.load import load_config
from reportgen.pipeline.build import compute_for_config

NOW = datetime(2026, 1, 1, tzinfo=UTC)


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

    rows, metrics = crm
    dec, mar = metrics.row("revenue", "2017-12"), metrics.row("revenue", "2017-03")
    assert math.isnan(dec["year_ago"]) and math.isnan(dec["pct_year_ago"])
    assert math.isnan(mar["prior"]) and not math.isnan(dec["prior"])
    # pipeline history starts with the first engage date: open deals a year before are a real number
    end = date(2016, 12, 31)
    open_then = sum(1 for r in rows if r["engage_date"] and _d(r["engage_date"]) <= end
                    and (not r["close_date"] or _d(r["close_date"]) > end))
    assert open_then > 0 and metrics.row("open_opportunities", "2017-12")["year_ago"] == open_then


def test_superstore_order_lines_are_summed_into_orders(repo_root: Path, shared_dir: Path) -> None:
    """Symptom: order lines counted as deals. Orders (Order ID) are the deals; their lines are summed."""
    path = shared_dir / "real-data" / "superstore" / "Sample - Superstore.csv"
    orders: dict[str, dict] = {}
    with path.open(newline="", encoding="utf-8-sig") as fh:
        for r in csv.DictReader(fh):
            m, d, y = (int(x) for x in r["Order Date"].split("/"))
            o = orders.setdefault(r["Order ID"], {"month": f"{y:04d}-{m:02d}", "sales": 0.0, "profit": 0.0,
                                                  "customer": r["Customer ID"]})
            o["sales"] += float(r["Sales"])
            o["profit"] += float(r["Profit"])
    first_month: dict[str, str] = {}
    for o in sorted(orders.values(), key=lambda o: o["month"]):
        first_month.setdefault(o["customer"], o["month"])
    metrics = compute_for_config(load_config(repo_root / "configs" / "superstore.yaml"), now=NOW, first="2019-01")
    for month in [f"2019-{m:02d}" for m in range(1, 13)]:
        mine = [o for o in orders.values() if o["month"] == month]
        revenue = sum(o["sales"] for o in mine)
        assert metrics.row("revenue", month)["value"] == pytest.approx(revenue)
        assert metrics.row("orders", month)["value"] == len(mine)
        assert metrics.row("average_order_value", month)["value"] == pytest.approx(revenue / len(mine))
        assert metrics.row("profit_margin", month)["value"] == pytest.approx(sum(o["profit"] for o in mine) / revenue)
        assert metrics.row("new_customers", month)["value"] == sum(1 for m in first_month.values() if m == month)


def _sales_sample_orders(shared_dir: Path) -> dict[str, dict]:
    path = shared_dir / "real-data" / "sales-data-sample" / "sales_data_sample.csv"
    orders: dict[str, dict] = {}
    with path.open(newline="", encoding="cp850") as fh:
        for r in csv.DictReader(fh):
            m, d, y = (int(x) for x in r["ORDERDATE"].split("/"))
            o = orders.setdefault(r["ORDERNUMBER"], {"month": f"{2000 + y:04d}-{m:02d}", "sales": 0.0,
                                                     "status": r["STATUS"], "customer": r["CUSTOMERNAME"]})
            o["sales"] += float(r["SALES"])
    return orders


def test_sales_data_sample_cp850_two_digit_years_and_order_lines(repo_root: Path, shared_dir: Path) -> None:
    orders = _sales_sample_orders(shared_dir)
    won_status, lost_status = {"Shipped", "Resolved"}, {"Cancelled"}
    first_won: dict[str, str] = {}
    for o in sorted(orders.values(), key=lambda o: o["month"]):
        if o["status"] in won_status:
            first_won.setdefault(o["customer"], o["month"])
    loaded = load_config(repo_root / "configs" / "sales-data-sample.yaml")
    metrics = compute_for_config(loaded, now=NOW, first="2004-06")
    q = metrics.quality["deals"]
    assert q.first_date == date(2003, 1, 6) and q.last_date == date(2005, 5, 31)  # not the year 0003
    assert q.rows_read == 2823 and q.total_rejected == 0
    # its non-ASCII bytes (cp850) sit in address columns the scorecard does not read: no line is lost
    months = sorted({o["month"] for o in orders.values() if "2004-06" <= o["month"] <= "2005-05"})
    assert len(months) == 12
    for month in months:
        mine = [o for o in orders.values() if o["month"] == month]
        won = [o for o in mine if o["status"] in won_status]
        lost = [o for o in mine if o["status"] in lost_status]
        revenue = sum(o["sales"] for o in won)
        assert metrics.row("revenue", month)["value"] == pytest.approx(revenue)
        assert metrics.row("deals_won", month)["value"] == len(won)
        assert metrics.row("average_deal_size", month)["value"] == pytest.approx(revenue / len(won))
        assert metrics.row("win_rate", month)["value"] == pytest.approx(len(won) / (len(won) + len(lost)))
        assert metrics.row("new_customers", month)["value"] == sum(1 for m in first_won.values() if m == month)
    regions = set(metrics.table.loc[metrics.table["dimension"] == "region", "segment"])
    assert "NA" in regions  # North America, not a missing value


def _month_of(text: str) -> str:
    m, d, y = text.split(" ")[0].split("/")
    return f"{int(y):04d}-{int(m):02d}"


def test_paid_media_funnel_brazilian_amounts_and_custom_datasets(repo_root: Path, shared_dir: Path) -> None:
    folder = shared_dir / "real-data" / "paid-media-funnel"

    def rows(name: str) -> list[dict[str, str]]:
        with (folder / name).open(newline="", encoding="utf-8") as fh:
            return list(csv.DictReader(fh, delimiter=";"))

    leads, mqls, opps, won = rows("Leads.csv"), rows("MQLs.csv"), rows("Pipeline_Opportunities.csv"), \
        rows("Closed_Won_Bookings.csv")
    metrics = compute_for_config(load_config(repo_root / "configs" / "paid-media-funnel.yaml"), now=NOW,
                                 first="2022-11")
    for month in ("2022-11", "2022-12", "2023-01"):
        n_leads = sum(1 for r in leads if _month_of(r["Created Date"]) == month)
        n_mqls = sum(1 for r in mqls if _month_of(r["Marketing Qualified Date"]) == month)
        pipeline = sum(float(r["Pipeline Amount"].replace(".", "").replace(",", "."))
                       for r in opps if _month_of(r["Reached Pipeline Opportunity Date"]) == month)
        bookings = [
            float(r["Closed Won Bookings Amount"].replace(",", ".")) for r in won if _month_of(r["Close Date"]) == month
        ]
        assert metrics.row("leads_created", month)["value"] == n_leads
        assert metrics.row("mqls", month)["value"] == n_mqls
        assert metrics.row("lead_to_mql", month)["value"] == pytest.approx(n_mqls / n_leads)
        assert metrics.row("pipeline_created", month)["value"] == pytest.approx(pipeline)
        assert metrics.row("revenue", month)["value"] == pytest.approx(sum(bookings))
        assert metrics.row("deals_won", month)["value"] == len(bookings)


def test_paid_media_spend_in_reais_reads_as_thousands(tmp_path: Path, shared_dir: Path) -> None:
    """`R$ 100.000` is a hundred thousand: with decimal ',' set, never 100.0 and never 0."""
    from reportgen.config.load import parse_config
    from reportgen.data import load_datasets

    spend = shared_dir / "real-data" / "paid-media-funnel" / "Spend.csv"
    text = (f"scorecard: {{allowed_roots: ['{spend.parent}']}}\n"
            f"datasets:\n  channel_spend:\n    path: {spend}\n    decimal: ','\n"
            "    columns: {Channel: channel, Spend: spend}\n")
    data = load_datasets(parse_config(text, tmp_path / "c.yaml"))
    got = dict(data.con.execute("SELECT channel, spend FROM channel_spend").fetchall())
    assert got == {"Content Syndication": 100_000.0, "Paid Social": 111_349.0, "Paid Search": 435_000.0,
                   "Paid Display": 30_000.0}


@pytest.mark.parametrize("config", ["crm-sales-opportunities", "superstore", "sales-data-sample", "paid-media-funnel"])
def test_every_audience_builds_from_real_data(config: str, repo_root: Path, shared_dir: Path, tmp_path: Path) -> None:
    from reportgen.pipeline.build import build

    loaded = load_config(repo_root / "configs" / f"{config}.yaml")
    built = build(loaded, now=NOW, output_dir=tmp_path)
    assert built and {b.audience for b in built} == set(loaded.config.audiences or ["executive"])
    for b in built:
        assert b.pages >= 1 and b.csv is not None
        _assert_pdf_shows_its_kpis(b.pdf, b.csv, loaded)


def _assert_pdf_shows_its_kpis(pdf: Path, metric_csv: Path, loaded) -> None:
    """The PDF's text names every KPI of the audience and shows its value for the reporting period
    (full or compact, as a tile or a table shows it), the values the build wrote to its metric CSV;
    a KPI without a value shows the missing mark. A blank or wrong-data PDF of the same size fails."""
    from reportgen.render.fmt import format_value
    from tests.pdftools import pdf_text

    def plain(text: str) -> str:
        return " ".join(text.replace("\u00a0", " ").replace("\u202f", " ").split())

    with metric_csv.open(newline="", encoding="utf-8") as fh:
        rows = [r for r in csv.DictReader(fh) if r["window"] == "" and r["dimension"] == ""]
    report = max(r["period"] for r in rows)
    latest = [r for r in rows if r["period"] == report]
    assert latest, metric_csv
    text = plain(pdf_text(pdf))
    sc = loaded.config.scorecard
    for r in latest:
        assert plain(r["name"]) in text, (pdf.name, r["name"])
        value = float(r["value"]) if r["value"] else None
        shown = {plain(format_value(value, r["unit"], locale=sc.locale, currency=sc.currency, compact=c))
                 for c in (False, True)}
        if value is not None and r["unit"] in ("money", "count"):  # a table row scaled to its unit ($K 219)
            shown |= {f"{value / scale:,.{digits}f}" for scale in (1, 1e3, 1e6, 1e9) for digits in (0, 1, 2)}
        if value is not None and r["unit"] in ("days", "hours"):  # the KPI's one format: 67.3d, 9.4h
            shown |= {f"{value:,.1f}{r['unit'][0]}"}
        assert any(re.search(rf"(?<![\d.,]){re.escape(s)}(?![\d])", text) for s in shown), \
            (pdf.name, r["kpi"], report, shown)
