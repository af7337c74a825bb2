"""Load a config's datasets into DuckDB as canonical, typed tables, counting everything not usable.

One dataset goes: source view (``sources``) -> lookups joined -> a sample read to settle how numbers and
dates are written (``formats``) -> ONE pass over the data that types every needed column and flags
each value it could not read -> row rules (``rules``) -> the canonical table and its quality record
(``quality``). Values that cannot be read become NULL and are counted per column; the raw text is
fetched again only for the few example rows an error message shows, so clean data pays nothing for
the checks.
"""
from __future__ import annotations

import difflib
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from reportgen.data import formats as fmt
from reportgen.data.quality import DatasetQuality, Unreadable, check_quality, measure_quality
from reportgen.data.rules import apply_rules
from reportgen.data.sources import Source, columns_of, new_workdir, open_source, reopen_in_code_page, undecodable
from reportgen.data.sql import lit, one_row, q
from reportgen.errors import DataError
from reportgen.kpis.catalogue import CANONICAL_DATASETS, ColumnSpec

if TYPE_CHECKING:
    import duckdb

    from reportgen.config.models import Dataset, LoadedConfig

#: Rows read to settle number and date styles (a full scan settles D/M order only when the sample cannot).
SAMPLE_ROWS = 50_000
#: The source name under which a dataset's row number can be mapped (``columns: {__row: lead_id}``).
ROW_NUMBER = "__row"
#: Optional columns whose absence has a meaning: no end_date means every subscription is still active.
ABSENT_MEANS_NULL = {("subscriptions", "end_date")}
#: The keys of a deals dataset's ``stages:`` mapping (its value map for the stage column).
StageName = Literal["won", "lost", "open"]


@dataclass
class LoadedData:
    """The DuckDB connection holding one canonical table per dataset, plus what was found."""

    con: duckdb.DuckDBPyConnection
    columns: dict[str, list[str]]
    quality: dict[str, DatasetQuality]
    types: dict[str, dict[str, str]] = field(default_factory=dict)  # dataset -> column -> number/date/text

    def has(self, dataset: str, column: str | None = None) -> bool:
        if dataset not in self.columns:
            return False
        return column is None or column in self.columns[dataset]


#: DuckDB's memory budget (``REPORTGEN_DUCKDB_MEMORY_LIMIT`` overrides it, e.g. ``2GB``). Beyond it DuckDB
#: spills to a private temp folder instead of growing: a 10M-row export then peaks near 0.5 GB instead
#: of 2.3 GB, for about a third more time; a 1M-row export stays within it and pays nothing.
MEMORY_LIMIT = "300MB"


def connect() -> duckdb.DuckDBPyConnection:
    import duckdb

    con = duckdb.connect(database=":memory:")
    con.execute("SET threads TO 2")
    con.execute(f"SET memory_limit = {lit(os.environ.get('REPORTGEN_DUCKDB_MEMORY_LIMIT') or MEMORY_LIMIT)}")
    con.execute(f"SET temp_directory = {lit(_spill_folder())}")
    return con


_SPILL: list[str] = []


def _spill_folder() -> str:
    """One private temp folder per process for DuckDB's spill files, removed at exit (DuckDB's default
    would be a ``.tmp`` folder in the user's working directory)."""
    if not _SPILL:
        import atexit
        import shutil
        import tempfile

        _SPILL.append(tempfile.mkdtemp(prefix="reportgen-duckdb-"))
        atexit.register(shutil.rmtree, _SPILL[0], True)
    return _SPILL[0]


def lock_down(con: duckdb.DuckDBPyConnection) -> None:
    """After loading, the engine may not touch the file system: a ``filter:`` in a config cannot read files."""
    con.execute("SET enable_external_access = false")
    con.execute("SET lock_configuration = true")


def load_datasets(loaded: LoadedConfig, con: duckdb.DuckDBPyConnection | None = None, *,
                  today: date | None = None, check: bool = True) -> LoadedData:
    """Load every dataset of a config; raise one ``DataError`` naming dataset and column on bad data.

    ``check`` applies the config's quality gate (share of unusable rows, wholly unreadable columns).
    """
    import duckdb

    con = con or connect()
    today = today or date.today()
    data = LoadedData(con, {}, {})
    with new_workdir() as workdir:
        for name, ds in loaded.config.datasets.items():
            try:
                load_dataset(data, name, ds, loaded, Path(workdir), today)
            except DataError:
                raise
            except duckdb.Error as exc:
                first = (str(exc).strip().splitlines() or [exc.__class__.__name__])[0][:300]
                raise DataError(f"dataset {name!r} ({ds.path or 'sql'}): {first}") from exc
    if check:
        check_quality(data.quality, loaded.config.quality.max_rejected_share)
    lock_down(con)
    return data


def load_canonical_folder(folder: Path, con: duckdb.DuckDBPyConnection | None = None, *,
                          today: date | None = None) -> LoadedData:
    """Load every ``<dataset>.csv`` of a folder whose name is a canonical dataset (no config needed)."""
    from reportgen.config.models import Config, LoadedConfig

    datasets = {p.stem: {"path": p.name} for p in sorted(folder.glob("*.csv")) if p.stem in CANONICAL_DATASETS}
    if not datasets:
        raise DataError(f"no canonical dataset CSV (deals.csv, leads.csv, ...) found in {folder}")
    config = Config.model_validate({"datasets": datasets})
    return load_datasets(LoadedConfig(config, folder / "reportgen.yaml", None), con, today=today)


def mapping_of(ds: Dataset) -> dict[str, str]:
    """canonical column -> source column, from the config's source -> canonical mapping (and lookups)."""
    out: dict[str, str] = {}
    for src, dst in ds.columns.items():
        for canon in [dst] if isinstance(dst, str) else dst:
            out[canon] = src
    for lk in ds.lookups:
        for src, dst in lk.columns.items():
            out.setdefault(dst, src)
    return out


def close_match(name: str, found: list[str] | dict[str, str]) -> str:
    match = difflib.get_close_matches(name, list(found), n=1, cutoff=0.6)
    return f" (did you mean {match[0]!r}?)" if match else ""


@dataclass(frozen=True)
class Column:
    """One canonical column to build: where its value comes from and what type it gets."""

    name: str
    type: str  # id, text, category, number, date, timestamp
    expr: str  # SQL over the source view
    textual: bool  # the source value is text as written (parse it) rather than already typed
    values: tuple[str, ...] = ()  # canonical values of a category column
    value_map: Mapping[str, list[str]] | Mapping[StageName, list[str]] | None = None


def load_dataset(data: LoadedData, name: str, ds: Dataset, loaded: LoadedConfig, workdir: Path,
                 today: date, notes: tuple[str, ...] = ()) -> None:
    """Create the canonical table ``name`` in ``data.con`` and record its columns and quality."""
    con = data.con
    source = open_source(con, name, ds, loaded, workdir)
    numbered = f"numbered__{name}"
    con.execute(f"CREATE OR REPLACE TEMP VIEW {q(numbered)} AS SELECT row_number() OVER () AS __row, * "
                f"FROM {q(source.view)}")
    view = with_lookups(con, numbered, name, ds, loaded, workdir)
    found = {c: t for c, t in columns_of(con, view).items() if c != "__row"}
    columns = plan_columns(name, ds, loaded, found, source)
    styles = settle_styles(con, view, name, ds, columns)
    select, flags = typed_projection(columns, styles, view)
    staged = f"staged__{name}"
    con.execute(f"CREATE OR REPLACE TEMP TABLE {q(staged)} AS {select}")
    if undecodable(con, source):  # encoding: auto met bytes that are not UTF-8: read it again, once
        con.execute(f"DROP TABLE {q(staged)}")
        source = reopen_in_code_page(con, source, name, ds, workdir)
        return load_dataset(data, name, ds.model_copy(update={"encoding": source.encoding}), loaded, workdir,
                            today, notes=tuple(source.notes))
    if name == "deals" and any(c.name == "stage" for c in columns):
        check_unmapped_stages(con, staged, view, columns, source.description)
    kinds = {c.name: c.type for c in columns}
    rule_counts = apply_rules(con, staged, name, kinds, ds, loaded.config.quality, today)
    unreadable = [Unreadable(c.name, c.type, _style_text(styles.get(c.name)), c.expr) for c in columns
                  if c.name in flags]
    quality = measure_quality(con, name, staged, source, view, unreadable, kinds, rule_counts, ds.data_through)
    dates = {c: s.describe() for c, s in styles.items() if isinstance(s, fmt.DateStyle)}
    numbers = {c: s.describe() for c, s in styles.items() if isinstance(s, fmt.NumberStyle)}
    data.quality[name] = replace(quality, date_formats=dates, number_formats=numbers, notes=quality.notes + notes)
    data.columns[name] = [c.name for c in columns]
    data.types[name] = {c.name: _kind(c.type) for c in columns}
    con.execute(f"DROP TABLE IF EXISTS {q(staged)}")


def typed_projection(columns: list[Column], styles: dict[str, Any], view: str) -> tuple[str, list[str]]:
    """The one pass that types every column, as three nested projections so each value is trimmed,
    then parsed, then checked exactly once (written flat, DuckDB parsed every date three or four times):
    text -> parsed -> checked values plus a "could not read" flag per column. Returns the SELECT
    (with a ``{view}`` placeholder) and the columns that have a flag."""
    text, parsed, final, flags = ["__row"], ["__row"], ["__row"], []
    for col in columns:
        style = styles.get(col.name)
        if col.type in ("id", "text"):
            expr, _ = typed_sql(col, style)
            text.append(f"{expr} AS {q(col.name)}")
            parsed.append(q(col.name))
            final.append(q(col.name))
            continue
        raw = q(col.name + "__t")
        trimmed = f"NULLIF(trim(CAST({col.expr} AS VARCHAR)), '')" if col.textual else col.expr
        text.append(f"{trimmed} AS {raw}")
        inner = replace(col, expr=raw)
        parsed.append(raw)
        if col.type in ("date", "timestamp"):
            ts = q(col.name + "__p")
            unchecked = fmt.date_sql(raw, style or fmt.DateStyle("iso"), checked=False) if col.textual \
                else f"TRY_CAST({raw} AS TIMESTAMP)"
            parsed.append(f"{unchecked} AS {ts}")
            value = fmt.in_year_range(ts) if col.textual else ts
            final.append(f"CAST({value} AS DATE) AS {q(col.name)}")
            if col.type == "timestamp":  # hours matter (lead response time): keep the time of day
                final.append(f"{value} AS {q(col.name + '__ts')}")
            if col.textual:
                final.append(f"({raw} IS NOT NULL AND {value} IS NULL) AS {q('__bad_' + col.name)}")
                flags.append(col.name)
            continue
        expr, bad = typed_sql(inner, style)
        parsed.append(f"{expr} AS {q(col.name)}")
        final.append(q(col.name))
        if bad:
            final.append(f"({raw} IS NOT NULL AND {q(col.name)} IS NULL) AS {q('__bad_' + col.name)}")
            flags.append(col.name)
    sql = (f"SELECT {', '.join(final)} FROM (SELECT {', '.join(parsed)} FROM "
           f"(SELECT {', '.join(text)} FROM {q(view)}))")
    return sql, flags


def _kind(column_type: str) -> str:
    return {"number": "number", "date": "date", "timestamp": "date"}.get(column_type, "text")


def _style_text(style: Any) -> str:
    return style.describe() if style is not None and hasattr(style, "describe") else ""


def with_lookups(con: duckdb.DuckDBPyConnection, view: str, name: str, ds: Dataset, loaded: LoadedConfig,
                 workdir: Path) -> str:
    """Left-join lookup files onto the numbered source view; returns the joined view's name."""
    if not ds.lookups:
        return view
    from reportgen.config.models import Dataset as DatasetModel

    found = columns_of(con, view)
    select, joins = ["r.*"], []
    for i, lk in enumerate(ds.lookups):
        lk_name = f"{name}__lookup{i}"
        spec = DatasetModel(path=lk.path, delimiter=lk.delimiter, encoding=lk.encoding)
        lk_source = open_source(con, lk_name, spec, loaded, workdir)
        lk_cols = columns_of(con, lk_source.view)
        key = lk.key or lk.column
        if lk.column not in found:
            raise DataError(f"dataset {name!r}: lookup joins on column {lk.column!r}, which is not in the source"
                            f"{close_match(lk.column, found)}; columns found: "
                            f"{', '.join(c for c in found if c != '__row')}")
        for col in [key, *lk.columns]:
            if col not in lk_cols:
                raise DataError(f"dataset {name!r}: lookup file {lk.path} has no column {col!r}"
                                f"{close_match(col, lk_cols)}; columns found: {', '.join(lk_cols)}")
        alias = f"l{i}"  # de-duplicated on its key so a join can never multiply rows
        joins.append(f"LEFT JOIN (SELECT trim(CAST({q(key)} AS VARCHAR)) AS __key, "
                     + ", ".join(f"any_value({q(c)}) AS {q(c)}" for c in lk.columns)
                     + f" FROM {q(lk_source.view)} GROUP BY 1) {alias} "
                       f"ON trim(CAST(r.{q(lk.column)} AS VARCHAR)) = {alias}.__key")
        select += [f"{alias}.{q(c)} AS {q(c)}" for c in lk.columns if c not in found]
    joined = f"{view}__joined"
    con.execute(f"CREATE OR REPLACE TEMP VIEW {q(joined)} AS SELECT {', '.join(select)} FROM {q(view)} r "
                + " ".join(joins))
    return joined


def plan_columns(name: str, ds: Dataset, loaded: LoadedConfig, found: dict[str, str],
                 source: Source) -> list[Column]:
    """The canonical columns this dataset will have, each with its source expression."""
    mapping = mapping_of(ds)
    found = {**found, ROW_NUMBER: "BIGINT"}  # mappable as an id for exports that have none
    for canon, src in mapping.items():
        if src not in found:
            shown = [c for c in found if c != ROW_NUMBER]
            raise DataError(f"dataset {name!r} ({source.description}): column {src!r} (mapped to {canon!r}) not "
                            f"found{close_match(src, shown)}; columns found: {', '.join(shown)}")
    specs = CANONICAL_DATASETS.get(name)
    if specs is None:
        specs = custom_specs(ds, mapping, {c: t for c, t in found.items() if c != ROW_NUMBER or c in mapping.values()})
    columns: list[Column] = []
    canonical = {s.name for s in specs}
    for spec in specs:
        source_col = mapping.get(spec.name, spec.name if spec.name in found and spec.name not in ds.columns else None)
        value_map = ds.stages if spec.name == "stage" and ds.stages else ds.values.get(spec.name)
        if spec.name in ds.constants:
            value = ds.constants[spec.name]
            expr = "NULL" if value is None else lit(value.isoformat() if isinstance(value, date) else value)
            columns.append(Column(spec.name, spec.type, expr, True, spec.values, value_map))
        elif source_col is not None and source_col in found:
            textual = (found[source_col].upper().startswith("VARCHAR") or source.textual) and source_col != ROW_NUMBER
            columns.append(Column(spec.name, spec.type, q(source_col), textual, spec.values, value_map))
        elif (name, spec.name) in ABSENT_MEANS_NULL:
            columns.append(Column(spec.name, spec.type, "NULL", True))
        elif spec.required:
            raise DataError(
                f"dataset {name!r} ({source.description}): required column {spec.name!r} not found"
                f"{close_match(spec.name, found)}; columns found: {', '.join(c for c in found if c != ROW_NUMBER)}. "
                f"Map it under datasets.{name}.columns (source name: {spec.name})")
    extra = {canon: src for canon, src in mapping.items() if canon not in canonical}
    for dim in loaded.config.scorecard.breakdowns:
        if dim not in canonical and dim not in extra and dim in found:
            extra[dim] = dim
    for dim, src in extra.items():
        columns.append(Column(dim, "text", q(src), True, (), ds.values.get(dim)))
    return columns


def custom_specs(ds: Dataset, mapping: dict[str, str], found: dict[str, str]) -> tuple[ColumnSpec, ...]:
    """A custom dataset keeps every column (renamed by the mapping); types come from ``types:`` or the data."""
    renamed = {src: canon for canon, src in mapping.items()}
    specs = []
    for src, src_type in found.items():
        canon = renamed.get(src, src)
        declared = ds.types.get(canon)
        t = declared or _typed_kind(src_type)
        specs.append(ColumnSpec(canon, t or "detect"))  # type: ignore[arg-type]  # 'detect' is settled later
    for canon in ds.constants:
        if canon not in {s.name for s in specs}:
            specs.append(ColumnSpec(canon, ds.types.get(canon, "text")))
    return tuple(specs)


def _typed_kind(source_type: str) -> str | None:
    t = source_type.upper()
    if t.startswith(("DOUBLE", "FLOAT", "DECIMAL", "INTEGER", "BIGINT", "SMALLINT", "TINYINT", "HUGEINT", "REAL",
                     "UBIGINT", "UINTEGER")):
        return "number"
    if t.startswith("TIMESTAMP"):
        return "timestamp"
    if t == "DATE":
        return "date"
    return None


def settle_styles(con: duckdb.DuckDBPyConnection, view: str, name: str, ds: Dataset,
                  columns: list[Column]) -> dict[str, Any]:
    """Number and date style per textual column, from a sample (and one full scan if D/M stays open)."""
    textual = [c for c in columns if c.textual and c.expr not in ("NULL",) and c.type in
               ("number", "date", "timestamp", "detect")]
    if not textual:
        return {}
    sample_sql = ", ".join(f"NULLIF(trim(CAST({c.expr} AS VARCHAR)), '') AS {q(c.name)}" for c in textual)
    rows = con.execute(f"SELECT {sample_sql} FROM {q(view)} LIMIT {SAMPLE_ROWS}").fetchall()
    samples = {c.name: sorted({r[i] for r in rows if r[i] is not None})[:5000] for i, c in enumerate(textual)}
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


def typed_sql(col: Column, style: Any) -> tuple[str, str | None]:
    """(typed expression, "could not read" flag expression or None) for one column."""
    text = f"NULLIF(trim(CAST({col.expr} AS VARCHAR)), '')"
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
        expr = fmt.number_sql(col.expr, style or fmt.NumberStyle())
        return expr, f"({text} IS NOT NULL AND {expr} IS NULL)"
    raise ValueError(f"typed_sql does not type {col.type} columns")  # dates: typed_projection parses them


def check_unmapped_stages(con: duckdb.DuckDBPyConnection, staged: str, view: str, columns: list[Column],
                          source_desc: str) -> None:
    """An unmapped stage value is an error: guessing whether "Closed - Pending" is won would change revenue."""
    if not one_row(con, f"SELECT count(*) FROM {q(staged)} WHERE __bad_stage")[0]:
        return
    stage = next(c for c in columns if c.name == "stage")
    rows = con.execute(f"SELECT trim(CAST({stage.expr} AS VARCHAR)) AS v, count(*) FROM {q(view)} "
                       f"WHERE __row IN (SELECT __row FROM {q(staged)} WHERE __bad_stage) GROUP BY 1 ORDER BY 2 DESC, 1"
                       ).fetchall()
    values = ", ".join(f"{r[0]!r} ({r[1]} rows)" for r in rows[:10])
    raise DataError(f"dataset 'deals' ({source_desc}): unmapped stage value(s) {values}; map each to won, lost "
                    "or open under datasets.deals.stages")
