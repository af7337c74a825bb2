"""The metric exports users open in a spreadsheet: the scorecard's CSV/XLSX and ``reportgen compute``'s CSV.

One home for how metric rows leave reportgen as files: missing values stay empty cells (never 0, so a
missing number is never read as a real zero), and CRM text a spreadsheet would run as a formula (CSV/DDE
injection: ``=HYPERLINK(...)``, ``+cmd|...``, ``@SUM(...)``) gets a leading ``'``. Kept apart from
``build`` so the build loop reads as a pipeline and these rules can be tested and mutated on their own.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd
    from openpyxl.worksheet._write_only import WriteOnlyWorksheet

    from reportgen.config.models import Audience
    from reportgen.engine import Metrics


FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
"""A spreadsheet treats a cell starting with one of these as a formula (CSV/DDE injection)."""


def neutralise_text(value: object) -> object:
    """A text cell that a spreadsheet would run as a formula gets a leading ``'``; anything else is unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


def metric_frame(metrics: Metrics, kpis: list[str] | None = None) -> pd.DataFrame:
    """The metric table as users get it in CSV/XLSX (:func:`export_table`), only ``kpis`` when given."""
    table = metrics.table
    if kpis:
        table = table[table["kpi"].isin(kpis)]
    return export_table(table)


def export_table(table: pd.DataFrame) -> pd.DataFrame:
    """Metric rows as any export writes them (the scorecard's CSV and XLSX, ``reportgen compute``):
    missing stays empty, never 0; text that a spreadsheet would run as a formula (a CRM value like
    ``=HYPERLINK(...)``) is neutralised with a leading ``'``. Text columns are checked as a whole
    (pandas' string methods) and only a column with such a value is rewritten."""
    import pandas as pd
    from pandas.api.types import is_bool_dtype, is_datetime64_any_dtype, is_numeric_dtype

    table = table.copy()
    for column in table.columns:
        values = table[column]
        kind = values.dtype
        if is_numeric_dtype(kind) or is_bool_dtype(kind) or is_datetime64_any_dtype(kind):
            continue
        clean = isinstance(kind, pd.StringDtype) and not values.str.startswith(FORMULA_TRIGGERS).fillna(False).any()
        if not clean:
            table[column] = values.astype(object).map(neutralise_text)
    return table


def csv_text(frame: pd.DataFrame) -> str:
    """The frame as CSV text with RFC 4180 line ends (CRLF). With pandas' default ``\\n`` the csv module
    quotes only fields holding ``\\n``, so a CRM value holding a bare ``\\r`` stayed unquoted and a
    spreadsheet broke the row there: the text after the ``\\r`` (``=1+1``) began a new row as a live
    formula, past the neutralising ``'``. With CRLF every field holding ``\\r`` or ``\\n`` is quoted."""
    return frame.to_csv(index=False, lineterminator="\r\n")


def write_metric_exports(metrics: Metrics, audience: Audience, csv_path: Path, xlsx_path: Path | None) -> None:
    """Write the audience's metric rows as CSV (and XLSX) atomically; XLSX text cells are text, never formulas."""
    from reportgen.atomic import atomic_write_bytes, atomic_write_text

    frame = metric_frame(metrics, audience.kpis or None)
    atomic_write_text(csv_path, csv_text(frame))
    if xlsx_path is not None:
        atomic_write_bytes(xlsx_path, xlsx_bytes(frame))


def xlsx_bytes(frame: pd.DataFrame) -> bytes:
    """The frame as one ``metrics`` sheet, in openpyxl's streaming write-only mode (a fraction of
    pandas' ``to_excel`` time); text cells are typed as strings so nothing is read as a formula,
    missing values are empty cells, numbers stay numbers."""
    import io

    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("metrics")
    sheet.append([str(c) for c in frame.columns])
    for row in frame.itertuples(index=False, name=None):
        sheet.append([_xlsx_value(sheet, value) for value in row])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _xlsx_value(sheet: WriteOnlyWorksheet, value: object) -> object:
    """A cell value for openpyxl: missing -> empty, numpy -> Python, text openpyxl would take for a
    formula (a leading ``=``; neutralised text starts with ``'``) -> a cell typed as a string."""
    if (
        value is None
        or type(value).__name__ in ("NAType", "NaTType")
        or (isinstance(value, float) and math.isnan(value))
    ):
        return None
    if isinstance(value, str):
        if value.startswith("="):
            from openpyxl.cell import WriteOnlyCell

            cell = WriteOnlyCell(sheet, value=value)
            cell.data_type = "s"
            return cell
        return value
    return value.item() if hasattr(value, "item") else value
