"""CRM text never becomes a live formula in the CSV or XLSX export; numbers stay numbers (issue 8)."""
from __future__ import annotations

import csv
from pathlib import Path

import openpyxl
import pytest

from reportgen.pipeline.exports import FORMULA_TRIGGERS
from tests.hostile import cli, config_folder

HOSTILE = ('=HYPERLINK("http://evil.example/","click")', "+cmd|' /C calc'!A0", "@SUM(1+1)", "-2+3")


def _build(tmp_path: Path, *flags: str) -> Path:
    result = cli("build", config_folder(tmp_path), "-o", tmp_path / "out", *flags)
    assert result.returncode == 0, result.stderr
    return tmp_path / "out"


def test_xlsx_text_cells_are_text_with_a_quote_and_numbers_are_numbers(tmp_path: Path) -> None:
    out = _build(tmp_path, "--xlsx")
    sheet = openpyxl.load_workbook(out / "c-executive-metrics.xlsx")["metrics"]
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
            assert cell.data_type == "s" and not cell.value.startswith(FORMULA_TRIGGERS), (cell.value, cell.data_type)
        if row[value].value is not None:
            assert row[value].data_type == "n" and isinstance(row[value].value, (int, float))
    assert any(row[value].value == 1000 for row in rows)  # the HYPERLINK rep's revenue, a number


def test_csv_text_fields_never_start_with_a_formula_trigger(tmp_path: Path) -> None:
    _assert_no_live_formula(_build(tmp_path) / "c-executive-metrics.csv")


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
                assert not field.startswith(FORMULA_TRIGGERS), field


def test_xlsx_is_written_only_when_asked(tmp_path: Path) -> None:
    out = _build(tmp_path)
    assert (out / "c-executive-metrics.csv").exists() and not (out / "c-executive-metrics.xlsx").exists()
