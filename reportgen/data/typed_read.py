"""The typed read: a clean CSV typed straight from the file in one strict pass, or not at all.

Most exports are clean: ISO dates, plain numbers, every line as long as the header. For them the
general loader's care (every value read as text, each row numbered by a window so a message can name
its line, which also runs the pass on one thread, a flag per value, a copy after the rules) finds
nothing and costs a third of a 1M-row load's CPU and more of its wall time. Here DuckDB's CSV
reader types the ISO date columns itself and every other column goes through the very expressions
the general loader uses (``columns.typed_sql``, ``formats``); where the general loader would *flag* a
value (unreadable, a year outside ``YEAR_RANGE``, an unmapped category)
this SELECT calls ``error()`` instead. The read is strict (no rejects table), so a ragged line, a
value the reader cannot cast, bytes that are not UTF-8 or a flagged value stop it at the first one,
and the loader then runs the general path as before, with its counts, line numbers and messages. A
table built here is therefore the one the general path would build, and so is its quality record.

Why an ISO column read as TIMESTAMP gives the general path's values: the reader casts it with the same
cast as ``TRY_CAST(... AS TIMESTAMP)``; it applies no sniffed date format because every column's type
is given; and a value with spaces around it (which the general path trims) fails the reader's cast,
which means the general path, never a different value. Numbers are not typed by the reader: its DOUBLE
accepts ``1e5``, ``1_000``, ``NaN`` and ``inf``, which ``formats.number_sql`` reads as unreadable.
"""
from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from reportgen.data import formats as fmt
from reportgen.data.columns import Column, typed_sql
from reportgen.data.sql import clean_text, lit, q
from reportgen.data.structure import FIRST_TOTAL, first_is_total, plain_source

if TYPE_CHECKING:
    from reportgen.data.sources import Source

#: How a DatasetQuality names the loader that built the table (``DatasetQuality.loader``).
TYPED_READ = "typed read"
#: The message of the error() that stops the read where the general path would flag a value.
STOP = "reportgen typed read: a value the general loader would flag"
#: Internal column names the typed read cannot tell apart from its own.
_RESERVED = ("__row",)


def typed_read_sql(source: Source, found: dict[str, str], columns: list[Column],
                   styles: dict[str, Any]) -> str | None:
    """The SELECT that reads ``source``'s CSV typed, with exactly the canonical columns (and order) the
    general path writes, or None when this dataset cannot take the typed read (not a CSV, a column
    mapped from the row number, ...)."""
    if source.read_path is None or not source.dialect or any(c in found for c in _RESERVED):
        return None
    if any(not c.textual and c.formula is None for c in columns):  # the row number as an id: general path
        return None
    timestamps = _reader_timestamps(found, columns, styles)
    types = ", ".join(f"{lit(c)}: {lit('TIMESTAMP' if c in timestamps else 'VARCHAR')}" for c in found)
    reader = (f"read_csv({lit(str(source.read_path))}, {', '.join(source.dialect)}, types = {{{types}}})")
    text: list[str] = []
    parsed: list[str] = []
    checked: list[str] = []
    final: list[str] = []
    first = next(iter(found), None)
    if first is not None and not any(_source_column(c) == first for c in columns):
        # the file's first cell, read by no column, may say "Total": carried as a flag for the row rules
        text.append(f"{first_is_total(clean_text(q(first)))} AS {q(FIRST_TOTAL)}")
        parsed.append(q(FIRST_TOTAL))
        checked.append(q(FIRST_TOTAL))
        final.append(q(FIRST_TOTAL))
    for col in columns:
        style = styles.get(col.name)
        name = q(col.name)
        if col.formula is not None:  # a computed column, over the checked number columns it reads
            final.append(f"{col.formula} AS {name}")
            continue
        if col.type in ("id", "text"):
            text.append(f"{typed_sql(col, style)[0]} AS {name}")
            parsed.append(name)
            checked.append(name)
            final.append(name)
            continue
        raw, value = q(col.name + "__t"), q(col.name + "__p")
        if col.type in ("date", "timestamp"):
            if _source_column(col) in timestamps:  # already a TIMESTAMP: NULL exactly when the text was empty
                text.append(f"{col.expr} AS {raw}")
                parsed += [raw, f"{raw} AS {value}"]
            else:
                text.append(f"{clean_text(col.expr)} AS {raw}")
                unchecked = fmt.date_sql(raw, style or fmt.DateStyle("iso"), checked=False, clean=True)
                parsed += [raw, f"{unchecked} AS {value}"]
            checked.append(f"{_stop_unless(fmt.in_year_range(value), raw, 'TIMESTAMP')} AS {value}")
            final.append(f"CAST({value} AS DATE) AS {name}")
            if col.type == "timestamp":
                final.append(f"{value} AS {q(col.name + '__ts')}")
            continue
        text.append(f"{clean_text(col.expr)} AS {raw}")
        expr, bad = typed_sql(replace(col, expr=raw), style, clean=True)
        parsed += [raw, f"{expr} AS {value}"]
        cast = "DOUBLE" if col.type == "number" else "VARCHAR"
        checked.append(f"{_stop_unless(value, raw, cast) if bad else value} AS {name}")
        final.append(name)
    return (f"SELECT {', '.join(final)} FROM (SELECT {', '.join(checked)} FROM (SELECT {', '.join(parsed)} FROM "
            f"(SELECT {', '.join(text)} FROM {reader})))")


def _stop_unless(value: str, raw: str, sql_type: str) -> str:
    """``value``, or an error where the general path would flag it: a value written but not read."""
    return f"coalesce({value}, CASE WHEN {raw} IS NOT NULL THEN CAST(error({lit(STOP)}) AS {sql_type}) END)"


def _source_column(col: Column) -> str | None:
    """The file column a canonical column reads, when it is one plain column (not a constant)."""
    return plain_source(col.expr)


def _reader_timestamps(found: dict[str, str], columns: list[Column], styles: dict[str, Any]) -> set[str]:
    """File columns the reader may type as TIMESTAMP: every canonical column reading them is a date in
    ISO style (a column mapped to a date and to a text stays text)."""
    uses: dict[str, list[Column]] = {}
    for col in columns:
        src = _source_column(col)
        if src is not None and src in found:
            uses.setdefault(src, []).append(col)
    return {src for src, cols in uses.items()
            if all(c.type in ("date", "timestamp") and styles.get(c.name) == fmt.DateStyle("iso") for c in cols)}
