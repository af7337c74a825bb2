"""Text from data, made safe for every sink: the one place control and invisible characters go.

A CRM cell can hold a NUL byte (openpyxl refuses it, a chart drops the label, an email header breaks),
a right-to-left override that makes "Ann\u202eevil" read "Annlive" in a PDF or an email subject, or a
zero-width space that makes two reps look like one. Each canonical text column is checked once when
it is loaded (one aggregate over the text columns, nothing else for clean data); values that hold
such characters lose them (tabs and line breaks become one space), the rest of the text is kept, and
the quality record says how many values of which columns were changed. Every later sink (CSV, XLSX,
HTML, PDF, email subjects, file names) then receives clean text without a rule of its own.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from reportgen.data.sql import lit, one_row, q

if TYPE_CHECKING:
    import duckdb

    from reportgen.data.pushdown import RemoteDatabase

#: C0 and C1 controls, DEL, zero-width characters, bidi embeddings/overrides/isolates and marks, BOM.
UNSAFE = (r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\x{200b}-\x{200f}\x{202a}-\x{202e}\x{2060}-\x{2064}"
          r"\x{2066}-\x{2069}\x{feff}\x{061c}]")
#: Line breaks and tabs inside a value: one space (a two-line address stays two words).
BREAKS = r"[\t\n\r]+"
_ANY = r"[\t\n\r]|" + UNSAFE


#: Bytes that cannot be, or start, an unsafe character: a file of only these (and newlines ending its
#: records) is clean. 0xC2, 0xD8, 0xE2 and 0xEF start the unsafe non-ASCII characters (and some safe
#: ones, such as the euro sign: a file with them is checked value by value).
_SAFE_BYTES = bytes(b for b in range(256) if not (b < 0x20 and b != 0x0A or b == 0x7F or b in (0xC2, 0xD8, 0xE2, 0xEF)))


def file_is_clean(path: Path, records: int) -> bool:
    """True when a UTF-8 CSV of ``records`` lines (header included) cannot hold an unsafe character: no
    byte outside ``_SAFE_BYTES`` but CR line ends, and no line break inside a value. One streamed pass
    over the bytes (a 93 MB file: about 0.15 s, against 0.6 s for a pattern over every value)."""
    newlines = returns = 0
    ends_with_newline = False
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 23):
            left = chunk.translate(None, _SAFE_BYTES)
            if left and left.count(b"\r") != len(left):
                return False
            returns += len(left)
            newlines += chunk.count(b"\n")
            ends_with_newline = chunk.endswith(b"\n")
    return newlines == records - (0 if ends_with_newline else 1) and returns in (0, newlines)


def scrub_text(con: duckdb.DuckDBPyConnection, table: str, columns: list[str], *, file: Path | None = None,
               records: int = 0) -> dict[str, int]:
    """Remove unsafe characters from the text ``columns`` of ``table``; returns values changed per column.
    ``file``: the UTF-8 CSV the table was read from, with its ``records`` lines; when its bytes are clean
    (:func:`file_is_clean`) no value is looked at."""
    if not columns or file is not None and file_is_clean(file, records):
        return {}
    counts = one_row(con, "SELECT " + ", ".join(f"count(*) FILTER (WHERE regexp_matches({q(c)}, {lit(_ANY)}))"
                                                for c in columns) + f" FROM {q(table)}")
    changed = {c: int(n) for c, n in zip(columns, counts, strict=True) if n}
    for column in changed:
        value = f"regexp_replace(regexp_replace({q(column)}, {lit(BREAKS)}, ' ', 'g'), {lit(UNSAFE)}, '', 'g')"
        con.execute(f"UPDATE {q(table)} SET {q(column)} = NULLIF(trim({value}), '') "
                    f"WHERE regexp_matches({q(column)}, {lit(_ANY)})")
    return changed


def scrub_remote(db: RemoteDatabase, table: str, columns: list[str]) -> dict[str, int]:
    """:func:`scrub_text` for a pushed-down table, in the database's own SQL (PostgreSQL's regular
    expressions spell a code point ``\\x200b``, not ``\\x{200b}``; a NUL cannot be stored there)."""
    if not columns:
        return {}
    unsafe, any_ = (p.replace(r"\x{", r"\x").replace("}", "") for p in (UNSAFE, _ANY))
    target = db.temp_name(table)
    counts = db.native("SELECT " + ", ".join(f"count(*) FILTER (WHERE {q(c)} ~ {lit(any_)})" for c in columns)
                       + f" FROM {target}").fetchone()
    changed = {c: int(n) for c, n in zip(columns, counts or (), strict=True) if n}
    for column in changed:
        value = f"regexp_replace(regexp_replace({q(column)}, {lit(BREAKS)}, ' ', 'g'), {lit(unsafe)}, '', 'g')"
        db.native(f"UPDATE {target} SET {q(column)} = NULLIF(btrim({value}), '') WHERE {q(column)} ~ {lit(any_)}")
    return changed


def scrub_note(changed: dict[str, int]) -> str:
    """The quality note for what ``scrub_text`` changed."""
    total = sum(changed.values())
    where = ", ".join(f"{n} in {c}" for c, n in changed.items())
    return (f"{total} text value{'s' if total != 1 else ''} held control, bidi or zero-width characters "
            f"({where}): those characters were removed, the rest of the text kept")
