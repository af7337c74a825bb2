"""The engine's entry point: every available KPI for a range of periods (and to-date windows), for
the whole company and per segment of each breakdown, as one tidy table.

Flow: resolve the KPIs (``resolve``) -> find the measures they need and run them in DuckDB over the
periods and window rows (``plan``) -> evaluate formulas on the small (segment x period) grid of
float arrays, with coverage applied (``evaluate``, ``coverage``) -> rows with their comparisons, one
block of arrays per grid, joined into the table once (``table``).

Periods before the reported range are computed too (a year and one period back), so the first
reported period still has its prior-period and year-ago values.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from functools import cached_property
from typing import TYPE_CHECKING

import pandas as pd

from reportgen.engine.coverage import (
    NONE,
    Coverage,
    Span,
    base_functions,
    kpi_spans,
    period_coverage,
    window_coverage,
    with_bases,
)
from reportgen.engine.evaluate import (
    Grid,
    TargetBook,
    evaluate_grid,
    lookup_table,
    measure_grid,
    targets_table,
    window_targets,
)
from reportgen.engine.partition import segment_measures
from reportgen.engine.plan import WHOLE, Interval, MeasureRows, additive_columns, plan_for, run_queries, segments_of
from reportgen.engine.resolve import (
    ResolvedKpi,
    availability,
    check_custom_measures,
    has_window_form,
    kpi_datasets,
    kpi_order,
    with_dependencies,
    with_snapshot_columns,
)
from reportgen.engine.table import Block, empty_block, table_of, tidy
from reportgen.errors import ConfigError, DataError
from reportgen.kpis.catalogue import LOOKUPS
from reportgen.kpis.periods import PERIODS_PER_YEAR, WINDOWS, Period, period_range, window_start

if TYPE_CHECKING:
    from reportgen.data import DatasetQuality, LoadedData

#: Window rows get ords ``period ordinal + k * WINDOW_ORD_STEP`` (k = 1, 2, ...) in the periods table.
WINDOW_ORD_STEP = 10_000_000


@dataclass(frozen=True)
class Metrics:
    """The engine's output: the tidy metric table and what the renderers need to explain it."""

    table: pd.DataFrame
    kpis: dict[str, ResolvedKpi]
    unavailable: dict[str, str]
    periods: list[Period]
    quality: dict[str, DatasetQuality]
    grain: str
    windows: tuple[str, ...] = ()

    # The renderers look rows up a few hundred times per scorecard: the whole-company rows are cut
    # from the table once and indexed by (kpi, period), the windows' by (kpi, period, window)
    # (cached on the instance; the table is not changed after compute_metrics returns it).

    @cached_property
    def company(self) -> pd.DataFrame:
        """Whole-company rows of the periods themselves (no breakdown, no to-date window)."""
        t = self.table
        rows = t["dimension"] == WHOLE
        if "window" in t.columns:
            rows &= t["window"] == ""
        return t[rows]

    @cached_property
    def _company_positions(self) -> dict[tuple[object, ...], int]:
        return _first_positions(self.company, ("kpi", "period"))

    @cached_property
    def _company_by_kpi(self) -> dict[object, pd.DataFrame]:
        c = self.company
        return {kpi: part for kpi, part in c.groupby("kpi", sort=False)}

    @property
    def data_through(self) -> dict[str, date | None]:
        """Per dataset, the last day its data speaks for ("data through 20 Dec"); None: no dated rows."""
        return {name: q.last_date for name, q in self.quality.items()}

    def series(self, kpi: str, column: str = "value") -> pd.Series:
        """One KPI's whole-company values by period label, in period order."""
        rows = self._company_by_kpi.get(kpi)
        if rows is None:
            rows = self.company.iloc[0:0]
        return pd.Series(rows[column].to_numpy(dtype="float64"), index=rows["period"].to_list())

    def row(self, kpi: str, period: str) -> pd.Series | None:
        return _first_row(self.company, self._company_positions, (kpi, period))

    @cached_property
    def _windows(self) -> pd.DataFrame:
        """Whole-company rows of the to-date windows."""
        t = self.table
        if "window" not in t.columns:
            return t.iloc[0:0]
        return t[(t["dimension"] == WHOLE) & (t["window"] != "")]

    @cached_property
    def _window_positions(self) -> dict[tuple[object, ...], int]:
        return _first_positions(self._windows, ("kpi", "period", "window"))

    def window_row(self, kpi: str, period: str, window: str) -> pd.Series | None:
        """The whole-company row of a to-date window (``ytd``, ``qtd``, ``r12``) ending at the period."""
        return _first_row(self._windows, self._window_positions, (kpi, period, window))

    def breakdown(self, kpi: str, dimension: str, period: str) -> pd.DataFrame:
        t = self.table
        return t[(t["kpi"] == kpi) & (t["dimension"] == dimension) & (t["period"] == period)].sort_values("rank")


def _first_positions(frame: pd.DataFrame, columns: tuple[str, ...]) -> dict[tuple[object, ...], int]:
    """The values of ``columns`` -> position of the first row holding them. Why: the renderers look
    rows up a few hundred times per scorecard, and masking the whole table for each (four comparisons
    over every row) cost about 0.1 s per scorecard of a burst."""
    positions: dict[tuple[object, ...], int] = {}
    for i, key in enumerate(zip(*(frame[c].tolist() for c in columns))):
        positions.setdefault(key, i)
    return positions


def _first_row(frame: pd.DataFrame, positions: dict[tuple[object, ...], int],
               key: tuple[object, ...]) -> pd.Series | None:
    """The first row of ``frame`` with these values (see :func:`_first_positions`), or None."""
    try:
        position = positions.get(key)
    except TypeError:  # an unhashable argument matches no row, as the mask it replaces did
        return None
    return None if position is None else frame.iloc[position]


def compute_metrics(data: LoadedData, kpis: dict[str, ResolvedKpi], periods: list[Period], *,
                    breakdowns: Sequence[str] = (), breakdown_kpis: list[str] | None = None,
                    windows: Sequence[str] = ()) -> Metrics:
    """Compute every available KPI for ``periods`` (whole company, and per segment of each breakdown),
    plus, for the whole company, each to-date window in ``windows`` ending at every period."""
    if not periods:
        raise DataError("no periods to compute")
    bad = [w for w in windows if w not in WINDOWS]
    if bad:
        raise ConfigError(f"unknown window {bad[0]!r}; expected one of {', '.join(WINDOWS)}")
    grain = periods[0].grain
    kpis = with_snapshot_columns(kpis, data.quality)
    kpi_order(kpis)  # fail early on formula cycles
    check_custom_measures(kpis, data)
    unavailable = availability(kpis, data)
    usable = {k: v for k, v in kpis.items() if k not in unavailable}
    if not any(not v.hidden for v in usable.values()):
        reasons = "; ".join(f"{k} {r}" for k, r in unavailable.items() if not kpis[k].hidden)
        raise DataError(f"no KPI can be computed from this data: {reasons}")
    order = kpi_order(usable)
    ppy = PERIODS_PER_YEAR[grain]
    extended = period_range(periods[0].shift(-(ppy + 1)), periods[-1])
    wanted = {p.ordinal for p in periods}
    targets = TargetBook.of(targets_table(data))
    lookups = {name: lookup_table(data, name) for name in LOOKUPS}

    spans = {k: kpi_spans(v, usable, data.quality) for k, v in usable.items()}
    coverage = {k: with_bases({p.ordinal: period_coverage(spans[k], p.start, p.end) for p in extended},
                              base_functions(v, usable), ppy) for k, v in usable.items()}
    uncovered = _uncovered(coverage)
    starts = {w: {p.ordinal: window_start(p, w) for p in extended} for w in windows}
    rows = [Interval(p.ordinal, p.ordinal, p.start, p.end) for p in extended]
    for k, w in enumerate(windows, 1):
        rows += [Interval(p.ordinal + k * WINDOW_ORD_STEP, p.ordinal, starts[w][p.ordinal], p.end) for p in extended]

    wanted_kpis = None if breakdown_kpis is None else with_dependencies(breakdown_kpis, usable)
    queries = plan_for(data, usable, breakdowns, wanted_kpis)
    results = segment_measures(data, queries, rows)  # a burst's segment: one pass for all of them
    if results is None:
        results = run_queries(data, queries, rows)
    additive = additive_columns(queries)
    whole = results.get(WHOLE, [])

    measures = measure_grid(whole, [WHOLE], extended, additive)
    grid = evaluate_grid(usable, order, measures, [WHOLE], extended, targets, lookups, grain, uncovered)
    visible = [k for k in usable if not usable[k].hidden]
    blocks = [tidy(usable, grid, visible, grid.targets, wanted, WHOLE, ppy, coverage)]

    for k, w in enumerate(windows, 1):
        blocks.append(_window_block(w, k, usable, order, whole, extended, wanted, grid, spans, starts[w], targets,
                                    lookups, grain, additive, ppy))

    seen_segments: dict[tuple[str, str], set[str]] = {}
    for dimension in breakdowns:
        dim_kpis = {k: v for k, v in usable.items()
                    if (wanted_kpis is None or k in wanted_kpis)
                    and all(data.has(ds, dimension) for ds in kpi_datasets(v, usable))
                    and not v.formula.lookups}
        if not dim_kpis:
            continue
        datasets = set().union(*(kpi_datasets(v, usable) for v in dim_kpis.values()))
        segments = segments_of(data, datasets, dimension, seen_segments)
        if not segments:
            continue
        dim_order = [k for k in order if k in dim_kpis]
        measures = measure_grid(results.get(dimension, []), segments, extended, additive)
        dim_grid = evaluate_grid(dim_kpis, dim_order, measures, segments, extended, targets, lookups, grain, uncovered)
        shown = [k for k in dim_kpis if not dim_kpis[k].hidden and (breakdown_kpis is None or k in breakdown_kpis)]
        # a KPI is shown only for segments that occur in its own datasets
        allowed = {k: set(segments_of(data, kpi_datasets(dim_kpis[k], usable), dimension, seen_segments))
                   for k in shown}
        blocks.append(tidy(dim_kpis, dim_grid, shown, dim_grid.targets, wanted, dimension, ppy, coverage,
                           segments_shown=allowed))
    table = table_of(blocks)
    return Metrics(table, kpis, unavailable, periods, data.quality, grain, tuple(windows))


def _uncovered(coverage: dict[str, dict[int, Coverage]]) -> dict[str, set[int]]:
    return {k: {o for o, c in by_ord.items() if c.state == NONE} for k, by_ord in coverage.items()}


def _window_block(window: str, k: int, usable: dict[str, ResolvedKpi], order: list[str], whole: list[MeasureRows],
                  extended: list[Period], wanted: set[int], period_grid: Grid, spans: dict[str, list[Span]],
                  starts: dict[int, date], targets: TargetBook, lookups: dict[str, pd.DataFrame], grain: str,
                  additive: set[str], ppy: int) -> Block:
    """The whole-company rows of one to-date window: every KPI that has a window form, computed over
    [window start, P.end] as one period with its own definition."""
    kpis = {kid: v for kid, v in usable.items() if has_window_form(v, usable)}
    if not kpis:
        return empty_block()
    measures = measure_grid(whole, [WHOLE], extended, additive, offset=k * WINDOW_ORD_STEP)
    coverage = {kid: {p.ordinal: window_coverage(spans[kid], starts[p.ordinal], p) for p in extended} for kid in kpis}
    grid = evaluate_grid(kpis, [o for o in order if o in kpis], measures, [WHOLE], extended, targets, lookups,
                         grain, _uncovered(coverage), with_targets=False)
    visible = [kid for kid in kpis if not kpis[kid].hidden]
    window_target = {kid: window_targets(kpis[kid], period_grid.targets[kid], extended, starts) for kid in visible}
    return tidy(kpis, grid, visible, window_target, wanted, WHOLE, ppy, coverage, window=window, starts=starts)
