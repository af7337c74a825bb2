"""Two-stage aggregation: sums and counts are added up per *atom* first, then per period.

Why: the periods table holds overlapping intervals (each month and its year-to-date, quarter-to-date
and 12-month windows), so a row joined straight to the intervals it falls in is counted in up to a dozen
of them before aggregation: 1M deals became 7M joined rows. Sums and counts can be added up in two
steps without changing them, so the rows are first aggregated once per atom, a set of days that belong
to exactly the same intervals, and the few thousand partial aggregates are then joined to the
intervals. The result has the same columns as the one-stage query (``MeasureQuery.sql``).

Two anchor shapes qualify:

- **day anchors** (a row sits on one day: ``close_date in P``): day -> atom is an equi-join;
- **open-interval anchors** (a row counts at P.end while ``opens <= P.end < closes``: deals open at the
  end of the period, subscriptions active at its end): each row becomes the pair (number of period
  ends before ``opens``, number before ``closes``), and a period end k counts the pairs with
  ``from <= k < until``.

Only measures that are a single ``sum(...)``, ``fsum(...)`` or ``count(...)`` (optionally with ``FILTER``) qualify;
``count(DISTINCT ...)``, averages and anything else keep the one-stage query.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

import pandas as pd

from reportgen.data.sql import q

_AGGREGATE = re.compile(r"^\s*(?P<fn>f?sum|count)\s*\(", re.IGNORECASE)
_NESTED = re.compile(r"\b(f?sum|count|f?avg|min|max|median|quantile\w*|list|string_agg|any_value|first|last)\s*\(",
                     re.IGNORECASE)
_FILTER = re.compile(r"^\s*FILTER\s*\(\s*WHERE\s+(?P<cond>.*)\)\s*$", re.IGNORECASE | re.DOTALL)
_PERIOD_REFERENCE = re.compile(r"\b[pd]\s*\.")


@dataclass(frozen=True)
class Partial:
    """A measure split in two: what stage one computes per atom and how stage two adds it up."""

    column: str
    kind: str  # "sum", "count", or "distinct" (count(DISTINCT value): its query holds it alone)
    sql: str  # the measure itself, evaluated per atom; for "distinct" the counted value
    rows: str | None  # sum: count of the rows it adds (a sum over no rows is 0, over NULLs is NULL);
    #                   distinct: the FILTER condition, if any


def _closing_paren(text: str, start: int) -> int | None:
    """Index of the parenthesis closing the one opened at ``start``, skipping quoted strings."""
    depth, quote = 0, ""
    for i in range(start, len(text)):
        ch = text[i]
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0:
                return i
    return None


def split_measure(column: str, sql: str) -> Partial | None:
    """The two-stage form of one measure, or None when it cannot be added up in two steps."""
    m = _AGGREGATE.match(sql)
    if not m or _PERIOD_REFERENCE.search(sql):
        return None
    close = _closing_paren(sql, m.end() - 1)
    if close is None:
        return None
    argument, rest = sql[m.end():close], sql[close + 1:]
    distinct = re.match(r"\s*DISTINCT\b", argument, re.IGNORECASE)
    if _NESTED.search(argument) or (distinct and m.group("fn").lower() != "count"):
        return None
    condition = None
    if rest.strip():
        f = _FILTER.match(rest)
        if not f or _NESTED.search(f.group("cond")):
            return None
        condition = f.group("cond")
    if distinct:  # distinct values per atom first; a value in two atoms of one period is still counted once
        return Partial(column, "distinct", argument[distinct.end():].strip(), condition)
    kind = "sum" if m.group("fn").lower() == "fsum" else m.group("fn").lower()
    rows = None
    if kind == "sum":
        rows = f"count(*) FILTER (WHERE {condition})" if condition else "count(*)"
    return Partial(column, kind, sql, rows)


def split_measures(measures: Iterable[tuple[str, str]]) -> list[Partial] | None:
    """Every measure's two-stage form, or None if any of them has none (or a distinct count shares
    the query with another measure: its stage one groups by the counted value)."""
    out = []
    for column, sql in measures:
        part = split_measure(column, sql)
        if part is None:
            return None
        out.append(part)
    if len(out) > 1 and any(p.kind == "distinct" for p in out):
        return None
    return out


def partial_columns(parts: list[Partial]) -> list[str]:
    """Stage one's aggregates, one or two columns per measure (a distinct count has its own stages)."""
    cols = []
    for p in parts:
        cols.append(f"{p.sql} AS {q(p.column)}")
        if p.rows:
            cols.append(f"{p.rows} AS {q(p.column + '__rows')}")
    return cols


def final_columns(parts: list[Partial]) -> list[str]:
    """Stage two: counts add up (0 where no atom had rows); a sum is 0 over no rows and stays NULL
    when its rows had no readable value, exactly as the one-stage ``zero_when_no_rows``. The atoms'
    sums are added with ``fsum``, so the result does not depend on the order they arrive in."""
    cols = []
    for p in parts:
        c = q(p.column)
        if p.kind == "count":
            cols.append(f"coalesce(sum({c}), 0) AS {c}")
        else:
            cols.append(f"CASE WHEN coalesce(sum({q(p.column + '__rows')}), 0) = 0 THEN 0 ELSE fsum({c}) END AS {c}")
    return cols


# --------------------------------------------------------------------------------------------------
# The small tables stage two joins to (built from the periods table by run_queries)
# --------------------------------------------------------------------------------------------------

def atom_tables(days: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """From a day -> ord table (a day in several overlapping intervals has several rows): day -> atom,
    and atom -> ord. An atom is the set of days that belong to exactly the same intervals."""
    ords: dict[date, list[int]] = {}
    for day, ord_ in zip(days["dday"], days["ord"], strict=True):
        ords.setdefault(day, []).append(int(ord_))
    atoms: dict[tuple[int, ...], int] = {}
    day_atom: list[int] = []
    for day in ords:
        key = tuple(sorted(set(ords[day])))
        day_atom.append(atoms.setdefault(key, len(atoms)))
    pairs = [(atom, o) for key, atom in atoms.items() for o in key]
    return (pd.DataFrame({"dday": list(ords), "atom": day_atom}),
            pd.DataFrame({"atom": [a for a, _ in pairs], "ord": [o for _, o in pairs]}))


def end_tables(periods: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """For open-interval anchors: each interval's end as an index k into the sorted distinct ends
    (k, ord); every day between the first and last end with the number of ends before it (dday, idx);
    and one row (lo, hi, n) for days outside that span (0 ends before lo or earlier, n after hi)."""
    ends = sorted(set(periods["end"]))
    index = {e: k for k, e in enumerate(ends)}
    period_ends = pd.DataFrame({"k": [index[e] for e in periods["end"]], "ord": list(periods["ord"])})
    days, idx = [], []
    day, k = ends[0] + timedelta(days=1), 1
    while day <= ends[-1]:
        while k < len(ends) and ends[k] < day:
            k += 1
        days.append(day)
        idx.append(k)
        day += timedelta(days=1)
    bounds = pd.DataFrame({"lo": [ends[0]], "hi": [ends[-1]], "n": [len(ends)]})
    return period_ends, pd.DataFrame({"dday": days, "idx": idx}), bounds


def _index_of(column: str, alias: str) -> str:
    """Number of period ends strictly before a date column (its row is never NULL here)."""
    return f"coalesce({alias}.idx, CASE WHEN t.{column} <= b.lo THEN 0 ELSE b.n END)"


def grouping_flags(dims: list[str], alias: str = "t") -> list[str]:
    """Per breakdown dimension (a column of ``alias``): whether a row of a GROUPING SETS result is
    grouped by it, and its segment."""
    out = []
    for i, d in enumerate(dims):
        col = f"{alias}.{q(d)}"
        out += [f"GROUPING({col}) AS __g{i}", f"coalesce(CAST({col} AS VARCHAR), '(blank)') AS __s{i}"]
    return out


def grouping_sets(keys: str, dims: list[str], whole: bool, alias: str = "t") -> str:
    """``GROUP BY`` over ``keys`` alone (the whole company, when asked) and with each dimension."""
    if not dims:
        return f"GROUP BY {keys}"
    sets = [f"({keys})"] if whole else []
    sets += [f"({keys}, {alias}.{q(d)})" for d in dims]
    return f"GROUP BY GROUPING SETS ({', '.join(sets)})"


def _distinct_value(parts: list[Partial]) -> tuple[str, str | None]:
    """For a distinct count: the value as a column of its own (``, value AS __v``), so that GROUPING()
    of a breakdown dimension is not confused when the counted value is that dimension, and the
    condition for stage one's rows (its FILTER, a value present: count(DISTINCT) ignores NULL)."""
    if parts[0].kind != "distinct":
        return "", None
    conditions = [c for c in (parts[0].rows, "t.__v IS NOT NULL") if c]
    return f", {parts[0].sql} AS __v", " AND ".join(f"({c})" for c in conditions)


def _and(*conditions: str | None) -> str:
    kept = [c for c in conditions if c]
    return f" WHERE {' AND '.join(kept)}" if kept else ""


def day_sql(head: str, days_table: str, day: str, where: str | None, dims: list[str], whole: bool,
            parts: list[Partial], partition: bool = False) -> str:
    """Stage one per atom (``rel t`` joined to its day's atom), stage two per interval; ``partition``:
    every group also by the burst's value ``__p`` (see ``MeasureQuery.partition``)."""
    value, rows = _distinct_value(parts)
    source = (f"(SELECT t.*{value} FROM rel t) t JOIN {days_table}_atom a ON t.{q(day)} = a.dday"
              f"{_and(where, rows)}")
    join = f"{days_table}_atom_ord o ON s.__k = o.atom"
    return _stages(head, "a.atom AS __k", source, join, dims, whole, parts, partition)


def _bare(keys: str) -> str:
    """``a.atom AS __k, t.__p AS __p`` -> ``a.atom, t.__p``: the expressions of a select list of keys."""
    return ", ".join(k.split(" AS ")[0] for k in keys.split(", "))


def interval_sql(head: str, opens: str, closes: str, dims: list[str], whole: bool, parts: list[Partial],
                 partition: bool = False) -> str:
    """Stage one per (ends before ``opens``, ends before ``closes``), stage two per period end."""
    value, rows = _distinct_value(parts)
    spans = (f"SELECT t.*, {_index_of('__opens', 'f')} AS __from, {_index_of('__closes', 'u')} AS __until "
             f"FROM (SELECT t.*, {opens} AS __opens, {closes} AS __closes{value} FROM rel t) t "
             f"CROSS JOIN end_bounds b LEFT JOIN end_days f ON t.__opens = f.dday "
             f"LEFT JOIN end_days u ON t.__closes = u.dday "
             f"WHERE t.__opens IS NOT NULL AND t.__closes IS NOT NULL")
    source = f"({spans}) t{_and('__from < __until', rows)}"
    join = "period_ends o ON s.__from <= o.k AND o.k < s.__until"
    return _stages(head, "__from, __until", source, join, dims, whole, parts, partition)


def _stages(head: str, keys: str, source: str, join: str, dims: list[str], whole: bool, parts: list[Partial],
            partition: bool) -> str:
    """Both stages over ``source`` grouped by ``keys`` (plus the burst's value when ``partition``):
    a distinct count in its own shape, sums and counts through ``_stage_two``."""
    keys += ", t.__p AS __p" if partition else ""
    if parts[0].kind == "distinct":
        return _distinct_stages(head, keys, source, join, dims, whole, parts[0], partition)
    select = ", ".join([keys, *grouping_flags(dims), *partial_columns(parts)])
    stage_one = f"SELECT {select} FROM {source} " + grouping_sets(_bare(keys), dims, whole)
    return _stage_two(head, stage_one, join, len(dims), parts, partition)


def _distinct_stages(head: str, keys: str, source: str, join: str, dims: list[str], whole: bool,
                     part: Partial, partition: bool = False) -> str:
    """A distinct count: stage one keeps each (atom, dimensions, value) once with a plain GROUP BY;
    the grouping sets run in stage two. (Grouping sets in stage one would group by the counted value,
    and where that value is a breakdown dimension, GROUPING() of the dimension could no longer tell
    the whole-company rows from the dimension's: PostgreSQL folds the two into one expression.)"""
    names = [f"__d{i}" for i in range(len(dims))]
    select = ", ".join([keys, *(f"t.{q(d)} AS {n}" for d, n in zip(dims, names)), "t.__v AS __v"])
    group = ", ".join([_bare(keys), *(f"t.{q(d)}" for d in dims), "t.__v"])
    stage_one = f"SELECT {select} FROM {source} GROUP BY {group}"
    group_two = grouping_sets("o.ord" + (", s.__p" if partition else ""), names, whole, alias="s")
    select_two = ", ".join(["o.ord AS ord", *(["s.__p AS __p"] if partition else []),
                            *grouping_flags(names, alias="s"), f"count(DISTINCT s.__v) AS {q(part.column)}"])
    return f"{head},\n     stage_one AS ({stage_one})\nSELECT {select_two}\nFROM stage_one s JOIN {join}\n{group_two}"


def _stage_two(head: str, stage_one: str, join: str, n_dims: int, parts: list[Partial],
               partition: bool = False) -> str:
    keys = (["s.__p"] if partition else []) + [f"s.__{g}{i}" for i in range(n_dims) for g in ("g", "s")]
    select = ", ".join(["o.ord AS ord", *(f"{k} AS {k[2:]}" for k in keys), *final_columns(parts)])
    group = ", ".join(["o.ord", *keys])
    return f"{head},\n     stage_one AS ({stage_one})\nSELECT {select}\nFROM stage_one s JOIN {join}\nGROUP BY {group}"
