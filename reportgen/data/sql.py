"""Quoting for the SQL the data layer writes: the one home of identifier and literal quoting."""
from __future__ import annotations

from typing import Any


def q(identifier: str) -> str:
    """Quote an identifier for DuckDB (a column named ``a"b`` stays one identifier)."""
    return '"' + identifier.replace('"', '""') + '"'


def lit(value: Any) -> str:
    """Quote a value as a SQL string literal."""
    return "'" + str(value).replace("'", "''") + "'"
