"""Formulas on the small (segment x period) grid of measures, and targets / lookups per period.

A grid holds one float array per measure, KPI value and target, segment-major (cell ``s * T + t`` is
segment ``s`` in period ``t``): a few thousand cells, where numpy arithmetic costs microseconds and
pandas' index alignment, repeated for every operator of every formula, cost most of the engine's time.

Coverage is applied here, KPI by KPI in dependency order, so a KPI that reads another (revenue_growth
reads revenue) sees "missing" for a period the data does not cover, never a zero it would divide by.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import pandas as pd

from reportgen.data.sql import q
from reportgen.engine.plan import WHOLE, MeasureRows, measure_key
from reportgen.engine.resolve import ResolvedKpi
from reportgen.errors import ConfigError, DataError
from reportgen.kpis.catalogue import LOOKUPS, MEASURES
from reportgen.kpis.expressions import Scope, evaluate
from reportgen.kpis.periods import PERIODS_PER_YEAR, Period, period_containing, period_range

if TYPE_CHECKING:
    from reportgen.data import LoadedData

Floats = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Grid:
    """Everything computed for one segmentation: KPI values and targets per (segment, period) cell.
    Segments are sorted and periods consecutive, so the table's order (KPI, period, segment) is a
    reshape of the grid, not a sort."""

    segments: list[str]
    periods: list[Period]
    values: dict[str, Floats]
    targets: dict[str, Floats]


@dataclass(frozen=True)
class TargetBook:
    """The targets dataset by (kpi, scope): period label -> value, read once per compute rather
    than filtered per KPI and segment. A later row for the same label wins, as it always did."""

    by_scope: dict[tuple[str, str], dict[str, float]]

    @classmethod
    def of(cls, rows: pd.DataFrame) -> TargetBook:
        book: dict[tuple[str, str], dict[str, float]] = {}
        if len(rows):
            labels = rows["period"].astype(str).tolist()
            values = rows["value"].astype(float).tolist()
            for kid, scope, label, value in zip(rows["kpi"].tolist(), rows["scope"].tolist(), labels, values):
                book.setdefault((kid, scope), {})[label] = value
        return cls(book)

    def has(self, kid: str) -> bool:
        return any(k == kid for k, _ in self.by_scope)


def measure_grid(parts: Sequence[MeasureRows], segments: list[str], periods: list[Period], additive: set[str],
                 offset: int = 0) -> dict[str, Floats]:
    """The queries' measures on the (segment, period) grid; rows with ord ``period ordinal + offset``
    fill it (a to-date window's rows are offset), other rows are not part of this grid.

    A cell a query returned keeps its value, missing included (rows there, no readable value); a cell
    it did not return is 0 for its sums and counts (no rows there) and missing for other aggregates.
    """
    n_periods = len(periods)
    size = len(segments) * n_periods
    position = {s: i for i, s in enumerate(segments)}
    ordinals = np.array([p.ordinal + offset for p in periods], dtype=np.int64)
    out: dict[str, Floats] = {}
    for part in parts:
        seg = np.fromiter((position.get(s, -1) for s in part.segments), dtype=np.int64, count=len(part.segments))
        at = np.searchsorted(ordinals, part.ords).clip(0, n_periods - 1)
        inside = (seg >= 0) & (ordinals[at] == part.ords)
        cells = seg[inside] * n_periods + at[inside]
        for j, column in enumerate(part.columns):
            if column in out:  # a column comes from one query; the first one wins
                continue
            array = np.full(size, 0.0 if column in additive else np.nan)
            array[cells] = part.values[inside, j]
            out[column] = array
    return out


def evaluate_grid(kpis: dict[str, ResolvedKpi], order: list[str], measures: dict[str, Floats],
                  segments: list[str], periods: list[Period], targets: TargetBook,
                  lookups: dict[str, pd.DataFrame], grain: str, uncovered: dict[str, set[int]] | None = None,
                  with_targets: bool = True) -> Grid:
    """Evaluate every KPI formula; ``uncovered`` maps a KPI to the ordinals its data does not cover
    (their values become missing before any other KPI reads them). Every KPI's target is computed
    too, unless ``with_targets`` is False (a window's targets are the sums of its periods')."""
    n_segments, n_periods = len(segments), len(periods)
    size = n_segments * n_periods
    ords = np.array([p.ordinal for p in periods], dtype=np.int64)
    values: dict[str, Floats] = {}
    target_values: dict[str, Floats] = {}

    def shift(array: Floats, n: int) -> Floats:
        """The value ``n`` periods earlier in the same segment (missing before the first period)."""
        out = np.full((n_segments, n_periods), np.nan)
        if n < n_periods:
            out[:, n:] = array.reshape(n_segments, n_periods)[:, :n_periods - n]
        return out.reshape(size)

    def constant(value: float) -> Floats:
        return np.full(size, value)

    def target_of(kid: str) -> Floats:
        if kid not in target_values:
            target_values[kid] = target_grid(kpis.get(kid), kid, targets, segments, periods)
        return target_values[kid]

    def lookup_of(name: str) -> Floats:
        per_period = period_values(lookups[name], periods, additive=True)
        return np.tile(per_period.to_numpy(dtype="float64"), n_segments)

    for kid in order:
        kpi = kpis[kid]

        def value(name: str, kpi: ResolvedKpi = kpi) -> Floats:
            if name.startswith("custom__"):
                return measures[name]
            if name in MEASURES:
                return measures[measure_key(name, kpi.filter)]
            if name in values:
                return values[name]
            raise DataError(f"KPI {kpi.id!r} reads {name!r}, which is unavailable")

        scope = Scope(value=value, shift=shift, year_offset=PERIODS_PER_YEAR[grain], target=target_of,
                      lookup=lookup_of, params=kpi.params, constant=constant)
        try:
            result = evaluate(kpi.formula, scope)
        except (DataError, ConfigError):
            raise
        except Exception as exc:  # a bug or a surprising value: name the KPI, as mkdocs names the page
            raise DataError(f"while computing KPI {kid!r}: {exc}") from exc
        gaps = (uncovered or {}).get(kid)
        if gaps:
            result = np.where(np.tile(np.isin(ords, list(gaps)), n_segments), np.nan, result)
        values[kid] = result
    if with_targets:
        for kid in order:
            target_of(kid)
    return Grid(segments, periods, values, target_values)


def target_grid(kpi: ResolvedKpi | None, kid: str, book: TargetBook, segments: list[str],
                periods: list[Period]) -> Floats:
    """Target per (segment, period): targets dataset first (scope 'all' or the segment), then config."""
    additive = bool(kpi and kpi.additive)
    out = np.full((len(segments), len(periods)), np.nan)
    if not book.has(kid) and (kpi is None or kpi.target is None):
        return out.reshape(-1)
    for i, segment in enumerate(segments):
        by_label = book.by_scope.get((kid, "all" if segment == WHOLE else segment))
        if by_label:
            out[i] = _values_by_period(by_label, periods, additive)
        if segment == WHOLE and kpi is not None and kpi.target is not None:
            config = _config_target(kpi.target, periods)
            out[i] = np.where(np.isnan(out[i]), config, out[i])
    return out.reshape(-1)


def window_targets(kpi: ResolvedKpi, period_targets: Floats, periods: list[Period],
                   starts: Mapping[int, date]) -> Floats:
    """A window's target (whole company): the sum of the targets of the periods it spans, for additive
    KPIs, when every one of them has a target; else missing (a 30% win-rate target does not add up)."""
    by_ord = dict(zip((p.ordinal for p in periods), period_targets.tolist()))
    out = []
    for p in periods:
        first = period_containing(starts[p.ordinal], p.grain, p.fiscal_year_start)
        if not kpi.additive or first.start != starts[p.ordinal]:
            out.append(np.nan)
            continue
        parts = [by_ord.get(o, np.nan) for o in range(first.ordinal, p.ordinal + 1)]
        out.append(float(np.sum(parts)) if parts and not np.isnan(parts).any() else np.nan)
    return np.array(out, dtype="float64")


def _config_target(target: float | dict[str, float], periods: list[Period]) -> Floats:
    if isinstance(target, dict):
        return np.array([float(target.get(p.label, np.nan)) for p in periods], dtype="float64")
    return np.full(len(periods), float(target))


def period_values(rows: pd.DataFrame, periods: list[Period], additive: bool) -> pd.Series:
    """Value per period ordinal from a small (period label -> value) table.

    The spec's rule for coarser grains: a period's own row when present; otherwise, for additive
    quantities, the sum of its months when every month has a row; else missing.
    """
    by_label = dict(zip(rows["period"].astype(str), rows["value"].astype(float))) if len(rows) else {}
    return pd.Series(_values_by_period(by_label, periods, additive), index=[p.ordinal for p in periods],
                     dtype="float64")


def _values_by_period(by_label: dict[str, float], periods: list[Period], additive: bool) -> list[float]:
    out = []
    for p in periods:
        if p.label in by_label:
            out.append(by_label[p.label])
        elif additive and p.grain in ("quarter", "year"):
            months = [
                m.label for m in period_range(period_containing(p.start, "month"), period_containing(p.end, "month"))
            ]
            out.append(sum(by_label[m] for m in months) if all(m in by_label for m in months) else np.nan)
        else:
            out.append(np.nan)
    return out


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
    return data.query(f"SELECT period, {name} AS value FROM {q(ds)} WHERE {name} IS NOT NULL")
