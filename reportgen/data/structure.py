"""Rows that are not data: a line of commas, a total row, the header line repeated mid-file.

Spreadsheet and CRM exports carry them: an Excel sheet saved as CSV ends in ``Total,,,123456``, a
blank line of separators sits between blocks, two monthly exports pasted together repeat the header.
Typed as data they become a deal with no id in a "(blank)" segment, or an "unmapped stage value
'StageName'". Each is recognised here from the text as written (one SQL ``CASE`` per row, labelled by
rule), left out and counted with its line numbers, unless the config's ``quality:`` section keeps it.
They carry no deal, so they are shown but not held against the rejected-row gate (``NOT_DATA``).

One home for datasets and lookups, for the general loader (over the raw text) and the typed read
(over typed values, where a value is NULL exactly when its text was empty).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from reportgen.data.sql import lit

if TYPE_CHECKING:
    from reportgen.config.datasets import Quality
    from reportgen.data.columns import Column

BLANK, TOTAL, HEADER = "blank row", "total row", "repeated header line"
#: Rules whose rows carry no data: counted and shown with their lines, not held against the gate.
NOT_DATA = (BLANK, TOTAL, HEADER)
#: The ``quality:`` setting that keeps each rule's rows.
SETTINGS = {BLANK: "blank_rows", TOTAL: "total_rows", HEADER: "repeated_headers"}
#: A first cell that starts a total or summary row (English, German, Spanish, Dutch, Italian, French).
_WORDS = r"^(grand[ -]?|sub[ -]?)?totals?(\b|$)|^sum(\b|$)|^summe|^gesamt|^totaal|^totale(\b|$)|^somme(\b|$)"
#: The same as SQL: the end of a word spelt as a class, not ``\b``, which PostgreSQL's regular
#: expressions read as a backspace (a pushed-down dataset runs this pattern there).
TOTAL_WORDS = _WORDS.replace(r"(\b|$)", r"([^[:alnum:]_]|$)")
#: The typed read's flag column: the file's first cell, read by no canonical column, is a total word.
FIRST_TOTAL = "__first_total"
_TOTAL_LINE = re.compile(r'^\s*"?\s*(' + _WORDS.replace("^", "") + ")", re.IGNORECASE)


@dataclass(frozen=True)
class RowShape:
    """The text of one row as SQL: each column read (source name -> trimmed text, NULL when empty), the
    required non-number columns, the number columns, and the file's first cell."""

    values: dict[str, str]
    required: list[str]
    amounts: list[str]
    first: str | None  # SQL: the first cell's text, or a boolean column already saying it is a total word
    header: bool = True  # the header rule applies (the typed read: only when every column read is text)
    first_is_flag: bool = False
    extra: tuple[str, ...] = ()  # items the projection before must add ("expr AS name"), for the first cell
    #: Values of which one empty lets a "Total" first cell make a total row: the required columns (a
    #: deal named "Total SA" with all its values is a deal), or every column when none is required.
    gate: tuple[str, ...] = ()


def structure_case(shape: RowShape, quality: Quality) -> str | None:
    """A SQL CASE giving the rule label of a row that is not data (NULL for a data row), or None when no
    rule is on or nothing is read."""
    values = list(shape.values.items())
    if not values:
        return None
    whens: list[str] = []
    if quality.repeated_headers == "reject" and shape.header and len(values) > 1:
        same = " AND ".join(f"coalesce(lower(CAST({v} AS VARCHAR)) = {lit(name.strip().lower())}, false)"
                            for name, v in values)
        whens.append(f"WHEN {same} THEN {lit(HEADER)}")
    if quality.blank_rows == "reject":
        whens.append("WHEN " + " AND ".join(f"{v} IS NULL" for _, v in values) + f" THEN {lit(BLANK)}")
    if quality.total_rows == "reject":
        totals = []
        if shape.first is not None:
            gate = [v for v in (shape.gate or [v for _, v in values]) if v != shape.first]
            said = shape.first if shape.first_is_flag else first_is_total(shape.first)
            # the pattern only where a gate value is empty: clean rows never pay for it
            totals.append(f"(CASE WHEN {' OR '.join(f'{v} IS NULL' for v in gate) or 'true'} THEN {said} END)")
        if shape.required and shape.amounts:
            totals.append("(" + " AND ".join(f"{v} IS NULL" for v in shape.required) + " AND ("
                          + " OR ".join(f"{v} IS NOT NULL" for v in shape.amounts) + "))")
        if totals:
            whens.append(f"WHEN {' OR '.join(totals)} THEN {lit(TOTAL)}")
    return f"CASE {' '.join(whens)} END" if whens else None


def first_is_total(text: str) -> str:
    """SQL: the text (trimmed, NULL when empty) starts with a total word."""
    return f"coalesce(regexp_matches(lower(CAST({text} AS VARCHAR)), {lit(TOTAL_WORDS)}), false)"


def is_total_line(line: str | None) -> bool:
    """A raw CSV line that starts with a total word (a ragged ``Total,,,123456``)."""
    return bool(line) and bool(_TOTAL_LINE.match(line or ""))


def plain_source(expr: str) -> str | None:
    """The file column a canonical column's expression reads, when it is one plain column (not a constant)."""
    if len(expr) > 1 and expr.startswith('"') and expr.endswith('"'):
        return expr[1:-1].replace('""', '"')
    return None


def row_shape(name: str, columns: list[Column], found: list[str], *, typed: bool,
              own: set[str] | None = None) -> RowShape:
    """The row text the rules read: over the general loader's first projection (each value's trimmed
    text, ``columns.typed_projection``), or over the typed columns (``typed``: the typed read, which
    stopped at any value it could not read, so a typed value is NULL exactly when its text was empty).
    ``own``: the columns of the dataset's own file (not those a lookup brings, which are empty on a row
    whose key is a repeated header's "OrderId"); default all of ``found``."""
    from reportgen.data.sql import clean_text, q
    from reportgen.kpis.catalogue import CANONICAL_DATASETS

    required = {s.name for s in CANONICAL_DATASETS.get(name, ()) if s.required}
    values: dict[str, str] = {}
    by_column: dict[str, str] = {}
    for col in columns:
        src = plain_source(col.expr)
        if src is None or src.startswith("__") or own is not None and src not in own:
            continue
        ref = q(col.name) if typed or col.type in ("id", "text") else q(col.name + "__t")
        values.setdefault(src, ref)
        by_column[col.name] = values[src]
    req = [by_column[c.name] for c in columns if c.name in required and c.type != "number" and c.name in by_column]
    gate = tuple(by_column[c.name] for c in columns if c.name in required and c.name in by_column)
    amounts = [by_column[c.name] for c in columns if c.type == "number" and c.name in by_column]
    first_col = next((c for c in found if not c.startswith("__")), None)
    first = values.get(first_col) if first_col is not None else None
    first_is_flag = False
    if typed and first_col is not None:
        reader = [c for c in columns if plain_source(c.expr) == first_col]
        if not reader:  # the typed read carries the test as a flag column
            first, first_is_flag = FIRST_TOTAL, True
        elif reader[0].type not in ("id", "text"):
            first = None  # a date or number column: "Total" there stopped the typed read
    elif first is None and first_col is not None:
        return RowShape(values, req, amounts, q("__first"), header_rule(columns, by_column, typed), False,
                        (f"{clean_text(q(first_col))} AS {q('__first')}",), gate)
    header = header_rule(columns, by_column, typed)
    return RowShape(values, req, amounts, first, header, first_is_flag, gate=gate)


def header_rule(columns: list[Column], read: dict[str, str], typed: bool) -> bool:
    """Whether the header rule can see a repeated header: always over the text; over typed values only
    when every column read is text (a header's "Amount" stopped the typed read of a number column)."""
    return not typed or all(c.type in ("id", "text") and not c.value_map for c in columns if c.name in read)
