"""The tidy metric table: one row per KPI x period (or window) x segment, with its comparisons
(prior period, a year ago, target, benchmark, status), rank within a breakdown, and coverage."""
from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import cast

import numpy as np
import pandas as pd

from reportgen.engine.coverage import COVERED, Coverage
from reportgen.engine.plan import WHOLE
from reportgen.engine.resolve import ResolvedKpi
from reportgen.kpis.expressions import safe_divide
from reportgen.kpis.periods import Period

#: The metric columns every consumer may rely on (tables built by hand, e.g. in tests, carry these).
METRIC_COLUMNS: list[str] = [
    "kpi", "name", "unit", "direction", "period", "period_start", "period_end", "dimension", "segment",
    "value", "prior", "delta_prior", "pct_prior", "year_ago", "delta_year_ago", "pct_year_ago",
    "target", "achievement", "benchmark", "benchmark_source", "status", "rank",
]
#: Columns of the engine's table, in order: the metric columns plus ``window`` ('' for a period's own
#: row, else ytd/qtd/r12), ``coverage`` ('' fully covered, 'partial', 'none' = missing) and ``note``
#: (the reason, e.g. "deals end 2025-12-31").
TABLE_COLUMNS: list[str] = METRIC_COLUMNS[:7] + ["window"] + METRIC_COLUMNS[7:] + ["coverage", "note"]


def tidy(kpis: dict[str, ResolvedKpi], values: pd.DataFrame, targets: pd.DataFrame, periods: list[Period],
         wanted: set[int], dimension: str, ppy: int, coverage: dict[str, dict[int, Coverage]],
         window: str = "", starts: Mapping[int, date] | None = None) -> pd.DataFrame:
    """One long frame for the KPIs (columns of ``values``), comparisons computed column-wise at once.

    ``values`` are already missing where the data does not cover the period, so prior and year-ago
    values respect coverage too: an executive must not read "+100% vs last year" when last year simply
    is not in the export. A window's comparisons are the same window a year earlier; it has no prior.
    """
    visible = list(values.columns)
    if not visible:
        return pd.DataFrame(columns=TABLE_COLUMNS)
    by_ord = {p.ordinal: p for p in periods}
    if window:
        prior = pd.DataFrame(np.nan, index=values.index, columns=visible)
    else:
        prior = values.groupby(level=0).shift(1)
    year_ago = values.groupby(level=0).shift(ppy)
    keep = values.index.get_level_values(1).isin(wanted)

    def long(frame: pd.DataFrame, name: str) -> pd.Series:
        # pandas-stubs type stack() as DataFrame | Series; over one level of columns it is a Series
        return cast(pd.Series, frame[keep].stack(future_stack=True)).rename(name)

    out = pd.concat([long(values, "value"), long(prior, "prior"), long(year_ago, "year_ago"),
                     long(targets[visible], "target")], axis=1)
    out.index = out.index.set_names(["segment", "ord", "kpi"])
    out = out.reset_index()
    out = comparisons(out, kpis)
    out["period"] = out["ord"].map(lambda o: by_ord[o].label)
    window_starts = starts if (window and starts) else None

    def first_day(o: int) -> date:
        return window_starts[o] if window_starts is not None else by_ord[o].start

    out["period_start"] = out["ord"].map(lambda o: first_day(o).isoformat())
    out["period_end"] = out["ord"].map(lambda o: by_ord[o].end.isoformat())
    out["window"] = window
    out["dimension"] = dimension
    out["name"] = out["kpi"].map({k: kpis[k].name for k in visible})
    out["unit"] = out["kpi"].map({k: kpis[k].unit for k in visible})
    out["direction"] = out["kpi"].map({k: kpis[k].direction for k in visible})
    out["rank"] = ranks(out, kpis) if dimension != WHOLE else np.nan
    cover = [coverage.get(k, {}).get(o, COVERED) for k, o in zip(out["kpi"], out["ord"])]
    out["coverage"] = [c.state for c in cover]
    out["note"] = [c.note for c in cover]
    # a sum or count over part of a period is not measured against the whole period's plan: no
    # achievement and no status (the tile says "partial" and the period "data through ...")
    cut = (out["coverage"] == "partial") & out["kpi"].map({k: kpis[k].additive for k in visible}).astype(bool)
    out.loc[cut, "achievement"] = np.nan
    out.loc[cut, "status"] = ""
    kpi_pos = {k: i for i, k in enumerate(kpis)}
    out = out.sort_values(by=["kpi", "ord", "segment"], key=lambda c: c.map(kpi_pos) if c.name == "kpi" else c)
    return out.reset_index(drop=True)


def comparisons(frame: pd.DataFrame, kpis: dict[str, ResolvedKpi]) -> pd.DataFrame:
    """Deltas, achievement and status (spec: "Comparisons every KPI value carries"), vectorised."""
    value = frame["value"]
    kid = frame["kpi"]
    lower = kid.map({k: v.lower_is_better for k, v in kpis.items()}).astype(bool)
    frame["delta_prior"] = value - frame["prior"]
    frame["pct_prior"] = safe_divide(value, frame["prior"]) - 1
    frame["delta_year_ago"] = value - frame["year_ago"]
    frame["pct_year_ago"] = safe_divide(value, frame["year_ago"]) - 1
    frame["benchmark"] = kid.map({k: v.benchmark for k, v in kpis.items()}).astype("float64")
    frame["benchmark_source"] = kid.map({k: v.benchmark_source or "" for k, v in kpis.items()})
    frame["achievement"] = safe_divide(value, frame["target"]).where(~lower, safe_divide(frame["target"], value))
    frame["status"] = status(value, frame["target"].fillna(frame["benchmark"]), lower,
                             kid.map({k: v.good for k, v in kpis.items()}).astype("float64"),
                             kid.map({k: v.warning for k, v in kpis.items()}).astype("float64"))
    return frame


def status(value: pd.Series, reference: pd.Series, lower_is_better: pd.Series,
           good: pd.Series | float = 1.0, warning: pd.Series | float = 0.9) -> pd.Series:
    """good / warning / bad of each value against its reference (target, else benchmark); '' with none.

    Achievement is value / reference, or reference / value where lower is better. Edge cases an
    executive would otherwise see wrongly: a lower-is-better value of 0 (no churn) meets any
    non-negative reference; a reference of 0 is met by any non-negative value; a negative reference
    (a growth target of -5%) is compared as 2 - value / reference so that beating it still reads good.
    """
    v = value.to_numpy(dtype="float64")
    r = reference.to_numpy(dtype="float64")
    low = np.asarray(lower_is_better, dtype=bool)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(low, r / v, np.where(r > 0, v / r, 2 - v / r))
    ratio = np.where(low & (v <= 0), np.where(r >= v, np.inf, -np.inf), ratio)
    ratio = np.where(~low & (r == 0), np.where(v >= 0, np.inf, -np.inf), ratio)
    g = np.broadcast_to(np.asarray(good, dtype="float64"), v.shape)
    w = np.broadcast_to(np.asarray(warning, dtype="float64"), v.shape)
    out = np.where(ratio >= g, "good", np.where(ratio >= w, "warning", "bad")).astype(object)
    out[np.isnan(v) | np.isnan(r)] = ""
    return pd.Series(out, index=value.index, dtype=object)


def ranks(frame: pd.DataFrame, kpis: dict[str, ResolvedKpi]) -> pd.Series:
    """Rank of each segment within (KPI, period): 1 = best by the KPI's direction; missing last."""
    ascending = frame["kpi"].map(lambda k: kpis[k].lower_is_better)
    key = frame["value"].where(ascending, -frame["value"])
    return key.groupby([frame["kpi"], frame["ord"]]).rank(method="min", na_option="keep")
