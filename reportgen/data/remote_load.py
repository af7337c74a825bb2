"""``load_dataset`` inside a SQL dataset's own database (pushdown): the same typing, rule and quality
SQL as the local loaders, transpiled, builds a temporary canonical table there, and DuckDB gets a typed
stub of it (``pushdown``). Kept apart from ``load``, which reads files."""
from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import TYPE_CHECKING, cast

from reportgen.data.columns import kind_of, typed_projection
from reportgen.data.currency import needs_currency_check
from reportgen.data.loaded import LoadedData
from reportgen.data.mapping import check_unmapped_stages, plan_columns
from reportgen.data.pushdown import RemoteDatabase, source_columns, source_sql, stub_view
from reportgen.data.quality import Unreadable, measure_quality
from reportgen.data.rules import apply_rules
from reportgen.data.safe_text import scrub_note, scrub_remote
from reportgen.data.sources import Source, describe_source, redact
from reportgen.data.sql import lit, one_row, q
from reportgen.data.structure import row_shape, structure_case
from reportgen.environment import expand_env
from reportgen.errors import DataError

if TYPE_CHECKING:
    import duckdb

    from reportgen.config.datasets import Dataset
    from reportgen.config.models import LoadedConfig


def load_pushed_down(data: LoadedData, name: str, ds: Dataset, loaded: LoadedConfig, today: date, dialect: str,
                     notes: tuple[str, ...], databases: dict[str, RemoteDatabase]) -> str:
    """``load_dataset`` inside the dataset's database: the same typing, rule and quality SQL, transpiled,
    builds a temporary canonical table there; ``data.con`` gets a typed stub of it. Returns "" when
    done, else why the dataset must be read locally (nothing is left behind then)."""
    import sqlalchemy
    import sqlglot

    if ds.lookups:
        return "lookups join local files"
    if ds.order_lines:
        return "order lines are grouped locally"
    if ds.snapshot is not None:
        return "snapshot datasets are read locally"
    if needs_currency_check(name, ds):
        return "currencies are checked locally"
    url = expand_env(ds.url or "")
    if url not in databases:
        try:
            databases[url] = RemoteDatabase(url, dialect, data.transfer)
            # a time stamp with a time zone becomes a day in DuckDB's zone locally: the same there
            zone = one_row(data.con, "SELECT current_setting('TimeZone')")[0]
            databases[url].native(f"SET TIME ZONE {lit(zone)}")
        except sqlalchemy.exc.SQLAlchemyError as exc:
            raise DataError(f"cannot read from {redact(url)}: {str(exc).splitlines()[0]}") from None
    db = databases[url]
    raw, numbered, staged = f"raw__{name}", f"numbered__{name}", f"staged__{name}"
    try:
        db.create_temp(raw, source_sql(db, ds), kind="VIEW", native=True)
        found = source_columns(db, raw)
    except sqlalchemy.exc.SQLAlchemyError:
        db.drop(raw, "VIEW")
        return "the database would not run the query as a temporary view"
    con = data.con
    con.execute(f"CREATE OR REPLACE TEMP VIEW {q(raw)} AS SELECT "
                + ", ".join(f"CAST(NULL AS {t}) AS {q(c)}" for c, t in found) + " WHERE false")
    con.execute(f"CREATE OR REPLACE TEMP VIEW {q(numbered)} AS SELECT row_number() OVER () AS __row, * FROM {q(raw)}")
    source = Source(raw, describe_source(ds), textual=False)
    columns = plan_columns(name, ds, loaded, {c: t for c, t in found}, source)
    as_text = [c.name for c in columns if c.textual and c.expr != "NULL" and c.type in
               ("number", "date", "timestamp", "detect")]
    if as_text:
        db.drop(raw, "VIEW")
        return f"{', '.join(as_text)} written as text (its format is read from the values)"
    shape = row_shape(name, columns, [c for c, _ in found], typed=False)
    structure = structure_case(shape, loaded.config.quality)  # blank, total and header rows, as locally
    select, flags = typed_projection(columns, {}, numbered, structure=structure, extra_text=shape.extra)
    con.execute(f"CREATE OR REPLACE TEMP TABLE {q(staged)} AS {select} LIMIT 0")
    stub = [(str(r[0]), str(r[1])) for r in con.execute(f"DESCRIBE {q(staged)}").fetchall()
            if not str(r[0]).startswith("__")]
    con.execute(f"DROP TABLE {q(staged)}")
    remote = cast("duckdb.DuckDBPyConnection", db)  # the slice of a connection the loader's steps use
    try:
        db.create_temp(numbered, f"SELECT row_number() OVER () AS __row, * FROM {q(raw)}", kind="VIEW")
        db.create_temp(staged, select)
        if name == "deals" and any(c.name == "stage" for c in columns):
            check_unmapped_stages(remote, staged, numbered, columns, source.description)
        kinds = {c.name: c.type for c in columns}
        rule_counts = apply_rules(remote, staged, name, kinds, ds, loaded.config.quality, today,
                                  structure="__struct" if structure else None)
        unreadable = [Unreadable(c.name, c.type, "", c.expr) for c in columns if c.name in flags]
        quality = measure_quality(remote, name, staged, source, numbered, unreadable, kinds, rule_counts,
                                  ds.data_through, today)
        changed = scrub_remote(db, name, [c.name for c in columns if kind_of(c.type) == "text"])
        db.native(f"ANALYZE {db.temp_name(name)}")
        db.drop(staged)
    except (sqlalchemy.exc.SQLAlchemyError, sqlglot.errors.SqlglotError) as exc:
        for obj, kind in ((name, "TABLE"), (staged, "TABLE"), (numbered, "VIEW"), (raw, "VIEW")):
            db.drop(obj, kind)
        return f"the database could not build it ({str(exc).strip().splitlines()[0][:160]})"
    stub_view(con, name, stub, redact(url))
    where = f"computed in the database ({db.engine.dialect.name}): only aggregated rows are read"
    scrubbed = (scrub_note(changed),) if changed else ()
    data.quality[name] = replace(quality, notes=quality.notes + scrubbed + notes + (where,))
    data.columns[name] = [c.name for c in columns]
    data.types[name] = {c.name: kind_of(c.type) for c in columns}
    data.remote[name] = db
    db.datasets.add(name)
    return ""
