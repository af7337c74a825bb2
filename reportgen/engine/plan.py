"""SQL: the base aggregates (measures) per period, window and segment, in as few DuckDB queries as
possible.

Rows meet periods through a ``periods`` table (ord, base_ord, start, end, day_before, start_12m) and a
``days`` table mapping each day to the ords whose interval holds it, so "date in P" is an equi-join.
A to-date window is one more row of that table: the interval [window start, P.end] with its own ord
(``base_ord`` is its period's), so a window is computed as one period with the KPI's own definition,
never as a sum of period values. A day may map to several overlapping rows; the equi-join still works.
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from reportgen.data.sql import q
from reportgen.engine import staged
from reportgen.engine.resolve import ResolvedKpi, kpi_datasets, with_snapshot_columns
from reportgen.errors import DataError
from reportgen.kpis.catalogue import ANCHORS, MEASURES, Anchor
from reportgen.kpis.periods import Period, months_back

if TYPE_CHECKING:
    from reportgen.data import LoadedData

WHOLE = ""  # dimension and segment of whole-company rows
#: Joins a burst's value and a segment into the one key a per-segment relation groups by (unit separator).
PARTITION_SEPARATOR = "\x1f"


@dataclass(frozen=True)
class Interval:
    """One row of the periods table: a period, or a to-date window ending at its period's end."""

    ord: int
    base_ord: int
    start: date
    end: date


def _intervals(rows: Sequence[Period | Interval]) -> list[Interval]:
    return [r if isinstance(r, Interval) else Interval(r.ordinal, r.ordinal, r.start, r.end) for r in rows]


def _periods_frame(periods: Sequence[Period | Interval]) -> pd.DataFrame:
    rows = _intervals(periods)
    return pd.DataFrame({
        "ord": [r.ord for r in rows],
        "base_ord": [r.base_ord for r in rows],
        "start": [r.start for r in rows],
        "end": [r.end for r in rows],
        "day_before": [date.fromordinal(r.start.toordinal() - 1) for r in rows],
        "start_12m": [months_back(r.end, 12) for r in rows],
    })


def _days_frame(periods: Sequence[Period | Interval], window_months: int = 0) -> pd.DataFrame:
    """Every day of the intervals (or of their trailing ``window_months`` windows) with the row's
    ordinal: turns "date in P" and "date in the 12 months ending P.end" into equi-joins."""
    days, ords, base = [], [], []
    for r in _intervals(periods):
        first = (months_back(r.end, window_months) if window_months else r.start).toordinal()
        n_days = r.end.toordinal() - first + 1
        days += [date.fromordinal(first + n) for n in range(n_days)]
        ords += [r.ord] * n_days
        base += [r.base_ord] * n_days
    return pd.DataFrame({"dday": days, "ord": ords, "base_ord": base})


@dataclass(frozen=True)
class MeasureQuery:
    """One SQL query: the measures sharing an anchor and a row filter, for the whole company and
    every breakdown dimension at once (GROUPING SETS), so each dataset is joined to periods once."""

    anchor: Anchor
    filter: str | None
    dimensions: tuple[str, ...]  # WHOLE ("") and/or dimension columns
    measures: tuple[tuple[str, str], ...]  # (column name in the result, aggregate SQL)
    two_stage: bool = True  # aggregate per atom first when the anchor and measures allow it (engine.staged)
    #: A burst's dimension: every group is also grouped by its value (column ``__p`` of the result), so
    #: one query computes every segment's measures (``engine.partition``). Rows without a value are left out.
    partition: str | None = None

    def sql(self) -> str:
        a = self.anchor
        dims = [d for d in self.dimensions if d != WHOLE]
        conditions = [c for c in (self.filter, self.partition and f"{q(self.partition)} IS NOT NULL") if c]
        where = f"WHERE {' AND '.join(f'({c})' for c in conditions)}" if conditions else ""
        part = bool(self.partition)
        value = f", CAST({q(self.partition)} AS VARCHAR) AS __p" if self.partition else ""
        parts = staged.split_measures(self.measures) if self.two_stage and stageable(a) else None
        if parts is not None:
            head = f"WITH base AS (SELECT *{value} FROM {q(a.dataset)} {where}),\n     rel AS ({a.relation})"
            if a.day:
                return staged.day_sql(head, a.days_table, a.day, a.where, dims, WHOLE in self.dimensions, parts, part)
            assert a.opens and a.closes
            return staged.interval_sql(head, a.opens, a.closes, dims, WHOLE in self.dimensions, parts, part)
        segment = ""
        if a.per_segment_relation:  # one dimension per query: the relation groups by it
            seg_expr = "''" if not dims else f"coalesce(CAST({q(dims[0])} AS VARCHAR), '(blank)')"
            if self.partition:  # the relation groups by the burst's value too: both in one key
                seg_expr = f"CAST({q(self.partition)} AS VARCHAR) || chr({ord(PARTITION_SEPARATOR)}) || {seg_expr}"
            segment = f", {seg_expr} AS __segment"
            value = ""
        aggs = ",\n       ".join(
            f"{zero_when_no_rows(sql)} AS {q(col)}" if _is_additive(sql) else f"{sql} AS {q(col)}"
            for col, sql in self.measures
        )
        if a.day:
            source = f"rel t JOIN {a.days_table} d ON t.{q(a.day)} = d.dday" + (f" WHERE {a.where}" if a.where else "")
            ord_col = "d.ord"
        else:
            source = f"periods p JOIN rel t ON {a.join}"
            ord_col = "p.ord"
        if a.per_segment_relation:
            select = f"{ord_col} AS ord, t.__segment AS __s0"
            group = f"GROUP BY {ord_col}, t.__segment"
        else:
            select = ", ".join([f"{ord_col} AS ord", *(["t.__p AS __p"] if part else []), *staged.grouping_flags(dims)])
            group = staged.grouping_sets(ord_col + (", t.__p" if part else ""), dims, WHOLE in self.dimensions)
        return (f"WITH base AS (SELECT *{segment}{value} FROM {q(a.dataset)} {where}),\n"
                f"     rel AS ({a.relation})\n"
                f"SELECT {select},\n       {aggs}\n"
                f"FROM {source}\n{group}")

    def split(self, frame: pd.DataFrame) -> dict[str, MeasureRows]:
        """Cut the query result into each dimension's rows (the whole company's segment is WHOLE)."""
        cols = [c for c, _ in self.measures]
        dims = [d for d in self.dimensions if d != WHOLE]
        ords = frame["ord"].to_numpy().astype(np.int64)
        values = frame[cols].astype("float64").to_numpy()
        whole = np.full(len(frame), WHOLE, dtype=object)

        def rows(segments: npt.NDArray[np.object_], keep: npt.NDArray[np.bool_] | None = None) -> MeasureRows:
            if keep is None:
                return MeasureRows(segments, ords, values, cols)
            return MeasureRows(segments[keep], ords[keep], values[keep], cols)

        def segment(i: int) -> npt.NDArray[np.object_]:
            return frame[f"__s{i}"].to_numpy(dtype=object)

        if self.anchor.per_segment_relation:
            return {dims[0]: rows(segment(0))} if dims else {WHOLE: rows(whole)}
        if not dims:
            return {WHOLE: rows(whole)}
        flags = [frame[f"__g{i}"].to_numpy() for i in range(len(dims))]
        out: dict[str, MeasureRows] = {}
        if WHOLE in self.dimensions:
            out[WHOLE] = rows(whole, np.logical_and.reduce([f == 1 for f in flags]))
        for i, dim in enumerate(dims):
            out[dim] = rows(segment(i), flags[i] == 0)
        return out


@dataclass(frozen=True)
class MeasureRows:
    """One query's result rows for one dimension: the segment and ord of each row, and its measures
    (float columns named ``columns``). Plain arrays: the engine places them on its grids by position."""

    segments: npt.NDArray[np.object_]
    ords: npt.NDArray[np.int64]
    values: npt.NDArray[np.float64]  # rows x columns
    columns: list[str]


_SUM = re.compile(r"^\s*f?sum\((?P<arg>.*?)\)(?:\s+FILTER\s*\(WHERE\s+(?P<cond>.*)\))?\s*$", re.IGNORECASE | re.DOTALL)


def zero_when_no_rows(sql: str) -> str:
    """A sum over no rows is 0; a sum over rows whose values are all missing (unreadable amounts) is
    missing, never 0: the data said there were won deals, it did not say they were worth nothing."""
    m = _SUM.match(sql)
    if not m:
        return f"coalesce({sql}, 0)"
    rows = f"count(*) FILTER (WHERE {m.group('cond')})" if m.group("cond") else "count(*)"
    return f"CASE WHEN {rows} = 0 THEN 0 ELSE {sql} END"


def _is_additive(sql: str) -> bool:
    s = sql.lstrip().lower()
    return s.startswith(("sum(", "fsum(", "count("))


def stageable(anchor: Anchor) -> bool:
    """Whether the anchor places rows so that sums and counts can be aggregated in two stages."""
    if anchor.per_segment_relation or anchor.snapshot:
        return False
    return bool(anchor.day or (anchor.opens and anchor.closes))


def measure_key(measure_id: str, filter: str | None) -> str:
    return measure_id if not filter else f"{measure_id}|{filter}"


def snapshot_days_table(dataset: str) -> str:
    """The (quoted) table mapping each period of a snapshot dataset to its last snapshot day."""
    return q(f"snapshot_days__{dataset}")


def _custom_anchor(m: Any) -> tuple[Anchor, str]:
    if m.snapshot:  # rows of the period's last snapshot only (its as-of column cast to a day)
        day = f"CAST(t.{q(m.date)} AS DATE)"
        anchor = Anchor(f"snapshot_{m.dataset}_{m.date}", m.dataset, f"{day} = p.snapshot_day", day="__as_of",
                        relation=f"SELECT *, CAST({q(m.date)} AS DATE) AS __as_of FROM base",
                        days_table=snapshot_days_table(m.dataset), snapshot=True)
    else:
        anchor = Anchor(f"custom_{m.dataset}_{m.date}", m.dataset, f"t.{q(m.date)} BETWEEN p.start AND p.\"end\"",
                        day=m.date)
    col = f"t.{q(m.column)}" if m.column else "*"
    sql = {"sum": f"fsum({col})", "count": "count(*)" if not m.column else f"count({col})",
           "count_distinct": f"count(DISTINCT {col})", "avg": f"favg({col})", "min": f"min({col})",
           "max": f"max({col})"}[m.agg]
    if m.filter:
        sql += f" FILTER (WHERE {m.filter})"
    return anchor, sql


def plan_queries(kpis: dict[str, ResolvedKpi], dimensions: dict[str, list[str]] | None = None, *,
                 two_stage: bool = True, whole: bool = True) -> list[MeasureQuery]:
    """Group every measure the KPIs need into as few queries as possible.

    ``dimensions`` maps a dataset to the breakdown dimensions it has; the whole company is included
    unless ``whole`` is false. An anchor whose relation depends on the segment gets one query per
    dimension. Measures that can be added up in two stages (``engine.staged``) go in one query, the
    others in another.
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
                    measure_key(name, kpi.filter)] = m.sql
    queries = []
    for (_, flt), (anchor, ms) in sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][1] or "")):
        dims = ((WHOLE,) if whole else ()) + tuple(dimensions.get(anchor.dataset, []))
        if not dims:
            continue
        together = tuple(sorted(ms.items()))
        if two_stage and stageable(anchor):
            kinds = {m: (p.kind if (p := staged.split_measure(*m)) else None) for m in together}
            groups_of = [tuple(m for m in together if kinds[m] in ("sum", "count")),
                         *((m,) for m in together if kinds[m] == "distinct"),
                         tuple(m for m in together if kinds[m] is None)]
        else:
            groups_of = [together]
        for measures in (g for g in groups_of if g):
            if anchor.per_segment_relation or anchor.split_dimensions:
                queries += [MeasureQuery(anchor, flt, (d,), measures, two_stage) for d in dims]
            else:
                queries.append(MeasureQuery(anchor, flt, dims, measures, two_stage))
    return queries


def plan_for(data: LoadedData, kpis: dict[str, ResolvedKpi], breakdowns: Sequence[str] = (),
             breakdown_kpis: set[str] | None = None) -> list[MeasureQuery]:
    """The queries for these (available) KPIs with the breakdowns each dataset supports.

    ``breakdown_kpis``: only these KPIs (with every KPI they read) are broken down; None for all. The
    whole company's measures then get queries of their own and the breakdowns theirs, holding only
    the measures those KPIs read: a scorecard that breaks down one headline KPI does not aggregate a
    dozen measures per segment (the closed-deals query on 1M rows: about half the time).
    """
    kpis = with_snapshot_columns(kpis, data.quality)  # as compute_metrics does (`compute --explain` calls this alone)
    used = set().union(*(kpi_datasets(v, kpis) for v in kpis.values())) if kpis else set()
    dims = {ds: [d for d in breakdowns if data.has(ds, d)] for ds in used}
    if breakdown_kpis is None or not any(dims.values()):
        return plan_queries(kpis, dims)
    broken_down = {k: v for k, v in kpis.items() if k in breakdown_kpis}
    return plan_queries(kpis) + plan_queries(broken_down, dims, whole=False)


def additive_columns(queries: list[MeasureQuery]) -> set[str]:
    """Result columns that are sums or counts (zero over no rows)."""
    return {col for query in queries for col, sql in query.measures if _is_additive(sql)}


def explain(queries: list[MeasureQuery]) -> str:
    """The SQL that would run, for `reportgen compute --explain`."""
    return ";\n\n".join(query.sql() for query in queries) + ";"


def run_queries(data: LoadedData, queries: list[MeasureQuery],
                periods: Sequence[Period | Interval]) -> dict[str, list[MeasureRows]]:
    """Run the queries over the periods (and window) rows; return, per dimension (WHOLE = ""), each
    query's rows (``evaluate.measure_grid`` places them on a segment x period grid)."""
    return measures_by_dimension(queries, query_frames(data, queries, periods))


def measures_by_dimension(queries: list[MeasureQuery], frames: list[pd.DataFrame]) -> dict[str, list[MeasureRows]]:
    """The queries' results (one frame each) as each query's rows per dimension."""
    parts: dict[str, list[MeasureRows]] = {}
    for query, frame in zip(queries, frames, strict=True):
        for dim, part in query.split(frame).items():
            parts.setdefault(dim, []).append(part)
    return parts


def query_frames(data: LoadedData, queries: list[MeasureQuery],
                 periods: Sequence[Period | Interval]) -> list[pd.DataFrame]:
    """Each query's result as it comes from the database, after creating the helper tables it reads."""
    con = data.con
    sqls = [query.sql() for query in queries]
    used = " ".join(sqls)
    optional = frozenset(n for n in ("days_12m", "days_atom", "days_12m_atom", "period_ends") if n in used)
    for name, frame in _calendar_tables(tuple(_intervals(periods)), optional).items():
        con.register(f"{name}_df", frame)
        con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT * FROM {name}_df")
        con.unregister(f"{name}_df")
    for anchor in {query.anchor for query in queries if query.anchor.snapshot}:
        con.register("snapshot_days_df", snapshot_days(data.quality[anchor.dataset].snapshots, _intervals(periods)))
        con.execute(f"CREATE OR REPLACE TEMP TABLE {anchor.days_table} AS "
                    "SELECT CAST(dday AS DATE) AS dday, ord, base_ord FROM snapshot_days_df")
        con.unregister("snapshot_days_df")
    frames = []
    for query, sql in zip(queries, sqls, strict=True):
        try:
            frames.append(data.query(sql))  # in DuckDB, or in the database of a pushed-down dataset
        except Exception as exc:
            where = f" (filter: {query.filter})" if query.filter else ""
            raise DataError(f"while computing measures on {query.anchor.dataset}{where}: "
                            f"{_engine_words(exc)}") from exc
    return frames


def _engine_words(exc: Exception) -> str:
    """The engine's error in reportgen's words where it is a refusal: DuckDB runs with file access
    off, and its "Permission Error: Cannot access file ..." means a filter tried to read a file."""
    import re

    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if type(exc).__name__ == "PermissionException" or text.startswith("Permission Error"):
        target = re.search(r'access (?:file|directory) "([^"]*)"', text)
        what = f"the file {target.group(1)!r}" if target else "a file or the network"
        return (f"refused: the filter reads {what}; a filter is a condition on the dataset's own columns "
                "and cannot read files")
    return text


def snapshot_days(snapshots: Sequence[date], rows: Sequence[Interval]) -> pd.DataFrame:
    """Each interval's last snapshot day (dday -> ord, as the ``days`` table): a period without one has
    no row, so its value is missing by coverage, never 0 and never an earlier snapshot carried forward."""
    days, ords, base = [], [], []
    for r in rows:
        last = max((d for d in snapshots if r.start <= d <= r.end), default=None)
        if last is not None:
            days.append(last)
            ords.append(r.ord)
            base.append(r.base_ord)
    return pd.DataFrame({"dday": pd.Series(days, dtype="object"), "ord": pd.Series(ords, dtype="int64"),
                         "base_ord": pd.Series(base, dtype="int64")})


@lru_cache(maxsize=4)
def _calendar_tables(rows: tuple[Interval, ...], optional: frozenset[str]) -> dict[str, pd.DataFrame]:
    """The small tables the queries join to (periods, days, and those in ``optional`` that the SQL
    names), built in Python from the intervals alone. Cached: every segment of a burst reports the
    same periods, and building them (days, atoms) costs about as much as a segment's pandas stage.
    The frames are only read (registered as DuckDB tables), never changed."""
    periods_frame = _periods_frame(rows)
    tables = {"periods": periods_frame, "days": _days_frame(rows)}
    if "days_12m" in optional:
        tables["days_12m"] = _days_frame(rows, window_months=12)
    for days in ("days", "days_12m"):
        if f"{days}_atom" in optional:
            tables[f"{days}_atom"], tables[f"{days}_atom_ord"] = staged.atom_tables(tables[days])
    if "period_ends" in optional:
        tables["period_ends"], tables["end_days"], tables["end_bounds"] = staged.end_tables(periods_frame)
    return tables


def segments_of(data: LoadedData, datasets: set[str], dimension: str,
                cache: dict[tuple[str, str], set[str]] | None = None) -> list[str]:
    """Distinct segment values of a dimension over the given datasets (missing values as '(blank)')."""
    cache = {} if cache is None else cache
    values: set[str] = set()
    for ds in sorted(datasets):
        if data.has(ds, dimension):
            if (ds, dimension) not in cache:
                rows = data.query(
                    f"SELECT DISTINCT coalesce(CAST({q(dimension)} AS VARCHAR), '(blank)') FROM {q(ds)}").values
                cache[ds, dimension] = {r[0] for r in rows}
            values |= cache[ds, dimension]
    return sorted(values)
