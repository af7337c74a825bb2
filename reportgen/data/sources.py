"""Open a dataset's source (CSV, Excel, Parquet, SQL database) as a DuckDB view, exactly as published.

Text files are read as text (every value a string), so the canonical typing in ``load.py`` sees each
value as written and can count the ones it cannot read. A CSV line with too few or too many fields is
not padded or cut: DuckDB rejects it with its line number, and the loader counts and reports it.
Files in an encoding DuckDB does not read natively are transcoded to UTF-8 first (streamed, so memory
stays flat); ``encoding: auto`` (the default) reads UTF-8 and UTF-16 as they are and otherwise picks the
8-bit code page that reads the most letters.
"""
from __future__ import annotations

import codecs
import re
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reportgen.bounded import explain, regular_file_problem
from reportgen.data.sql import lit, one_row, q
from reportgen.environment import expand_env
from reportgen.errors import DataError

if TYPE_CHECKING:
    import duckdb

    from reportgen.config.datasets import Dataset
    from reportgen.config.models import LoadedConfig

#: Code pages tried by ``encoding: auto`` when a file is not UTF-8, in order of preference on a tie.
AUTO_ENCODINGS: tuple[str, ...] = ("cp1252", "cp850", "mac_roman", "latin-1")
#: Signs read as money beside a number, for telling code pages apart.
CURRENCY_SIGNS = "€£¥"
#: An Excel file may unpack to at most this many bytes, at most this many times its packed size.
EXCEL_MAX_UNPACKED = 200 * 1024 * 1024
EXCEL_MAX_RATIO = 200


@dataclass
class Source:
    """A view over one dataset's raw rows and what reading it found."""

    view: str
    description: str
    path: Path | None = None
    textual: bool = True  # values are strings as written (CSV, Excel), not typed (Parquet, SQL)
    rejects_table: str | None = None
    encoding: str | None = None
    notes: list[str] = field(default_factory=list)
    auto_utf8: bool = False  # read as UTF-8 under encoding: auto; undecodable lines mean another encoding
    rows_fetched: int = 0  # rows read one by one from a SQL database (the local path reads them all)
    read_path: Path | None = None  # the file DuckDB reads (a UTF-8 copy when transcoded)
    dialect: tuple[str, ...] = ()  # read_csv options other than typing and rejects (header, encoding, delim)
    columns: dict[str, str] = field(default_factory=dict)  # name -> type of the view, when already described


def source_format(ds: Dataset) -> str:
    """csv / excel / parquet / sql, from the config or the file name."""
    if ds.format:
        return ds.format
    if ds.url:
        return "sql"
    suffix = Path(ds.path or "").suffix.lower()
    return {".xlsx": "excel", ".xlsm": "excel", ".xls": "excel", ".parquet": "parquet", ".pq": "parquet"}.get(
        suffix, "csv")


def redact(url: str) -> str:
    """A database URL without its password, for messages."""
    return re.sub(r"://([^:/@]+):[^@]+@", r"://\1:***@", url)


def describe_source(ds: Dataset) -> str:
    """How a dataset is named in messages: its path as the config wrote it, or its redacted URL."""
    if ds.url:
        return f"{redact(ds.url)} {ds.table or 'query'}"
    return str(ds.path)


def open_source(con: duckdb.DuckDBPyConnection, name: str, ds: Dataset, loaded: LoadedConfig,
                workdir: Path) -> Source:
    """Create the view ``raw__<name>`` over the dataset's source and say how it was read."""
    import duckdb

    view = f"raw__{name}"
    fmt = source_format(ds)
    desc = describe_source(ds)
    if fmt == "sql":
        frame = read_sql(ds, loaded, name)
        register_frame(con, view, frame)
        return Source(view, desc, textual=False, rows_fetched=len(frame))
    path = loaded.resolve(ds.path or "")
    if not path.is_file():
        problem = regular_file_problem(path)
        if problem and problem != "not found":  # a FIFO would block DuckDB's read, a folder is no table
            raise DataError(f"dataset {name!r}: {ds.path}: {explain(problem, 'dataset file')}")
        raise DataError(f"dataset {name!r}: file not found: {ds.path} (looked in {path.parent})")
    if fmt == "parquet":
        con.execute(f"CREATE OR REPLACE TEMP VIEW {q(view)} AS SELECT * FROM read_parquet({lit(str(path))})")
        try:
            con.execute(f"DESCRIBE {q(view)}").fetchall()
        except duckdb.Error as exc:
            raise DataError(f"dataset {name!r}: {ds.path} is not a readable Parquet file "
                            f"({_first_line(exc)})") from None
        return Source(view, desc, path, textual=False)
    if fmt == "excel":
        register_frame(con, view, read_excel(path, ds.sheet, name))
        return Source(view, desc, path)
    return open_csv(con, view, name, ds, path, desc, workdir)


def open_csv(con: duckdb.DuckDBPyConnection, view: str, name: str, ds: Dataset, path: Path, desc: str,
             workdir: Path) -> Source:
    """A text view over a CSV; ragged lines and undecodable bytes go to a rejects table."""
    import duckdb

    encoding = ds.encoding.lower().replace("_", "-")
    rejects = f"rejects__{name}"
    source = Source(view, desc, path, rejects_table=rejects)
    if encoding == "auto":  # UTF-8 unless a BOM says UTF-16; DuckDB reports undecodable lines as it reads
        encoding = "utf-16" if _has_utf16_bom(path) else "utf-8"
        source.auto_utf8 = encoding == "utf-8"
    if encoding in ("utf-8", "utf8", "utf-8-sig"):
        read_path, source.encoding = path, "utf-8"
    elif encoding in ("utf-16", "utf16", "utf-16-le", "utf-16-be"):
        read_path, source.encoding = path, "utf-16"
    else:
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise DataError(f"dataset {name!r}: unknown encoding {ds.encoding!r}; use a Python codec name such as "
                            "utf-8, cp1252, cp850, latin-1, mac_roman, or auto") from None
        read_path, source.encoding = transcode(path, encoding, workdir, name), encoding
    dialect = ["header = true", "null_padding = false",
               f"encoding = {lit(source.encoding if source.encoding == 'utf-16' else 'utf-8')}"]
    if ds.delimiter:
        dialect.append(f"delim = {lit(ds.delimiter)}")
    source.read_path, source.dialect = read_path, tuple(dialect)
    options = ["all_varchar = true", "store_rejects = true", f"rejects_table = {lit(rejects)}",
               f"rejects_scan = {lit(rejects + '_scan')}", *dialect]
    try:  # the view keeps the columns its creation sniffed: reading them back does not sniff the file again
        con.execute(f"CREATE OR REPLACE TEMP VIEW {q(view)} AS SELECT * FROM read_csv({lit(str(read_path))}, "
                    + ", ".join(options) + ")")
        source.columns = dict(con.execute(
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_catalog = 'temp' "
            f"AND table_name = {lit(view)} ORDER BY ordinal_position").fetchall())
    except duckdb.Error as exc:
        if source.auto_utf8 and "encoding" in str(exc).lower():  # the header itself is not UTF-8
            return reopen_in_code_page(con, source, name, ds, workdir)
        raise DataError(f"dataset {name!r}: cannot read {desc} as CSV ({_first_line(exc)}); check delimiter and "
                        "encoding for the dataset") from None
    return source


def undecodable(con: duckdb.DuckDBPyConnection, source: Source) -> bool:
    """True when a CSV read as UTF-8 under ``encoding: auto`` had lines that are not UTF-8. Checked from
    DuckDB's rejects after the one full read, so a clean file costs no extra pass over its bytes."""
    import duckdb

    if not source.auto_utf8 or not source.rejects_table:
        return False
    try:
        return bool(one_row(con, f"SELECT count(*) FROM {q(source.rejects_table)} "
                                "WHERE error_type ILIKE '%ENCODING%' OR error_type ILIKE '%UNICODE%'")[0])
    except duckdb.Error:  # no rejects table: nothing was rejected
        return False


def reopen_in_code_page(con: duckdb.DuckDBPyConnection, source: Source, name: str, ds: Dataset,
                        workdir: Path) -> Source:
    """Open the CSV again in the 8-bit code page that reads its bytes best, with a note saying so."""
    assert source.path is not None
    chosen = guess_code_page(source.path)
    con.execute(f"DROP TABLE IF EXISTS {q(source.rejects_table or '')}")
    again = open_csv(con, source.view, name, ds.model_copy(update={"encoding": chosen}), source.path,
                     source.description, workdir)
    again.notes.append(f"not UTF-8; read as {chosen} (set encoding to be sure)")
    return again


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else exc.__class__.__name__


def _has_utf16_bom(path: Path) -> bool:
    with path.open("rb") as fh:
        return fh.read(2) in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


def guess_code_page(path: Path, sample_bytes: int = 1 << 20) -> str:
    """The 8-bit code page under which the file's non-ASCII bytes read most like letters in words.

    A byte such as 0x84 is "ä" in cp850 but "„" in cp1252: the reading that puts letters between
    letters ("Berguvsvägen") wins. A currency sign beside a digit or a space ("1.234 €") counts like a
    letter in a word: cp850 reads that byte 0x80 as "Ç", a letter nowhere near another. Ties go to
    cp1252, the most common Windows export.
    """
    data = path.read_bytes()[:sample_bytes]
    best, best_score = AUTO_ENCODINGS[0], -1
    for enc in AUTO_ENCODINGS:
        text = data.decode(enc, errors="replace")
        score = 0
        for i, ch in enumerate(text):
            if ord(ch) > 127:
                near = text[max(0, i - 1):i] + text[i + 1:i + 2]
                if ch in CURRENCY_SIGNS and any(c.isdigit() or c.isspace() for c in near):
                    score += 2
                else:
                    score += 2 if ch.isalpha() and any(c.isalpha() for c in near) else (1 if ch.isalpha() else -1)
        if score > best_score:
            best, best_score = enc, score
    return best


def transcode(path: Path, encoding: str, workdir: Path, name: str) -> Path:
    """A UTF-8 copy of ``path`` in ``workdir``, written in 1 MB chunks."""
    out = workdir / f"{name}.utf8.csv"
    decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
    with path.open("rb") as src, out.open("w", encoding="utf-8", newline="") as dst:
        while chunk := src.read(1 << 20):
            dst.write(decoder.decode(chunk))
        dst.write(decoder.decode(b"", final=True))
    return out


def register_frame(con: duckdb.DuckDBPyConnection, view: str, frame: Any) -> None:
    con.register(f"{view}__df", frame)
    con.execute(f"CREATE OR REPLACE TEMP VIEW {q(view)} AS SELECT * FROM {q(view + '__df')}")


def check_excel_size(path: Path, name: str) -> None:
    """Refuse a workbook whose zip directory declares more than it may unpack to (a zip bomb), before
    openpyxl inflates a byte of it."""
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
    except zipfile.BadZipFile:
        raise DataError(f"dataset {name!r}: {path.name} is not an Excel .xlsx workbook (not a zip file)") from None
    unpacked = sum(i.file_size for i in infos)
    packed = max(1, sum(i.compress_size for i in infos))
    if unpacked > EXCEL_MAX_UNPACKED or unpacked / packed > EXCEL_MAX_RATIO:
        raise DataError(f"dataset {name!r}: {path.name} would unpack to {unpacked / 1e6:.0f} MB "
                        f"({unpacked / packed:.0f}x its size); refusing it (limits: "
                        f"{EXCEL_MAX_UNPACKED // 2**20} MB, {EXCEL_MAX_RATIO}x). Export the sheet as CSV")


def read_excel(path: Path, sheet: str | int | None, name: str) -> Any:
    """One sheet as text columns (openpyxl parses the XML through defusedxml when it is installed)."""
    import pandas as pd

    check_excel_size(path, name)
    try:
        frame = pd.read_excel(path, sheet_name=sheet if sheet is not None else 0, dtype=str, engine="openpyxl",
                              keep_default_na=False, na_values=[""])
    except ValueError as exc:
        raise DataError(f"dataset {name!r}: {path.name}: {_first_line(exc)}") from None
    except Exception as exc:  # noqa: BLE001 - openpyxl fails in many ways on a bad workbook
        raise DataError(f"dataset {name!r}: cannot read {path.name} as an Excel workbook "
                        f"({_first_line(exc)})") from None
    frame.columns = [str(c) for c in frame.columns]
    return frame


def sqlite_url(url: str, loaded: LoadedConfig, name: str) -> str:
    """A SQLite URL's file made absolute against the config's folder and held to its path policy
    (``allowed_roots``), as every other path of a config is: ``sqlite:///./crm.db`` named the
    working directory's file before."""
    import sqlalchemy

    parsed = sqlalchemy.engine.make_url(url)
    if not parsed.drivername.startswith("sqlite") or parsed.database in (None, "", ":memory:"):
        return url
    database = str(parsed.database)
    if database.startswith("file:"):  # a SQLite URI (uri=true): its path comes after the scheme
        return url
    real = loaded.resolve(database, key=("datasets", name, "url"))
    return parsed.set(database=str(real)).render_as_string(hide_password=False)


def read_sql(ds: Dataset, loaded: LoadedConfig | None = None, name: str = "") -> Any:
    """Rows of a table or query from a SQL database, typed as the database types them."""
    import pandas as pd
    import sqlalchemy

    url = expand_env(ds.url or "")
    if loaded is not None:
        url = sqlite_url(url, loaded, name)
    engine = sqlalchemy.create_engine(url)
    try:
        with engine.connect() as conn:
            if ds.query:
                return pd.read_sql_query(sqlalchemy.text(ds.query), conn)
            # ds.table is set here: Dataset's validator requires 'table' when 'query' is empty
            table = sqlalchemy.Table(ds.table or "", sqlalchemy.MetaData(), autoload_with=conn)
            return pd.read_sql_query(sqlalchemy.select(table), conn)
    except sqlalchemy.exc.NoSuchTableError:
        raise DataError(f"table {ds.table!r} not found in {redact(ds.url or '')}") from None
    except sqlalchemy.exc.SQLAlchemyError as exc:
        raise DataError(f"cannot read from {redact(ds.url or '')}: {str(exc).splitlines()[0]}") from None
    finally:
        engine.dispose()


def columns_of(con: duckdb.DuckDBPyConnection, view: str) -> dict[str, str]:
    """Column name -> DuckDB type of a view or table."""
    return {r[0]: r[1] for r in con.execute(f"DESCRIBE SELECT * FROM {q(view)}").fetchall()}


def new_workdir() -> tempfile.TemporaryDirectory[str]:
    return tempfile.TemporaryDirectory(prefix="reportgen-")
