"""What a raw export looks like, read by the loader's own machinery: for ``reportgen init``.

A file is opened exactly as a dataset would be (``sources.open_source``: the same encoding detection,
transcoding and DuckDB's delimiter sniffing), and every column is classified from its distinct values
with the same style detection the loader settles styles with (``formats``): a column is a date only if
``date_shapes`` reads it as one, a number only if ``number_core`` does, so what ``init`` writes is what
the loader will read. Nothing here decides what a column *means*; :mod:`reportgen.data.infer` does.
"""
from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from reportgen.data import formats as fmt
from reportgen.data.sources import columns_of, open_source, reopen_in_code_page, source_format, undecodable
from reportgen.data.sql import clean_text, lit, one_row, q
from reportgen.errors import DataError, ReportgenError

if TYPE_CHECKING:
    import duckdb

#: Distinct values per column kept for classification and stage mapping (the most frequent first).
PROFILE_VALUES = 20_000
#: A text column with at most this many distinct values is a category (a breakdown, a stage).
CATEGORY_MAX = 60


@dataclass(frozen=True)
class ColumnProfile:
    """One source column: how its values are written and how they spread."""

    name: str
    kind: str  # date | number | text | empty
    filled: int  # non-empty values
    distinct: int
    values: tuple[str, ...]  # distinct values, most frequent first (at most PROFILE_VALUES)
    date_style: fmt.DateStyle | None = None
    number_style: fmt.NumberStyle | None = None
    day_first: bool | None = None  # D/M (True) or M/D (False) when the values settle it
    first: date | None = None
    last: date | None = None
    note: str = ""  # why the style is not settled, when it is not

    @property
    def unique(self) -> bool:
        """Every filled value differs (an id); repeated ids point at order lines."""
        return self.filled > 0 and self.distinct == self.filled

    @property
    def category(self) -> bool:
        return self.kind == "text" and 1 <= self.distinct <= CATEGORY_MAX and self.distinct < max(2, self.filled)


@dataclass
class FileProfile:
    """One export: how it is encoded and delimited, its rows and its columns."""

    path: Path
    format: str
    encoding: str | None = None
    delimiter: str | None = None
    rows: int = 0
    columns: list[ColumnProfile] = field(default_factory=list)
    problem: str = ""  # why the file is not a table, when it is not

    def column(self, name: str) -> ColumnProfile:
        return next(c for c in self.columns if c.name == name)


def profile_file(path: Path, con: duckdb.DuckDBPyConnection | None = None) -> FileProfile:
    """Open ``path`` as the loader would and profile every column; a file that is not a table gets a
    ``problem`` instead of columns (never an exception: one bad file must not hide the others)."""
    import duckdb

    from reportgen.config.datasets import Dataset
    from reportgen.config.models import Config, LoadedConfig

    path = path.resolve()
    con = con or duckdb.connect()
    ds = Dataset(path=path.name)
    loaded = LoadedConfig(Config(datasets={"export": ds}), path.parent / "reportgen-init.yaml", None)
    out = FileProfile(path, source_format(ds))
    if not path.is_file():
        out.problem = "file not found"
        return out
    with tempfile.TemporaryDirectory(prefix="reportgen-init-") as workdir:
        try:
            source = open_source(con, "export", ds, loaded, Path(workdir))
            con.execute(f"CREATE OR REPLACE TEMP TABLE rows__export AS SELECT * FROM {q(source.view)}")
            if undecodable(con, source):  # encoding: auto met bytes that are not UTF-8, as the loader would
                source = reopen_in_code_page(con, source, "export", ds, Path(workdir))
                con.execute(f"CREATE OR REPLACE TEMP TABLE rows__export AS SELECT * FROM {q(source.view)}")
        except (ReportgenError, duckdb.Error) as exc:
            out.problem = "not a table: " + (str(exc).strip().splitlines() or ["unreadable"])[0][:160]
            return out
        out.encoding = source.encoding
        if source.read_path is not None:
            out.delimiter = _delimiter(con, source.read_path)
    names = list(columns_of(con, "rows__export"))
    out.rows = int(one_row(con, "SELECT count(*) FROM rows__export")[0])
    out.columns = settle_day_order(con, [c for c in (_profile_column(con, n) for n in names) if c.kind != "empty"])
    generated = [c.name for c in out.columns if c.name.startswith("column") and c.name[6:].isdigit()]
    if out.rows == 0 or len(out.columns) < 2 or len(generated) * 2 >= len(out.columns):
        out.problem = (f"not a table: {out.rows} rows, {len(out.columns)} filled columns"
                       + (f", {len(generated)} of them without a header name" if generated else ""))
    return out


def _delimiter(con: duckdb.DuckDBPyConnection, read_path: Path) -> str | None:
    """The delimiter DuckDB's sniffer settles on, the one the loader reads with when none is configured."""
    try:
        return str(one_row(con, f"SELECT Delimiter FROM sniff_csv({lit(str(read_path))})")[0])
    except Exception:  # noqa: BLE001 - the file was read; the delimiter is then only informative
        return None


def _profile_column(con: duckdb.DuckDBPyConnection, name: str) -> ColumnProfile:
    text = clean_text(q(name))
    filled, distinct = one_row(con, f"SELECT count({text}), count(DISTINCT {text}) FROM rows__export")
    if not filled:
        return ColumnProfile(name, "empty", 0, 0, ())
    values = tuple(r[0] for r in con.execute(
        f"SELECT {text} AS v, count(*) AS n FROM rows__export WHERE v IS NOT NULL GROUP BY v "
        f"ORDER BY n DESC, v LIMIT {PROFILE_VALUES}").fetchall())
    shapes = fmt.date_shapes(list(values))
    base = ColumnProfile(name, "text", int(filled), int(distinct), values)
    if _is_date(shapes, name):
        return _as_date(con, base, shapes)
    # a real export has the odd 'n/a' or '-' in an amount column: still a number column (the loader
    # counts those values as unreadable and the quality gate weighs them), not a text column
    numbers = [v for v in values if fmt.number_core(v) is not None]
    strays = len(values) - len(numbers)
    if numbers and strays <= len(values) // 50:
        try:
            style = fmt.detect_number_style(numbers, column=name, dataset="export")
            return ColumnProfile(name, "number", base.filled, base.distinct, values, number_style=style)
        except DataError as exc:  # both readings possible: a number, but the decimal mark is open
            return ColumnProfile(name, "number", base.filled, base.distinct, values, note=str(exc))
    return base


def settle_day_order(con: duckdb.DuckDBPyConnection, columns: list[ColumnProfile]) -> list[ColumnProfile]:
    """D/M or M/D is one order per file, as the loader settles it per dataset: a column whose values
    leave it open takes the order another column's values settle (never a guess when none does)."""
    orders = {c.day_first for c in columns if c.kind == "date" and c.day_first is not None}
    if len(orders) != 1:
        return columns
    order = orders.pop()
    return [_as_date(con, c, fmt.date_shapes(list(c.values)), order) if c.kind == "date" and c.date_style is None
            else c for c in columns]


def _is_date(shapes: fmt.DateShapes, name: str) -> bool:
    """Dates when every sampled value is written as one; Excel serials only under a date-like name
    (a column of five-digit order numbers is not a column of dates)."""
    if shapes.other:
        return False
    if shapes.iso or shapes.numeric or shapes.ymd or shapes.named:
        return True
    return bool(shapes.serial) and any(w in name.lower() for w in ("date", "day", "time", "_at"))


def _as_date(con: duckdb.DuckDBPyConnection, base: ColumnProfile, shapes: fmt.DateShapes,
             order: bool | None = None) -> ColumnProfile:
    day_first = order if order is not None else True if shapes.day_first_only and not shapes.month_first_only else (
        False if shapes.month_first_only and not shapes.day_first_only else None)
    note = ""
    try:
        style = fmt.settle_date_style(shapes, day_first=day_first, column=base.name, dataset="export")
    except DataError as exc:
        style, note = None, str(exc)
    first = last = None
    if style is not None:
        ts = fmt.date_sql(q(base.name), style)
        lo, hi = one_row(con, f"SELECT min({ts}), max({ts}) FROM rows__export")
        first, last = _day(lo), _day(hi)
    return ColumnProfile(base.name, "date", base.filled, base.distinct, base.values, date_style=style,
                         day_first=day_first, first=first, last=last, note=note)


def _day(value: object) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    return value if isinstance(value, date) else None
