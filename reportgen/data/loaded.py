"""What loading gives the engine: ``LoadedData`` (the DuckDB connection with one canonical table per
dataset, and what was found), and the seam through which every engine query runs where its data lives,
in DuckDB or in the database of a pushed-down dataset (``pushdown``), with the fall-backs that read a
pushed-down dataset's rows locally.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from reportgen.data.pushdown import RemoteDatabase, Transfer, first_line, referenced_tables
from reportgen.data.quality import DatasetQuality
from reportgen.data.sql import q
from reportgen.errors import DataError

if TYPE_CHECKING:
    import duckdb
    import pandas as pd


@dataclass
class LoadedData:
    """The DuckDB connection holding one canonical table per dataset, plus what was found."""

    con: duckdb.DuckDBPyConnection
    columns: dict[str, list[str]]
    quality: dict[str, DatasetQuality]
    types: dict[str, dict[str, str]] = field(default_factory=dict)  # dataset -> column -> number/date/text
    remote: dict[str, RemoteDatabase] = field(default_factory=dict)  # pushed-down dataset -> its database
    transfer: Transfer = field(default_factory=Transfer)  # rows that crossed the wire to SQL databases
    #: Set when this data is one segment of a burst, cut from ``partition.whole``.
    partition: Partition | None = None
    #: What the engine computed over this (whole) data for all the segments of a burst at once, kept
    #: for the next segment (``engine.partition``); opaque here.
    burst_cache: dict[object, object] = field(default_factory=dict)

    def query(self, sql: str) -> pd.DataFrame:
        """Run one of the engine's DuckDB queries where its data lives: in the database of a pushed-down
        dataset it reads (transpiled; local helper tables copied up), else in DuckDB."""
        if not self.remote:
            return self.con.execute(sql).df()
        return run_query(self, sql)

    def has(self, dataset: str, column: str | None = None) -> bool:
        if dataset not in self.columns:
            return False
        return column is None or column in self.columns[dataset]


@dataclass(frozen=True)
class Partition:
    """A burst segment's data is the rows of ``whole`` whose ``dimension`` is ``value`` (datasets without
    the dimension dropped): so its measures can come from one pass over ``whole`` for every segment."""

    whole: LoadedData
    dimension: str
    value: str


def run_query(data: LoadedData, sql: str) -> pd.DataFrame:
    """Where a query runs: in the database holding the pushed-down dataset it reads, else in DuckDB."""
    remote_names = set(data.remote)
    if remote_names:
        try:
            tables = referenced_tables(sql)
        except Exception as exc:  # noqa: BLE001 - SQLGlot cannot read it: compute the datasets it may name locally
            for n in sorted(n for n in remote_names if re.search(rf"\b{re.escape(n)}\b", sql)):
                pull_local(data, n, f"SQLGlot cannot read a query ({first_line(exc)})")
            return data.con.execute(sql).df()
        hit = tables & remote_names
        if hit:
            dbs = {id(data.remote[n]): data.remote[n] for n in hit}
            if len(dbs) > 1:  # two databases in one query: read all but one of them locally
                for n in sorted(hit)[1:]:
                    if data.remote[n] is not data.remote[sorted(hit)[0]]:
                        pull_local(data, n, "read together with a dataset of another database")
                return run_query(data, sql)
            db = next(iter(dbs.values()))
            try:
                return db.query(data.con, sql, tables)
            except Exception as exc:  # SQLGlot cannot write it, or the database refused it: compute locally
                if isinstance(exc, DataError):
                    raise
                for n in sorted(hit):
                    pull_local(data, n, f"a query failed in the database ({first_line(exc)})")
    return data.con.execute(sql).df()


def fetch_rows(data: LoadedData, name: str, where: str | None = None) -> pd.DataFrame:
    """Rows of a pushed-down dataset (those ``where`` selects, a DuckDB condition), typed as its stub."""
    db = data.remote[name]
    res = db.native(db.transpile(f"SELECT * FROM {q(name)}" + (f" WHERE {where}" if where else "")))
    data.transfer.rows_read_whole += len(res.rows)
    return res.df()


def copy_rows(data: LoadedData, name: str, target: str, where: str | None = None) -> None:
    """A local table ``target`` (a quoted, maybe schema-qualified name) holding rows of a pushed-down dataset."""
    con = data.con
    stub_types = [(str(r[0]), str(r[1])) for r in con.execute(f"DESCRIBE {q(name)}").fetchall()]
    frame = fetch_rows(data, name, where)
    con.register(f"{name}__rows_df", frame)
    cast = ", ".join(f"CAST({q(c)} AS {t}) AS {q(c)}" for c, t in stub_types)
    try:
        con.execute(f"CREATE TABLE {target} AS SELECT {cast} FROM {q(name + '__rows_df')}")
    finally:
        con.unregister(f"{name}__rows_df")


def pull_local(data: LoadedData, name: str, why: str, where: str | None = None) -> None:
    """Replace the stub of a pushed-down dataset by a local table of its rows (all, or those ``where``
    selects, e.g. one segment's); the dataset is local from then on. A whole pull is noted in its
    quality record."""
    tmp = f"{name}__pulled"
    copy_rows(data, name, q(tmp), where)
    data.con.execute(f"DROP VIEW IF EXISTS {q(name)}")
    data.con.execute(f"ALTER TABLE {q(tmp)} RENAME TO {q(name)}")
    del data.remote[name]
    if where is None:
        data.transfer.pulled[name] = why
        if name in data.quality:
            qual = data.quality[name]
            data.quality[name] = replace(qual, notes=qual.notes + (f"computed locally: {why}",))
