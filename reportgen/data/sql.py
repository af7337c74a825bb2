"""Quoting for the SQL the data layer writes: the one home of identifier and literal quoting."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import duckdb


def q(identifier: str) -> str:
    """Quote an identifier for DuckDB (a column named ``a"b`` stays one identifier)."""
    return '"' + identifier.replace('"', '""') + '"'


def lit(value: Any) -> str:
    """Quote a value as a SQL string literal."""
    return "'" + str(value).replace("'", "''") + "'"


def clean_text(expr: str) -> str:
    """A value as the loader reads what was written: text, trimmed, NULL when empty. The typing
    expressions take ``clean=True`` when their input is already this, so no value is trimmed twice."""
    return f"NULLIF(trim(CAST({expr} AS VARCHAR)), '')"


def one_row(con: duckdb.DuckDBPyConnection, sql: str) -> tuple[Any, ...]:
    """The one row of a query that always returns one (an aggregate without GROUP BY)."""
    row = con.execute(sql).fetchone()
    if row is None:
        raise RuntimeError(f"query returned no row: {sql}")
    return row
