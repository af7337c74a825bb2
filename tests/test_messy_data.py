"""Messy exports, generated: random encodings, number and date styles, unreadable values, bad rows.

Property: revenue per month equals an independent sum over the readable won rows that no rule
rejects, the rows that cannot be used are counted, and no month is reported as 0 where its rows are
unreadable or absent from the data's span. Plus one test per symptom seen on real exports.
"""
from __future__ import annotations

import math
import tempfile
import textwrap
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from reportgen.config.load import load_config
from reportgen.data import load_datasets
from reportgen.errors import DataError
from reportgen.pipeline.build import compute_for_config

NOW = datetime(2026, 1, 1, tzinfo=UTC)

ENCODINGS = ["utf-8", "utf-8-sig", "cp1252", "cp850", "mac_roman", "latin-1", "utf-16"]
NUMBER_STYLES = {  # name -> (decimal, writer)
    "plain": (".", lambda v: f"{v:.2f}"),
    "us": (".", lambda v: f"${v:,.2f}"),
    "eu": (",", lambda v: f"{v:,.2f}".replace(",", "\x00").replace(".", ",").replace("\x00", ".") + " EUR"),
    "br": (",", lambda v: "R$ " + f"{v:,.2f}".replace(",", "\x00").replace(".", ",").replace("\x00", ".")),
    "swiss": (".", lambda v: f"CHF {v:,.2f}".replace(",", "'")),
    "nbsp": (",", lambda v: f"{v:,.2f}".replace(",", "\u00a0").replace(".", ",")),
}
DATE_STYLES = {
    "iso": lambda d: d.isoformat(),
    "us": lambda d: f"{d.month}/{d.day}/{d.year}",
    "de": lambda d: f"{d.day:02d}.{d.month:02d}.{d.year}",
    "dash": lambda d: f"{d.day:02d}-{d.month:02d}-{d.year}",
    "us2": lambda d: f"{d.month:02d}/{d.day:02d}/{d.year % 100:02d}",
}
NAMES = ["Zoë", "Émile", "Ñoño", "Björk", "Åsa"]  # non-ASCII names, representable in every code page used

deal = st.fixed_dictionaries({
    "created": st.dates(date(2025, 1, 1), date(2025, 5, 31)),
    "days": st.integers(0, 60),
    "stage": st.sampled_from(["Won", "Won", "Lost", "Open"]),
    "amount": st.floats(0, 250_000, allow_nan=False).map(lambda v: round(v, 2)),
    "rep": st.sampled_from(NAMES),
    "bad": st.sampled_from([None] * 12 + ["amount", "date", "negative", "duplicate", "ragged"]),
})


def write_export(path: Path, rows: list[dict], encoding: str, number: str, dates: str) -> dict[str, float]:
    """Write the deals file; return the expected revenue per month over the usable won rows."""
    to_number, to_date = NUMBER_STYLES[number][1], DATE_STYLES[dates]
    lines = ["id;created;closed;stage;amount;owner"]
    expected: dict[str, float] = {}
    for i, r in enumerate(rows):
        closed = date.fromordinal(r["created"].toordinal() + r["days"])
        amount_text = to_number(r["amount"])
        deal_id = f"D{i}" if r["bad"] != "duplicate" else "D0"
        if r["bad"] == "amount":
            amount_text = "n/a"
        created_text = to_date(r["created"]) if r["bad"] != "date" else "someday"
        if r["bad"] == "negative":
            amount_text = "-" + amount_text if r["stage"] == "Won" else amount_text
        line = ";".join([deal_id, created_text, to_date(closed) if r["stage"] != "Open" else "", r["stage"],
                         amount_text, r["rep"]])
        if r["bad"] == "ragged":
            line += ";extra"
        lines.append(line)
        # an unreadable created_date does not stop a close from counting; "-0.00" is not a negative amount
        usable = r["bad"] in (None, "date") or r["bad"] == "negative" and r["amount"] == 0
        if r["stage"] == "Won" and usable:
            expected[closed.strftime("%Y-%m")] = expected.get(closed.strftime("%Y-%m"), 0.0) + r["amount"]
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode(encoding))
    return expected


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@example(rows=[{"created": date(2025, 1, 1), "days": 0, "stage": "Open", "amount": 1.0, "rep": "Zoë", "bad": None}] * 3,
         encoding="utf-8", number="plain", dates="iso")  # no deal ever closed: revenue is missing, never 0
@given(rows=st.lists(deal, min_size=3, max_size=40), encoding=st.sampled_from(ENCODINGS),
       number=st.sampled_from(sorted(NUMBER_STYLES)), dates=st.sampled_from(sorted(DATE_STYLES)))
def test_revenue_is_the_sum_of_usable_won_rows_whatever_the_export_looks_like(
        tmp_path: Path, rows: list[dict], encoding: str, number: str, dates: str) -> None:
    rows[0] = {**rows[0], "bad": None}  # the row duplicates point at
    rows[-1] = {**rows[-1], "created": date(2025, 1, 13), "bad": None}  # a day > 12 settles D/M order
    folder = Path(tempfile.mkdtemp(dir=tmp_path))
    expected = write_export(folder / "deals.csv", rows, encoding, number, dates)
    decimal = NUMBER_STYLES[number][0]
    (folder / "c.yaml").write_text(
        textwrap.dedent(f"""\
        scorecard: {{as_of: 2025-07-31, grain: month, allow_partial_period: true}}
        quality: {{max_rejected_share: 1}}
        datasets:
          deals:
            path: deals.csv
            decimal: '{decimal}'
            encoding: {"auto" if encoding.startswith("utf") else encoding}
            columns: {{id: deal_id, created: created_date, closed: close_date, stage: stage, amount: amount, \
owner: rep}}
            stages: {{won: [Won], lost: [Lost], open: [Open]}}
            data_through: 2025-07-31
        kpis: [revenue, deals_won]
        """)
    )
    loaded = load_config(folder / "c.yaml")
    metrics = compute_for_config(loaded, now=NOW, first="2025-01")
    q = metrics.quality["deals"]
    bad = [r["bad"] for r in rows]
    assert q.rows_rejected.get("unreadable amount", 0) == bad.count("amount")
    assert q.rows_rejected.get("unreadable created_date", 0) == bad.count("date")
    assert q.rows_rejected.get("duplicate deal_id", 0) == bad.count("duplicate")
    assert q.rows_rejected.get("ragged line (too few or too many fields)", 0) == bad.count("ragged")
    kept = [r for r in rows if r["stage"] != "Open" and (r["bad"] in (None, "date", "amount")
                                                         or r["bad"] == "negative" and (r["stage"] != "Won"
                                                                                        or r["amount"] == 0))]
    first_close = min((date.fromordinal(r["created"].toordinal() + r["days"]) for r in kept),
                      default=date.max).strftime("%Y-%m")  # no close at all: revenue can never be spoken for
    for month in [f"2025-{m:02d}" for m in range(1, 8)]:
        got = metrics.row("revenue", month)["value"]
        if month < first_close:  # before the data's first close: the export says nothing, so missing
            assert math.isnan(got) and metrics.row("revenue", month)["note"].startswith("deals ")
            continue
        won_here = [r for r in rows if r["stage"] == "Won"
                    and date.fromordinal(r["created"].toordinal() + r["days"]).strftime("%Y-%m") == month]
        if month in expected:
            assert got == pytest.approx(expected[month], abs=1e-6), (month, encoding, number, dates)
        elif won_here and all(r["bad"] == "amount" for r in won_here):
            assert math.isnan(got), (month, "every won amount unreadable: missing, not 0")
        elif not won_here:
            assert got == 0.0  # inside the covered span, no won deal is a real 0


def _deals(tmp_path: Path, body: str, extra: str = "", **dataset: str) -> Path:
    (tmp_path / "deals.csv").write_bytes(body.encode(dataset.pop("encoding_bytes", "utf-8")))
    options = "".join(f"    {k}: {v}\n" for k, v in dataset.items())
    cfg = tmp_path / "c.yaml"
    cfg.write_text(
        "scorecard: {as_of: 2025-02-28, allow_partial_period: true}\n"
        + extra
        + "datasets:\n  deals:\n    path: deals.csv\n"
        + options
        + "    stages: {won: [Won], lost: [Lost], open: [Open]}\n"
    )
    return cfg


def test_thousands_dots_without_a_setting_ask_for_it(tmp_path: Path) -> None:
    cfg = _deals(tmp_path, "deal_id,created_date,close_date,stage,amount\nA,2025-01-02,2025-02-03,Won,R$ 100.000\n"
                           "B,2025-01-02,2025-02-03,Won,R$ 2.500\n")
    with pytest.raises(DataError) as info:
        load_datasets(load_config(cfg))
    assert str(info.value) == ("dataset 'deals': column 'amount': 'R$ 100.000' reads as 100.000 or as 100000; set "
                               "decimal: ',' and thousands: '.' (or decimal: '.' and thousands: ',') for the dataset")


def test_two_digit_years_are_this_century_not_the_year_3(tmp_path: Path) -> None:
    cfg = _deals(tmp_path, "deal_id,created_date,close_date,stage,amount\nA,02/24/03,02/24/03,Won,10\n"
                           "B,12/30/04,12/31/04,Won,5\n")
    data = load_datasets(load_config(cfg), today=date(2026, 1, 1))
    assert data.quality["deals"].first_date == date(2003, 2, 24)


def test_a_date_column_nobody_can_read_fails_validate(tmp_path: Path) -> None:
    cfg = _deals(tmp_path, "deal_id,created_date,close_date,stage,amount\nA,someday,2025-02-03,Won,10\n"
                           "B,never,2025-02-03,Won,5\n")
    with pytest.raises(DataError, match=r"no value of column 'created_date' can be read"):
        load_datasets(load_config(cfg))


@pytest.mark.parametrize("encoding", ["cp850", "cp1252", "mac_roman"])
def test_any_python_encoding_when_named(tmp_path: Path, encoding: str) -> None:
    cfg = _deals(tmp_path, "deal_id,created_date,close_date,stage,amount,rep\nA,2025-01-02,2025-02-03,Won,10,Zoë\n",
                 encoding=encoding, encoding_bytes=encoding)
    cfg.write_text(cfg.read_text().replace("    stages:", "    columns: {rep: rep}\n    stages:"))
    data = load_datasets(load_config(cfg))
    assert data.con.execute("SELECT rep FROM deals").fetchone()[0] == "Zoë"


def test_row_rules_reject_and_count(tmp_path: Path) -> None:
    body = ("deal_id,created_date,close_date,stage,amount\n"
            "A,2025-01-02,2025-02-03,Won,10\n"
            "A,2025-01-02,2025-02-03,Won,10\n"      # duplicate id
            "B,2025-01-02,2025-02-03,Won,-5\n"      # won with a negative amount
            "C,2025-02-10,2025-02-03,Lost,0\n"      # closed before created
            "D,2025-01-02,2030-02-03,Won,7\n"       # dated far in the future
            "E,2025-01-02\n"                       # ragged: too few fields
            "F,2025-01-02,2025-02-03,Won,1,extra\n"  # ragged: too many
            "G,2025-01-02,2025-02-04,Won,20\n")
    cfg = _deals(tmp_path, body, extra="quality: {max_rejected_share: 1}\n")
    data = load_datasets(load_config(cfg), today=date(2026, 1, 1))
    q = data.quality["deals"]
    assert q.rows_rejected == {"ragged line (too few or too many fields)": 2, "duplicate deal_id": 1,
                               "won deal with a negative amount": 1, "closed before created": 1,
                               "dated after 2027-01-02": 1}
    assert data.con.execute("SELECT list(deal_id ORDER BY deal_id) FROM deals").fetchone()[0] == ["A", "G"]
    assert q.rows_read == 8 and any(e.startswith("deals.csv:7: missing columns") for e in q.examples)


def test_rules_can_keep_what_a_config_says_is_legitimate(tmp_path: Path) -> None:
    body = (
        "deal_id,created_date,close_date,stage,amount\nA,2025-01-02,2025-02-03,Won,-10\nA,2025-01-02,2025-02-03,Won,4\n"
    )
    cfg = _deals(tmp_path, body, extra="quality: {duplicate_ids: keep, negative_amounts: keep}\n")
    data = load_datasets(load_config(cfg))
    assert data.con.execute("SELECT sum(amount) FROM deals").fetchone()[0] == -6


def test_values_map_applies_to_source_and_typed_constants(tmp_path: Path) -> None:
    body = "deal_id,created_date,close_date,stage,amount,utm\nA,2025-01-02,2025-02-03,Won,10,paid-search\n"
    cfg = _deals(tmp_path, body, columns="{utm: source}", values="{source: {Search: [paid-search]}}",
                 constants="{quote_date: 2025-01-05, profit: 3, product: null}")
    data = load_datasets(load_config(cfg))
    row = data.con.execute("SELECT source, quote_date, profit FROM deals").fetchone()
    assert row == ("Search", date(2025, 1, 5), 3.0)


def test_custom_dataset_measures_any_numeric_column_and_names_a_text_one(tmp_path: Path) -> None:
    (tmp_path / "visits.csv").write_text("day;visits;page\n13.01.2025;1.200;home\n14.01.2025;800;pricing\n")
    cfg = tmp_path / "c.yaml"
    cfg.write_text(textwrap.dedent("""\
        scorecard: {as_of: 2025-01-31, allow_partial_period: true}
        datasets:
          web: {path: visits.csv, decimal: ',', columns: {day: date}}
        kpis:
          - {id: visits, measure: {dataset: web, agg: sum, column: visits, date: date}, unit: count}
        """))
    metrics = compute_for_config(load_config(cfg), now=NOW)
    assert metrics.row("visits", "2025-01")["value"] == 2000


def test_encoding_auto_reads_a_code_page_when_a_needed_column_is_not_utf8(tmp_path: Path) -> None:
    body = "deal_id,created_date,close_date,stage,amount,rep\nA,2025-01-02,2025-02-03,Won,10,Berguvsvägen Zoë\n"
    cfg = _deals(tmp_path, body, encoding_bytes="cp850")
    cfg.write_text(cfg.read_text().replace("    stages:", "    columns: {rep: rep}\n    stages:"))
    data = load_datasets(load_config(cfg))
    assert data.con.execute("SELECT rep FROM deals").fetchone()[0] == "Berguvsvägen Zoë"
    assert data.quality["deals"].notes == ("not UTF-8; read as cp850 (set encoding to be sure)",)
    assert data.quality["deals"].rows_rejected == {}
