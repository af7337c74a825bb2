"""Computed columns: a canonical column from an expression over source columns, e.g. Northwind's line
amount ``unit_price * quantity * (1 - discount)``.

The expression is parsed by the same safe parser as KPI formulas (``kpis.expressions``: names, numbers,
``+ - * /`` and unary minus, nothing is evaluated by Python) and written as SQL over the typed source
columns, each read as a number with its own settled style and its unreadable values counted as any
number column's are. A division by zero, or any input that is missing, leaves the value missing.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from reportgen.data.columns import Column, close_match
from reportgen.data.sql import q
from reportgen.errors import ConfigError, DataError
from reportgen.kpis.datasets import computed_sql

if TYPE_CHECKING:
    from reportgen.data.sources import Source


def computed_columns(name: str, computed: dict[str, str], found: dict[str, str], source: Source,
                     columns: list[Column]) -> list[Column]:
    """The computed columns and the number columns they read (added to ``columns`` when not there)."""
    out: list[Column] = []
    have = {c.name: c for c in columns}
    for target, text in computed.items():
        try:
            formula, reads = computed_sql(text)
        except ConfigError as exc:
            raise DataError(f"dataset {name!r}: computed column {target!r}: {exc}") from None
        for src in reads:
            if src not in found:
                raise DataError(f"dataset {name!r} ({source.description}): computed column {target!r} reads "
                                f"{src!r}, which is not a column of the source{close_match(src, found)}; columns "
                                f"found: {', '.join(c for c in found if not c.startswith('__'))}")
            if src in have and have[src].type != "number":
                raise DataError(f"dataset {name!r}: computed column {target!r} reads {src!r}, which the dataset "
                                f"also reads as {have[src].type}; a number input needs its own column")
            if src not in have:
                textual = found[src].upper().startswith("VARCHAR") or source.textual
                have[src] = Column(src, "number", q(src), textual)
                out.append(have[src])
        out.append(Column(target, "number", "NULL", False, formula=formula))
    return out
