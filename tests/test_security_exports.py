"""CRM text never becomes a live formula in the CSV or XLSX export; numbers stay numbers (issue 8)."""
from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest

from reportgen.pipeline.exports import csv_text, export_table, xlsx_bytes
from tests.hostile import cli, config_folder

HOSTILE = ('=HYPERLINK("http://evil.example/","click")', "+cmd|' /C calc'!A0", "@SUM(1+1)", "-2+3")

# Written out here, not imported from the code under test: a trigger dropped from the code's own tuple
# (or a shortcut that looks for fewer of them) must make these tests fail. OWASP's CSV-injection list.
TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
TRIGGERED = {
    "=": "=1+1", "+": "+cmd|' /C calc'!A0", "-": "-2+3", "@": "@SUM(1+1)", "\t": "\t=1+1", "\r": "\r=1+1",
}


@pytest.mark.parametrize("dtype", ["string", "object"])
@pytest.mark.parametrize("trigger", TRIGGERS, ids=repr)
def test_each_trigger_alone_in_a_clean_column_is_neutralised(trigger: str, dtype: str) -> None:
    """One hostile value among clean ones: a whole-column "is it clean?" shortcut that missed this
    trigger would pass the column through as it came."""
    raw = TRIGGERED[trigger]
    assert raw.startswith(trigger)
    table = pd.DataFrame({"segment": ["Ann", raw, None, "Bob"], "value": [1.0, -2.0, None, 0.0]})
    table["segment"] = table["segment"].astype(dtype)
    out = export_table(table)
    assert list(out["segment"])[:2] == ["Ann", "'" + raw] and list(out["segment"])[3] == "Bob"
    assert pd.isna(out["segment"].iloc[2])  # missing stays missing, not the text 'None' or "'"
    assert list(table["segment"])[1] == raw  # the caller's table is not rewritten in place
    assert out["value"].tolist()[:2] == [1.0, -2.0]  # a negative number is a number, not a trigger


@pytest.mark.parametrize("trigger", TRIGGERS, ids=repr)
def test_each_trigger_reaches_csv_and_xlsx_as_quoted_text(trigger: str) -> None:
    raw = TRIGGERED[trigger]
    table = export_table(pd.DataFrame({"kpi": ["revenue"], "segment": pd.array([raw], dtype="string"),
                                       "value": [3.5]}))
    for newline in (None, ""):  # a spreadsheet splits rows at a bare \r as at \n: the csv module does too
        (row,) = csv.DictReader(io.StringIO(csv_text(table), newline=newline))
        assert row["segment"].startswith("'") and row["value"] == "3.5", row  # one row, quoted text
    assert row["segment"] == "'" + raw
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx_bytes(table)))["metrics"]
    segment, value = sheet["B2"], sheet["C2"]
    # XML reads a raw CR back as LF (line-end normalisation); the cell is still quoted text
    assert (segment.value, segment.data_type) == ("'" + raw.replace("\r", "\n"), "s")
    assert (value.value, value.data_type) == (3.5, "n")


def test_text_that_only_contains_a_trigger_is_left_as_it_is() -> None:
    """Only a leading trigger runs as a formula: ``a-b`` and ``North`` are not rewritten."""
    table = pd.DataFrame({"segment": pd.array(["a-b", "North", "x=y", "a@b.example"], dtype="string")})
    assert export_table(table)["segment"].tolist() == ["a-b", "North", "x=y", "a@b.example"]


def test_numbers_flags_and_dates_are_not_touched() -> None:
    """Only text can run as a formula: number, flag and date columns keep their type (a negative
    number is not a trigger, a date is written as a date, not as the text of a timestamp)."""
    table = pd.DataFrame({"value": [-2.0, 3.0], "count": [-1, 4], "partial": [True, False],
                          "day": pd.to_datetime(["2025-12-01", "2025-12-02"])})
    out = export_table(table)
    assert out.dtypes.to_dict() == table.dtypes.to_dict()
    assert csv_text(out) == "value,count,partial,day\r\n-2.0,-1,True,2025-12-01\r\n3.0,4,False,2025-12-02\r\n"


def test_xlsx_cells_missing_of_every_kind_are_empty_and_raw_formulas_are_text() -> None:
    """``xlsx_bytes`` on its own (not only after the neutralising export): pandas' NA, NaT, NaN and
    None are empty cells, and text that starts with ``=`` is a string cell, never a formula."""
    frame = pd.DataFrame({"kpi": ["r1", "r2"], "segment": pd.array(["=1+1", pd.NA], dtype="string"),
                          "value": [1.5, np.nan], "day": [pd.Timestamp("2025-12-01"), pd.NaT],
                          "note": ["-1", None]})
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx_bytes(frame)))["metrics"]
    first, second = ([(c.value, c.data_type) for c in row] for row in sheet.iter_rows(min_row=2))
    assert first[1] == ("=1+1", "s") and first[2] == (1.5, "n") and first[3][1] == "d" and first[4] == ("-1", "s")
    assert second == [("r2", "s")] + [(None, "n")] * 4


def test_a_text_column_after_number_columns_is_still_neutralised() -> None:
    table = pd.DataFrame({"value": [1.0], "rank": [2], "note": pd.array(["=cmd"], dtype="string")})
    assert export_table(table)["note"].tolist() == ["'=cmd"]


def test_csv_and_xlsx_hold_the_frame_and_nothing_else() -> None:
    """The files are the metric rows as they are: no index column, one sheet, numbers as numbers,
    missing as empty, CRLF line ends (RFC 4180)."""
    frame = pd.DataFrame({"kpi": ["revenue", "win_rate"], "value": [1200.5, np.nan], "rank": [1, 2]})
    assert csv_text(frame) == "kpi,value,rank\r\nrevenue,1200.5,1\r\nwin_rate,,2\r\n"
    book = openpyxl.load_workbook(io.BytesIO(xlsx_bytes(frame)))
    assert book.sheetnames == ["metrics"]
    assert list(book["metrics"].iter_rows(values_only=True)) == [
        ("kpi", "value", "rank"), ("revenue", 1200.5, 1), ("win_rate", None, 2)]


def _build(tmp_path: Path, *flags: str, audiences: str = "executive: {template: executive}") -> Path:
    result = cli("build", config_folder(tmp_path, audiences=audiences), "-o", tmp_path / "out", *flags)
    assert result.returncode == 0, result.stderr
    return tmp_path / "out"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One ``reportgen build --xlsx`` of the hostile deals, read by every test of its exports; the
    ``sales`` audience shows one KPI."""
    return _build(tmp_path_factory.mktemp("exports"), "--xlsx",
                  audiences="executive: {template: executive}\n  sales: {template: executive, kpis: [revenue]}")


def test_an_audience_exports_only_its_kpis(built: Path) -> None:
    for ext in ("csv", "xlsx"):
        if ext == "csv":
            with (built / "c-sales-metrics.csv").open(newline="", encoding="utf-8") as handle:
                kpis = {r["kpi"] for r in csv.DictReader(handle)}
        else:
            sheet = openpyxl.load_workbook(built / "c-sales-metrics.xlsx")["metrics"]
            kpis = {row[0] for row in sheet.iter_rows(min_row=2, values_only=True)}
        assert kpis == {"revenue"}, ext
    with (built / "c-executive-metrics.csv").open(newline="", encoding="utf-8") as handle:
        assert {r["kpi"] for r in csv.DictReader(handle)} == {"revenue", "deals_won", "win_rate"}


def test_xlsx_text_cells_are_text_with_a_quote_and_numbers_are_numbers(built: Path) -> None:
    sheet = openpyxl.load_workbook(built / "c-executive-metrics.xlsx")["metrics"]
    header = [c.value for c in sheet[1]]
    segment, value = header.index("segment"), header.index("value")
    rows = list(sheet.iter_rows(min_row=2))
    segments = {row[segment].value for row in rows}
    for raw in HOSTILE[:3]:
        assert "'" + raw in segments, (raw, segments)
    assert "'-2+3" in segments
    for row in rows:
        cell = row[segment]
        if cell.value is not None:
            assert cell.data_type == "s" and not cell.value.startswith(TRIGGERS), (cell.value, cell.data_type)
        if row[value].value is not None:
            assert row[value].data_type == "n" and isinstance(row[value].value, (int, float))
    assert any(row[value].value == 1000 for row in rows)  # the HYPERLINK rep's revenue, a number


def test_csv_text_fields_never_start_with_a_formula_trigger(built: Path) -> None:
    _assert_no_live_formula(built / "c-executive-metrics.csv")


def _missing_rows(rows: list[dict[str, object]]) -> list[dict[str, object]]:
    """Rows of periods the data does not cover: the fixture's deals start 2025-11-05, so 2025-10 has
    no value at all (coverage ``none``)."""
    missing = [r for r in rows if r["coverage"] == "none"]
    assert missing and all(r["period"] == "2025-10" for r in missing)
    return missing


def test_missing_values_are_empty_cells_in_the_metric_csv_never_0(built: Path) -> None:
    with (built / "c-executive-metrics.csv").open(newline="", encoding="utf-8") as handle:
        rows: list[dict[str, object]] = list(csv.DictReader(handle))
    for row in _missing_rows(rows):
        assert row["value"] == "" and row["prior"] == "" and row["year_ago"] == "", row
    # a real zero stays a zero: Bob won nothing in 2025-11, a period the data covers
    (bob,) = [r for r in rows if (r["kpi"], r["period"], r["dimension"], r["segment"], r["window"])
              == ("revenue", "2025-11", "rep", "Bob", "")]
    assert float(str(bob["value"])) == 0.0


def test_missing_values_are_empty_cells_in_the_metric_xlsx_never_0(built: Path) -> None:
    sheet = openpyxl.load_workbook(built / "c-executive-metrics.xlsx")["metrics"]
    values = list(sheet.iter_rows(values_only=True))
    rows: list[dict[str, object]] = [dict(zip(values[0], row)) for row in values[1:]]
    for row in _missing_rows(rows):
        assert row["value"] is None and row["prior"] is None and row["year_ago"] is None, row
    (bob,) = [r for r in rows if (r["kpi"], r["period"], r["dimension"], r["segment"], r["window"])
              == ("revenue", "2025-11", "rep", "Bob", None)]
    assert bob["value"] == 0


def test_xlsx_is_written_only_when_asked(tmp_path: Path) -> None:
    out = _build(tmp_path)
    assert (out / "c-executive-metrics.csv").exists() and not (out / "c-executive-metrics.xlsx").exists()


@pytest.mark.parametrize("source", ["config", "datasets folder"])
def test_compute_csv_text_fields_never_start_with_a_formula_trigger(tmp_path: Path, source: str) -> None:
    """`reportgen compute` writes the same metric rows as the build's CSV, through the same export."""
    config = config_folder(tmp_path / "in")
    if source == "config":
        args: list[object] = [config, "--by", "rep"]
    else:
        args = ["--datasets", tmp_path / "in", "--from", "2025-10", "--to", "2025-12", "--by", "rep"]
    result = cli("compute", *args, "-o", tmp_path / "metrics.csv")
    assert result.returncode == 0, result.stderr
    _assert_no_live_formula(tmp_path / "metrics.csv")


def _assert_no_live_formula(path: Path) -> None:
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert "'" + HOSTILE[0] in {r["segment"] for r in rows}  # the hostile rep is there, neutralised
    for row in rows:
        for field in row.values():
            try:
                float(field)
                continue  # a number (a negative one starts with '-'): stays a number
            except ValueError:
                assert not field.startswith(TRIGGERS), field
