"""Currencies (issue 19, item 5) and text from data made safe for every sink (issue 21).

Amounts in several currencies must never be summed: one currency passes, several stop the build with
the list, and an ``fx_rates`` dataset converts them at dated rates, the source named in the record.
A NUL, a bidi override or a zero-width character in a CRM cell is removed at load and counted.
"""
from __future__ import annotations

import textwrap
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from reportgen.config.load import load_config
from reportgen.data import load_datasets
from reportgen.errors import DataError
from reportgen.pipeline.build import compute_for_config

TODAY = date(2026, 1, 1)
OPPS = ("Id,Created,Closed,Stage,Amount,CurrencyIsoCode\n"
        "A,2025-01-02,2025-01-20,Won,100,USD\n"
        "B,2025-01-02,2025-01-21,Won,2000,MXN\n"
        "C,2025-01-03,2025-02-05,Won,40000,COP\n"
        "D,2025-01-03,2025-02-06,Won,50,pen\n"
        "E,2025-01-04,2025-02-07,Won,70,MXN\n")
RATES = ("date,currency,rate\n2025-01-01,MXN,0.05\n2025-02-01,MXN,0.06\n2025-01-01,COP,0.00025\n"
         "2025-01-01,PEN,0.27\n")


def _config(tmp_path: Path, opps: str = OPPS, rates: str | None = None, extra: str = "") -> Path:
    (tmp_path / "opps.csv").write_text(opps)
    fx = ""
    if rates is not None:
        (tmp_path / "rates.csv").write_text(rates)
        fx = "  fx_rates: {path: rates.csv}\n"
    cfg = tmp_path / "c.yaml"
    cfg.write_text(textwrap.dedent("""\
        scorecard: {as_of: 2025-02-28, allow_partial_period: true, breakdowns: []}
        datasets:
        """) + fx + textwrap.dedent(f"""\
          deals:
            path: opps.csv
            columns: {{Id: deal_id, Created: created_date, Closed: close_date, Stage: stage, Amount: amount,
                       CurrencyIsoCode: currency}}
            stages: {{won: [Won]}}
        {extra}
        kpis: [revenue]
        """))
    return cfg


def test_several_currencies_stop_the_build_listing_them(tmp_path: Path) -> None:
    with pytest.raises(DataError) as info:
        load_datasets(load_config(_config(tmp_path)), today=TODAY)
    assert str(info.value) == (
        "dataset 'deals' (opps.csv): amounts in 4 currencies: COP, MXN, PEN, USD; summed they would mean nothing. "
        "Convert them to USD with an fx_rates dataset (datasets: {fx_rates: {path: rates.csv}} with columns date, "
        "currency, rate in USD per unit), or export one currency")


def test_one_currency_passes_and_a_declared_other_one_is_named(tmp_path: Path) -> None:
    usd = "".join(line + "\n" for line in OPPS.splitlines() if line.endswith(("USD", "Code")))
    data = load_datasets(load_config(_config(tmp_path, usd)), today=TODAY)
    assert data.con.execute("SELECT sum(amount) FROM deals").fetchone() == (100.0,)
    cfg = _config(tmp_path, usd.replace(",CurrencyIsoCode", ",Cur").replace(",USD", ",x"))
    cfg.write_text(cfg.read_text().replace("CurrencyIsoCode: currency", "Cur: cur").replace(
        "stages:", "currency: mxn\n    stages:"))
    with pytest.raises(DataError, match=r"amounts are in MXN but scorecard.currency is USD; set "
                                        r"scorecard.currency: MXN, or convert them with an fx_rates dataset"):
        load_datasets(load_config(cfg), today=TODAY)


def test_an_fx_table_converts_at_dated_rates_and_is_named(tmp_path: Path) -> None:
    cfg = _config(tmp_path, rates=RATES)
    metrics = compute_for_config(load_config(cfg), now=datetime(2026, 1, 1, tzinfo=UTC), first="2025-01")
    # January: 100 USD + 2000 MXN at 0.05; February: 40000 COP at 0.00025 + 50 PEN at 0.27 + 70 MXN at 0.06
    assert metrics.row("revenue", "2025-01")["value"] == pytest.approx(100 + 2000 * 0.05)
    assert metrics.row("revenue", "2025-02")["value"] == pytest.approx(40000 * 0.00025 + 50 * 0.27 + 70 * 0.06)
    assert ("amounts in COP, MXN, PEN converted to USD at the latest rate on or before each row's close_date "
            "(else created_date), from rates.csv (4 rates, 2025-01-01 .. 2025-02-01)") in metrics.quality["deals"].notes


def test_a_row_no_rate_covers_is_left_out_and_counted(tmp_path: Path) -> None:
    early = OPPS + "F,2024-11-02,2024-12-20,Won,999,MXN\n"  # before the first MXN rate
    cfg = _config(tmp_path, early, rates=RATES, extra="quality: {max_rejected_share: 0.5}")
    data = load_datasets(load_config(cfg), today=TODAY)
    assert data.quality["deals"].rows_rejected == {"no FX rate for its currency and date": 1}
    assert data.con.execute("SELECT count(*) FROM deals WHERE deal_id = 'F'").fetchone() == (0,)


def test_unsafe_characters_are_removed_from_text_and_counted(tmp_path: Path) -> None:
    body = ("deal_id,created_date,close_date,stage,amount,rep\n"
            'A,2025-01-02,2025-02-03,Won,10,"Ann\x00ie"\n'
            'B,2025-01-02,2025-02-03,Won,10,"Ann\u202eevil\u202c"\n'
            'C,2025-01-02,2025-02-03,Won,10,"Zo\u200bë\nSmith"\n'
            "D\u200d,2025-01-02,2025-02-03,Won,10,Zoë\n")
    (tmp_path / "deals.csv").write_text(body, encoding="utf-8")
    cfg = tmp_path / "c.yaml"
    cfg.write_text("scorecard: {as_of: 2025-02-28, allow_partial_period: true}\n"
                   "datasets:\n  deals:\n    path: deals.csv\n    columns: {rep: rep}\n    stages: {won: [Won]}\n")
    data = load_datasets(load_config(cfg), today=TODAY)
    rows = data.con.execute("SELECT deal_id, rep FROM deals ORDER BY deal_id").fetchall()
    assert rows == [("A", "Annie"), ("B", "Annevil"), ("C", "Zoë Smith"), ("D", "Zoë")]
    assert data.quality["deals"].notes == (
        "4 text values held control, bidi or zero-width characters (1 in deal_id, 3 in rep): those characters "
        "were removed, the rest of the text kept",)


def test_encoding_auto_reads_a_cp1252_euro_sign(tmp_path: Path) -> None:
    body = "deal_id,created_date,close_date,stage,amount,note\nA,2025-01-02,2025-02-03,Won,1.234 €,Preis 5 €\n"
    (tmp_path / "deals.csv").write_bytes(body.encode("cp1252"))
    cfg = tmp_path / "c.yaml"
    cfg.write_text("scorecard: {as_of: 2025-02-28, allow_partial_period: true}\n"
                   "datasets:\n  deals:\n    path: deals.csv\n    decimal: ','\n    columns: {note: note}\n"
                   "    stages: {won: [Won]}\n")
    data = load_datasets(load_config(cfg), today=TODAY)
    assert data.con.execute("SELECT amount, note FROM deals").fetchone() == (1234.0, "Preis 5 €")
    assert data.quality["deals"].notes == ("not UTF-8; read as cp1252 (set encoding to be sure)",)


@pytest.mark.parametrize("text, records, clean", [
    ("a,b\n1,x\n2,y\n", 3, True),
    ("a,b\r\n1,x\r\n2,y\r\n", 3, True),
    ("a,b\n1,x\n2,y", 3, True),  # no newline after the last line
    ('a,b\n1,"x\ny"\n', 2, False),  # a line break inside a value
    ("a,b\n1,x\x00\n", 2, False),
    ("a,b\n1,x\u202e\n", 2, False),
    ("a,b\n1,5 €\n", 2, False),  # a lead byte of unsafe characters too: checked value by value
    ("a\tb\n1\tx\n", 2, False),
])
def test_the_byte_check_lets_no_unsafe_file_through(tmp_path: Path, text: str, records: int, clean: bool) -> None:
    from reportgen.data.safe_text import file_is_clean

    (tmp_path / "f.csv").write_bytes(text.encode("utf-8"))
    assert file_is_clean(tmp_path / "f.csv", records) is clean
