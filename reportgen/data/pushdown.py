"""SQL pushdown: a SQL dataset's canonical table is built, checked and aggregated inside its own database,
so only aggregated rows travel.

The engine writes DuckDB SQL over canonical table names (``FROM "deals"``) and small helper tables it
creates locally (``periods``, ``days``, ...). For a pushed-down dataset the canonical table is a
temporary table in the database session (``pg_temp."deals"``, built by the loader's own typing and rule
SQL, transpiled with SQLGlot), and DuckDB holds only a typed stub view of the same name that refuses to
be read, so a query that forgot to go through :meth:`LoadedData.query` fails loudly instead of counting
zero rows. ``RemoteDatabase.query`` is the executor seam: it finds the tables a query reads (SQLGlot),
copies every local helper table it references into a temporary table on the database (only when its
content changed), transpiles the query to the database's dialect, runs it and counts the rows that
come back.

What falls back to the local path (every row read with pandas, as before), with a note in the
dataset's quality record: ``pushdown: false``; a database SQLGlot cannot write or reportgen has not
been tested on (pushdown is on by default for PostgreSQL only); lookups (they join local files);
``order_lines`` (grouped locally); number or date columns stored as text (their format is settled
from the values and parsed by DuckDB's strptime); and a database that refuses temporary tables.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from reportgen.data.sql import lit, q
from reportgen.environment import expand_env
from reportgen.errors import DataError

if TYPE_CHECKING:
    import duckdb
    import pandas as pd

    from reportgen.config.datasets import Dataset

#: SQLAlchemy dialect name -> SQLGlot dialect, for the databases pushdown runs on by default (tested
#: against a real server). Others need ``pushdown: true`` and are refused unless listed here.
DIALECTS = {"postgresql": "postgres"}

#: DuckDB type a PostgreSQL column reads as locally (what pandas.read_sql + DuckDB would give), by type
#: OID (fixed in PostgreSQL's catalog, the same for every driver); any other type reads as text.
_PG_TYPES = {
    21: "BIGINT", 23: "BIGINT", 20: "BIGINT", 26: "BIGINT",  # int2, int4, int8, oid
    700: "DOUBLE", 701: "DOUBLE", 1700: "DOUBLE",  # float4, float8, numeric
    1082: "DATE", 1114: "TIMESTAMP", 1184: "TIMESTAMP WITH TIME ZONE", 16: "BOOLEAN",
}


@dataclass
class Transfer:
    """Rows that crossed the wire between reportgen and SQL databases during one load and compute."""

    rows_fetched: int = 0  # rows returned by pushed-down queries (aggregates, counts, distinct values)
    rows_sent: int = 0  # helper-table rows copied up to the database (periods, days, ...)
    queries: int = 0  # pushed-down queries run
    rows_read_whole: int = 0  # rows read one by one by the local path (pandas.read_sql of every row)
    pulled: dict[str, str] = field(default_factory=dict)  # dataset -> why it was pulled local after loading


def pushdown_dialect(ds: Dataset) -> tuple[str | None, str]:
    """(SQLGlot dialect, "") when this SQL dataset is pushed down, else (None, why not)."""
    if ds.pushdown is False:
        return None, "pushdown: false"
    url = expand_env(ds.url or "")
    name = url.split(":", 1)[0].split("+", 1)[0]
    if name in DIALECTS:
        return DIALECTS[name], ""
    if ds.pushdown:
        raise DataError(f"pushdown: true is supported for PostgreSQL only, not {name!r}; "
                        "remove it to read the rows locally")
    return None, f"no pushdown for {name} (PostgreSQL only)"


_CREATE_TABLE = re.compile(r"\s*CREATE\s+(?:OR\s+REPLACE\s+)?(?:TEMP\s+|TEMPORARY\s+)?TABLE\s+"
                           r"(\"(?:[^\"]|\"\")+\")\s+AS\s+(.*)$", re.IGNORECASE | re.DOTALL)


def first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else exc.__class__.__name__


class Result:
    """The rows of one statement, with the slice of DuckDB's result API the loader uses."""

    def __init__(self, columns: list[str], rows: list[tuple[Any, ...]]):
        self.columns, self.rows = columns, rows

    def fetchall(self) -> list[tuple[Any, ...]]:
        return self.rows

    def fetchone(self) -> tuple[Any, ...] | None:
        return self.rows[0] if self.rows else None

    def df(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame.from_records(self.rows, columns=self.columns, coerce_float=True)


class RemoteDatabase:
    """One autocommit session on a SQL database holding the temporary tables of pushed-down datasets."""

    def __init__(self, url: str, dialect: str, transfer: Transfer):
        import sqlalchemy

        self.url, self.dialect, self.transfer = url, dialect, transfer
        self.engine = sqlalchemy.create_engine(url)
        self.conn = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        self.datasets: set[str] = set()
        self.created: set[str] = set()  # temporary objects this session made (only these are ever dropped)
        self.helpers: dict[str, str] = {}  # helper table -> digest of the rows last copied up

    def close(self) -> None:
        try:
            self.conn.close()
        finally:
            self.engine.dispose()

    # --- statements -------------------------------------------------------------------------------------
    def transpile(self, sql: str) -> str:
        import sqlglot
        from sqlglot import exp
        from sqlglot.errors import ErrorLevel

        tree = sqlglot.parse_one(sql, read="duckdb")
        for call in list(tree.find_all(exp.Anonymous)):  # DuckDB's compensated sum/avg: the database's own
            own = {"fsum": exp.Sum, "favg": exp.Avg}.get(call.name.lower())
            if own is not None and len(call.expressions) == 1:
                call.replace(own(this=call.expressions[0]))
        for i, sub in enumerate(tree.find_all(exp.Subquery)):  # PostgreSQL before 16 wants every one named
            if not sub.alias and isinstance(sub.parent, (exp.From, exp.Join)):
                sub.set("alias", exp.TableAlias(this=exp.to_identifier(f"__sub{i}")))
        return str(tree.sql(dialect=self.dialect, unsupported_level=ErrorLevel.RAISE))

    def native(self, sql: str) -> Result:
        """Run SQL written in the database's own dialect, as is."""
        # Straight to the driver without parameters, so a '%' in a LIKE pattern stays a '%' (SQLAlchemy would
        # pass an empty parameter list, and psycopg would then read '%' as a placeholder).
        cur: Any = self.conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            try:
                cur.execute(sql)
            except Exception as exc:
                import sqlalchemy

                raise sqlalchemy.exc.DBAPIError(sql, None, exc) from exc  # as SQLAlchemy would say it
            if cur.description is None:
                return Result([], [])
            return Result([str(d[0]) for d in cur.description], [tuple(r) for r in cur.fetchall()])
        finally:
            cur.close()

    def temp_name(self, name: str) -> str:
        return f"pg_temp.{q(name)}"

    def drop(self, name: str, kind: str = "TABLE") -> None:
        """Drop a temporary object this session created; never anything else (schema-qualified)."""
        if name in self.created:
            self.native(f"DROP {kind} IF EXISTS {self.temp_name(name)}")
            self.created.discard(name)

    def create_temp(self, name: str, select_duckdb: str, kind: str = "TABLE", native: bool = False) -> None:
        self.drop(name, kind)
        body = select_duckdb if native else self.transpile(select_duckdb)
        self.native(f"CREATE TEMPORARY {kind} {q(name)} AS {body}")
        self.created.add(name)

    def execute(self, sql: str, params: Any = None) -> Result:
        """A DuckDB statement of the loader, run on the database (the ``con`` the loader's functions get)."""
        if params:
            raise DataError("internal: parameters are not passed to a pushed-down statement")
        m = re.match(r"\s*DESCRIBE\s+(.+?)\s*$", sql, re.IGNORECASE | re.DOTALL)
        if m:
            res = self.native(f"SELECT * FROM {m.group(1)} LIMIT 0")
            return Result(["column_name", "column_type"], [(c, "") for c in res.columns])
        m = _CREATE_TABLE.match(sql)
        if m:
            name = m.group(1)[1:-1].replace('""', '"')
            self.create_temp(name, m.group(2))
            return Result([], [])
        m = re.match(r"\s*DROP\s+TABLE\s+(?:IF\s+EXISTS\s+)?(\"(?:[^\"]|\"\")+\")\s*$", sql, re.IGNORECASE)
        if m:
            self.drop(m.group(1)[1:-1].replace('""', '"'))
            return Result([], [])
        res = self.native(self.transpile(sql))
        self.transfer.rows_fetched += len(res.rows)
        return res

    # --- the executor seam ---------------------------------------------------------------------------------
    def query(self, con: duckdb.DuckDBPyConnection, sql: str, tables: set[str]) -> pd.DataFrame:
        """Run an engine query that reads pushed-down ``tables`` of this database: copy the local
        tables it also references, transpile, run, count the rows that came back."""
        import sqlglot
        from sqlglot import exp

        if not isinstance(sqlglot.parse_one(sql, read="duckdb"), exp.Query):  # one SELECT, nothing else
            raise DataError(f"internal: only a query is pushed down to a database, not {sql.split()[0]}")
        for helper in sorted(tables - self.datasets):
            self.copy_up(con, helper)
        res = self.native(self.transpile(sql))
        self.transfer.rows_fetched += len(res.rows)
        self.transfer.queries += 1
        return res.df()

    def copy_up(self, con: duckdb.DuckDBPyConnection, table: str) -> None:
        """Copy a small local table (periods, days, ...) into a temporary table of the same name, unless
        the same rows were copied already."""
        import duckdb
        import sqlglot

        try:
            described = con.execute(f"DESCRIBE {q(table)}").fetchall()
        except duckdb.Error:  # not a local table: one of the database's own (a filter may name one)
            return
        rows = con.execute(f"SELECT * FROM {q(table)}").fetchall()
        digest = hashlib.sha256(repr((described, rows)).encode()).hexdigest()
        if self.helpers.get(table) == digest:
            return
        cols = [(str(r[0]), sqlglot.exp.DataType.build(str(r[1]), dialect="duckdb").sql(dialect=self.dialect))
                for r in described]
        self.drop(table)
        self.native(f"CREATE TEMPORARY TABLE {q(table)} ({', '.join(f'{q(c)} {t}' for c, t in cols)})")
        self.created.add(table)
        if rows:
            cur: Any = self.conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
            if hasattr(cur, "copy"):  # psycopg 3: COPY, one round trip
                with cur, cur.copy(f"COPY {self.temp_name(table)} FROM STDIN") as copy:
                    for r in rows:
                        copy.write_row(r)
            else:
                cur.close()
                import sqlalchemy

                marks = ", ".join(f":p{i}" for i in range(len(cols)))
                self.conn.execute(sqlalchemy.text(f"INSERT INTO {self.temp_name(table)} VALUES ({marks})"),
                                  [{f"p{i}": v for i, v in enumerate(r)} for r in rows])
        self.native(f"ANALYZE {self.temp_name(table)}")
        self.helpers[table] = digest
        self.transfer.rows_sent += len(rows)


def referenced_tables(sql: str) -> set[str]:
    """Names of the tables a DuckDB query reads (CTE names left out)."""
    import sqlglot
    from sqlglot import exp

    tree = sqlglot.parse_one(sql, read="duckdb")
    ctes = {c.alias_or_name for c in tree.find_all(exp.CTE)}
    return {t.name for t in tree.find_all(exp.Table) if t.name and t.name not in ctes}


def stub_view(con: duckdb.DuckDBPyConnection, name: str, columns: list[tuple[str, str]], where: str) -> None:
    """A typed, empty-looking view named after the dataset that raises when read: its types answer
    ``information_schema`` and ``DESCRIBE``; its rows live in the database."""
    select = ", ".join(f"CAST(NULL AS {t}) AS {q(c)}" for c, t in columns)
    con.execute(f"CREATE OR REPLACE VIEW {q(name)} AS SELECT {select} "
                f"WHERE error({lit(f'dataset {name} lives in {where}: read it through LoadedData.query')})")


def source_columns(db: RemoteDatabase, view: str) -> list[tuple[str, str]]:
    """(column, DuckDB type it reads as locally) of a view on the database, without reading a row."""
    result = db.conn.exec_driver_sql(f"SELECT * FROM {db.temp_name(view)} LIMIT 0")
    out = [(str(col[0]), _PG_TYPES.get(col[1] if isinstance(col[1], int) else -1, "VARCHAR"))
           for col in result.cursor.description or ()]
    result.close()
    return out


def source_sql(db: RemoteDatabase, ds: Dataset) -> str:
    """The dataset's rows in the database's own SQL: the user's query as written, or the whole table."""
    import sqlalchemy

    if ds.query:
        return ds.query.strip().rstrip(";")
    try:
        schema = sqlalchemy.inspect(db.conn).default_schema_name
        table = sqlalchemy.Table(ds.table or "", sqlalchemy.MetaData(), schema=schema, autoload_with=db.conn)
    except sqlalchemy.exc.NoSuchTableError:
        from reportgen.data.sources import redact

        raise DataError(f"table {ds.table!r} not found in {redact(ds.url or '')}") from None
    return f"SELECT * FROM {db.engine.dialect.identifier_preparer.format_table(table)}"
