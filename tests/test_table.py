"""The tidy metric table (engine.table) agrees with the same comparisons recomputed from its own rows
in plain pandas: order, prior and year-ago values, deltas, achievement, status, rank and dtypes.

The engine builds the table from numpy grids by reshaping, not by pandas joins and sorts; these
checks recompute every derived column from the rows the table itself shows, so a row, period or
segment placed wrongly fails here. Sample data (in the repository): targets per rep, four breakdowns,
three windows, 22 months.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from reportgen.data import load_canonical_folder
from reportgen.engine import Metrics, compute_metrics, resolve_kpis, status
from reportgen.kpis.periods import parse_period, period_range

SAMPLES = Path(__file__).resolve().parents[1] / "samples" / "data"
BREAKDOWNS = ["region", "rep", "product", "source"]
WINDOWS = ["ytd", "qtd", "r12"]
GROUP = ["window", "dimension", "segment", "kpi"]  # one KPI's series over periods


@pytest.fixture(scope="module")
def metrics() -> Metrics:
    periods = period_range(parse_period("2024-03", "month"), parse_period("2025-12", "month"))
    return compute_metrics(load_canonical_folder(SAMPLES), resolve_kpis(None), periods, breakdowns=BREAKDOWNS,
                           windows=WINDOWS)


def _same(got: pd.Series, want: pd.Series) -> None:
    """Equal values, missing where missing (not merely close: both come from the same numbers)."""
    pd.testing.assert_series_equal(got, want, check_names=False, check_exact=True)


def test_blocks_in_order_and_rows_by_kpi_period_segment(metrics: Metrics) -> None:
    t = metrics.table
    blocks = list(dict.fromkeys(zip(t["window"], t["dimension"])))
    assert blocks == [("", ""), *((w, "") for w in WINDOWS), *(("", d) for d in BREAKDOWNS)]
    for (window, dimension), rows in t.groupby(["window", "dimension"], sort=False):
        first = (t["window"] == window) & (t["dimension"] == dimension)
        assert rows.index.equals(t.index[first]) and rows.index.is_monotonic_increasing  # one contiguous run
        kpi_order = {k: i for i, k in enumerate(dict.fromkeys(rows["kpi"]))}
        ordered = rows.sort_values(["kpi", "period", "segment"], kind="stable",
                                   key=lambda c: c.map(kpi_order) if c.name == "kpi" else c)
        assert ordered.index.equals(rows.index), (window, dimension)
        assert not rows.duplicated(["kpi", "period", "segment"]).any()
    assert set(t.loc[t["dimension"] == "", "segment"]) == {""}


def test_prior_and_year_ago_are_the_rows_one_and_twelve_periods_back(metrics: Metrics) -> None:
    t = metrics.table
    series = t.groupby(GROUP, sort=False)
    position = series.cumcount()
    periods = series["period"].transform("size")
    assert (periods == 22).all()  # every series is complete, so shifting rows is shifting periods
    own = t["window"] == ""
    has_prior = own & (position >= 1)
    _same(t.loc[has_prior, "prior"], series["value"].shift(1)[has_prior])
    assert t.loc[~own, "prior"].isna().all()  # a window has no prior, only the same window a year ago
    has_year_ago = position >= 12
    _same(t.loc[has_year_ago, "year_ago"], series["value"].shift(12)[has_year_ago])
    assert has_prior.sum() > 1000 and has_year_ago.sum() > 1000


def _ratio(numerator: pd.Series, denominator: pd.Series) -> pd.Series:
    """The spec's missing rule for ratios, in plain pandas: a zero or missing denominator is missing."""
    out = numerator / denominator.where(denominator != 0)
    return out.where(np.isfinite(out))


def test_deltas_achievement_status_from_the_rows_values(metrics: Metrics) -> None:
    t = metrics.table
    kpis = metrics.kpis
    _same(t["delta_prior"], t["value"] - t["prior"])
    _same(t["pct_prior"], _ratio(t["value"], t["prior"]) - 1)
    _same(t["delta_year_ago"], t["value"] - t["year_ago"])
    _same(t["pct_year_ago"], _ratio(t["value"], t["year_ago"]) - 1)
    lower = t["kpi"].map(lambda k: kpis[k].lower_is_better).astype(bool)
    _same(t["benchmark"], t["kpi"].map(lambda k: np.nan if kpis[k].benchmark is None else kpis[k].benchmark))
    # a sum or count over part of a period has no achievement and no status
    cut = (t["coverage"] == "partial") & t["kpi"].map(lambda k: kpis[k].additive).astype(bool)
    achievement = _ratio(t["value"], t["target"]).where(~lower, _ratio(t["target"], t["value"]))
    _same(t["achievement"], achievement.mask(cut))
    want = status(t["value"], t["target"].fillna(t["benchmark"]), lower,
                  t["kpi"].map(lambda k: kpis[k].good).astype(float),
                  t["kpi"].map(lambda k: kpis[k].warning).astype(float)).mask(cut, "")
    assert t["status"].tolist() == want.tolist()
    assert {"good", "warning", "bad", ""} <= set(t["status"])
    assert cut.any() and t["target"].notna().sum() > 100  # the sample has partial periods and targets per rep


def test_rank_within_kpi_and_period(metrics: Metrics) -> None:
    t = metrics.table
    parts = t[t["dimension"] != ""]
    lower = parts["kpi"].map(lambda k: metrics.kpis[k].lower_is_better).astype(bool)
    key = parts["value"].where(lower, -parts["value"])
    want = key.groupby([parts["dimension"], parts["kpi"], parts["period"]]).rank(method="min", na_option="keep")
    _same(parts["rank"], want)
    assert t.loc[t["dimension"] == "", "rank"].isna().all()


def test_dtypes(metrics: Metrics) -> None:
    t = metrics.table
    text = pd.Series(["text"]).dtype  # pandas' default for a column of strings
    floats = ["value", "prior", "delta_prior", "pct_prior", "year_ago", "delta_year_ago", "pct_year_ago",
              "target", "achievement", "benchmark", "rank"]
    for column in t.columns:
        want = "float64" if column in floats else object if column == "status" else text
        assert t[column].dtype == want, column
    assert isinstance(t.index, pd.RangeIndex)


def test_row_lookups_return_the_rows_a_mask_finds(metrics: Metrics) -> None:
    """``row`` and ``window_row`` answer from indexes built once; each must return exactly the first
    row a mask over the whole table finds, and None where it finds none."""
    t = metrics.table
    whole = t[t["dimension"] == ""]
    checked = 0
    for (kpi, period, window), rows in whole.groupby(["kpi", "period", "window"], sort=False):
        got = metrics.window_row(kpi, period, window) if window else metrics.row(kpi, period)
        assert got is not None
        pd.testing.assert_series_equal(got, rows.iloc[0], check_names=False)
        checked += 1
    assert checked > 300
    assert metrics.window_row("revenue", "2025-06", "ytd")["window"] == "ytd"
    assert metrics.window_row("revenue", "2025-06", "nope") is None
    assert metrics.window_row("no_such_kpi", "2025-06", "ytd") is None
    assert metrics.window_row("revenue", "1999-01", "ytd") is None
    assert metrics.window_row("revenue", "2025-06", "") is None  # a period's own row is not a window
    assert metrics.window_row(["revenue"], "2025-06", "ytd") is None  # type: ignore[arg-type]
