"""Rows lost or invented without a word (issue 19, items 1-3): lookup files read like datasets, join
coverage counted, and rows that are not data (blank, total, repeated header) left out with their lines.

Each test writes the export as a user's tool would and checks the exact outcome: counts, line
numbers, the gate's message, and that revenue equals the sum over the real rows.
"""
from __future__ import annotations

import textwrap
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner

from reportgen.cli.app import main
from reportgen.config.load import load_config
from reportgen.data import load_datasets
from reportgen.errors import DataError

TODAY = date(2026, 1, 1)
LINES = "line_id,order_id,product,amount\n" + "".join(
    f"{i},{10248 + i // 2},P{i},{10 * i}\n" for i in range(1, 21))  # 20 lines of orders 10248..10258
ORDERS = "order_id,customer,order_date,shipped_date\n" + "".join(
    f"{o},C{o},2025-01-{1 + (o - 10248):02d},2025-02-{1 + (o - 10248):02d}\n" for o in range(10248, 10259))


def _northwind(tmp_path: Path, orders: str, quality: str = "") -> Path:
    (tmp_path / "lines.csv").write_text(LINES)
    (tmp_path / "orders.csv").write_text(orders)
    cfg = tmp_path / "c.yaml"
    cfg.write_text(textwrap.dedent(f"""\
        scorecard: {{as_of: 2025-02-28, allow_partial_period: true, breakdowns: []}}
        {quality}
        datasets:
          deals:
            path: lines.csv
            columns: {{order_id: deal_id, amount: amount}}
            constants: {{stage: won}}
            order_lines: true
            lookups:
              - {{path: orders.csv, column: order_id,
                  columns: {{order_date: created_date, shipped_date: close_date, customer: customer_id}}}}
        kpis: [revenue, deals_won]
        """))
    return cfg


def test_ragged_lookup_lines_stop_validate_with_the_lines_named(tmp_path: Path) -> None:
    # orders 10250 and 10253 have an unquoted comma in a name: their lines are ragged and lose their dates
    ragged = ORDERS.replace("C10250,", "C10250, Inc,").replace("C10253,", "Smith, Jones,")
    cfg = _northwind(tmp_path, ragged)
    result = CliRunner().invoke(main, ["validate", str(cfg)])
    assert result.exit_code != 0
    out = result.output
    assert ("lookup orders.csv of dataset 'deals': 2 of 11 rows (18.2%) cannot be used, over the 1% allowed "
            "(quality.max_rejected_share): 2 ragged line (too few or too many fields)") in out
    assert "orders.csv:4: too many columns" in out and "orders.csv:7: too many columns" in out
    # the order lines that lost their date are counted against the dataset, with their lines and keys
    assert ("dataset 'deals' (lines.csv): 4 of 20 rows (20.0%) cannot be used, over the 1% allowed "
            "(quality.max_rejected_share): 2 won/lost without close_date, 4 without a lookup match for a required "
            "column") in out
    assert "lines.csv:5: order_id '10250' not in orders.csv, so no created_date" in out
    assert "lines.csv:12: order_id '10253' not in orders.csv, so no created_date" in out


def test_a_key_without_match_is_counted_and_shown_by_validate(tmp_path: Path) -> None:
    missing = "".join(line + "\n" for line in ORDERS.splitlines() if not line.startswith("10258"))
    cfg = _northwind(tmp_path, missing, quality="quality: {max_rejected_share: 0.5}")
    data = load_datasets(load_config(cfg), today=TODAY)
    q = data.quality["deals"]
    assert q.unmatched == {"order_id not in orders.csv": 1} and q.unmatched_required == 1
    assert q.lookups[0].rows_read == 10 and q.lookups[0].rows_rejected == {}
    result = CliRunner().invoke(main, ["validate", str(cfg)])
    assert result.exit_code == 0, result.output
    assert ("note: 1 row with a order_id not in orders.csv (1 key): '10258' (line 21); no created_date, close_date, "
            "customer_id for it") in result.output
    assert "note: lookup orders.csv: 10 rows read" in result.output


def test_a_repeated_lookup_key_takes_its_first_row_and_counts_the_other(tmp_path: Path) -> None:
    twice = ORDERS + "10248,OTHER,2024-06-01,2024-07-01\n" + "10249,C10249,2025-01-02,2025-02-02\n"
    cfg = _northwind(tmp_path, twice, quality="quality: {max_rejected_share: 0.2}")
    data = load_datasets(load_config(cfg), today=TODAY)
    lk = data.quality["deals"].lookups[0]
    assert lk.rows_rejected == {"key repeated with other values": 1}  # the identical repeat is harmless
    assert lk.examples == ("orders.csv:13: key repeated with other values",)
    assert data.con.execute("SELECT customer_id FROM deals WHERE deal_id = '10248'").fetchone() == ("C10248",)


def test_lookup_columns_may_be_a_list_and_lookups_read_code_pages(tmp_path: Path) -> None:
    (tmp_path / "d.csv").write_text("deal_id,created_date,close_date,stage,amount,owner\n"
                                    "A,2025-01-02,2025-02-03,Won,10,ann\n")
    (tmp_path / "teams.csv").write_bytes("owner,region\nann,Zürich Süd\n".encode("cp1252"))
    cfg = tmp_path / "c.yaml"
    cfg.write_text("scorecard: {as_of: 2025-02-28, allow_partial_period: true}\n"
                   "datasets:\n  deals:\n    path: d.csv\n    stages: {won: [Won]}\n"
                   "    lookups: [{path: teams.csv, column: owner, columns: [region]}]\n")
    data = load_datasets(load_config(cfg), today=TODAY)
    assert data.con.execute("SELECT region FROM deals").fetchone() == ("Zürich Süd",)
    assert "lookup teams.csv: not UTF-8; read as cp1252 (set encoding to be sure)" in data.quality["deals"].notes


# --- rows that are not data -------------------------------------------------------------------------

HEADER = "Id,Created,Closed,StageName,Amount,Owner\n"
BODY = ("A,2025-01-02,2025-02-03,Won,10,ann\n"
        "B,2025-01-02,2025-02-04,Won,20,bob\n"
        ",,,,,\n"                                # line 4: a row of commas
        + HEADER +                               # line 5: the second export's header
        "C,2025-01-05,2025-02-05,Lost,5,ann\n"
        "D,2025-01-06,2025-02-06,Won,30,bob\n"
        ",,,,60,\n"                              # line 8: Excel's total row (only the amount)
        "Total,,,123456\n")                      # line 9: a ragged total line


def _deals(tmp_path: Path, body: str, quality: str = "") -> Path:
    (tmp_path / "deals.csv").write_text(body)
    cfg = tmp_path / "c.yaml"
    cfg.write_text("scorecard: {as_of: 2025-02-28, allow_partial_period: true}\n" + quality +
                   "datasets:\n  deals:\n    path: deals.csv\n"
                   "    columns: {Id: deal_id, Created: created_date, Closed: close_date, StageName: stage, "
                   "Amount: amount, Owner: rep}\n"
                   "    stages: {won: [Won], lost: [Lost], open: [Open]}\n")
    return cfg


def test_blank_total_and_repeated_header_rows_are_left_out_with_their_lines(tmp_path: Path) -> None:
    data = load_datasets(load_config(_deals(tmp_path, HEADER + BODY)), today=TODAY)
    q = data.quality["deals"]
    assert q.rows_rejected == {"repeated header line": 1, "blank row": 1, "total row": 2}
    assert q.rows_read == 8
    assert data.con.execute("SELECT list(deal_id ORDER BY deal_id), sum(amount) FILTER (WHERE stage = 'won'), "
                            "count(*) FILTER (WHERE rep IS NULL) FROM deals").fetchone() == (["A", "B", "C", "D"],
                                                                                               60.0, 0)
    assert q.notes == ("1 blank row left out (line 4); quality.blank_rows: keep keeps them",
                       "2 total rows left out (line 8, 9); quality.total_rows: keep keeps them",
                       "1 repeated header line left out (line 5); quality.repeated_headers: keep keeps them")
    assert q.total_rejected == 0  # not data: not held against the gate


def test_keeping_a_repeated_header_gives_the_old_refusal(tmp_path: Path) -> None:
    cfg = _deals(tmp_path, HEADER + BODY, quality="quality: {repeated_headers: keep}\n")
    with pytest.raises(DataError, match=r"unmapped stage value\(s\) 'StageName' \(1 rows\)"):
        load_datasets(load_config(cfg), today=TODAY)


def test_kept_blank_rows_are_rows(tmp_path: Path) -> None:
    cfg = _deals(tmp_path, HEADER + "A,2025-01-02,2025-02-03,Won,10,ann\n,,,,,\n",
                 quality="quality: {blank_rows: keep, max_rejected_share: 1}\n")
    data = load_datasets(load_config(cfg), today=TODAY, check=False)
    assert data.con.execute("SELECT count(*) FROM deals").fetchone() == (2,)


@pytest.mark.parametrize("body, label, line", [
    (HEADER + "A,2025-01-02,2025-02-03,Won,10,ann\n,,,,,\nB,2025-01-02,2025-02-04,Won,20,bob\n", "blank row", 3),
    (HEADER + "A,2025-01-02,2025-02-03,Won,10,ann\nB,2025-01-02,2025-02-04,Won,20,bob\n,,,,30,\n", "total row", 4),
])
def test_the_typed_read_gives_the_same_rows_and_lines(tmp_path: Path, body: str, label: str, line: int) -> None:
    data = load_datasets(load_config(_deals(tmp_path, body)), today=TODAY)
    q = data.quality["deals"]
    assert q.loader == "typed read"  # clean otherwise: the fast path handles it
    assert q.rows_rejected == {label: 1}
    assert f"(line {line})" in q.notes[0]
    assert data.con.execute("SELECT sum(amount) FROM deals").fetchone() == (30.0,)


def test_a_total_in_an_unread_first_column_is_seen_by_the_typed_read(tmp_path: Path) -> None:
    body = ("Row,Id,Created,Closed,StageName,Amount,Owner\n1,A,2025-01-02,2025-02-03,Won,10,ann\n"
            "2,B,2025-01-02,2025-02-04,Won,20,bob\nGrand total,,,,,30,\n")
    (tmp_path / "deals.csv").write_text(body)
    cfg = _deals(tmp_path, body)
    (tmp_path / "deals.csv").write_text(body)
    data = load_datasets(load_config(cfg), today=TODAY)
    q = data.quality["deals"]
    assert (q.loader, q.rows_rejected) == ("typed read", {"total row": 1})
    assert "__first_total" not in data.columns["deals"]
    assert data.con.execute("SELECT count(*), sum(amount) FROM deals").fetchone() == (2, 30.0)


def test_a_warm_cache_keeps_the_lookup_records(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from reportgen.data import LoadedData, cache, connect

    monkeypatch.setenv("REPORTGEN_CACHE_DIR", str(tmp_path / "cache"))
    missing = "".join(line + "\n" for line in ORDERS.splitlines() if not line.startswith("10258"))
    loaded = load_config(_northwind(tmp_path, missing + "Total,,,\n", quality="quality: {max_rejected_share: 0.5}"))
    cold = load_datasets(loaded, today=TODAY)
    cache.wait()
    warm = LoadedData(connect(), {}, {})
    assert cache.restore(warm.con, cache.fingerprint(loaded, TODAY) or "", warm)
    assert warm.quality == cold.quality and warm.quality["deals"].lookups[0].rows_rejected == {"total row": 1}


def test_line_numbers_count_the_empty_lines_the_reader_passes_over(tmp_path: Path) -> None:
    body = ("Id,Created,Closed,StageName,Amount,Owner\nA,2025-01-02,2025-02-03,Won,10,ann\n\n"
            "C,2025-01-02\nB,2025-01-02,2025-02-04,Won,-5,bob\n,,,,,\n")
    cfg = _deals(tmp_path, body, quality="quality: {max_rejected_share: 1}\n")
    q = load_datasets(load_config(cfg), today=TODAY).quality["deals"]
    assert q.examples == ("deals.csv:4: missing columns: Expected Number of Columns: 6 Found: 2",
                          "deals.csv:5: won deal with a negative amount (kept with quality.negative_amounts: keep)")
    assert q.notes == ("1 blank row left out (line 6); quality.blank_rows: keep keeps them",)
