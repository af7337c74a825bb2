"""Read the user's datasets as they come out of their CRM and load them into DuckDB, canonical.

Every source (CSV, Excel, Parquet, SQL database) becomes one DuckDB table per dataset with the
canonical column names and types of kpi-spec.md, so the engine's SQL never sees a user's naming.
Values that cannot be read (an unparseable date, ``n/a`` in an amount) become NULL and are *counted*
in a data-quality report: the spec wants such rows left out where the value is needed, never a crash
and never a silent zero. Unmapped stage values, by contrast, are an error: guessing whether
"Closed - Pending" is won would change revenue.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .catalogue import CANONICAL_DATASETS, ColumnSpec
from .errors import DataError

if TYPE_CHECKING:  # duckdb is imported lazily so `reportgen --help` stays instant
    import duckdb

    from .config import Dataset, LoadedConfig

#: Date formats tried, in order, when a text date column is not ISO and no format is configured.
DATE_FORMATS: tuple[str, ...] = (
    "%m/%d/%Y", "%d/%m/%Y", "%d.%m.%Y", "%Y/%m/%d", "%m/%d/%y", "%d/%m/%y",
    "%m/%d/%Y %H:%M", "%d/%m/%Y %H:%M", "%d.%m.%Y %H:%M", "%m/%d/%Y %H:%M:%S", "%d/%m/%Y %H:%M:%S",
)


@dataclass(frozen=True)
class DatasetQuality:
    """What was read and what could not be used, per dataset (the data-quality appendix)."""

    name: str
    source: str
    rows_read: int
    rows_rejected: dict[str, int]
    first_date: date | None
    last_date: date | None
    missing_values: dict[str, int]
    date_formats: dict[str, str] = field(default_factory=dict)
    first_dates: dict[str, date] = field(default_factory=dict)  # earliest value per date column

    @property
    def total_rejected(self) -> int:
        return sum(self.rows_rejected.values())


@dataclass
class LoadedData:
    """The DuckDB connection holding one canonical table per dataset, plus what was found."""

    con: "duckdb.DuckDBPyConnection"
    columns: dict[str, list[str]]
    quality: dict[str, DatasetQuality]

    def has(self, dataset: str, column: str | None = None) -> bool:
        if dataset not in self.columns:
            return False
        return column is None or column in self.columns[dataset]


def connect() -> "duckdb.DuckDBPyConnection":
    import duckdb

    con = duckdb.connect(database=":memory:")
    con.execute("SET threads TO 2")
    return con


def load_datasets(loaded: "LoadedConfig", con: "duckdb.DuckDBPyConnection | None" = None) -> LoadedData:
    """Load every dataset of a config into DuckDB; raise ``DataError`` naming dataset and column."""
    con = con or connect()
    columns: dict[str, list[str]] = {}
    quality: dict[str, DatasetQuality] = {}
    for name, ds in loaded.config.datasets.items():
        try:
            columns[name], quality[name] = load_dataset(con, name, ds, loaded)
        except DataError:
            raise
        except Exception as exc:  # a reader failing on a corrupt file: name the dataset
            raise DataError(f"dataset {name!r} ({describe_source(ds, loaded)}): {exc}") from exc
    return LoadedData(con, columns, quality)


def load_canonical_folder(folder: Path, con: "duckdb.DuckDBPyConnection | None" = None) -> LoadedData:
    """Load every ``<dataset>.csv`` of a folder whose name is a canonical dataset (no config needed)."""
    from .config import Config, LoadedConfig

    datasets = {p.stem: {"path": str(p.resolve())} for p in sorted(folder.glob("*.csv")) if p.stem in CANONICAL_DATASETS}
    if not datasets:
        raise DataError(f"no canonical dataset CSV (deals.csv, leads.csv, ...) found in {folder}")
    config = Config.model_validate({"datasets": datasets})
    return load_datasets(LoadedConfig(config, folder / "reportgen.yaml", None), con)


def describe_source(ds: "Dataset", loaded: "LoadedConfig") -> str:
    if ds.url:
        return f"{_redact(ds.url)} {ds.table or 'query'}"
    return str(loaded.resolve(ds.path or ""))


def _redact(url: str) -> str:
    return re.sub(r"://([^:/@]+):[^@]+@", r"://\1:***@", url)


def source_format(ds: "Dataset") -> str:
    if ds.format:
        return ds.format
    if ds.url:
        return "sql"
    suffix = Path(ds.path or "").suffix.lower()
    return {".csv": "csv", ".txt": "csv", ".tsv": "csv", ".xlsx": "excel", ".xlsm": "excel", ".xls": "excel",
            ".parquet": "parquet", ".pq": "parquet"}.get(suffix, "csv")


# --------------------------------------------------------------------------------------------------
# Reading raw sources
# --------------------------------------------------------------------------------------------------

def _q(identifier: str) -> str:
    """Quote an identifier for DuckDB."""
    return '"' + identifier.replace('"', '""') + '"'


def _lit(value: Any) -> str:
    """Quote a literal for DuckDB."""
    return "'" + str(value).replace("'", "''") + "'"


def _read_raw(con: "duckdb.DuckDBPyConnection", view: str, ds: "Dataset", loaded: "LoadedConfig",
              typed: bool = False) -> None:
    """Create a view ``view`` over the source exactly as published (text columns for text files,
    so the canonical typing below sees every value and can count the unreadable ones)."""
    fmt = source_format(ds)
    if fmt == "sql":
        _register_frame(con, view, _read_sql(ds))
        return
    path = loaded.resolve(ds.path or "")
    if not path.exists():
        raise DataError(f"dataset file not found: {path}")
    if fmt == "csv":
        con.execute(f"CREATE OR REPLACE TEMP VIEW {_q(view)} AS SELECT * FROM read_csv({_lit(path)}, "
                    f"all_varchar = {str(not typed).lower()}, header = true, delim = {_lit(ds.delimiter)}, quote = '\"', "
                    f"encoding = {_lit(_duckdb_encoding(ds.encoding))}, null_padding = true)")
    elif fmt == "parquet":
        con.execute(f"CREATE OR REPLACE TEMP VIEW {_q(view)} AS SELECT * FROM read_parquet({_lit(path)})")
    elif fmt == "excel":
        import pandas as pd

        frame = pd.read_excel(path, sheet_name=ds.sheet if ds.sheet is not None else 0, dtype=str, engine="openpyxl")
        _register_frame(con, view, frame)
    else:  # pragma: no cover - guarded by the config model
        raise DataError(f"unknown format {fmt!r}")


def _duckdb_encoding(encoding: str) -> str:
    e = encoding.lower().replace("_", "-")
    if e in ("utf-8", "utf8", "utf-8-sig"):
        return "utf-8"
    if e in ("latin-1", "latin1", "iso-8859-1", "cp1252", "windows-1252"):
        return "latin-1"
    if e in ("utf-16", "utf16"):
        return "utf-16"
    raise DataError(f"encoding {encoding!r} is not supported (use utf-8, latin-1 or utf-16)")


def _register_frame(con: "duckdb.DuckDBPyConnection", view: str, frame: Any) -> None:
    con.register(f"{view}__df", frame)
    con.execute(f"CREATE OR REPLACE TEMP VIEW {_q(view)} AS SELECT * FROM {_q(view + '__df')}")


def expand_env(text: str) -> str:
    """Expand ``${VAR}`` from the environment; a missing variable is an error, never an empty string."""
    def repl(m: re.Match[str]) -> str:
        if m.group(1) not in os.environ:
            raise DataError(f"environment variable {m.group(1)} is not set (used in a dataset url)")
        return os.environ[m.group(1)]

    return re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", repl, text)


def _read_sql(ds: "Dataset") -> Any:
    import pandas as pd
    import sqlalchemy

    engine = sqlalchemy.create_engine(expand_env(ds.url or ""))
    try:
        with engine.connect() as conn:
            if ds.query:
                return pd.read_sql_query(sqlalchemy.text(ds.query), conn)
            table = sqlalchemy.Table(ds.table, sqlalchemy.MetaData(), autoload_with=conn)
            return pd.read_sql_query(sqlalchemy.select(table), conn)
    except sqlalchemy.exc.NoSuchTableError:
        raise DataError(f"table {ds.table!r} not found in {_redact(ds.url or '')}") from None
    except sqlalchemy.exc.SQLAlchemyError as exc:
        raise DataError(f"cannot read from {_redact(ds.url or '')}: {str(exc).splitlines()[0]}") from None
    finally:
        engine.dispose()


def _columns_of(con: "duckdb.DuckDBPyConnection", view: str) -> dict[str, str]:
    rows = con.execute(f"DESCRIBE SELECT * FROM {_q(view)}").fetchall()
    return {r[0]: r[1] for r in rows}


# --------------------------------------------------------------------------------------------------
# Mapping onto canonical columns
# --------------------------------------------------------------------------------------------------

def _with_lookups(con: "duckdb.DuckDBPyConnection", view: str, name: str, ds: "Dataset",
                  loaded: "LoadedConfig") -> str:
    """Left-join lookup files onto the raw view; returns the name of the joined view."""
    if not ds.lookups:
        return view
    found = _columns_of(con, view)
    select = ["r.*"]
    joins = []
    for i, lk in enumerate(ds.lookups):
        lk_view = f"{view}__lookup{i}"
        path = loaded.resolve(lk.path)
        if not path.exists():
            raise DataError(f"dataset {name!r}: lookup file not found: {path}")
        if path.suffix.lower() in (".xlsx", ".xls"):
            import pandas as pd

            _register_frame(con, lk_view, pd.read_excel(path, dtype=str, engine="openpyxl"))
        else:
            con.execute(f"CREATE OR REPLACE TEMP VIEW {_q(lk_view)} AS SELECT * FROM read_csv({_lit(path)}, "
                        f"all_varchar = true, header = true, delim = {_lit(lk.delimiter)}, "
                        f"encoding = {_lit(_duckdb_encoding(lk.encoding))})")
        lk_cols = _columns_of(con, lk_view)
        key = lk.key or lk.column
        if lk.column not in found:
            raise DataError(f"dataset {name!r}: lookup joins on column {lk.column!r}, which is not in the source "
                            f"(columns found: {', '.join(found)})")
        for col in [key, *lk.columns]:
            if col not in lk_cols:
                raise DataError(f"dataset {name!r}: lookup file {path.name} has no column {col!r} "
                                f"(columns found: {', '.join(lk_cols)})")
        # de-duplicate the lookup on its key so a join can never multiply deal rows
        alias = f"l{i}"
        joins.append(f"LEFT JOIN (SELECT {_q(key)} AS __key, "
                     + ", ".join(f"any_value({_q(c)}) AS {_q(c)}" for c in lk.columns)
                     + f" FROM {_q(lk_view)} GROUP BY {_q(key)}) {alias} "
                       f"ON CAST(r.{_q(lk.column)} AS VARCHAR) = {alias}.__key")
        select += [f"{alias}.{_q(c)} AS {_q(c)}" for c in lk.columns if c not in found]
    joined = f"{view}__joined"
    con.execute(f"CREATE OR REPLACE TEMP VIEW {_q(joined)} AS SELECT {', '.join(select)} FROM {_q(view)} r "
                + " ".join(joins))
    return joined


def _mapping(ds: "Dataset") -> dict[str, str]:
    """canonical column -> source column, from the config's source -> canonical mapping (and lookups)."""
    out: dict[str, str] = {}
    for src, dst in ds.columns.items():
        for canon in [dst] if isinstance(dst, str) else dst:
            out[canon] = src
    for lk in ds.lookups:
        for src, dst in lk.columns.items():
            out.setdefault(dst, src)
    return out


def _category_sql(expr: str, spec: ColumnSpec, value_map: dict[str, list[str]] | None) -> str:
    """CASE expression mapping raw values to canonical ones; unmapped values become NULL."""
    text = f"trim(CAST({expr} AS VARCHAR))"
    if not value_map:
        return f"CASE WHEN lower({text}) IN ({', '.join(_lit(v) for v in spec.values)}) THEN lower({text}) END"
    whens = " ".join(
        f"WHEN {text} IN ({', '.join(_lit(r) for r in raws)}) THEN {_lit(canon)}"
        for canon, raws in value_map.items() if raws
    )
    return f"CASE {whens} END"


def _number_sql(expr: str, source_type: str, decimal: str) -> str:
    if source_type.upper() not in ("VARCHAR", "TEXT") and not source_type.upper().startswith("VARCHAR"):
        return f"TRY_CAST({expr} AS DOUBLE)"
    cleaned = f"regexp_replace(trim({expr}), '[\\s$€£¥%]', '', 'g')"
    if decimal == ",":
        cleaned = f"replace(replace({cleaned}, '.', ''), ',', '.')"
    else:
        cleaned = f"replace({cleaned}, ',', '')"
    return f"TRY_CAST(NULLIF({cleaned}, '') AS DOUBLE)"


def _timestamp_sql(expr: str, source_type: str, fmt: str | None) -> str:
    t = source_type.upper()
    if t.startswith("TIMESTAMP") or t == "DATE":
        return f"CAST({expr} AS TIMESTAMP)"
    text = f"NULLIF(trim(CAST({expr} AS VARCHAR)), '')"
    if fmt:
        return f"try_strptime({text}, {_lit(fmt)})"
    return f"TRY_CAST({text} AS TIMESTAMP)"


def _detect_formats(con: "duckdb.DuckDBPyConnection", view: str, specs: tuple[ColumnSpec, ...],
                    mapping: dict[str, str], found: dict[str, str], ds: "Dataset") -> dict[str, str]:
    """strptime format per canonical date column: configured, else detected (None = ISO)."""
    columns = {}  # canonical name -> source column, for text date columns without a configured format
    for spec in specs:
        if spec.type not in ("date", "timestamp") or spec.name in ds.date_formats or spec.name in ds.constants:
            continue
        src = mapping.get(spec.name, spec.name)
        if src in found and found[src].upper() == "VARCHAR":
            columns[spec.name] = src
    return {**choose_date_formats(_date_candidates(con, view, columns)), **ds.date_formats}


def _date_candidates(con: "duckdb.DuckDBPyConnection", view: str, columns: dict[str, str]) -> dict[str, list[str]]:
    """For each text date column that ISO parsing does not fully read, the formats that parse every
    value. One scan for the ISO check of all columns (the common case ends there), one more for the
    candidate formats of the columns that need them."""
    if not columns:
        return {}
    text = {name: f"NULLIF(trim(CAST({_q(src)} AS VARCHAR)), '')" for name, src in columns.items()}
    iso = con.execute("SELECT " + ", ".join(f"count({t}) - count(TRY_CAST({t} AS TIMESTAMP))" for t in text.values())
                      + f" FROM {_q(view)}").fetchone()
    needs = [name for name, bad in zip(text, iso) if bad]
    if not needs:
        return {}
    checks = [f"count({text[n]}) - count(try_strptime({text[n]}, {_lit(fmt)}))" for n in needs for fmt in DATE_FORMATS]
    bad = con.execute(f"SELECT {', '.join(checks)} FROM {_q(view)}").fetchone()
    per = len(DATE_FORMATS)
    return {n: [fmt for fmt, b in zip(DATE_FORMATS, bad[i * per:(i + 1) * per]) if b == 0] for i, n in enumerate(needs)}


def _day_first(fmt: str) -> bool:
    return fmt.startswith("%d")


def choose_date_formats(candidates: dict[str, list[str]]) -> dict[str, str]:
    """Pick one format per column, using the dataset's unambiguous columns to settle ambiguous ones.

    A column whose values all have day <= 12 parses both as M/D and D/M; another column of the same
    export usually settles the order. If none does, guessing would silently move revenue between
    months, so it is an error asking for ``date_formats``.
    """
    settled = {c: f[0] for c, f in candidates.items() if len({_day_first(x) for x in f}) == 1 and f}
    orders = {_day_first(f) for f in settled.values()}
    chosen = dict(settled)
    for column, formats in candidates.items():
        if column in chosen or not formats:
            continue
        if len(orders) == 1:
            day_first = orders.pop()
            orders.add(day_first)
            chosen[column] = next(f for f in formats if _day_first(f) == day_first)
        else:
            raise DataError(f"column {column!r}: dates parse as both {formats[0]!r} and {formats[1]!r}; "
                            "set date_formats for it in the dataset config")
    return chosen


def load_dataset(con: "duckdb.DuckDBPyConnection", name: str, ds: "Dataset",
                 loaded: "LoadedConfig") -> tuple[list[str], DatasetQuality]:
    """Create the canonical table ``name``; return its columns and its data-quality record."""
    raw = f"raw__{name}"
    _read_raw(con, raw, ds, loaded, typed=name not in CANONICAL_DATASETS)
    view = _with_lookups(con, raw, name, ds, loaded)
    found = _columns_of(con, view)
    source_desc = describe_source(ds, loaded)
    mapping = _mapping(ds)
    for canon, src in mapping.items():
        if src not in found:
            close = _close(src, found)
            raise DataError(f"dataset {name!r} ({source_desc}): column {src!r} (mapped to {canon!r}) not found"
                            f"{close}; columns found: {', '.join(found)}")
    specs = CANONICAL_DATASETS.get(name)
    if specs is None:
        return _load_custom(con, name, view, mapping, source_desc)
    select: list[str] = []
    present: list[str] = []
    formats: dict[str, str] = _detect_formats(con, view, specs, mapping, found, ds)
    for spec in specs:
        src = mapping.get(spec.name, spec.name if spec.name in found and spec.name not in ds.columns else None)
        if spec.name in ds.constants:
            expr, src_type = _lit(ds.constants[spec.name]), "VARCHAR"
        elif src is not None and src in found:
            expr, src_type = _q(src), found[src]
        else:
            if spec.required:
                raise DataError(
                    f"dataset {name!r} ({source_desc}): required column {spec.name!r} not found"
                    f"{_close(spec.name, found)}; columns found: {', '.join(found)}. "
                    f"Map it under datasets.{name}.columns (source name: {spec.name})")
            continue
        present.append(spec.name)
        # the raw text is kept (until the table is final) only where a value can be unreadable:
        # a typed source column (Parquet, SQL) has no unparseable values to count
        textual = src_type.upper().startswith("VARCHAR") or src_type.upper() == "TEXT"
        raw = f"NULLIF(trim(CAST({expr} AS VARCHAR)), '') AS {_q(spec.name + '__raw')}"
        if spec.type in ("id", "text"):
            select.append(f"NULLIF(trim(CAST({expr} AS VARCHAR)), '') AS {_q(spec.name)}")
        elif spec.type == "number":
            select.append(f"{_number_sql(expr, src_type, ds.decimal)} AS {_q(spec.name)}")
            select += [raw] if textual else []
        elif spec.type in ("date", "timestamp"):
            ts = _timestamp_sql(expr, src_type, formats.get(spec.name))
            select.append(f"CAST({ts} AS DATE) AS {_q(spec.name)}")
            if spec.type == "timestamp":  # hours matter (lead response time): keep the time of day
                select.append(f"{ts} AS {_q(spec.name + '__ts')}")
            select += [raw] if textual else []
        elif spec.type == "category":
            value_map = ds.stages if spec.name == "stage" and ds.stages else ds.values.get(spec.name)
            select.append(f"{_category_sql(expr, spec, value_map)} AS {_q(spec.name)}")
            select.append(raw)
    for dim, src in _extra_dimensions(loaded, found, mapping, specs).items():
        select.append(f"NULLIF(trim(CAST({_q(src)} AS VARCHAR)), '') AS {_q(dim)}")
        present.append(dim)
    stage_table = f"staged__{name}"
    con.execute(f"CREATE OR REPLACE TEMP TABLE {_q(stage_table)} AS SELECT {', '.join(select)} FROM {_q(view)}")
    if name == "deals":
        _check_unmapped_stages(con, stage_table, source_desc)
    staged_columns = _final_columns(con, stage_table)
    quality = _quality(con, name, stage_table, specs, present, source_desc, formats, staged_columns)
    keep = ", ".join(_q(c) for c in staged_columns if not c.endswith("__raw"))
    con.execute(f"CREATE OR REPLACE TABLE {_q(name)} AS SELECT {keep} FROM {_q(stage_table)}")
    con.execute(f"DROP TABLE {_q(stage_table)}")
    return present, quality


def _load_custom(con: "duckdb.DuckDBPyConnection", name: str, view: str, mapping: dict[str, str],
                 source_desc: str) -> tuple[list[str], DatasetQuality]:
    """A dataset outside the canonical model (for custom measures): renamed, types as the reader found them."""
    renamed = {src: canon for canon, src in mapping.items()}
    found = _columns_of(con, view)
    select = ", ".join(f"{_q(c)} AS {_q(renamed.get(c, c))}" for c in found)
    con.execute(f"CREATE OR REPLACE TABLE {_q(name)} AS SELECT {select} FROM {_q(view)}")
    total = con.execute(f"SELECT count(*) FROM {_q(name)}").fetchone()[0]
    cols = [renamed.get(c, c) for c in found]
    return cols, DatasetQuality(name, source_desc, int(total), {}, None, None, {})


def _extra_dimensions(loaded: "LoadedConfig", found: dict[str, str], mapping: dict[str, str],
                      specs: tuple[ColumnSpec, ...]) -> dict[str, str]:
    """Dimension columns beyond the canonical ones: dimension name -> source column.

    A mapping to a non-canonical name (``manager: manager`` from a lookup) or a configured breakdown
    dimension present in the source under its own name becomes a text column one can break down by.
    """
    canonical = {s.name for s in specs}
    extra = {canon: src for canon, src in mapping.items() if canon not in canonical}
    for dim in loaded.config.scorecard.breakdowns:
        if dim not in canonical and dim not in extra and dim in found:
            extra[dim] = dim
    return extra


def _final_columns(con: "duckdb.DuckDBPyConnection", table: str) -> list[str]:
    return list(_columns_of(con, table))


def _close(name: str, found: dict[str, str] | list[str]) -> str:
    import difflib

    match = difflib.get_close_matches(name, list(found), n=1, cutoff=0.6)
    return f" (did you mean {match[0]!r}?)" if match else ""


def _check_unmapped_stages(con: "duckdb.DuckDBPyConnection", table: str, source_desc: str) -> None:
    rows = con.execute(f"SELECT stage__raw, count(*) FROM {_q(table)} WHERE stage IS NULL AND stage__raw IS NOT NULL "
                       "GROUP BY 1 ORDER BY 2 DESC").fetchall()
    if rows:
        values = ", ".join(f"{r[0]!r} ({r[1]} rows)" for r in rows[:10])
        raise DataError(f"dataset 'deals' ({source_desc}): unmapped stage value(s) {values}; map each to won, lost "
                        "or open under datasets.deals.stages")


def _quality(con: "duckdb.DuckDBPyConnection", name: str, table: str, specs: tuple[ColumnSpec, ...],
             present: list[str], source_desc: str, formats: dict[str, str],
             staged_columns: list[str]) -> DatasetQuality:
    """Count rows read, values that could not be parsed, and rows a KPI will have to leave out."""
    by_name = {s.name: s for s in specs}
    cols = [c for c in present if c in by_name]
    parts = ["count(*)"] + [f"count(*) - count({_q(c)})" for c in cols]
    unparseable = [c for c in cols if c + "__raw" in staged_columns]
    parts += [f"count({_q(c + '__raw')}) - count({_q(c)})" for c in unparseable]
    row = con.execute(f"SELECT {', '.join(parts)} FROM {_q(table)}").fetchone()
    total = int(row[0])
    missing = {c: int(v) for c, v in zip(cols, row[1:1 + len(cols)]) if v}
    rejected: dict[str, int] = {}
    for c, v in zip(unparseable, row[1 + len(cols):]):
        if v:
            rejected[f"unreadable {c}"] = int(v)
    for c in cols:
        spec = by_name[c]
        if spec.required and missing.get(c):
            rejected.setdefault(f"missing {c}", missing[c] - rejected.get(f"unreadable {c}", 0))
    if name == "deals" and "close_date" in present:
        n = con.execute(f"SELECT count(*) FROM {_q(table)} WHERE stage IN ('won', 'lost') AND close_date IS NULL"
                        ).fetchone()[0]
        if n:
            rejected["won/lost without close_date"] = int(n)
    rejected = {k: v for k, v in rejected.items() if v > 0}
    date_cols = [c for c in cols if by_name[c].type in ("date", "timestamp")]
    first = last = None
    firsts: dict[str, date] = {}
    if date_cols:
        bounds = con.execute("SELECT " + ", ".join(f"min({_q(c)}), max({_q(c)})" for c in date_cols)
                             + f" FROM {_q(table)}").fetchone()
        lows, highs = bounds[0::2], bounds[1::2]
        firsts = {c: d for c, d in zip(date_cols, lows) if d is not None}
        first = min(firsts.values(), default=None)
        last = max((d for d in highs if d is not None), default=None)
    return DatasetQuality(name, source_desc, total, rejected, first, last, missing, formats, firsts)


def restrict_to_segment(data: LoadedData, dimension: str, value: str) -> LoadedData:
    """Keep only one segment's rows, for a scorecard sent to that segment's owner.

    A dataset with the dimension column keeps only the matching rows. A dataset *without* it cannot be
    attributed to the segment, so it is dropped (its KPIs become unavailable) rather than showing
    company-wide numbers to a regional manager. Targets keep the rows scoped to the segment, which
    then act as the segment's own (``all``) targets.

    The tables are cut down in place (a copy of a million-row table per segment would double the
    memory of a burst): the ``data`` passed in shares the connection and must not be used afterwards.
    """
    if not any(dimension in cols for cols in data.columns.values()):
        raise DataError(f"cannot burst by {dimension!r}: no dataset has that column")
    con = data.con
    columns = dict(data.columns)
    for name, cols in data.columns.items():
        if name == "targets":
            if "scope" in cols:
                con.execute("DELETE FROM targets WHERE coalesce(scope, 'all') <> ?", [value])
                con.execute("UPDATE targets SET scope = 'all'")
            else:
                con.execute("DELETE FROM targets")
            continue
        if dimension in cols:
            con.execute(f"DELETE FROM {_q(name)} WHERE {_q(dimension)} IS DISTINCT FROM ?", [value])
        else:
            con.execute(f"DROP TABLE {_q(name)}")
            del columns[name]
    return LoadedData(con, columns, data.quality)
