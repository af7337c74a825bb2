"""How a column's text is written: number and date styles, detected from the values themselves.

CRM exports write numbers and dates the way the exporting person's locale does: ``R$ 100.000``,
``1'234.50``, ``(1,200)``, ``12%``, ``02/24/03``, ``24.02.2003``, ``1/23/2023 12:00 AM``, an Excel
serial ``45000``. Guessing wrong silently moves revenue by a factor of a thousand or between months,
so detection here only *settles* a style when the values leave one reading; when they leave two, it
asks for the setting by name (``decimal``, ``thousands``, ``date_formats``).

Everything here is pure Python over a sample of distinct values; the loader turns the result into one
SQL expression per column (``number_sql`` / ``date_sql``) that DuckDB applies to every row, so a value
the sample did not foresee becomes NULL and is *counted*, never guessed.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from reportgen.data.sql import clean_text
from reportgen.errors import DataError

#: Currency marks accepted around a number: symbols, and 1-3 letter codes or prefixes (USD, R$, CHF).
_CURRENCY = r"(?:[A-Za-z]{1,3}\s?[$€£¥₹₩₽¢]|[$€£¥₹₩₽¢]|[A-Z]{3})"
#: Characters that can group thousands: dot, comma, space, no-break spaces, apostrophes.
GROUP_CHARS = ".,' \u00a0\u202f\u2019"
_NUMBER = re.compile(
    rf"^\s*(?P<open>\()?\s*(?P<sign1>[-+−])?\s*{_CURRENCY}?\s*(?P<sign2>[-+−])?\s*"
    r"(?P<core>\d[\d.,' \u00a0\u202f\u2019]*)?(?P<bare>(?<![\d])[.,]\d+)?"
    rf"\s*(?P<pct>%)?\s*{_CURRENCY}?\s*(?P<sign3>-)?\s*(?P<close>\))?\s*$")


@dataclass(frozen=True)
class NumberStyle:
    """How one column writes numbers: the decimal mark and the thousands separators to drop."""

    decimal: str = "."
    thousands: str = ","

    def describe(self) -> str:
        return f"decimal: {self.decimal!r} and thousands: {self.thousands!r}"


def number_core(text: str) -> str | None:
    """The digits-and-separators part of a number as written, or None if it is not a number."""
    m = _NUMBER.match(text)
    if not m or not (m.group("core") or m.group("bare")):
        return None
    if m.group("open") and not m.group("close") or m.group("close") and not m.group("open"):
        return None
    return ((m.group("core") or "") + (m.group("bare") or "")).strip()


def _evidence(core: str) -> set[str]:
    """Decimal marks this written number allows: {'.'}, {','} or both (ambiguous), empty when none."""
    seps = [c for c in core if c in GROUP_CHARS]
    if not seps:
        return {".", ","}
    marks = [c for c in seps if c in ".,"]
    if not marks:  # only spaces or apostrophes: integer with grouping
        return {".", ","}
    last = marks[-1]
    if len(set(marks)) == 2:  # 1.234,56 or 1,234.56: the last mark is the decimal
        return {last}
    if marks.count(last) > 1:  # 1.234.567: the repeated mark groups thousands
        return {"," if last == "." else "."}
    if any(c not in ".," for c in seps):  # 1 234,5 or 1'234.50: grouped by space, so the mark is decimal
        return {last}
    digits_after = len(core) - core.rindex(last) - 1
    if digits_after != 3 or core.startswith(last) or core.index(last) > 3 or core.startswith("0" + last):
        return {last}  # 12.5, 1234.567, .5, 0.500: not a thousands group
    return {".", ","}  # 1.234 or 1,234: either reading works


def detect_number_style(values: list[str], decimal: str | None = None, thousands: str | None = None,
                        *, column: str = "", dataset: str = "") -> NumberStyle:
    """Settle the decimal mark from the values (or take the configured one).

    Raises when the values allow both readings and nothing settles them: ``100.000`` is a hundred
    thousand in Brazil and a hundred in the US, and no default may decide that for an executive.
    """
    if decimal is not None:
        return NumberStyle(decimal, thousands if thousands is not None else ("," if decimal == "." else "."))
    allowed = {".", ","}
    ambiguous_example = None
    for v in values:
        core = number_core(v)
        if core is None:
            continue
        ev = _evidence(core)
        if ev == {".", ","} and any(c in ".," for c in core):
            ambiguous_example = ambiguous_example or v
        allowed &= ev
    if len(allowed) == 1:
        mark = allowed.pop()
        return NumberStyle(mark, thousands if thousands is not None else ("," if mark == "." else "."))
    if not allowed:
        raise DataError(f"dataset {dataset!r}: column {column!r} writes numbers with both '.' and ',' as the "
                        "decimal mark; set decimal and thousands for the dataset, or fix the export")
    if ambiguous_example is not None:
        raise DataError(
            f"dataset {dataset!r}: column {column!r}: {ambiguous_example!r} reads as "
            f"{_reading(ambiguous_example, '.')} or as {_reading(ambiguous_example, ',')}; set decimal: ',' "
            "and thousands: '.' (or decimal: '.' and thousands: ',') for the dataset"
        )
    return NumberStyle(".", thousands if thousands is not None else ",")


def _reading(value: str, decimal: str) -> str:
    core = number_core(value) or value
    other = "," if decimal == "." else "."
    return core.replace(other, "").replace(decimal, ".")


def _sql_str(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def number_sql(expr: str, style: NumberStyle, *, clean: bool = False) -> str:
    """DuckDB expression reading text ``expr`` as a number in ``style``; NULL when it is not one
    (``clean``: ``expr`` is already ``sql.clean_text``, trimmed).

    Accepts currency marks before or after, a sign before or after (``-5``, ``5-``), parentheses for
    negatives, ``%`` (divided by 100) and thousands separators; anything else is NULL (and counted).
    Plain digits with an optional sign and decimal mark (``-1234.5``, what nearly every export writes)
    take a plain cast first, which gives exactly what the full reading would, about five times faster.
    """
    bare = expr if clean else f"trim(CAST({expr} AS VARCHAR))"
    text = f"regexp_replace({bare}, '[\u00a0\u202f]', ' ', 'g')"
    core = f"trim(regexp_extract({text}, {_sql_str(_SQL_CORE)}))"
    groups = "".join(c for c in GROUP_CHARS if c != style.decimal)
    stripped = f"regexp_replace({core}, {_sql_str('[' + groups + ']')}, '', 'g')"
    valid = (f"regexp_full_match({text}, {_sql_str(SQL_NUMBER)}) AND "
             f"regexp_full_match({core}, {_sql_str(_grouped_number(re.escape(style.decimal), groups))})")
    value = f"TRY_CAST(replace({stripped}, {_sql_str(style.decimal)}, '.') AS DOUBLE)"
    negative = f"regexp_matches({text}, '^\\s*\\(|[-−]')"
    percent = f"strpos({text}, '%') > 0"
    full = (f"CASE WHEN {valid} THEN {value} * (CASE WHEN {negative} THEN -1 ELSE 1 END)"
            f" / (CASE WHEN {percent} THEN 100 ELSE 1 END) END")
    plain = r"-?\d+(\.\d*)?" if style.decimal == "." else r"-?\d+"
    return f"CASE WHEN regexp_full_match({bare}, '{plain}') THEN TRY_CAST({bare} AS DOUBLE) ELSE {full} END"


_SQL_CORE = r"(\d[\d.,' ’]*|[.,]\d+)"


def _grouped_number(dec: str, groups: str) -> str:
    """Digits grouped by threes (any one separator) or not grouped, then an optional decimal part."""
    g = "[" + re.escape(groups).replace("\\ ", " ") + "]"
    return rf"(\d{{1,3}}({g}\d{{3}})+|\d+)({dec}\d*)?|{dec}\d+"


#: The whole-value shape of a number for DuckDB's RE2 (no look-behind; no-break spaces already folded).
SQL_NUMBER = (r"\s*\(?\s*[-+−]?\s*(" + _CURRENCY + r")?\s*[-+−]?\s*(\d[\d.,' ’]*|[.,]\d+)\s*%?\s*("
              + _CURRENCY + r")?\s*-?\s*\)?\s*")


# --------------------------------------------------------------------------------------------------
# Dates
# --------------------------------------------------------------------------------------------------

_DMY = re.compile(r"^(\d{1,2})([/.\-])(\d{1,2})\2(\d{4}|\d{2})(?P<time>[ T].*)?$")
_YMD_SLASH = re.compile(r"^(\d{4})([/.])(\d{1,2})\2(\d{1,2})(?P<time>[ T].*)?$")
_ISO = re.compile(r"^\d{4}-\d{1,2}-\d{1,2}(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$")
_SERIAL = re.compile(r"^\d{5}(?:\.\d+)?$")
_NAMED = (("%d-%b-%Y", re.compile(r"^\d{1,2}-[A-Za-z]{3}-\d{4}$")),
          ("%d-%b-%y", re.compile(r"^\d{1,2}-[A-Za-z]{3}-\d{2}$")),
          ("%d %b %Y", re.compile(r"^\d{1,2} [A-Za-z]{3} \d{4}$")),
          ("%d %B %Y", re.compile(r"^\d{1,2} [A-Za-z]{4,9} \d{4}$")),
          ("%b %d, %Y", re.compile(r"^[A-Za-z]{3} \d{1,2}, \d{4}$")),
          ("%B %d, %Y", re.compile(r"^[A-Za-z]{4,9} \d{1,2}, \d{4}$")))
_TIMES = ((re.compile(r"^ \d{1,2}:\d{2}$"), " %H:%M"), (re.compile(r"^ \d{1,2}:\d{2}:\d{2}$"), " %H:%M:%S"),
          (re.compile(r"^ \d{1,2}:\d{2}\s?[AaPp][Mm]$"), " %I:%M %p"),
          (re.compile(r"^ \d{1,2}:\d{2}:\d{2}\s?[AaPp][Mm]$"), " %I:%M:%S %p"),
          (re.compile(r"^[ T]\d{1,2}:\d{2}:\d{2}\.\d+$"), " %H:%M:%S.%f"))

#: Earliest and latest years a business date may have; outside is unreadable (a year 0003 is a typo).
YEAR_RANGE = (1900, 2199)


@dataclass(frozen=True)
class DateStyle:
    """How one column writes dates: ``iso``, ``serial`` (Excel day numbers) or strptime formats."""

    kind: str  # "iso" | "formats" | "serial"
    formats: tuple[str, ...] = ()

    def describe(self) -> str:
        return {"iso": "ISO dates", "serial": "Excel serial day numbers"}.get(self.kind, " or ".join(self.formats))


@dataclass(frozen=True)
class DateShapes:
    """What the sample of one column looks like, before the day/month order is known."""

    iso: int = 0
    serial: int = 0
    numeric: set[tuple[str, str, int]] | None = None  # (separator, time format, year digits) of D?M?Y values
    ymd: set[tuple[str, str]] | None = None
    named: set[str] | None = None
    other: list[str] | None = None
    day_first_only: bool = False  # a value whose first part is > 12: the order must be D/M
    month_first_only: bool = False  # a value whose second part is > 12: the order must be M/D


def _time_format(rest: str | None) -> str | None:
    if not rest:
        return ""
    for pattern, fmt in _TIMES:
        if pattern.match(rest):
            return fmt.replace(" ", "T") if rest.startswith("T") else fmt
    return None


def date_shapes(values: list[str]) -> DateShapes:
    """Classify sample values by how they are written."""
    iso = serial = 0
    numeric: set[tuple[str, str, int]] = set()
    ymd: set[tuple[str, str]] = set()
    named: set[str] = set()
    other: list[str] = []
    day_first = month_first = False
    for v in values:
        v = v.strip()
        if _ISO.match(v):
            iso += 1
            continue
        if _SERIAL.match(v):
            serial += 1
            continue
        m = _DMY.match(v)
        if m and (t := _time_format(m.group("time"))) is not None:
            numeric.add((m.group(2), t, len(m.group(4))))
            first, second = int(m.group(1)), int(m.group(3))
            day_first |= first > 12
            month_first |= second > 12
            continue
        m = _YMD_SLASH.match(v)
        if m and (t := _time_format(m.group("time"))) is not None:
            ymd.add((m.group(2), t))
            continue
        fmt = next((f for f, p in _NAMED if p.match(v)), None)
        if fmt:
            named.add(fmt)
            continue
        other.append(v)
    return DateShapes(iso, serial, numeric, ymd, named, other, day_first, month_first)


def settle_date_style(shapes: DateShapes, *, day_first: bool | None, column: str, dataset: str) -> DateStyle | None:
    """The style of a column from its shapes; ``day_first`` settles D/M against M/D when given.

    Returns None when the values are not dates at all (for type detection of custom columns).
    """
    kinds = sum(bool(x) for x in (shapes.iso, shapes.serial, shapes.numeric, shapes.ymd, shapes.named))
    if kinds == 0:
        return None
    if shapes.serial and kinds == 1:
        return DateStyle("serial")
    if shapes.iso and kinds == 1:
        return DateStyle("iso")
    formats: list[str] = []
    if shapes.numeric:
        if shapes.day_first_only and shapes.month_first_only:
            raise DataError(f"dataset {dataset!r}: column {column!r} has dates with a first part over 12 and others "
                            "with a second part over 12; the export mixes D/M and M/D. Fix the export")
        order = day_first if day_first is not None else (
            True if shapes.day_first_only else False if shapes.month_first_only else None)
        if order is None:
            sep = next(iter(shapes.numeric))[0]
            raise DataError(f"dataset {dataset!r}: column {column!r}: dates like 03{sep}04{sep}2025 read as "
                            f"day{sep}month and as month{sep}day and no value settles it; set date_formats: "
                            f"{{{column}: '%d{sep}%m{sep}%Y'}} (or '%m{sep}%d{sep}%Y') for the dataset")
        for sep, time, digits in sorted(shapes.numeric):
            year = "%Y" if digits == 4 else "%y"
            date_part = f"%d{sep}%m{sep}{year}" if order else f"%m{sep}%d{sep}{year}"
            formats.append(date_part + time)
    for sep, time in sorted(shapes.ymd or ()):
        formats.append(f"%Y{sep}%m{sep}%d{time}")
    formats += sorted(shapes.named or ())
    if shapes.iso:
        formats.append("iso")
    return DateStyle("formats", tuple(formats))


def date_sql(expr: str, style: DateStyle, *, checked: bool = True, clean: bool = False) -> str:
    """DuckDB TIMESTAMP expression for text ``expr`` in ``style``; NULL when unreadable or (``checked``)
    out of range. The loader parses unchecked in one projection and checks in the next, so the parse
    runs once per value (``clean``: ``expr`` is already ``sql.clean_text``)."""
    text = expr if clean else clean_text(expr)
    if style.kind == "serial":
        ts = (f"CASE WHEN regexp_full_match({text}, '\\d{{5}}(\\.\\d+)?') THEN "
              f"TIMESTAMP '1899-12-30' + to_days(CAST(floor(CAST({text} AS DOUBLE)) AS INTEGER)) END")
    elif style.kind == "iso":
        ts = f"TRY_CAST({text} AS TIMESTAMP)"
    else:
        parts = []
        for fmt in style.formats:
            if fmt == "iso":
                parts.append(
                    f"CASE WHEN regexp_full_match({text}, '\\d{{4}}-.*') THEN TRY_CAST({text} AS TIMESTAMP) END"
                )
            else:
                parts.append(f"CASE WHEN {_guard(fmt, text)} THEN try_strptime({text}, {_sql_str(fmt)}) END")
        ts = parts[0] if len(parts) == 1 else f"coalesce({', '.join(parts)})"
    return in_year_range(ts) if checked else ts


def in_year_range(ts: str) -> str:
    """``ts`` when its year is one a business date may have (YEAR_RANGE), else NULL."""
    lo, hi = YEAR_RANGE
    return f"(CASE WHEN year({ts}) BETWEEN {lo} AND {hi} THEN {ts} END)"


def _guard(fmt: str, text: str) -> str:
    """A regex that only values written with ``fmt``'s year width match (so %Y never reads '03' as 0003)."""
    if "%y" in fmt:
        return f"regexp_matches({text}, '^\\d{{1,2}}[/.\\-]\\d{{1,2}}[/.\\-]\\d{{2}}(\\D|$)')"
    if "%Y" in fmt and not fmt.startswith("%Y"):
        return f"regexp_matches({text}, '\\d{{4}}(\\D|$)')"
    return "TRUE"
