"""The canonical columns a dataset gets and the one pass that types them.

``plan`` (in ``load``) decides where each column comes from; here a sample settles how its numbers and
dates are written (``formats``), and ``typed_projection`` writes the single SELECT that trims, parses
and checks every value once, with a flag for each value it could not read.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from reportgen.data import formats as fmt
from reportgen.data.sql import clean_text, lit, one_row, q
from reportgen.errors import DataError
from reportgen.kpis.datasets import StageName

#: The keys of a deals dataset's ``stages:`` mapping (its value map for the stage column).

if TYPE_CHECKING:
    import duckdb

    from reportgen.config.datasets import Dataset

#: Rows read to settle number and date styles (a full scan settles D/M order only when the sample cannot).
SAMPLE_ROWS = 50_000
#: Distinct values per column (the first in code point order) that the styles are settled from.
SAMPLE_VALUES = 5_000


@dataclass(frozen=True)
class Column:
    """One canonical column to build: where its value comes from and what type it gets."""

    name: str
    type: str  # id, text, category, number, date, timestamp
    expr: str  # SQL over the source view
    textual: bool  # the source value is text as written (parse it) rather than already typed
    values: tuple[str, ...] = ()  # canonical values of a category column
    value_map: Mapping[str, list[str]] | Mapping[StageName, list[str]] | None = None
    formula: str | None = None  # a computed column: SQL over the typed number columns it reads (``computed``)


def kind_of(column_type: str) -> str:
    """What the engine sees of a column type: number, date (timestamps too) or text."""
    return {"number": "number", "date": "date", "timestamp": "date"}.get(column_type, "text")


def typed_projection(columns: list[Column], styles: dict[str, Any], view: str, *, structure: str | None = None,
                     passthrough: tuple[str, ...] = (), extra_text: tuple[str, ...] = ()) -> tuple[str, list[str]]:
    """The one pass that types every column, as three nested projections so each value is trimmed,
    then parsed, then checked exactly once (written flat, DuckDB parsed every date three or four times):
    text -> parsed -> checked values plus a "could not read" flag per column. Returns the SELECT
    (with a ``{view}`` placeholder) and the columns that have a flag.

    ``structure`` (``structure.structure_case`` over the first projection's trimmed text, which
    ``extra_text`` may add to) labels rows that are not data in
    ``__struct``; their values are not flagged as unreadable (a repeated header's "Amount" is not a
    number nobody could read). ``passthrough``: columns of the view carried as they are (join flags)."""
    carried = ["__row", *passthrough]
    text, parsed, final, flags = [*carried, *extra_text], list(carried), list(carried), []
    if structure:  # over the trimmed text of the first projection: no value is trimmed twice
        parsed.append(f"{structure} AS __struct")
        final.append("__struct")
    not_struct = " AND __struct IS NULL" if structure else ""
    for col in columns:
        style = styles.get(col.name)
        if col.formula is not None:  # over the typed inputs, which the parsed projection names
            final.append(f"{col.formula} AS {q(col.name)}")
            continue
        if col.type in ("id", "text"):
            expr, _ = typed_sql(col, style)
            text.append(f"{expr} AS {q(col.name)}")
            parsed.append(q(col.name))
            final.append(q(col.name))
            continue
        raw = q(col.name + "__t")
        trimmed = clean_text(col.expr) if col.textual else col.expr
        text.append(f"{trimmed} AS {raw}")
        inner = replace(col, expr=raw)
        parsed.append(raw)
        if col.type in ("date", "timestamp"):
            ts = q(col.name + "__p")
            unchecked = fmt.date_sql(raw, style or fmt.DateStyle("iso"), checked=False, clean=True) if col.textual \
                else f"TRY_CAST({raw} AS TIMESTAMP)"
            parsed.append(f"{unchecked} AS {ts}")
            value = fmt.in_year_range(ts) if col.textual else ts
            final.append(f"CAST({value} AS DATE) AS {q(col.name)}")
            if col.type == "timestamp":  # hours matter (lead response time): keep the time of day
                final.append(f"{value} AS {q(col.name + '__ts')}")
            if col.textual:
                final.append(f"({raw} IS NOT NULL AND {value} IS NULL{not_struct}) AS {q('__bad_' + col.name)}")
                flags.append(col.name)
            continue
        expr, bad = typed_sql(inner, style, clean=col.textual)
        parsed.append(f"{expr} AS {q(col.name)}")
        final.append(q(col.name))
        if bad:
            final.append(f"({raw} IS NOT NULL AND {q(col.name)} IS NULL{not_struct}) AS {q('__bad_' + col.name)}")
            flags.append(col.name)
    sql = (f"SELECT {', '.join(final)} FROM (SELECT {', '.join(parsed)} FROM "
           f"(SELECT {', '.join(text)} FROM {q(view)}))")
    return sql, flags


def settle_styles(con: duckdb.DuckDBPyConnection, view: str, name: str, ds: Dataset,
                  columns: list[Column]) -> dict[str, Any]:
    """Number and date style per textual column, from a sample (and one full scan if D/M stays open)."""
    textual = [c for c in columns if c.textual and c.expr not in ("NULL",) and c.type in
               ("number", "date", "timestamp", "detect")]
    if not textual:
        return {}
    samples = _samples(con, view, textual)
    styles: dict[str, Any] = {}
    shapes = {c.name: fmt.date_shapes(samples[c.name]) for c in textual if c.type in ("date", "timestamp", "detect")}
    for i, col in enumerate(textual):  # custom columns: a type from the values
        if col.type == "detect":
            columns[columns.index(col)] = col = Column(col.name, _detect_type(samples[col.name], shapes[col.name]),
                                                        col.expr, True, col.values, col.value_map)
            textual[i] = col
    day_first = _day_first(ds, shapes, textual)
    if day_first is None and any(shapes[c.name].numeric and not (shapes[c.name].day_first_only
                                 or shapes[c.name].month_first_only) for c in textual if c.type in ("date", "timestamp")
                                 and c.name not in ds.date_formats):
        day_first = _day_first_full_scan(con, view, [c for c in textual if c.type in ("date", "timestamp")])
    for col in textual:
        if col.type == "number":
            styles[col.name] = fmt.detect_number_style(samples[col.name], ds.decimal, ds.thousands,
                                                       column=col.name, dataset=name)
        elif col.type in ("date", "timestamp"):
            if col.name in ds.date_formats:
                styles[col.name] = fmt.DateStyle("formats", (ds.date_formats[col.name],))
            else:
                styles[col.name] = fmt.settle_date_style(shapes[col.name], day_first=day_first, column=col.name,
                                                         dataset=name) or fmt.DateStyle("iso")
    return styles


def _samples(con: duckdb.DuckDBPyConnection, view: str, columns: list[Column]) -> dict[str, list[str]]:
    """Per column, the distinct non-empty trimmed values of the first ``SAMPLE_ROWS`` rows, sorted by
    code point, at most ``SAMPLE_VALUES`` of them. Made distinct and sorted inside DuckDB: fetching the
    sample's rows into Python tuples cost more than the styles that are settled from it (1M-row CSV:
    about 0.15 s of a 0.3 s step); UTF-8 byte order, DuckDB's order for text, is code point order."""
    sample = ", ".join(f"{clean_text(c.expr)} AS {q(c.name)}" for c in columns)
    lists = ", ".join(f"(SELECT list(v ORDER BY v) FROM (SELECT DISTINCT {q(c.name)} AS v FROM sample "
                      f"WHERE {q(c.name)} IS NOT NULL ORDER BY v LIMIT {SAMPLE_VALUES}))" for c in columns)
    row = one_row(con, f"WITH sample AS MATERIALIZED (SELECT {sample} FROM {q(view)} LIMIT {SAMPLE_ROWS}) "
                       f"SELECT {lists}")
    return {c.name: list(values or []) for c, values in zip(columns, row, strict=True)}


def _detect_type(values: list[str], shapes: fmt.DateShapes) -> str:
    if values and all(fmt.number_core(v) is not None for v in values) and not shapes.numeric:
        return "number"
    if values and not shapes.other and not (shapes.serial and not (shapes.iso or shapes.numeric or shapes.named)):
        return "date"
    return "text"


def _day_first(ds: Dataset, shapes: dict[str, fmt.DateShapes], columns: list[Column]) -> bool | None:
    """D/M or M/D for the whole dataset, from any column (or configured format) that settles it."""
    orders = set()
    for c in columns:
        if c.name in ds.date_formats:
            f = ds.date_formats[c.name]
            if f.startswith("%d") or f.startswith("%m"):
                orders.add(f.startswith("%d"))
        elif c.name in shapes and shapes[c.name].numeric:
            s = shapes[c.name]
            if s.day_first_only != s.month_first_only:
                orders.add(s.day_first_only)
    if len(orders) > 1:
        raise DataError("dataset columns disagree on day/month order; set date_formats for each date column")
    return orders.pop() if orders else None


def _day_first_full_scan(con: duckdb.DuckDBPyConnection, view: str, columns: list[Column]) -> bool | None:
    """Look at every value (not a sample) for a first part over 12 or a second part over 12."""
    parts = []
    for c in columns:
        text = f"trim(CAST({c.expr} AS VARCHAR))"
        parts.append(f"max(TRY_CAST(regexp_extract({text}, '^(\\d{{1,2}})[/.\\-]\\d{{1,2}}[/.\\-]', 1) AS INTEGER))")
        parts.append(f"max(TRY_CAST(regexp_extract({text}, '^\\d{{1,2}}[/.\\-](\\d{{1,2}})[/.\\-]', 1) AS INTEGER))")
    row = one_row(con, f"SELECT {', '.join(parts)} FROM {q(view)}")
    firsts = [v for v in row[0::2] if v is not None]
    seconds = [v for v in row[1::2] if v is not None]
    day_first = any(v > 12 for v in firsts)
    month_first = any(v > 12 for v in seconds)
    if day_first != month_first:
        return day_first
    return None


def typed_sql(col: Column, style: Any, *, clean: bool = False) -> tuple[str, str | None]:
    """(typed expression, "could not read" flag expression or None) for one column (``clean``: its
    expression is already ``sql.clean_text``, as in the loaders' second projection)."""
    text = col.expr if clean else clean_text(col.expr)
    if col.type in ("id", "text"):
        if col.value_map:
            whens = " ".join(f"WHEN {text} IN ({', '.join(lit(r) for r in raws)}) THEN {lit(canon)}"
                             for canon, raws in col.value_map.items() if raws)
            return f"CASE {whens} ELSE {text} END", None
        return text, None
    if col.type == "category":
        if col.value_map:
            whens = " ".join(f"WHEN {text} IN ({', '.join(lit(r) for r in raws)}) THEN {lit(canon)}"
                             for canon, raws in col.value_map.items() if raws)
            expr = f"CASE {whens} END"
        else:
            expr = f"CASE WHEN lower({text}) IN ({', '.join(lit(v) for v in col.values)}) THEN lower({text}) END"
        return expr, f"({text} IS NOT NULL AND {expr} IS NULL)"
    if col.type == "number":
        if not col.textual:
            return f"TRY_CAST({col.expr} AS DOUBLE)", None
        expr = fmt.number_sql(col.expr, style or fmt.NumberStyle(), clean=clean)
        return expr, f"({text} IS NOT NULL AND {expr} IS NULL)"
    raise ValueError(f"typed_sql does not type {col.type} columns")  # dates: typed_projection parses them


def close_match(name: str, found: list[str] | dict[str, str]) -> str:
    """`` (did you mean 'x'?)`` for a source column name that is not there, or ``""``."""
    from reportgen.config.issues import closest

    match = closest(name, found)
    return f" (did you mean {match!r}?)" if match else ""
