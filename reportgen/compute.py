"""The KPI engine: base aggregates in DuckDB, formulas and comparisons in pandas.

Flow: resolve the KPIs (built-in definitions merged with config overrides, custom ones added) ->
find the measures they need -> run one SQL query per (anchor, filter, dimension) over a table of
periods -> evaluate formulas on the small (segment x period) frame -> attach comparisons (prior
period, a year ago, target, benchmark, status) -> one tidy table, one row per KPI x period x segment.

Periods before the reported range are computed too (a year and one period back), so the first
reported period still has its prior-period and year-ago values.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import date
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .catalogue import ANCHORS, BUILTIN_KPIS, LOOKUPS, MEASURES, Anchor, KpiDefinition, Measure
from .errors import ConfigError, DataError
from .expressions import Formula, Scope, evaluate, parse_formula, safe_divide
from .periods import PERIODS_PER_YEAR, Period, months_back, period_containing, period_range

if TYPE_CHECKING:
    from .config import Config, KpiSpec
    from .data import DatasetQuality, LoadedData

#: Columns of the metric table, in order.
METRIC_COLUMNS: list[str] = [
    "kpi", "name", "unit", "direction", "period", "period_start", "period_end", "dimension", "segment",
    "value", "prior", "delta_prior", "pct_prior", "year_ago", "delta_year_ago", "pct_year_ago",
    "target", "achievement", "benchmark", "benchmark_source", "status", "rank",
]

WHOLE = ""  # dimension and segment of whole-company rows


@dataclass(frozen=True)
class ResolvedKpi:
    """A KPI as this scorecard computes it: catalogue definition plus the config's overrides."""

    id: str
    name: str
    unit: str
    direction: str
    objective: str
    formula: Formula
    definition: str
    filter: str | None = None
    params: dict[str, float] = field(default_factory=dict)
    additive: bool = False
    target: float | dict[str, float] | None = None
    benchmark: float | None = None
    benchmark_source: str | None = None
    good: float = 1.0
    warning: float = 0.9
    commentary: str | None = None
    custom_measure: Any = None  # config.Measure for custom aggregate KPIs
    hidden: bool = False  # computed only because another KPI reads it

    @property
    def lower_is_better(self) -> bool:
        return self.direction == "lower"


def _from_definition(d: KpiDefinition, hidden: bool = False) -> ResolvedKpi:
    return ResolvedKpi(d.id, d.name, d.unit, d.direction, d.objective, parse_formula(d.expression), d.definition,
                       params=dict(d.params), additive=d.additive, hidden=hidden)


def resolve_kpis(specs: list["KpiSpec"] | None) -> dict[str, ResolvedKpi]:
    """Merge config KPI specs with the catalogue; add (hidden) KPIs that formulas read."""
    resolved: dict[str, ResolvedKpi] = {}
    if not specs:
        for d in BUILTIN_KPIS.values():
            resolved[d.id] = _from_definition(d)
    for spec in specs or []:
        base = BUILTIN_KPIS.get(spec.id)
        if spec.measure is not None:
            formula = parse_formula(f"custom__{spec.id}")
            kpi = ResolvedKpi(spec.id, spec.name or spec.id, spec.unit or "count", spec.direction or "higher",
                              spec.objective or "other", formula, spec.definition or _measure_text(spec.measure),
                              custom_measure=spec.measure, additive=spec.measure.agg in ("sum", "count"))
        elif spec.expression is not None:
            kpi = ResolvedKpi(spec.id, spec.name or spec.id, spec.unit or "ratio", spec.direction or "higher",
                              spec.objective or "other", parse_formula(spec.expression),
                              spec.definition or f"Formula: {spec.expression}")
        elif base is not None:
            kpi = _from_definition(base)
        else:  # validated earlier; keep the engine honest anyway
            raise ConfigError(f"unknown KPI {spec.id!r}")
        params = {**kpi.params, **spec.params}
        kpi = replace(
            kpi, name=spec.name or kpi.name, direction=spec.direction or kpi.direction,
            objective=spec.objective or kpi.objective, filter=spec.filter, params=params, target=spec.target,
            benchmark=spec.benchmark.value if spec.benchmark else None,
            benchmark_source=spec.benchmark.source if spec.benchmark else None,
            good=spec.thresholds.good, warning=spec.thresholds.warning, commentary=spec.commentary,
            definition=spec.definition or kpi.definition,
        )
        if spec.filter and base is not None:
            kpi = replace(kpi, definition=f"{kpi.definition} Only rows where {spec.filter}.")
        resolved[spec.id] = kpi
    # pull in KPIs that formulas read but the config did not list
    pending = list(resolved.values())
    while pending:
        kpi = pending.pop()
        for name in kpi.formula.names:
            if name in BUILTIN_KPIS and name not in resolved:
                resolved[name] = _from_definition(BUILTIN_KPIS[name], hidden=True)
                pending.append(resolved[name])
    return resolved


def _measure_text(m: Any) -> str:
    what = "rows" if m.agg == "count" else f"{m.column}"
    text = f"{m.agg.replace('_', ' ')} of {what} in {m.dataset} with {m.date} in the period"
    return text + (f", where {m.filter}" if m.filter else "") + "."


# --------------------------------------------------------------------------------------------------
# Dependencies and availability
# --------------------------------------------------------------------------------------------------

_COLUMN_REF = re.compile(r"\bt\.([a-z_][a-z0-9_]*)")


def measure_columns(measure: Measure) -> set[str]:
    """Canonical columns a measure reads (``__ts`` helper columns count as their base column)."""
    anchor = ANCHORS[measure.anchor]
    if anchor.relation != "SELECT * FROM base":  # the join reads the relation's own columns
        cols = set(re.findall(r"\b(close_date|customer_id|stage|amount)\b", anchor.relation))
    else:
        cols = set(_COLUMN_REF.findall(measure.sql + " " + anchor.join))
    return {c.removesuffix("__ts") for c in cols}


def kpi_order(kpis: dict[str, ResolvedKpi]) -> list[str]:
    """KPI ids so that every KPI comes after the KPIs its formula reads."""
    order: list[str] = []
    state: dict[str, int] = {}

    def visit(kid: str, chain: tuple[str, ...]) -> None:
        if state.get(kid) == 2:
            return
        if state.get(kid) == 1:
            raise ConfigError(f"KPI formulas form a cycle: {' -> '.join(chain + (kid,))}")
        state[kid] = 1
        for name in sorted(kpis[kid].formula.names):
            if name in kpis:
                visit(name, chain + (kid,))
        state[kid] = 2
        order.append(kid)

    for kid in kpis:
        visit(kid, ())
    return order


def _needs(kpi: ResolvedKpi, kpis: dict[str, ResolvedKpi],
           _seen: frozenset[str] = frozenset()) -> tuple[set[str], set[tuple[str, str]]]:
    """Datasets and (dataset, column) pairs a KPI needs, through the KPIs it reads."""
    datasets: set[str] = set()
    _seen = _seen | {kpi.id}
    columns: set[tuple[str, str]] = set()
    if kpi.custom_measure is not None:
        m = kpi.custom_measure
        datasets.add(m.dataset)
        columns |= {(m.dataset, m.date)} | ({(m.dataset, m.column)} if m.column else set())
    for name in kpi.formula.names:
        if name in MEASURES:
            ds = MEASURES[name].dataset
            datasets.add(ds)
            columns |= {(ds, c) for c in measure_columns(MEASURES[name])}
        elif name in kpis and name not in _seen:  # a cycle is reported by kpi_order()
            d, c = _needs(kpis[name], kpis, _seen)
            datasets |= d
            columns |= c
    for name in kpi.formula.lookups:
        datasets.add(LOOKUPS[name])
    return datasets, columns


def availability(kpis: dict[str, ResolvedKpi], data: "LoadedData") -> dict[str, str]:
    """KPI id -> why it cannot be computed (missing dataset or column); available KPIs are absent."""
    out: dict[str, str] = {}
    for kid, kpi in kpis.items():
        datasets, columns = _needs(kpi, kpis)
        missing_ds = sorted(d for d in datasets if not data.has(d))
        if missing_ds:
            out[kid] = "unavailable: needs dataset " + ", ".join(missing_ds)
            continue
        missing_cols = sorted(f"{d}.{c}" for d, c in columns if not data.has(d, c))
        if missing_cols:
            out[kid] = "unavailable: needs column " + ", ".join(missing_cols)
    return out


def kpi_datasets(kpi: ResolvedKpi, kpis: dict[str, ResolvedKpi]) -> set[str]:
    return _needs(kpi, kpis)[0]


def history_start(kpi: ResolvedKpi, kpis: dict[str, ResolvedKpi], quality: dict[str, "DatasetQuality"],
                  _seen: frozenset[str] = frozenset()) -> date | None:
    """The first day the data can speak for this KPI: the latest first date over the date columns
    its measures place rows by (a pipeline export whose first close is in March 2017 says nothing
    about revenue in 2016, even though its first *created* date is in October 2016)."""
    starts: list[date] = []

    def first_of(dataset: str, column: str | None) -> None:
        q = quality.get(dataset)
        if q is not None:
            d = q.first_dates.get(column or "", q.first_date)
            if d is not None:
                starts.append(d)

    if kpi.custom_measure is not None:
        first_of(kpi.custom_measure.dataset, kpi.custom_measure.date)
    for name in kpi.formula.names:
        if name in MEASURES:
            anchor = ANCHORS[MEASURES[name].anchor]
            first_of(anchor.dataset, anchor.coverage_column)
        elif name in kpis and name not in _seen:
            d = history_start(kpis[name], kpis, quality, _seen | {kpi.id})
            if d is not None:
                starts.append(d)
    return max(starts, default=None)


# --------------------------------------------------------------------------------------------------
# SQL: base aggregates per period (and segment)
# --------------------------------------------------------------------------------------------------

def _q(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _periods_frame(periods: list[Period]) -> pd.DataFrame:
    return pd.DataFrame({
        "ord": [p.ordinal for p in periods],
        "start": [p.start for p in periods],
        "end": [p.end for p in periods],
        "day_before": [date.fromordinal(p.start.toordinal() - 1) for p in periods],
        "start_12m": [months_back(p.end, 12) for p in periods],
    })


def _days_frame(periods: list[Period], window_months: int = 0) -> pd.DataFrame:
    """Every day of the periods (or of their trailing ``window_months`` windows) with the period's
    ordinal: turns "date in P" and "date in the 12 months ending P.end" into equi-joins."""
    days, ords = [], []
    for p in periods:
        first = (months_back(p.end, window_months) if window_months else p.start).toordinal()
        for n in range(p.end.toordinal() - first + 1):
            days.append(date.fromordinal(first + n))
            ords.append(p.ordinal)
    return pd.DataFrame({"dday": days, "ord": ords})


@dataclass(frozen=True)
class MeasureQuery:
    """One SQL query: the measures sharing an anchor and a row filter, for the whole company and
    every breakdown dimension at once (GROUPING SETS), so each dataset is joined to periods once."""

    anchor: Anchor
    filter: str | None
    dimensions: tuple[str, ...]  # WHOLE ("") and/or dimension columns
    measures: tuple[tuple[str, str], ...]  # (column name in the result, aggregate SQL)

    def sql(self) -> str:
        a = self.anchor
        dims = [d for d in self.dimensions if d != WHOLE]
        where = f"WHERE {self.filter}" if self.filter else ""
        segment = ""
        if a.per_segment_relation:  # one dimension per query: the relation groups by it
            seg_expr = "''" if not dims else f"coalesce(CAST({_q(dims[0])} AS VARCHAR), '(blank)')"
            segment = f", {seg_expr} AS __segment"
        aggs = ",\n       ".join(f"coalesce({sql}, 0) AS {_q(col)}" if _is_additive(sql) else f"{sql} AS {_q(col)}"
                                  for col, sql in self.measures)
        if a.day:
            source = f"rel t JOIN {a.days_table} d ON t.{_q(a.day)} = d.dday" + (f" WHERE {a.where}" if a.where else "")
            ord_col = "d.ord"
        else:
            source = f"periods p JOIN rel t ON {a.join}"
            ord_col = "p.ord"
        if a.per_segment_relation:
            select = f"{ord_col} AS ord, t.__segment AS __s0"
            group = f"GROUP BY {ord_col}, t.__segment"
        elif dims:
            flags = ", ".join(f"GROUPING(t.{_q(d)}) AS __g{i}, coalesce(CAST(t.{_q(d)} AS VARCHAR), '(blank)') AS __s{i}"
                              for i, d in enumerate(dims))
            select = f"{ord_col} AS ord, {flags}"
            sets = [f"({ord_col})"] if WHOLE in self.dimensions else []
            sets += [f"({ord_col}, t.{_q(d)})" for d in dims]
            group = f"GROUP BY GROUPING SETS ({', '.join(sets)})"
        else:
            select = f"{ord_col} AS ord"
            group = f"GROUP BY {ord_col}"
        return (f"WITH base AS (SELECT *{segment} FROM {_q(a.dataset)} {where}),\n"
                f"     rel AS ({a.relation})\n"
                f"SELECT {select},\n       {aggs}\n"
                f"FROM {source}\n{group}")

    def split(self, frame: pd.DataFrame) -> dict[str, pd.DataFrame]:
        """Cut the query result into one (segment, ord)-indexed frame per dimension."""
        cols = [c for c, _ in self.measures]
        dims = [d for d in self.dimensions if d != WHOLE]
        out: dict[str, pd.DataFrame] = {}
        if self.anchor.per_segment_relation:
            dim = dims[0] if dims else WHOLE
            out[dim] = frame.assign(segment=frame["__s0"] if dims else WHOLE).set_index(["segment", "ord"])[cols]
            return out
        if not dims:
            out[WHOLE] = frame.assign(segment=WHOLE).set_index(["segment", "ord"])[cols]
            return out
        flags = frame[[f"__g{i}" for i in range(len(dims))]]
        if WHOLE in self.dimensions:
            rows = frame[(flags == 1).all(axis=1)]
            out[WHOLE] = rows.assign(segment=WHOLE).set_index(["segment", "ord"])[cols]
        for i, dim in enumerate(dims):
            rows = frame[frame[f"__g{i}"] == 0]
            out[dim] = rows.assign(segment=rows[f"__s{i}"]).set_index(["segment", "ord"])[cols]
        return out


def _is_additive(sql: str) -> bool:
    s = sql.lstrip().lower()
    return s.startswith("sum(") or s.startswith("count(")


def _measure_key(measure_id: str, filter: str | None) -> str:
    return measure_id if not filter else f"{measure_id}|{filter}"


def _custom_anchor(m: Any) -> tuple[Anchor, str]:
    anchor = Anchor(f"custom_{m.dataset}_{m.date}", m.dataset, f"t.{_q(m.date)} BETWEEN p.start AND p.\"end\"",
                    day=m.date)
    col = f"t.{_q(m.column)}" if m.column else "*"
    sql = {"sum": f"sum({col})", "count": "count(*)" if not m.column else f"count({col})",
           "count_distinct": f"count(DISTINCT {col})", "avg": f"avg({col})", "min": f"min({col})",
           "max": f"max({col})"}[m.agg]
    if m.filter:
        sql += f" FILTER (WHERE {m.filter})"
    return anchor, sql


def plan_queries(kpis: dict[str, ResolvedKpi], dimensions: dict[str, list[str]] | None = None) -> list[MeasureQuery]:
    """Group every measure the KPIs need into as few queries as possible.

    ``dimensions`` maps a dataset to the breakdown dimensions it has; the whole company is always
    included. An anchor whose relation depends on the segment gets one query per dimension.
    """
    dimensions = dimensions or {}
    groups: dict[tuple[str, str | None], tuple[Anchor, dict[str, str]]] = {}
    for kpi in kpis.values():
        if kpi.custom_measure is not None:
            anchor, sql = _custom_anchor(kpi.custom_measure)
            groups.setdefault((anchor.id, None), (anchor, {}))[1][f"custom__{kpi.id}"] = sql
            continue
        for name in kpi.formula.names:
            if name in MEASURES:
                m = MEASURES[name]
                groups.setdefault((m.anchor, kpi.filter), (ANCHORS[m.anchor], {}))[1][
                    _measure_key(name, kpi.filter)] = m.sql
    queries = []
    for (_, flt), (anchor, ms) in sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][1] or "")):
        dims = (WHOLE, *dimensions.get(anchor.dataset, []))
        measures = tuple(sorted(ms.items()))
        if anchor.per_segment_relation or anchor.split_dimensions:
            queries += [MeasureQuery(anchor, flt, (d,), measures) for d in dims]
        else:
            queries.append(MeasureQuery(anchor, flt, dims, measures))
    return queries


def plan_for(data: "LoadedData", kpis: dict[str, ResolvedKpi], breakdowns: list[str] | tuple[str, ...] = ()
             ) -> list[MeasureQuery]:
    """The queries for these (available) KPIs with the breakdowns each dataset supports."""
    used = set().union(*(kpi_datasets(v, kpis) for v in kpis.values())) if kpis else set()
    return plan_queries(kpis, {ds: [d for d in breakdowns if data.has(ds, d)] for ds in used})


def additive_columns(queries: list[MeasureQuery]) -> set[str]:
    """Result columns that are sums or counts (zero over no rows)."""
    return {col for q in queries for col, sql in q.measures if _is_additive(sql)}


def explain(queries: list[MeasureQuery]) -> str:
    """The SQL that would run, for `reportgen compute --explain`."""
    return ";\n\n".join(q.sql() for q in queries) + ";"


def run_queries(data: "LoadedData", queries: list[MeasureQuery], periods: list[Period]) -> dict[str, pd.DataFrame]:
    """Run the queries; return, per dimension (WHOLE = ""), measures on a (segment, ord) index."""
    con = data.con
    con.register("periods_df", _periods_frame(periods))
    con.execute("CREATE OR REPLACE TEMP TABLE periods AS SELECT * FROM periods_df")
    con.register("days_df", _days_frame(periods))
    con.execute("CREATE OR REPLACE TEMP TABLE days AS SELECT * FROM days_df")
    if any(q.anchor.days_table == "days_12m" or "days_12m" in q.anchor.relation for q in queries):
        con.register("days_12m_df", _days_frame(periods, window_months=12))
        con.execute("CREATE OR REPLACE TEMP TABLE days_12m AS SELECT * FROM days_12m_df")
    parts: dict[str, list[pd.DataFrame]] = {}
    for query in queries:
        try:
            frame = con.execute(query.sql()).df()
        except Exception as exc:
            where = f" (filter: {query.filter})" if query.filter else ""
            raise DataError(f"while computing measures on {query.anchor.dataset}{where}: "
                            f"{str(exc).splitlines()[0]}") from exc
        for dim, part in query.split(frame).items():
            parts.setdefault(dim, []).append(part)
    out: dict[str, pd.DataFrame] = {}
    for dim, frames in parts.items():
        joined = pd.concat(frames, axis=1)
        out[dim] = joined.loc[:, ~joined.columns.duplicated()]
    return out


def segments_of(data: "LoadedData", datasets: set[str], dimension: str,
                cache: dict[tuple[str, str], set[str]] | None = None) -> list[str]:
    """Distinct segment values of a dimension over the given datasets (missing values as '(blank)')."""
    cache = {} if cache is None else cache
    values: set[str] = set()
    for ds in sorted(datasets):
        if data.has(ds, dimension):
            if (ds, dimension) not in cache:
                rows = data.con.execute(
                    f"SELECT DISTINCT coalesce(CAST({_q(dimension)} AS VARCHAR), '(blank)') FROM {_q(ds)}").fetchall()
                cache[ds, dimension] = {r[0] for r in rows}
            values |= cache[ds, dimension]
    return sorted(values)


# --------------------------------------------------------------------------------------------------
# Targets and lookups per period
# --------------------------------------------------------------------------------------------------

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
            months = [m.label for m in period_range(period_containing(p.start, "month"), period_containing(p.end, "month"))]
            out[p.ordinal] = sum(by_label[m] for m in months) if all(m in by_label for m in months) else np.nan
        else:
            out[p.ordinal] = np.nan
    return pd.Series(out, dtype="float64")


def _targets_table(data: "LoadedData") -> pd.DataFrame:
    if not data.has("targets"):
        return pd.DataFrame(columns=["period", "kpi", "value", "scope"])
    scope = "coalesce(scope, 'all')" if data.has("targets", "scope") else "'all'"
    return data.con.execute(
        f"SELECT period, kpi, value, {scope} AS scope FROM targets WHERE value IS NOT NULL AND period IS NOT NULL"
    ).df()


def _lookup_table(data: "LoadedData", name: str) -> pd.DataFrame:
    ds = LOOKUPS[name]
    if not data.has(ds):
        return pd.DataFrame(columns=["period", "value"])
    return data.con.execute(f"SELECT period, {name} AS value FROM {_q(ds)} WHERE {name} IS NOT NULL").df()


# --------------------------------------------------------------------------------------------------
# Evaluation
# --------------------------------------------------------------------------------------------------

@dataclass
class _Grid:
    """Everything computed for one segmentation, on a complete (segment, ord) index."""

    index: pd.MultiIndex
    measures: pd.DataFrame
    values: dict[str, pd.Series]
    targets: dict[str, pd.Series]


def _grid_index(segments: list[str], periods: list[Period]) -> pd.MultiIndex:
    return pd.MultiIndex.from_product([segments, [p.ordinal for p in periods]], names=["segment", "ord"])


def _evaluate_grid(kpis: dict[str, ResolvedKpi], order: list[str], measures: pd.DataFrame,
                   index: pd.MultiIndex, periods: list[Period], target_rows: pd.DataFrame,
                   lookups: dict[str, pd.DataFrame], grain: str, additive: set[str]) -> _Grid:
    measures = measures.reindex(index).astype("float64")
    # sums and counts over no rows are zero (an absent row means no rows); custom avg/min/max stay missing
    zero_fill = [c for c in measures.columns if c in additive]
    measures[zero_fill] = measures[zero_fill].fillna(0.0)
    values: dict[str, pd.Series] = {}
    targets: dict[str, pd.Series] = {}
    segments = list(index.get_level_values(0).unique())

    def shift(series: pd.Series, n: int) -> pd.Series:
        return series.groupby(level=0).shift(n)

    def target_of(kid: str) -> pd.Series:
        if kid not in targets:
            targets[kid] = _target_series(kpis.get(kid), kid, target_rows, segments, periods, index)
        return targets[kid]

    def lookup_of(name: str) -> pd.Series:
        per_period = period_values(lookups[name], periods, additive=True)
        return pd.Series(index.get_level_values(1).map(per_period).astype("float64"), index=index)

    for kid in order:
        kpi = kpis[kid]

        def value(name: str, kpi: ResolvedKpi = kpi) -> pd.Series:
            if name.startswith("custom__"):
                return measures[name]
            if name in MEASURES:
                return measures[_measure_key(name, kpi.filter)]
            if name in values:
                return values[name]
            raise DataError(f"KPI {kpi.id!r} reads {name!r}, which is unavailable")

        scope = Scope(value=value, shift=shift, year_offset=PERIODS_PER_YEAR[grain], target=target_of,
                      lookup=lookup_of, params=kpi.params, index=index)
        try:
            values[kid] = evaluate(kpi.formula, scope)
        except (DataError, ConfigError):
            raise
        except Exception as exc:  # a bug or a surprising value: name the KPI, as mkdocs names the page
            raise DataError(f"while computing KPI {kid!r}: {exc}") from exc
    for kid in order:
        target_of(kid)
    return _Grid(index, measures, values, targets)


def _target_series(kpi: ResolvedKpi | None, kid: str, rows: pd.DataFrame, segments: list[str],
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


def _config_target(target: float | dict[str, float], periods: list[Period]) -> pd.Series:
    if isinstance(target, dict):
        return pd.Series({p.ordinal: float(target.get(p.label, np.nan)) for p in periods}, dtype="float64")
    return pd.Series({p.ordinal: float(target) for p in periods}, dtype="float64")


# --------------------------------------------------------------------------------------------------
# The result
# --------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Metrics:
    """The engine's output: the tidy metric table and what the renderers need to explain it."""

    table: pd.DataFrame
    kpis: dict[str, ResolvedKpi]
    unavailable: dict[str, str]
    periods: list[Period]
    quality: dict[str, "DatasetQuality"]
    grain: str

    @property
    def company(self) -> pd.DataFrame:
        """Whole-company rows only."""
        return self.table[self.table["dimension"] == WHOLE]

    def series(self, kpi: str, column: str = "value") -> pd.Series:
        """One KPI's whole-company values by period label, in period order."""
        rows = self.company[self.company["kpi"] == kpi]
        return pd.Series(rows[column].to_numpy(dtype="float64"), index=rows["period"].to_list())

    def row(self, kpi: str, period: str) -> pd.Series | None:
        rows = self.company[(self.company["kpi"] == kpi) & (self.company["period"] == period)]
        return None if rows.empty else rows.iloc[0]

    def breakdown(self, kpi: str, dimension: str, period: str) -> pd.DataFrame:
        t = self.table
        return t[(t["kpi"] == kpi) & (t["dimension"] == dimension) & (t["period"] == period)].sort_values("rank")


def compute_metrics(data: "LoadedData", kpis: dict[str, ResolvedKpi], periods: list[Period], *,
                    breakdowns: list[str] = (), breakdown_kpis: list[str] | None = None) -> Metrics:
    """Compute every available KPI for ``periods`` (whole company, and per segment of each breakdown)."""
    if not periods:
        raise DataError("no periods to compute")
    grain = periods[0].grain
    kpi_order(kpis)  # fail early on formula cycles
    unavailable = availability(kpis, data)
    usable = {k: v for k, v in kpis.items() if k not in unavailable}
    order = kpi_order(usable)
    ppy = PERIODS_PER_YEAR[grain]
    extended = period_range(periods[0].shift(-(ppy + 1)), periods[-1])
    target_rows = _targets_table(data)
    lookups = {name: _lookup_table(data, name) for name in LOOKUPS}
    wanted = {p.ordinal for p in periods}
    seen_segments: dict[tuple[str, str], set[str]] = {}
    frames = []

    queries = plan_for(data, usable, breakdowns)
    results = run_queries(data, queries, extended)
    additive = additive_columns(queries)
    empty = pd.DataFrame(index=pd.MultiIndex.from_tuples([], names=["segment", "ord"]))

    grid = _evaluate_grid(usable, order, results.get(WHOLE, empty), _grid_index([WHOLE], extended), extended,
                          target_rows, lookups, grain, additive)
    frames.append(_tidy(usable, grid, extended, wanted, WHOLE, ppy, data.quality))

    wanted_kpis = None if breakdown_kpis is None else _with_dependencies(breakdown_kpis, usable)
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
        grid = _evaluate_grid(dim_kpis, dim_order, results.get(dimension, empty), _grid_index(segments, extended),
                              extended, target_rows, lookups, grain, additive)
        tidy = _tidy(dim_kpis, grid, extended, wanted, dimension, ppy, data.quality)
        if breakdown_kpis is not None:
            tidy = tidy[tidy["kpi"].isin(breakdown_kpis)]
        # a KPI is shown only for segments that occur in its own datasets
        allowed = {k: set(segments_of(data, kpi_datasets(v, usable), dimension, seen_segments))
                   for k, v in dim_kpis.items()}
        keep = [seg in allowed[k] for k, seg in zip(tidy["kpi"], tidy["segment"])]
        frames.append(tidy[keep])
    table = pd.concat(frames, ignore_index=True)[METRIC_COLUMNS]
    return Metrics(table, kpis, unavailable, periods, data.quality, grain)


def _with_dependencies(ids: list[str], kpis: dict[str, ResolvedKpi]) -> set[str]:
    """The KPIs plus every KPI their formulas read, transitively."""
    out: set[str] = set()
    pending = [k for k in ids if k in kpis]
    while pending:
        kid = pending.pop()
        if kid not in out:
            out.add(kid)
            pending += [n for n in kpis[kid].formula.names if n in kpis]
    return out


def _tidy(kpis: dict[str, ResolvedKpi], grid: _Grid, periods: list[Period], wanted: set[int],
          dimension: str, ppy: int, quality: dict[str, "DatasetQuality"]) -> pd.DataFrame:
    """One long frame for all visible KPIs of a grid, comparisons computed column-wise at once."""
    visible = [k for k, v in kpis.items() if not v.hidden]
    if not visible:
        return pd.DataFrame(columns=METRIC_COLUMNS)
    by_ord = {p.ordinal: p for p in periods}
    values = pd.DataFrame({k: grid.values[k] for k in visible})
    # a comparison period that ends before the data begins is unknown, not zero: an executive
    # must not read "+100% vs last year" when last year simply is not in the export
    ends = pd.Series(values.index.get_level_values(1).map(lambda o: by_ord[o].end), index=values.index)
    known = values.copy()
    for kid in visible:
        begins = history_start(kpis[kid], kpis, quality)
        if begins is not None:
            known[kid] = values[kid].where(ends >= begins)
    prior = known.groupby(level=0).shift(1)
    year_ago = known.groupby(level=0).shift(ppy)
    targets = pd.DataFrame({k: grid.targets.get(k, pd.Series(np.nan, index=grid.index)) for k in visible})
    keep = values.index.get_level_values(1).isin(wanted)

    def long(frame: pd.DataFrame, name: str) -> pd.Series:
        return frame[keep].stack(future_stack=True).rename(name)

    out = pd.concat([long(values, "value"), long(prior, "prior"), long(year_ago, "year_ago"),
                     long(targets, "target")], axis=1)
    out.index = out.index.set_names(["segment", "ord", "kpi"])
    out = out.reset_index()
    out = _comparisons(out, kpis)
    out["period"] = out["ord"].map(lambda o: by_ord[o].label)
    out["period_start"] = out["ord"].map(lambda o: by_ord[o].start.isoformat())
    out["period_end"] = out["ord"].map(lambda o: by_ord[o].end.isoformat())
    out["dimension"] = dimension
    out["name"] = out["kpi"].map({k: kpis[k].name for k in visible})
    out["unit"] = out["kpi"].map({k: kpis[k].unit for k in visible})
    out["direction"] = out["kpi"].map({k: kpis[k].direction for k in visible})
    out["rank"] = _ranks(out, kpis) if dimension != WHOLE else np.nan
    kpi_pos = {k: i for i, k in enumerate(kpis)}
    out = out.sort_values(by=["kpi", "ord", "segment"], key=lambda c: c.map(kpi_pos) if c.name == "kpi" else c)
    return out.reset_index(drop=True)


def _comparisons(frame: pd.DataFrame, kpis: dict[str, ResolvedKpi]) -> pd.DataFrame:
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


def _ranks(frame: pd.DataFrame, kpis: dict[str, ResolvedKpi]) -> pd.Series:
    """Rank of each segment within (KPI, period): 1 = best by the KPI's direction; missing last."""
    ascending = frame["kpi"].map(lambda k: kpis[k].lower_is_better)
    key = frame["value"].where(ascending, -frame["value"])
    return key.groupby([frame["kpi"], frame["ord"]]).rank(method="min", na_option="keep")
