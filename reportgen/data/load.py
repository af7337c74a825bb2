"""Load a config's datasets into DuckDB as canonical, typed tables, counting everything not usable.

One dataset goes: source view (``sources``) -> lookups joined -> a sample read to settle how numbers and
dates are written (``formats``) -> ONE pass over the data that types every needed column and flags
each value it could not read -> row rules (``rules``) -> the canonical table and its quality record
(``quality``). Values that cannot be read become NULL and are counted per column; the raw text is
fetched again only for the few example rows an error message shows, so clean data pays nothing for
the checks.

A CSV first gets the typed read (``typed_read``, ``load_typed``): the same columns typed straight from
the file in one strict pass that stops at the first value or line this general path would count or
reject; only then does the general path run, exactly as it would have. Clean data pays one parallel
pass and no copy; messy data pays the general path plus a read that stopped early.
"""
from __future__ import annotations

import contextlib
import os
import uuid
import weakref
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reportgen.data import formats as fmt
from reportgen.data.columns import Column, kind_of, settle_styles, typed_projection
from reportgen.data.currency import FX, settle_currency
from reportgen.data.loaded import LoadedData
from reportgen.data.lookups import join_coverage, with_join_coverage, with_lookups
from reportgen.data.mapping import ROW_NUMBER, check_unmapped_stages, mapping_of, plan_columns
from reportgen.data.pushdown import RemoteDatabase, pushdown_dialect
from reportgen.data.quality import DatasetQuality, Unreadable, check_quality, measure_quality
from reportgen.data.remote_load import load_pushed_down
from reportgen.data.rules import apply_rules, has_duplicate_ids
from reportgen.data.safe_text import scrub_note, scrub_text
from reportgen.data.snapshot import record_snapshots, with_as_of
from reportgen.data.sources import (
    Source,
    columns_of,
    new_workdir,
    open_source,
    reopen_in_code_page,
    source_format,
    undecodable,
)
from reportgen.data.sql import lit, one_row, q
from reportgen.data.structure import FIRST_TOTAL, row_shape, structure_case
from reportgen.data.typed_read import TYPED_READ, typed_read_sql
from reportgen.errors import DataError, ReportgenError
from reportgen.kpis.catalogue import CANONICAL_DATASETS

if TYPE_CHECKING:
    import duckdb

    from reportgen.config.datasets import Dataset
    from reportgen.config.models import LoadedConfig

#: DuckDB's memory budget (``REPORTGEN_DUCKDB_MEMORY_LIMIT`` overrides it, e.g. ``2GB``). Beyond it DuckDB
#: spills to a private temp folder instead of growing: a 10M-row export then peaks near 0.5 GB instead
#: of 2.3 GB, for about a third more time; a 1M-row export stays within it and pays nothing.
MEMORY_LIMIT = "300MB"


#: Input files larger than this (in all) are loaded into a temporary DuckDB file rather than memory.
#: DuckDB's own storage is compressed and paged through its buffer pool, so a 10M-row (800 MB) export
#: computes about a fifth faster there, at a lower peak, than in memory tables that spill; a small
#: export stays in memory, where it pays no writes.
ON_DISK_ABOVE_BYTES = 300 * 1024 * 1024

#: DuckDB threads of a connection unless its caller says otherwise: this machine class has two cores.
#: Batch workers pass fewer (``duckdb_threads``), so that their threads together fit the cores.
DUCKDB_THREADS = 2


def connect(*, on_disk: bool = False, threads: int | None = None) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with ``threads`` threads (default :data:`DUCKDB_THREADS`), reportgen's memory
    budget and private spill folder; ``on_disk`` keeps its tables in a temporary database file (removed
    at exit) instead of memory."""
    import duckdb

    if on_disk:  # a file of its own: two connections to one path would share one database's tables
        path = os.path.join(_spill_folder(), f"data-{uuid.uuid4().hex}.duckdb")
        con = duckdb.connect(database=path)
        weakref.finalize(con, _remove_database, path)  # a long-running scheduler must not pile them up
    else:
        con = duckdb.connect(database=":memory:")
    con.execute(f"SET threads TO {max(1, threads or DUCKDB_THREADS)}")
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


def _remove_database(path: str) -> None:
    for leftover in (path, path + ".wal"):
        with contextlib.suppress(OSError):
            os.remove(leftover)


def input_bytes(loaded: LoadedConfig) -> int:
    """Total size of the config's data files (SQL sources count as none: their rows are not files)."""
    total = 0
    for name, ds in loaded.config.datasets.items():
        if ds.path:
            try:
                total += loaded.resolve(ds.path, key=("datasets", name, "path")).stat().st_size
            except (OSError, ReportgenError, ValueError):
                pass  # the loader reports a missing or refused path with its own message
    return total


def lock_down(con: duckdb.DuckDBPyConnection) -> None:
    """After loading, the engine may not touch the file system: a ``filter:`` in a config cannot read files."""
    con.execute("SET enable_external_access = false")
    con.execute("SET lock_configuration = true")


def load_datasets(loaded: LoadedConfig, con: duckdb.DuckDBPyConnection | None = None, *,
                  today: date | None = None, check: bool = True, writable: bool = False,
                  cache_key: str | None = None, duckdb_threads: int | None = None) -> LoadedData:
    """Load every dataset of a config; raise one ``DataError`` naming dataset and column on bad data.

    ``check`` applies the config's quality gate (share of unusable rows, wholly unreadable columns).
    Data whose files, settings and loader did not change comes from the warm cache (``cache``). Data read
    cold is written to it in the background unless ``writable`` (the caller changes the tables in place,
    so the entry is written at once, before it does). ``cache_key`` is the
    config's ``cache.fingerprint`` when the caller already has it (hashing an 80 MB export twice costs
    0.05 s). ``duckdb_threads`` sizes a connection made here (see :func:`connect`).
    """

    from reportgen.data import cache

    con = con or connect(on_disk=input_bytes(loaded) > ON_DISK_ABOVE_BYTES, threads=duckdb_threads)
    today = today or date.today()
    data = LoadedData(con, {}, {})
    key = cache_key or (cache.fingerprint(loaded, today) if cache.cache_dir() is not None else None)
    if key is None or not cache.restore(con, key, data):
        _load_each(data, loaded, today)
        if key is not None:
            cache.store(con, key, data, background=not writable)
    if check:
        check_quality(data.quality, loaded.config.quality.max_rejected_share)
    lock_down(con)
    return data


def _load_each(data: LoadedData, loaded: LoadedConfig, today: date) -> None:
    """Load every dataset of the config into ``data`` (reading its files or its database)."""
    import weakref

    import duckdb

    databases: dict[str, RemoteDatabase] = {}
    try:
        with new_workdir() as workdir:
            # exchange rates first: the datasets in other currencies are converted with them as they load
            for name, ds in sorted(loaded.config.datasets.items(), key=lambda item: item[0] != FX):
                try:
                    load_dataset(data, name, ds, loaded, Path(workdir), today, databases=databases)
                except DataError:
                    raise
                except duckdb.Error as exc:
                    first = (str(exc).strip().splitlines() or [exc.__class__.__name__])[0][:300]
                    raise DataError(f"dataset {name!r} ({ds.path or 'sql'}): {first}") from exc
    except BaseException:
        for db in databases.values():
            db.close()
        raise
    for db in databases.values():  # the session holds the temporary tables: open while the data is used
        if db.datasets:
            weakref.finalize(data, db.close)
        else:
            db.close()
    _note_config_targets(data, loaded)


def _note_config_targets(data: LoadedData, loaded: LoadedConfig) -> None:
    """A config ``target:`` loses to the targets dataset's rows for the same KPI (each period the file
    has): say so in the targets' record, or a user edits a number that is never shown."""
    configured = sorted(k.id for k in loaded.config.kpis if k.target is not None)
    if not configured or "targets" not in data.columns or "targets" in data.remote:
        return
    both = [str(r[0]) for r in data.con.execute(
        "SELECT DISTINCT kpi FROM targets WHERE kpi IN (" + ", ".join(lit(k) for k in configured) + ") ORDER BY 1"
    ).fetchall()]
    if both:
        quality = data.quality["targets"]
        note = (f"the targets file's rows for {', '.join(both)} win over the config's target for "
                f"{'that KPI' if len(both) == 1 else 'those KPIs'} (which fills only the periods the file lacks)")
        data.quality["targets"] = replace(quality, notes=quality.notes + (note,))


def load_canonical_folder(folder: Path, con: duckdb.DuckDBPyConnection | None = None, *,
                          today: date | None = None) -> LoadedData:
    """Load every ``<dataset>.csv`` of a folder whose name is a canonical dataset (no config needed)."""
    from reportgen.config.models import Config, LoadedConfig

    datasets = {p.stem: {"path": p.name} for p in sorted(folder.glob("*.csv")) if p.stem in CANONICAL_DATASETS}
    if not datasets:
        raise DataError(f"no canonical dataset CSV (deals.csv, leads.csv, ...) found in {folder}")
    config = Config.model_validate({"datasets": datasets})
    return load_datasets(LoadedConfig(config, folder / "reportgen.yaml", None), con, today=today)


def load_dataset(data: LoadedData, name: str, ds: Dataset, loaded: LoadedConfig, workdir: Path,
                 today: date, notes: tuple[str, ...] = (),
                 databases: dict[str, RemoteDatabase] | None = None) -> None:
    """Create the canonical table ``name`` in ``data.con`` and record its columns and quality (for a
    pushed-down SQL dataset: in its database, with a typed stub in ``data.con``)."""
    con = data.con
    ds = with_as_of(ds)
    if source_format(ds) == "sql":
        dialect, why_not = pushdown_dialect(ds)
        if dialect is not None:
            why_not = load_pushed_down(data, name, ds, loaded, today, dialect, notes,
                                       {} if databases is None else databases)
            if not why_not:
                return
        notes = (*notes, f"every row read locally: {why_not}")
    source = open_source(con, name, ds, loaded, workdir)
    data.transfer.rows_read_whole += source.rows_fetched
    if load_typed(data, name, ds, loaded, source, today, notes):
        _finish(data, name, ds, loaded, today, source)
        return
    numbered = f"numbered__{name}"
    con.execute(f"CREATE OR REPLACE TEMP VIEW {q(numbered)} AS SELECT row_number() OVER () AS __row, * "
                f"FROM {q(source.view)}")
    view, joined = with_lookups(con, numbered, name, ds, loaded, workdir)
    found = {c: t for c, t in columns_of(con, view).items() if not c.startswith("__")}
    columns = plan_columns(name, ds, loaded, found, source)
    styles = settle_styles(con, view, name, ds, columns)
    shape = row_shape(name, columns, list(found), typed=False, own=set(source.columns or columns_of(con, source.view)))
    structure = structure_case(shape, loaded.config.quality)
    select, flags = typed_projection(columns, styles, view, structure=structure, extra_text=shape.extra,
                                     passthrough=tuple(j.flag for j in joined))
    staged = f"staged__{name}"  # beside the canonical tables: when no row is rejected it becomes one
    con.execute(f"CREATE OR REPLACE TABLE {q(staged)} AS {select}")
    if undecodable(con, source):  # encoding: auto met bytes that are not UTF-8: read it again, once
        con.execute(f"DROP TABLE {q(staged)}")
        source = reopen_in_code_page(con, source, name, ds, workdir)
        return load_dataset(data, name, ds.model_copy(update={"encoding": source.encoding}), loaded, workdir,
                            today, notes=tuple(source.notes))
    if name == "deals" and any(c.name == "stage" for c in columns):
        check_unmapped_stages(con, staged, view, columns, source.description)
    kinds = {c.name: c.type for c in columns}
    first_rows: dict[str, list[int]] = {}
    coverage = join_coverage(con, staged, view, joined, structured=structure is not None)
    rule_counts = apply_rules(con, staged, name, kinds, ds, loaded.config.quality, today, table=staged,
                              structure="__struct" if structure else None, first_rows=first_rows)
    renamed = not _has_table(con, staged)  # nothing rejected: the staged table is the canonical one now
    unreadable = [Unreadable(c.name, c.type, _style_text(styles.get(c.name)), c.expr) for c in columns
                  if c.name in flags]
    quality = measure_quality(con, name, name if renamed else staged, source, view, unreadable, kinds, rule_counts,
                              ds.data_through, today, first_rows)
    if joined:
        quality = with_join_coverage(con, quality, source, coverage, mapping_of(ds), name)
    if renamed:  # its row numbers and flags were for the quality record; dropping a column copies nothing
        for column in [c for c in columns_of(con, name) if c.startswith("__")]:
            con.execute(f"ALTER TABLE {q(name)} DROP COLUMN {q(column)}")
    _record(data, name, columns, styles, quality, notes)
    con.execute(f"DROP TABLE IF EXISTS {q(staged)}")
    _finish(data, name, ds, loaded, today)


def _finish(data: LoadedData, name: str, ds: Dataset, loaded: LoadedConfig, today: date,
            typed: Source | None = None) -> None:
    """What every local canonical table gets last: text safe for every sink, then one currency, then a
    snapshot's as-of days.
    ``typed``: the CSV the typed read took every line of (its bytes are checked, not each value)."""
    file = typed.read_path if typed is not None and typed.encoding == "utf-8" else None
    changed = scrub_text(data.con, name, [c for c, kind in data.types[name].items() if kind == "text"],
                         file=file, records=data.quality[name].rows_read + 1)
    if changed:
        quality = data.quality[name]
        data.quality[name] = replace(quality, notes=quality.notes + (scrub_note(changed),))
    settle_currency(data, name, ds, loaded)
    record_snapshots(data, name, ds, today)


def load_typed(data: LoadedData, name: str, ds: Dataset, loaded: LoadedConfig, source: Source, today: date,
               notes: tuple[str, ...] = ()) -> bool:
    """The clean-data path (``typed_read``): build the canonical table in one strict typed pass over the
    CSV, without row numbers, flags or a copy. False, having built nothing, when the dataset cannot take
    it or the data is not clean; the general path then loads it as always.

    Row numbers are still there for the rule that needs them (the first of duplicate ids is kept): a
    table with a repeated id is written by one ordered CREATE TABLE AS, which keeps the order it was read
    in, so ``rowid + 1`` is the row number ``row_number() OVER ()`` gives the general path.
    """
    import duckdb

    if ds.lookups or source.read_path is None:
        return False
    con = data.con
    found = dict(source.columns) or columns_of(con, source.view)  # each DESCRIBE of a CSV view sniffs it again
    if ROW_NUMBER in found:
        return False
    columns = plan_columns(name, ds, loaded, found, source)
    styles = settle_styles(con, source.view, name, ds, columns)
    select = typed_read_sql(source, found, columns, styles)
    if select is None:
        return False
    table, rows = f"typed__{name}", f"typed__{name}__rows"
    kinds = {c.name: c.type for c in columns}
    quality_cfg = loaded.config.quality
    structure = structure_case(row_shape(name, columns, list(found), typed=True), quality_cfg)
    try:
        _create_typed(con, table, select, ordered=False)
        duplicates = has_duplicate_ids(con, table, name, kinds, quality_cfg)
        if duplicates:  # "the first of duplicate ids is kept": read again, numbering rows as read
            _create_typed(con, table, select, ordered=True)
    except duckdb.Error:  # stopped at the first value or line the general path reports: let it
        return False
    con.execute(f"CREATE OR REPLACE TEMP VIEW {q(rows)} AS SELECT rowid + 1 AS __row, * FROM {q(table)}")
    first_rows: dict[str, list[int]] = {}
    rule_counts = apply_rules(con, rows, name, kinds, ds, quality_cfg, today, table=table,
                              duplicates=duplicates, structure=structure, first_rows=first_rows)
    if first_rows and not duplicates:  # rows were left out: their lines need the table in the file's order
        _create_typed(con, table, select, ordered=True)
        first_rows.clear()
        rule_counts = apply_rules(con, rows, name, kinds, ds, quality_cfg, today, table=table,
                                  duplicates=duplicates, structure=structure, first_rows=first_rows)
    if not _has_table(con, table):  # renamed to the canonical table: nothing was left out, so same rows
        con.execute(f"CREATE OR REPLACE TEMP VIEW {q(rows)} AS SELECT rowid + 1 AS __row, * FROM {q(name)}")
    quality = measure_quality(con, name, rows, source, rows, [], kinds, rule_counts, ds.data_through, today,
                              first_rows)
    _record(data, name, columns, styles, quality, notes, loader=TYPED_READ)
    con.execute(f"DROP VIEW {q(rows)}")
    con.execute(f"DROP TABLE IF EXISTS {q(table)}")
    if FIRST_TOTAL in columns_of(con, name):  # the flag the row rules read
        con.execute(f"ALTER TABLE {q(name)} DROP COLUMN {q(FIRST_TOTAL)}")
    return True


def _create_typed(con: duckdb.DuckDBPyConnection, table: str, select: str, *, ordered: bool) -> None:
    """The typed read's CREATE TABLE. Unordered unless asked: DuckDB then writes the rows as its
    threads read them, without restoring the file's order, which is a third of the statement's time
    (1M rows: about 0.9 s -> 0.65 s). Every later use of the table aggregates, except the rule that
    keeps the first of duplicate ids: only it needs ``rowid`` to be the line order, so a table with a
    repeated id is written again in order. (Order lines take a line's value only where all lines of
    the order agree, so their order does not matter.)"""
    if ordered:
        con.execute(f"CREATE OR REPLACE TABLE {q(table)} AS {select}")
        return
    con.execute("SET preserve_insertion_order = false")
    try:
        con.execute(f"CREATE OR REPLACE TABLE {q(table)} AS {select}")
    finally:
        con.execute("SET preserve_insertion_order = true")


def _record(data: LoadedData, name: str, columns: list[Column], styles: dict[str, Any], quality: DatasetQuality,
            notes: tuple[str, ...], loader: str = "general") -> None:
    """Keep a loaded dataset's columns, types and quality record (with the styles it was read in)."""
    dates = {c: s.describe() for c, s in styles.items() if isinstance(s, fmt.DateStyle)}
    numbers = {c: s.describe() for c, s in styles.items() if isinstance(s, fmt.NumberStyle)}
    data.quality[name] = replace(quality, date_formats=dates, number_formats=numbers, notes=quality.notes + notes,
                                 loader=loader)
    data.columns[name] = [c.name for c in columns]
    data.types[name] = {c.name: kind_of(c.type) for c in columns}


def _has_table(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    return bool(one_row(con, "SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database() "
                             f"AND schema_name = 'main' AND table_name = {lit(table)}")[0])


def _style_text(style: Any) -> str:
    return style.describe() if style is not None and hasattr(style, "describe") else ""


