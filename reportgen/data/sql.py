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


def one_row(con: duckdb.DuckDBPyConnection, sql: str) -> tuple[Any, ...]:
    """The one row of a query that always returns one (an aggregate without GROUP BY)."""
    row = con.execute(sql).fetchone()
    if row is None:
        raise RuntimeError(f"query returned no row: {sql}")
    return row
