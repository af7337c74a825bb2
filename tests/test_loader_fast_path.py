"""The typed read (data/typed_read.py): clean CSVs take it, anything else takes the general path.

Each test loads the same file twice, once as the loader chooses and once with the typed read switched
off, and checks which loader ran (``DatasetQuality.loader``) and that the quality record and the
canonical table are the same either way: the typed read may only ever be a faster way to the same
result.
"""
from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest

from reportgen.config.load import load_config
from reportgen.data import LoadedData, load_datasets
from reportgen.data import load as load_module
from reportgen.data.typed_read import TYPED_READ
from reportgen.errors import DataError

TODAY = date(2026, 1, 1)
HEADER = "deal_id,created_date,close_date,stage,amount,rep\n"


def _config(tmp_path: Path, body: str, options: str = "") -> Path:
    (tmp_path / "deals.csv").write_text(body, encoding="utf-8")
    cfg = tmp_path / "c.yaml"
    cfg.write_text("scorecard: {as_of: 2025-02-28, allow_partial_period: true}\n"
                   "quality: {max_rejected_share: 1}\n"
                   "datasets:\n  deals:\n    path: deals.csv\n    columns: {rep: rep}\n"
                   "    stages: {won: [Won], lost: [Lost], open: [Open]}\n" + options)
    return cfg


def _rows(n: int, start: int = 0) -> str:
    stages = ["Won", "Lost", "Open"]
    return "".join(f"D{i},2025-01-{1 + i % 28:02d},{f'2025-02-{1 + i % 27:02d}' if i % 3 != 2 else ''},"
                   f"{stages[i % 3]},{(i * 37) % 100000 / 100:.2f},rep_{i % 7}\n" for i in range(start, start + n))


def _load(cfg: Path, *, typed: bool, monkeypatch: pytest.MonkeyPatch) -> LoadedData:
    with monkeypatch.context() as patch:
        if not typed:
            patch.setattr(load_module, "load_typed", lambda *args, **kwargs: False)
        return load_datasets(load_config(cfg), today=TODAY, check=False)


def _table(data: LoadedData) -> tuple[list[tuple[str, str]], list[tuple[object, ...]]]:
    cols = [(r[0], r[1]) for r in data.con.execute("DESCRIBE deals").fetchall()]
    rows = data.con.execute("SELECT * FROM deals").fetchall()  # in file order, unless a rule's window reordered it
    return cols, sorted(rows, key=repr)


def both(cfg: Path, monkeypatch: pytest.MonkeyPatch, expect: str) -> LoadedData:
    """Load twice; the chosen loader is ``expect`` and the outcome is the general path's."""
    chosen = _load(cfg, typed=True, monkeypatch=monkeypatch)
    general = _load(cfg, typed=False, monkeypatch=monkeypatch)
    assert chosen.quality["deals"].loader == expect
    assert general.quality["deals"].loader == "general"
    assert chosen.quality == general.quality
    assert chosen.columns == general.columns and chosen.types == general.types
    assert _table(chosen) == _table(general)
    return chosen


def test_a_clean_csv_takes_the_typed_read_with_the_general_result(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    data = both(_config(tmp_path, HEADER + _rows(300)), monkeypatch, TYPED_READ)
    q = data.quality["deals"]
    assert q.rows_read == 300 and q.rows_rejected == {}
    assert q.date_formats == {"created_date": "ISO dates", "close_date": "ISO dates"}
    assert q.missing_values == {"close_date": 100}  # blank close dates stay missing, never a date or 0
    assert "__row" not in [c for c, _ in _table(data)[0]]


def test_blank_cells_stay_missing_on_the_typed_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    body = HEADER + _rows(20) + "X1,2025-01-05,,Won,,rep_1\nX2,2025-01-05,\"\",Won,\"\",\n"
    data = both(_config(tmp_path, body), monkeypatch, TYPED_READ)
    rows = data.con.execute("SELECT amount, close_date, rep FROM deals WHERE deal_id IN ('X1', 'X2')").fetchall()
    assert rows == [(None, None, "rep_1"), (None, None, None)]
    assert data.quality["deals"].missing_values["amount"] == 2


@pytest.mark.parametrize("value", ["n/a", "NaN", "inf", "-Infinity", "1e5", "1_000", "1.234,5"])
def test_a_number_the_general_path_cannot_read_sends_the_dataset_there(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    body = HEADER + _rows(50) + f"X1,2025-01-05,2025-02-05,Won,\"{value}\",rep_1\n" + _rows(50, 50)
    data = both(_config(tmp_path, body, "    decimal: '.'\n"), monkeypatch, "general")
    q = data.quality["deals"]
    assert q.rows_rejected == {"unreadable amount": 1}
    assert q.examples[0].startswith(f"deals.csv:52: column 'amount': cannot read {value!r} as a number")


@pytest.mark.parametrize("value", ["someday", "2025-02-30", "0003-01-01", "2250-01-01", "infinity", " 2025-01-05 ",
                                   "2025-01-05x"])
def test_a_date_the_general_path_does_not_take_as_is_sends_the_dataset_there(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    body = HEADER + _rows(50) + f"X1,\"{value}\",2025-02-05,Won,10,rep_1\n" + _rows(50, 50)
    data = both(_config(tmp_path, body), monkeypatch, "general")
    if value.strip() != "2025-01-05":  # spaces around a date are trimmed by the general path, not unreadable
        assert data.quality["deals"].rows_rejected == {"unreadable created_date": 1}
        assert data.quality["deals"].examples[0].startswith("deals.csv:52: column 'created_date': cannot read")


def test_a_ragged_line_sends_the_dataset_to_the_general_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    body = HEADER + _rows(50) + "X1,2025-01-05\nX2,2025-01-05,2025-02-05,Won,10,rep_1,extra\n" + _rows(50, 50)
    data = both(_config(tmp_path, body), monkeypatch, "general")
    q = data.quality["deals"]
    assert q.rows_rejected == {"ragged line (too few or too many fields)": 2}
    assert q.rows_read == 102 and q.examples[0].startswith("deals.csv:52: missing columns")


def test_a_date_shape_past_the_sample_sends_the_dataset_to_the_general_path(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    body = HEADER + _rows(60_010) + "X1,01/02/2025,2025-02-05,Won,10,rep_1\n" + _rows(100, 60_010)
    data = both(_config(tmp_path, body), monkeypatch, "general")
    q = data.quality["deals"]
    assert q.rows_rejected == {"unreadable created_date": 1}
    assert q.examples == ("deals.csv:60012: column 'created_date': cannot read '01/02/2025' as a date (expected ISO "
                          "dates; set date_formats for created_date if the data writes dates another way)",)


def test_an_unmapped_stage_fails_with_the_general_message(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = _config(tmp_path, HEADER + _rows(50) + "X1,2025-01-05,2025-02-05,Pending,10,rep_1\n")
    messages = []
    for typed in (True, False):
        with pytest.raises(DataError) as info:
            _load(cfg, typed=typed, monkeypatch=monkeypatch)
        messages.append(str(info.value))
    assert messages[0] == messages[1] and "unmapped stage value(s) 'Pending' (1 rows)" in messages[0]


def test_rules_on_the_typed_read_keep_the_first_of_duplicates_in_file_order(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Row numbers come from the table's row order: the first of two equal ids far apart in a file read
    by several threads is the one kept, as with the general path's row_number()."""
    body = HEADER + "DUP,2025-01-02,2025-02-03,Won,111,rep_first\n" + _rows(150_000) + \
        "DUP,2025-01-02,2025-02-03,Won,222,rep_last\nNEG,2025-01-02,2025-02-03,Won,-5,rep_1\n"
    data = both(_config(tmp_path, body), monkeypatch, TYPED_READ)
    assert data.quality["deals"].rows_rejected == {"duplicate deal_id": 1, "won deal with a negative amount": 1}
    assert data.con.execute("SELECT amount, rep FROM deals WHERE deal_id = 'DUP'").fetchall() == [(111.0, "rep_first")]


def test_other_number_and_date_styles_take_the_typed_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Styles other than ISO and plain numbers are parsed by the general path's own expressions."""
    body = "deal_id;created_date;close_date;stage;amount;rep\n" + "".join(
        f"D{i};{1 + i % 28:02d}.01.2025;{1 + i % 27:02d}.02.2025;Won;R$ {i}.{i % 1000:03d},50;rep_{i % 3}\n"
        for i in range(1, 200))
    data = both(_config(tmp_path, body, "    decimal: ','\n"), monkeypatch, TYPED_READ)
    assert data.quality["deals"].date_formats["created_date"] == "%d.%m.%Y"


def test_a_code_page_file_goes_through_the_general_path_and_may_then_be_read_typed(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = _config(tmp_path, "")
    (tmp_path / "deals.csv").write_bytes((HEADER + _rows(30) + "X1,2025-01-05,2025-02-05,Won,10,Zoë\n")
                                         .encode("cp1252"))
    data = both(cfg, monkeypatch, TYPED_READ)  # re-read as cp1252, which is then clean
    assert data.quality["deals"].notes == ("not UTF-8; read as cp1252 (set encoding to be sure)",)
    assert data.con.execute("SELECT rep FROM deals WHERE deal_id = 'X1'").fetchone() == ("Zoë",)


def test_parquet_keeps_its_own_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import duckdb

    (tmp_path / "src.csv").write_text(HEADER + _rows(30))
    duckdb.sql(f"COPY (SELECT * FROM read_csv('{tmp_path / 'src.csv'}')) TO '{tmp_path / 'deals.parquet'}'")
    cfg = _config(tmp_path, HEADER)
    cfg.write_text(cfg.read_text().replace("deals.csv", "deals.parquet"))
    both(cfg, monkeypatch, "general")


def _leads_config(tmp_path: Path, body: str) -> Path:
    (tmp_path / "leads.csv").write_text(body, encoding="utf-8")
    cfg = tmp_path / "c.yaml"
    cfg.write_text("scorecard: {as_of: 2025-02-28, allow_partial_period: true}\n"
                   "quality: {max_rejected_share: 1}\n"
                   "datasets:\n  leads:\n    path: leads.csv\n"
                   "    columns: {id: lead_id, created: [created_date, source], contacted: first_contact_at}\n")
    return cfg


def _both_leads(cfg: Path, monkeypatch: pytest.MonkeyPatch, expect: str) -> LoadedData:
    chosen = _load(cfg, typed=True, monkeypatch=monkeypatch)
    general = _load(cfg, typed=False, monkeypatch=monkeypatch)
    assert chosen.quality["leads"].loader == expect and chosen.quality == general.quality
    table = "SELECT * FROM leads ORDER BY lead_id"
    assert chosen.con.execute(table).fetchall() == general.con.execute(table).fetchall()
    assert chosen.con.execute("DESCRIBE leads").fetchall() == general.con.execute("DESCRIBE leads").fetchall()
    return chosen


def test_timestamps_keep_their_time_of_day_on_the_typed_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A file column mapped to a timestamp and to a text column is read as text (not typed by the reader)."""
    body = "id,created,contacted\n" + "".join(
        f"L{i},2025-01-{1 + i % 28:02d} {i % 24:02d}:15:00,{'2025-02-01T08:30:00' if i % 2 else ''}\n"
        for i in range(100))
    data = _both_leads(_leads_config(tmp_path, body), monkeypatch, TYPED_READ)
    row = data.con.execute("SELECT created_date, created_date__ts, source, first_contact_at__ts FROM leads "
                           "WHERE lead_id = 'L1'").fetchone()
    assert row is not None and str(row[1]) == "2025-01-02 01:15:00" and row[2] == "2025-01-02 01:15:00"
    assert str(row[3]) == "2025-02-01 08:30:00"


def test_an_unknown_category_value_is_counted_by_the_general_path(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "activities.csv").write_text("activity_id,date,type\n" + "".join(
        f"A{i},2025-01-{1 + i % 28:02d},{'call' if i % 2 else 'email'}\n" for i in range(50)) + "A99,2025-01-05,fax\n")
    cfg = tmp_path / "c.yaml"
    cfg.write_text("scorecard: {as_of: 2025-02-28, allow_partial_period: true}\nquality: {max_rejected_share: 1}\n"
                   "datasets:\n  activities: {path: activities.csv}\n")
    chosen = _load(cfg, typed=True, monkeypatch=monkeypatch)
    general = _load(cfg, typed=False, monkeypatch=monkeypatch)
    assert chosen.quality["activities"].loader == "general" and chosen.quality == general.quality
    assert chosen.quality["activities"].rows_rejected == {"unreadable type": 1}


def test_order_lines_on_the_typed_read_give_the_general_orders(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """The typed table is written in whatever order DuckDB's threads read it, unless an id repeats:
    orders summed from their lines (a blank on the first line, a value on a later one, lines far
    apart in the file) come out as the general path's."""
    lines = HEADER + "O1,2025-01-02,2025-02-03,Won,10,\n" + _rows(150_000) + \
        "O1,2025-01-02,2025-02-05,Won,5,rep_late\nO2,2025-01-03,2025-02-03,Won,1,rep_a\nO2,2025-01-03,,Won,2,rep_b\n"
    data = both(_config(tmp_path, lines, "    order_lines: true\n"), monkeypatch, TYPED_READ)
    assert data.con.execute("SELECT amount, rep, close_date FROM deals WHERE deal_id = 'O1'").fetchall() == [
        (15.0, "rep_late", date(2025, 2, 5))]
    assert data.con.execute("SELECT amount, rep FROM deals WHERE deal_id = 'O2'").fetchall() == [(3.0, "(mixed)")]


def test_each_value_is_trimmed_once_by_either_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The second projection types values the first already trimmed (``sql.clean_text``): trimming
    them again cost a tenth of a 1M-row typed read and changed nothing. Both paths' SQL, captured as
    they load a file with every kind of column, trim each source column once."""
    seen: list[str] = []
    for name in ("typed_read_sql", "typed_projection"):
        original = getattr(load_module, name)

        def capture(*args: object, _original: Any = original, **kwargs: object) -> object:
            result = _original(*args, **kwargs)
            seen.append(result if isinstance(result, str) or result is None else result[0])
            return result

        monkeypatch.setattr(load_module, name, capture)
    cfg = _config(tmp_path, HEADER + _rows(40) + "X1,2025-01-05,2025-02-05,Won,1.234,rep_1\n")
    for typed in (True, False):
        _load(cfg, typed=typed, monkeypatch=monkeypatch)
    sqls = [s for s in seen if s]
    assert len(sqls) >= 2  # the typed read's and the general path's
    for sql in sqls:
        for column in HEADER.strip().split(","):  # the source column, or its clean text in the next projection
            assert sql.count(f'trim(CAST("{column}"') + sql.count(f'trim(CAST("{column}__t"') <= 1, (column, sql)
