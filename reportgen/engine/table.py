"""The tidy metric table: one row per KPI x period (or window) x segment, with its comparisons
(prior period, a year ago, target, benchmark, status), rank within a breakdown, and coverage."""
from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from reportgen.engine.coverage import COVERED, Coverage
from reportgen.engine.evaluate import Floats, Grid
from reportgen.engine.plan import WHOLE
from reportgen.engine.resolve import ResolvedKpi
from reportgen.kpis.expressions import safe_divide

#: The metric columns every consumer may rely on (tables built by hand, e.g. in tests, carry these).
METRIC_COLUMNS: list[str] = [
    "kpi", "name", "unit", "direction", "period", "period_start", "period_end", "dimension", "segment",
    "value", "prior", "delta_prior", "pct_prior", "year_ago", "delta_year_ago", "pct_year_ago",
    "target", "achievement", "benchmark", "benchmark_source", "status", "rank",
]
#: Columns of the engine's table, in order: the metric columns plus ``window`` ('' for a period's own
#: row, else ytd/qtd/r12), ``coverage`` ('' fully covered, 'partial', 'none' = missing) and ``note``
#: (the reason, e.g. "deals end 2025-12-31").
#: ``prior_coverage``/``prior_note`` and ``year_ago_coverage``/``year_ago_note`` say the same of the
#: comparison's base (kpi-spec.md, "Comparisons": a comparison against a partly covered base is marked
#: partial with the reason, so no page draws it as a plain variance).
TABLE_COLUMNS: list[str] = METRIC_COLUMNS[:7] + ["window"] + METRIC_COLUMNS[7:] + [
    "coverage", "note", "prior_coverage", "prior_note", "year_ago_coverage", "year_ago_note"]


#: Columns of the table as arrays of equal length (the rows of one grid), joined into the table once.
Block = dict[str, npt.NDArray[Any]]


def tidy(kpis: dict[str, ResolvedKpi], grid: Grid, visible: list[str], targets: Mapping[str, Floats],
         wanted: set[int], dimension: str, ppy: int, coverage: dict[str, dict[int, Coverage]],
         window: str = "", starts: Mapping[int, date] | None = None,
         segments_shown: Mapping[str, set[str]] | None = None) -> Block:
    """The rows of the ``visible`` KPIs of one grid (by KPI, then period, then segment), with their
    comparisons; only the ``wanted`` periods (the others are there for prior and year-ago values) and,
    given ``segments_shown``, only those segments of each KPI (ranked among all the grid's segments).

    The grid's values are already missing where the data does not cover the period, so prior and
    year-ago values respect coverage too: an executive must not read "+100% vs last year" when last
    year simply is not in the export. A window's comparisons are the same window a year earlier; it
    has no prior.
    """
    if not visible:
        return empty_block()
    n_kpis, n_segments, n_periods = len(visible), len(grid.segments), len(grid.periods)
    cube = (n_kpis, n_segments, n_periods)
    values = np.stack([grid.values[k] for k in visible]).reshape(cube)
    prior = np.full(cube, np.nan)
    year_ago = np.full(cube, np.nan)
    if not window:
        prior[:, :, 1:] = values[:, :, :-1]
    if ppy < n_periods:
        year_ago[:, :, ppy:] = values[:, :, :n_periods - ppy]
    kept = [t for t, p in enumerate(grid.periods) if p.ordinal in wanted]
    periods = [grid.periods[t] for t in kept]
    n_rows = n_kpis * len(kept) * n_segments

    def long(array: Floats) -> Floats:  # (kpi, segment, period) -> rows by kpi, period, segment
        return np.ascontiguousarray(array[:, :, kept].transpose(0, 2, 1)).reshape(n_rows)

    def per_kpi(items: list[Any], dtype: Any = object) -> npt.NDArray[Any]:
        return np.repeat(np.array(items, dtype=dtype), len(kept) * n_segments)

    def per_period(items: list[Any]) -> npt.NDArray[Any]:
        return np.tile(np.repeat(np.array(items, dtype=object), n_segments), n_kpis)

    own = [kpis[k] for k in visible]
    first_days = [(starts[p.ordinal] if window and starts else p.start).isoformat() for p in periods]
    covers = [coverage.get(k, {}).get(p.ordinal, COVERED) for k in visible for p in periods]
    priors = [COVERED if window else coverage.get(k, {}).get(p.ordinal - 1, COVERED) for k in visible for p in periods]
    years_ago = [coverage.get(k, {}).get(p.ordinal - ppy, COVERED) for k in visible for p in periods]
    block: Block = {
        "kpi": per_kpi(visible), "name": per_kpi([v.name for v in own]), "unit": per_kpi([v.unit for v in own]),
        "direction": per_kpi([v.direction for v in own]), "period": per_period([p.label for p in periods]),
        "period_start": per_period(first_days), "period_end": per_period([p.end.isoformat() for p in periods]),
        "window": np.full(n_rows, window, dtype=object), "dimension": np.full(n_rows, dimension, dtype=object),
        "segment": np.tile(np.array(grid.segments, dtype=object), n_kpis * len(kept)),
        "value": long(values), "prior": long(prior), "year_ago": long(year_ago),
        "target": long(np.stack([targets[k] for k in visible]).reshape(cube)),
        "coverage": np.repeat(np.array([c.state for c in covers], dtype=object), n_segments),
        "note": np.repeat(np.array([c.note for c in covers], dtype=object), n_segments),
    }
    for name, bases in (("prior", priors), ("year_ago", years_ago)):
        block[f"{name}_coverage"] = np.repeat(np.array([c.state for c in bases], dtype=object), n_segments)
        block[f"{name}_note"] = np.repeat(np.array([c.note for c in bases], dtype=object), n_segments)
    comparisons(block, own, len(kept) * n_segments)
    if dimension == WHOLE:
        block["rank"] = np.full(n_rows, np.nan)
    else:  # within (KPI, period): the groups are runs of n_segments rows
        key = np.where(per_kpi([v.lower_is_better for v in own], bool), block["value"], -block["value"])
        groups = np.repeat(np.arange(n_kpis * len(kept)), n_segments)
        block["rank"] = pd.Series(key).groupby(groups).rank(method="min", na_option="keep").to_numpy()
    # a sum or count over part of a period is not measured against the whole period's plan: no
    # achievement and no status (the tile says "partial" and the period "data through ...")
    cut = (block["coverage"] == "partial") & per_kpi([v.additive for v in own], bool)
    block["achievement"][cut] = np.nan
    block["status"][cut] = ""
    if segments_shown is not None:
        shown = np.array([[s in segments_shown[k] for s in grid.segments] for k in visible], dtype=bool)
        keep = np.broadcast_to(shown[:, None, :], (n_kpis, len(kept), n_segments)).reshape(n_rows)
        return {column: block[column][keep] for column in TABLE_COLUMNS}
    return {column: block[column] for column in TABLE_COLUMNS}


def comparisons(block: Block, kpis: list[ResolvedKpi], rows_per_kpi: int) -> None:
    """Deltas, achievement and status (spec: "Comparisons every KPI value carries"), vectorised;
    ``block`` holds ``rows_per_kpi`` rows of each of ``kpis`` in turn."""
    def per_kpi(items: list[Any], dtype: Any) -> npt.NDArray[Any]:
        return np.repeat(np.array(items, dtype=dtype), rows_per_kpi)

    value, target = block["value"], block["target"]
    lower = per_kpi([v.lower_is_better for v in kpis], bool)
    block["delta_prior"] = value - block["prior"]
    block["pct_prior"] = safe_divide(value, block["prior"]) - 1
    block["delta_year_ago"] = value - block["year_ago"]
    block["pct_year_ago"] = safe_divide(value, block["year_ago"]) - 1
    block["benchmark"] = per_kpi([np.nan if v.benchmark is None else v.benchmark for v in kpis], "float64")
    block["benchmark_source"] = per_kpi([v.benchmark_source or "" for v in kpis], object)
    block["achievement"] = np.where(~lower, safe_divide(value, target), safe_divide(target, value))
    reference = np.where(np.isnan(target), block["benchmark"], target)  # the target, else the benchmark
    block["status"] = status_of(value, reference, lower, per_kpi([v.good for v in kpis], "float64"),
                                per_kpi([v.warning for v in kpis], "float64"))


def empty_block() -> Block:
    return {column: np.empty(0, dtype=object) for column in TABLE_COLUMNS}


def table_of(blocks: list[Block]) -> pd.DataFrame:
    """The metric table from the blocks, in order: strings as pandas' default string dtype (status as
    objects), numbers as float64."""
    kept = [b for b in blocks if len(b["kpi"])]
    columns: dict[str, Any] = {}
    for column in TABLE_COLUMNS:
        array = np.concatenate([b[column] for b in kept])
        columns[column] = pd.Series(array, dtype=object) if column == "status" else array
    return pd.DataFrame(columns)


def status(value: pd.Series, reference: pd.Series, lower_is_better: pd.Series,
           good: pd.Series | float = 1.0, warning: pd.Series | float = 0.9) -> pd.Series:
    """good / warning / bad of each value against its reference (target, else benchmark); '' with none.

    Achievement is value / reference, or reference / value where lower is better. Edge cases an
    executive would otherwise see wrongly: a lower-is-better value of 0 (no churn) meets any
    non-negative reference; a reference of 0 is met by any non-negative value; a negative reference
    (a growth target of -5%) is compared as 2 - value / reference so that beating it still reads good.
    """
    out = status_of(value.to_numpy(dtype="float64"), reference.to_numpy(dtype="float64"),
                    np.asarray(lower_is_better, dtype=bool), np.asarray(good, dtype="float64"),
                    np.asarray(warning, dtype="float64"))
    return pd.Series(out, index=value.index, dtype=object)


def status_of(v: Floats, r: Floats, low: npt.NDArray[np.bool_], good: Floats | float = 1.0,
              warning: Floats | float = 0.9) -> npt.NDArray[np.object_]:
    """``status`` on arrays: an object array of 'good', 'warning', 'bad' or ''."""
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(low, r / v, np.where(r > 0, v / r, 2 - v / r))
    ratio = np.where(low & (v <= 0), np.where(r >= v, np.inf, -np.inf), ratio)
    ratio = np.where(~low & (r == 0), np.where(v >= 0, np.inf, -np.inf), ratio)
    g = np.broadcast_to(np.asarray(good, dtype="float64"), v.shape)
    w = np.broadcast_to(np.asarray(warning, dtype="float64"), v.shape)
    out = np.where(ratio >= g, "good", np.where(ratio >= w, "warning", "bad")).astype(object)
    out[np.isnan(v) | np.isnan(r)] = ""
    return out
