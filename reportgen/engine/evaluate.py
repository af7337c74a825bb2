"""Formulas on the small (segment x period) frame of measures, and targets / lookups per period.

Coverage is applied here, KPI by KPI in dependency order, so a KPI that reads another (revenue_growth
reads revenue) sees "missing" for a period the data does not cover, never a zero it would divide by.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from reportgen.engine.plan import WHOLE, _q, measure_key
from reportgen.engine.resolve import ResolvedKpi
from reportgen.errors import ConfigError, DataError
from reportgen.kpis.catalogue import LOOKUPS, MEASURES
from reportgen.kpis.expressions import Scope, evaluate
from reportgen.kpis.periods import PERIODS_PER_YEAR, Period, period_containing, period_range

if TYPE_CHECKING:
    from reportgen.data import LoadedData


@dataclass
class Grid:
    """Everything computed for one segmentation, on a complete (segment, ord) index."""

    index: pd.MultiIndex
    measures: pd.DataFrame
    values: dict[str, pd.Series]
    targets: dict[str, pd.Series]


def grid_index(segments: list[str], periods: list[Period]) -> pd.MultiIndex:
    return pd.MultiIndex.from_product([segments, [p.ordinal for p in periods]], names=["segment", "ord"])


def evaluate_grid(kpis: dict[str, ResolvedKpi], order: list[str], measures: pd.DataFrame,
                  index: pd.MultiIndex, periods: list[Period], target_rows: pd.DataFrame,
                  lookups: dict[str, pd.DataFrame], grain: str, additive: set[str],
                  uncovered: dict[str, set[int]] | None = None) -> Grid:
    """Evaluate every KPI formula; ``uncovered`` maps a KPI to the ordinals its data does not cover
    (their values become missing before any other KPI reads them)."""
    absent = ~index.isin(measures.index)
    measures = measures.reindex(index).astype("float64")
    # sums and counts over no rows are zero (a group no query returned has no rows); a sum a query
    # returned as NULL (rows there, every value unreadable) stays missing, and so do custom avg/min/max
    zero_fill = [c for c in measures.columns if c in additive]
    measures.loc[absent, zero_fill] = measures.loc[absent, zero_fill].fillna(0.0)
    values: dict[str, pd.Series] = {}
    targets: dict[str, pd.Series] = {}
    segments = list(index.get_level_values(0).unique())
    ords = index.get_level_values(1)

    def shift(series: pd.Series, n: int) -> pd.Series:
        return series.groupby(level=0).shift(n)

    def target_of(kid: str) -> pd.Series:
        if kid not in targets:
            targets[kid] = target_series(kpis.get(kid), kid, target_rows, segments, periods, index)
        return targets[kid]

    def lookup_of(name: str) -> pd.Series:
        per_period = period_values(lookups[name], periods, additive=True)
        mapped = ords.map(per_period)  # type: ignore[arg-type]  # pandas-stubs gap: Index.map accepts a Series
        return pd.Series(mapped.astype("float64"), index=index)

    for kid in order:
        kpi = kpis[kid]

        def value(name: str, kpi: ResolvedKpi = kpi) -> pd.Series:
            if name.startswith("custom__"):
                return measures[name]
            if name in MEASURES:
                return measures[measure_key(name, kpi.filter)]
            if name in values:
                return values[name]
            raise DataError(f"KPI {kpi.id!r} reads {name!r}, which is unavailable")

        scope = Scope(value=value, shift=shift, year_offset=PERIODS_PER_YEAR[grain], target=target_of,
                      lookup=lookup_of, params=kpi.params, index=index)
        try:
            result = evaluate(kpi.formula, scope)
        except (DataError, ConfigError):
            raise
        except Exception as exc:  # a bug or a surprising value: name the KPI, as mkdocs names the page
            raise DataError(f"while computing KPI {kid!r}: {exc}") from exc
        gaps = (uncovered or {}).get(kid)
        values[kid] = result.where(~ords.isin(list(gaps))) if gaps else result
    for kid in order:
        target_of(kid)
    return Grid(index, measures, values, targets)


def target_series(kpi: ResolvedKpi | None, kid: str, rows: pd.DataFrame, segments: list[str],
                  periods: list[Period], index: pd.MultiIndex) -> pd.Series:
    """Target per (segment, period): targets dataset first (scope 'all' or the segment), then config."""
    additive = bool(kpi and kpi.additive)
    mine = rows[rows["kpi"] == kid] if len(rows) else rows
    if len(mine) == 0 and (kpi is None or kpi.target is None):
        return pd.Series(np.nan, index=index, dtype="float64")
    parts = []
    for segment in segments:
        scope = "all" if segment == WHOLE else segment
        seg_rows = mine[mine["scope"] == scope] if len(mine) else mine
        series = period_values(seg_rows, periods, additive)
        if segment == WHOLE and kpi is not None and kpi.target is not None:
            series = series.fillna(_config_target(kpi.target, periods))
        parts.append(pd.Series(series.values, index=pd.MultiIndex.from_product([[segment], series.index])))
    out = pd.concat(parts) if parts else pd.Series(dtype="float64")
    return out.reindex(index).astype("float64")


def window_targets(kpi: ResolvedKpi, period_targets: pd.Series, periods: list[Period],
                   starts: Mapping[int, date]) -> pd.Series:
    """A window's target (whole company): the sum of the targets of the periods it spans, for additive
    KPIs, when every one of them has a target; else missing (a 30% win-rate target does not add up)."""
    by_ord = period_targets.droplevel(0) if isinstance(period_targets.index, pd.MultiIndex) else period_targets
    out = {}
    for p in periods:
        first = period_containing(starts[p.ordinal], p.grain, p.fiscal_year_start)
        if not kpi.additive or first.start != starts[p.ordinal]:
            out[p.ordinal] = np.nan
            continue
        parts = [by_ord.get(o, np.nan) for o in range(first.ordinal, p.ordinal + 1)]
        out[p.ordinal] = float(np.sum(parts)) if parts and not np.isnan(parts).any() else np.nan
    return pd.Series(out, dtype="float64")


def _config_target(target: float | dict[str, float], periods: list[Period]) -> pd.Series:
    if isinstance(target, dict):
        return pd.Series({p.ordinal: float(target.get(p.label, np.nan)) for p in periods}, dtype="float64")
    return pd.Series({p.ordinal: float(target) for p in periods}, dtype="float64")


def period_values(rows: pd.DataFrame, periods: list[Period], additive: bool) -> pd.Series:
    """Value per period ordinal from a small (period label -> value) table.

    The spec's rule for coarser grains: a period's own row when present; otherwise, for additive
    quantities, the sum of its months when every month has a row; else missing.
    """
    by_label = dict(zip(rows["period"].astype(str), rows["value"].astype(float))) if len(rows) else {}
    out = {}
    for p in periods:
        if p.label in by_label:
            out[p.ordinal] = by_label[p.label]
        elif additive and p.grain in ("quarter", "year"):
            months = [
                m.label for m in period_range(period_containing(p.start, "month"), period_containing(p.end, "month"))
            ]
            out[p.ordinal] = sum(by_label[m] for m in months) if all(m in by_label for m in months) else np.nan
        else:
            out[p.ordinal] = np.nan
    return pd.Series(out, dtype="float64")


def targets_table(data: LoadedData) -> pd.DataFrame:
    if not data.has("targets"):
        return pd.DataFrame(columns=["period", "kpi", "value", "scope"])
    scope = "coalesce(scope, 'all')" if data.has("targets", "scope") else "'all'"
    return data.query(
        f"SELECT period, kpi, value, {scope} AS scope FROM targets WHERE value IS NOT NULL AND period IS NOT NULL"
    )


def lookup_table(data: LoadedData, name: str) -> pd.DataFrame:
    ds = LOOKUPS[name]
    if not data.has(ds):
        return pd.DataFrame(columns=["period", "value"])
    return data.query(f"SELECT period, {name} AS value FROM {_q(ds)} WHERE {name} IS NOT NULL")
