"""The sample-data generator: determinism, canonical shape, funnel invariants, and no drift.

The committed ``samples/data`` is what users and demos see first; these tests keep it reproducible
from ``samples/generate.py`` and keep it honest about the rules of ``kpi-spec.md``.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from samples.generate import DATASET_COLUMNS, PRODUCTS, REPS, generate

REPO = Path(__file__).resolve().parent.parent
COMMITTED = REPO / "samples" / "data"
WINDOW_START, WINDOW_END = pd.Timestamp("2024-01-01"), pd.Timestamp("2025-12-31")


@pytest.fixture(scope="module")
def fresh_default(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The default sample generated now (about a second)."""
    out = tmp_path_factory.mktemp("default")
    generate(out)
    return out


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A two-month sample at a third of the volume, for shape checks on non-default arguments."""
    return generate(tmp_path_factory.mktemp("small"), seed=11, start="2025-03-01", months=2, scale=0.3)


@pytest.fixture(scope="module")
def sample() -> dict[str, pd.DataFrame]:
    """The committed sample read as text: only empty cells become NaN ("n/a" stays visible)."""
    return {name: pd.read_csv(COMMITTED / f"{name}.csv", dtype=str,
                             keep_default_na=False, na_values=[""]) for name in DATASET_COLUMNS}


def _dates(column: pd.Series) -> pd.Series:
    return pd.to_datetime(column, format="ISO8601")


def _deals(sample: dict[str, pd.DataFrame]) -> pd.DataFrame:
    deals = sample["deals"].copy()
    for column in ("created_date", "close_date", "quote_date"):
        deals[column] = _dates(deals[column])
    deals["amount"] = pd.to_numeric(deals["amount"], errors="coerce")
    deals["profit"] = pd.to_numeric(deals["profit"])
    return deals


# --- determinism and drift -------------------------------------------------------------------------


def test_same_seed_gives_identical_bytes(tmp_path: Path) -> None:
    first = generate(tmp_path / "a", seed=3, months=3, scale=0.2)
    second = generate(tmp_path / "b", seed=3, months=3, scale=0.2)
    assert list(first) == list(DATASET_COLUMNS)
    for name in DATASET_COLUMNS:
        assert first[name].read_bytes() == second[name].read_bytes(), name


def test_other_seed_gives_other_data(tmp_path: Path) -> None:
    a = generate(tmp_path / "a", seed=3, months=3, scale=0.2)
    b = generate(tmp_path / "b", seed=4, months=3, scale=0.2)
    assert a["deals"].read_bytes() != b["deals"].read_bytes()
    assert a["leads"].read_bytes() != b["leads"].read_bytes()


def test_committed_sample_is_what_the_generator_writes(fresh_default: Path) -> None:
    committed = sorted(p.name for p in COMMITTED.glob("*.csv"))
    assert committed == sorted(f"{name}.csv" for name in DATASET_COLUMNS)
    drifted = [name for name in committed
               if (COMMITTED / name).read_bytes() != (fresh_default / name).read_bytes()]
    assert not drifted, (f"{drifted} differ from the generator: run "
                         "`python -m samples.generate --out samples/data` and commit the result")


def test_start_and_months_shape_the_window(tmp_path: Path) -> None:
    paths = generate(tmp_path, start="2023-07-01", months=2, scale=0.3)
    leads = pd.read_csv(paths["leads"], dtype=str)
    created = _dates(leads["created_date"])
    assert created.min() >= pd.Timestamp("2023-07-01")
    assert created.max() < pd.Timestamp("2023-09-01")
    assert pd.read_csv(paths["forecasts"], dtype=str)["period"].tolist() == ["2023-07", "2023-08"]


def test_scale_changes_volume(tmp_path: Path) -> None:
    small = generate(tmp_path / "s", months=3, scale=0.2)
    large = generate(tmp_path / "l", months=3, scale=0.8)
    n_small = len(pd.read_csv(small["leads"]))
    n_large = len(pd.read_csv(large["leads"]))
    assert 3.0 < n_large / n_small < 5.5


@pytest.mark.parametrize("kwargs", [{"start": "2024-01-15"}, {"months": 0}, {"scale": 0.0}])
def test_rejects_impossible_arguments(tmp_path: Path, kwargs: dict) -> None:
    with pytest.raises(ValueError):
        generate(tmp_path, **kwargs)


# --- canonical shape ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(DATASET_COLUMNS))
def test_dataset_has_exactly_the_canonical_columns(name: str, small: dict[str, Path]) -> None:
    for path in (small[name], COMMITTED / f"{name}.csv"):
        header = path.read_text(encoding="utf-8").split("\n", 1)[0]
        assert header.split(",") == list(DATASET_COLUMNS[name])


def test_committed_sample_size_is_as_promised(sample: dict[str, pd.DataFrame]) -> None:
    assert 2_000 <= len(sample["deals"]) <= 5_000
    assert 10_000 <= len(sample["leads"]) <= 15_000
    assert sum(p.stat().st_size for p in COMMITTED.glob("*.csv")) < 8_000_000


# --- deals ----------------------------------------------------------------------------------------


def test_deal_stages_and_close_dates_follow_the_spec(sample: dict[str, pd.DataFrame]) -> None:
    deals = _deals(sample)
    assert set(deals["stage"]) == {"won", "lost", "open"}
    assert deals["deal_id"].is_unique
    assert deals.loc[deals["stage"] == "open", "close_date"].isna().all()
    closed = deals[deals["stage"] != "open"].dropna(subset=["created_date", "close_date"])
    assert (closed["close_date"] >= closed["created_date"]).all()
    assert closed["close_date"].between(WINDOW_START, WINDOW_END).all()
    cycle = (closed["close_date"] - closed["created_date"]).dt.days
    assert cycle.between(2, 120).all()


def test_quote_dates_lie_between_created_and_close(sample: dict[str, pd.DataFrame]) -> None:
    deals = _deals(sample)
    quoted = deals.dropna(subset=["quote_date", "created_date"])
    assert len(quoted) > 0.7 * len(deals)
    assert (quoted["quote_date"] >= quoted["created_date"]).all()
    closed = quoted.dropna(subset=["close_date"])
    assert (closed["quote_date"] <= closed["close_date"]).all()
    assert (quoted["quote_date"] <= WINDOW_END).all()


def test_profit_only_on_won_deals_with_margin_by_product(sample: dict[str, pd.DataFrame]) -> None:
    deals = _deals(sample)
    assert deals.loc[deals["stage"] != "won", "profit"].isna().all()
    won = deals[deals["stage"] == "won"]
    assert won["profit"].notna().all()
    margin = (won["profit"] / won["amount"]).groupby(won["product"]).mean()
    assert margin["Core"] > margin["Pro"] > margin["Enterprise"] > 0


_REQUIRED = {
    "leads": {"lead_id", "created_date"},
    "activities": {"activity_id", "date", "type"},
    "subscriptions": {"customer_id", "start_date", "mrr"},
    "spend": {"date", "category", "amount"},
    "targets": {"period", "kpi", "value"},
    "surveys": {"response_date", "type", "score"},
    "tickets": {"ticket_id", "created_date"},
    "timesheets": {"date", "rep", "selling_hours", "total_hours"},
    "forecasts": {"period", "forecast"},
}
"""Required columns (kpi-spec.md) outside deals, where no quirk is planted."""


def test_data_quality_quirks_are_exactly_the_documented_few(sample: dict[str, pd.DataFrame]) -> None:
    deals = sample["deals"]
    missing_created = deals["created_date"].isna()
    won_undated = (deals["stage"] == "won") & deals["close_date"].isna()
    bad_amount = pd.to_numeric(deals["amount"], errors="coerce").isna()
    assert (missing_created.sum(), won_undated.sum(), bad_amount.sum()) == (3, 2, 1)
    assert deals.loc[bad_amount, "amount"].tolist() == ["n/a"]
    assert (missing_created | won_undated | bad_amount).sum() < 0.005 * len(deals)
    for name, frame in sample.items():
        if name != "deals":
            required = frame[[c for c in frame.columns if c in _REQUIRED[name]]]
            assert required.notna().all().all(), name


def test_repeat_customers_exist(sample: dict[str, pd.DataFrame]) -> None:
    won_per_customer = sample["deals"].query("stage == 'won'")["customer_id"].value_counts()
    assert (won_per_customer > 1).sum() >= 50


def test_products_are_priced_in_tiers(sample: dict[str, pd.DataFrame]) -> None:
    deals = _deals(sample)
    median = deals.groupby("product")["amount"].median()
    assert set(median.index) == {p.name for p in PRODUCTS}
    assert median["Core"] * 2 < median["Pro"] and median["Pro"] * 2 < median["Enterprise"]


def test_reps_regions_and_sources_are_the_fictional_company(sample: dict[str, pd.DataFrame]) -> None:
    deals = sample["deals"]
    home = {r.name: r.region for r in REPS}
    assert set(deals["rep"]) == set(home)
    assert (deals["region"] == deals["rep"].map(home)).all()
    assert set(deals["source"]) == {"web", "referral", "events", "ads", "partner"}


def test_leaderboard_shows_real_spread(sample: dict[str, pd.DataFrame]) -> None:
    deals = _deals(sample)
    won = deals[deals["stage"] == "won"]
    revenue = won.groupby("rep")["amount"].sum()
    closed = deals[deals["stage"].isin(["won", "lost"])]
    win_rate = (closed["stage"] == "won").groupby(closed["rep"]).mean()
    assert revenue.max() > 2.5 * revenue.min()
    assert win_rate.max() - win_rate.min() > 0.15
    best = max(REPS, key=lambda r: r.skill).name
    worst = min(REPS, key=lambda r: r.skill).name
    assert revenue[best] > revenue[worst]


def test_revenue_has_seasonality_and_growth(sample: dict[str, pd.DataFrame]) -> None:
    deals = _deals(sample)
    won = deals[deals["stage"] == "won"].dropna(subset=["close_date"])
    by_quarter = won.groupby(won["close_date"].dt.quarter)["amount"].sum()
    by_year = won.groupby(won["close_date"].dt.year)["amount"].sum()
    assert by_quarter[4] > by_quarter[3]
    assert by_year[2025] > by_year[2024]


# --- the rest of the funnel -----------------------------------------------------------------------


def test_leads_contact_and_conversion_are_ordered(sample: dict[str, pd.DataFrame]) -> None:
    leads = sample["leads"]
    created = _dates(leads["created_date"])
    contacted_at = _dates(leads["first_contact_at"])
    converted = _dates(leads["converted_date"])
    assert leads["created_date"].str.len().eq(19).all(), "created_date should be a timestamp"
    assert created.between(WINDOW_START, WINDOW_END + pd.Timedelta(days=1)).all()
    assert (contacted_at.dropna() >= created[contacted_at.notna()]).all()
    assert 0.02 < contacted_at.isna().mean() < 0.2
    assert converted[contacted_at.isna()].isna().all(), "a lead is contacted before it converts"
    assert (converted.dropna() >= created[converted.notna()].dt.normalize()).all()
    assert 0.10 < converted.notna().mean() < 0.30


def test_every_converted_lead_became_a_deal_that_day(sample: dict[str, pd.DataFrame]) -> None:
    leads, acts, deals = sample["leads"], sample["activities"], _deals(sample)
    converted = leads.dropna(subset=["converted_date"]).set_index("lead_id")["converted_date"]
    linked = acts.dropna(subset=["lead_id", "deal_id"]).drop_duplicates("lead_id")
    deal_created = deals.set_index("deal_id")["created_date"]
    created = deal_created[linked["deal_id"]].to_numpy()
    expected = _dates(converted[linked["lead_id"]]).to_numpy()
    known = ~pd.isna(created)
    assert known.sum() > 0.9 * len(converted)
    assert (created[known] == expected[known]).all()


def test_activities_use_the_four_types_inside_the_window(sample: dict[str, pd.DataFrame]) -> None:
    acts = sample["activities"]
    assert set(acts["type"]) == {"call", "email", "meeting", "follow_up"}
    assert _dates(acts["date"]).between(WINDOW_START, WINDOW_END).all()
    assert set(acts["lead_id"].dropna()) <= set(sample["leads"]["lead_id"])
    assert set(acts["deal_id"].dropna()) <= set(sample["deals"]["deal_id"])
    assert acts["activity_id"].is_unique


def test_subscriptions_belong_to_won_customers(sample: dict[str, pd.DataFrame]) -> None:
    deals = _deals(sample)
    subs = sample["subscriptions"]
    start, end = _dates(subs["start_date"]), _dates(subs["end_date"])
    first_win = deals[deals["stage"] == "won"].groupby("customer_id")["close_date"].min()
    assert subs["customer_id"].is_unique
    assert set(subs["customer_id"]) <= set(first_win.index)
    assert (start.to_numpy() >= first_win[subs["customer_id"]].to_numpy()).all()
    assert (end.dropna() > start[end.notna()]).all()
    assert pd.to_numeric(subs["mrr"]).gt(0).all()


def test_monthly_churn_is_one_to_three_percent(sample: dict[str, pd.DataFrame]) -> None:
    subs = sample["subscriptions"]
    start, end = _dates(subs["start_date"]), _dates(subs["end_date"])
    rates = []
    for month in pd.period_range("2025-01", "2025-12", freq="M"):
        day_before = month.start_time - pd.Timedelta(days=1)
        active = (start <= day_before) & (end.isna() | (end > day_before))
        lost = active & end.between(month.start_time, month.end_time.normalize())
        rates.append(lost.sum() / active.sum())
    assert 0.01 <= float(np.mean(rates)) <= 0.03


def test_surveys_tickets_and_timesheets_are_plausible(sample: dict[str, pd.DataFrame]) -> None:
    surveys = sample["surveys"]
    score = pd.to_numeric(surveys["score"])
    assert score[surveys["type"] == "nps"].between(0, 10).all()
    assert score[surveys["type"] == "csat"].between(1, 5).all()
    won_customers = set(sample["deals"].query("stage == 'won'")["customer_id"])
    assert set(surveys["customer_id"]) <= won_customers
    assert set(sample["tickets"]["customer_id"]) <= won_customers

    sheets = sample["timesheets"]
    selling, total = pd.to_numeric(sheets["selling_hours"]), pd.to_numeric(sheets["total_hours"])
    assert ((selling > 0) & (selling <= total)).all()
    assert _dates(sheets["date"]).dt.day_of_week.lt(5).all()
    assert not sheets.duplicated(["date", "rep"]).any()


def test_targets_cover_every_month_and_rep(sample: dict[str, pd.DataFrame]) -> None:
    targets = sample["targets"]
    months = [str(p) for p in pd.period_range("2024-01", "2025-12", freq="M")]
    company = targets[targets["scope"] == "all"]
    for kpi in ("revenue", "win_rate", "deals_won", "new_customers", "leads_created", "mrr",
                "churn_rate", "cac", "sales_cycle_days"):
        assert company.loc[company["kpi"] == kpi, "period"].tolist() == months, kpi
    quotas = targets[targets["scope"] != "all"]
    assert set(quotas["scope"]) == {r.name for r in REPS}
    assert set(quotas["kpi"]) == {"revenue"}
    company_plan = pd.to_numeric(company.loc[company["kpi"] == "revenue", "value"]).sum()
    assert pd.to_numeric(quotas["value"]).sum() == pytest.approx(company_plan, rel=0.01)


def test_forecasts_miss_actual_revenue_by_a_realistic_margin(sample: dict[str, pd.DataFrame]) -> None:
    deals = _deals(sample)
    won = deals[deals["stage"] == "won"].dropna(subset=["close_date", "amount"])
    actual = won.groupby(won["close_date"].dt.strftime("%Y-%m"))["amount"].sum()
    forecast = sample["forecasts"].set_index("period")["forecast"].astype(float)
    error = (forecast / actual[forecast.index] - 1).abs()
    assert 0.03 < error.mean() < 0.15
    assert error.max() < 0.35


def test_spend_has_both_categories_with_marketing_channels(sample: dict[str, pd.DataFrame]) -> None:
    spend = sample["spend"]
    assert set(spend["category"]) == {"marketing", "sales"}
    assert {"ads", "web", "events"} <= set(spend.loc[spend["category"] == "marketing", "channel"])
    assert pd.to_numeric(spend["amount"]).gt(0).all()
    assert _dates(spend["date"]).between(WINDOW_START, WINDOW_END).all()


# --- bench data -----------------------------------------------------------------------------------


def test_bench_data_has_canonical_deals_in_csv_and_parquet(tmp_path: Path) -> None:
    import importlib.util

    import pyarrow.parquet as pq

    spec = importlib.util.spec_from_file_location("make_bench_data", REPO / "bench" / "make_bench_data.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    paths = bench.write_bench_data(tmp_path, 5_000, seed=1)

    csv = pd.read_csv(paths["deals_csv"], dtype=str, keep_default_na=False, na_values=[""])
    parquet = pq.read_table(paths["deals_parquet"]).to_pandas()
    assert list(csv.columns) == list(parquet.columns) == list(DATASET_COLUMNS["deals"])
    assert len(csv) == len(parquet) == 5_000
    assert csv["deal_id"].is_unique
    assert set(csv["stage"]) == {"won", "lost", "open"}
    assert csv.loc[csv["stage"] == "open", "close_date"].isna().all()
    assert (pd.to_numeric(csv["amount"]).round(2) == parquet["amount"]).all()
    won = csv[csv["stage"] == "won"]
    assert won["customer_id"].duplicated().any(), "repeat deals reuse customer ids"
    assert sorted(pd.read_csv(paths["targets"], dtype=str)["period"]) == [
        str(p) for p in pd.period_range("2024-01", "2025-12", freq="M")]
