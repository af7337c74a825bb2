"""Every source format, read through a config with nothing but mappings.

The same small deals table is written as CSV (several dialects), Excel, Parquet, SQLite and a real
PostgreSQL table; each must give the same revenue and win rate as the hand-computed values.
"""
from __future__ import annotations

import math
import textwrap
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

from reportgen.data import load_datasets
from reportgen.errors import DataError
from reportgen.pipeline.build import compute_for_config

NOW = datetime(2026, 1, 1, tzinfo=UTC)

ROWS = [  # id, created, closed, stage, amount, owner
    ("O1", "2025-01-03", "2025-02-10", "Won", 1200.50, "Émile"),
    ("O2", "2025-01-04", "2025-02-11", "Won", 800.25, "Zoë"),
    ("O3", "2025-01-05", "2025-02-12", "Lost", 0.0, "Émile"),
    ("O4", "2025-02-20", "", "Engaging", 0.0, "Zoë"),
]
EXPECTED_REVENUE = 2000.75
EXPECTED_WIN_RATE = 2 / 3

MAPPING = textwrap.dedent("""\
    columns: {opp: deal_id, engaged: created_date, closed: close_date, deal_stage: stage, value: amount, owner: rep}
    stages: {won: [Won], lost: [Lost], open: [Engaging]}
    """)


def frame() -> pd.DataFrame:
    return pd.DataFrame(ROWS, columns=["opp", "engaged", "closed", "deal_stage", "value", "owner"])


def config_for(tmp_path: Path, source: str) -> Path:
    cfg = tmp_path / "c.yaml"
    body = textwrap.indent(source + MAPPING, "    ")
    cfg.write_text(
        f"scorecard: {{as_of: 2025-02-15, breakdowns: [rep], allow_partial_period: true}}\ndatasets:\n  deals:\n{body}"
        "kpis: [revenue, win_rate]\n"
    )
    return cfg


def check(cfg: Path) -> None:
    from reportgen.config.load import load_config

    m = compute_for_config(load_config(cfg), now=NOW)
    feb = m.row("revenue", "2025-02")
    assert feb["value"] == pytest.approx(EXPECTED_REVENUE)
    assert m.row("win_rate", "2025-02")["value"] == pytest.approx(EXPECTED_WIN_RATE)
    reps = set(m.table.loc[m.table["dimension"] == "rep", "segment"])
    assert reps == {"Émile", "Zoë"}


def test_csv_utf8(tmp_path: Path) -> None:
    frame().to_csv(tmp_path / "d.csv", index=False)
    check(config_for(tmp_path, "path: d.csv\n"))


def test_csv_utf8_bom_crlf(tmp_path: Path) -> None:
    (tmp_path / "d.csv").write_bytes(b"\xef\xbb\xbf" + frame().to_csv(index=False, lineterminator="\r\n").encode())
    check(config_for(tmp_path, "path: d.csv\n"))


def test_csv_latin1_semicolon_decimal_comma_european_dates(tmp_path: Path) -> None:
    f = frame()
    for col in ("engaged", "closed"):
        f[col] = pd.to_datetime(f[col]).dt.strftime("%d.%m.%Y").fillna("")
    f["value"] = f["value"].map(lambda v: f"{v:,.2f}".replace(",", " ").replace(".", ",").replace(" ", "."))
    (tmp_path / "d.csv").write_bytes(f.to_csv(index=False, sep=";").encode("latin-1"))
    check(config_for(tmp_path, "path: d.csv\ndelimiter: ';'\nencoding: latin-1\ndecimal: ','\n"))


def test_us_dates_detected_and_explicit_format(tmp_path: Path) -> None:
    f = frame()
    for col in ("engaged", "closed"):
        f[col] = pd.to_datetime(f[col]).map(lambda d: f"{d.month}/{d.day}/{d.year}" if pd.notna(d) else "")
    f.to_csv(tmp_path / "d.csv", index=False)
    check(config_for(tmp_path, "path: d.csv\n"))
    check(config_for(tmp_path, "path: d.csv\ndate_formats: {created_date: '%m/%d/%Y', close_date: '%m/%d/%Y'}\n"))


def test_ambiguous_day_month_order_is_an_error(tmp_path: Path) -> None:
    f = frame().head(2)
    f["engaged"] = ["01/02/2025", "03/04/2025"]
    f["closed"] = ["05/06/2025", "07/08/2025"]
    f.to_csv(tmp_path / "d.csv", index=False)
    with pytest.raises(
        DataError,
        match=r"column 'created_date': dates like 03/04/2025 read as day/month and as month/day and no value "
        r"settles it; set date_formats: \{created_date: '%d/%m/%Y'\}",
    ):
        check(config_for(tmp_path, "path: d.csv\n"))


def test_excel(tmp_path: Path) -> None:
    frame().to_excel(tmp_path / "d.xlsx", index=False, sheet_name="Pipeline")
    check(config_for(tmp_path, "path: d.xlsx\nsheet: Pipeline\n"))


def test_parquet_with_typed_columns(tmp_path: Path) -> None:
    f = frame()
    f["engaged"] = pd.to_datetime(f["engaged"])
    f["closed"] = pd.to_datetime(f["closed"].replace("", None))
    f.to_parquet(tmp_path / "d.parquet")
    check(config_for(tmp_path, "path: d.parquet\n"))


def test_sqlite_table_and_query(tmp_path: Path) -> None:
    import sqlite3

    with sqlite3.connect(tmp_path / "crm.db") as con:
        frame().to_sql("pipeline", con, index=False)
    check(config_for(tmp_path, f"url: sqlite:///{tmp_path / 'crm.db'}\ntable: pipeline\n"))
    check(
        config_for(tmp_path, f"url: sqlite:///{tmp_path / 'crm.db'}\nquery: SELECT * FROM pipeline WHERE value >= 0\n")
    )


def test_postgresql_real_server(tmp_path: Path, postgres_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import sqlalchemy

    engine = sqlalchemy.create_engine(postgres_url)
    f = frame()
    f["engaged"] = pd.to_datetime(f["engaged"]).dt.date
    f["closed"] = pd.to_datetime(f["closed"].replace("", None)).dt.date
    f.to_sql("pipeline", engine, index=False, if_exists="replace")
    engine.dispose()
    monkeypatch.setenv("CRM_DB_URL", postgres_url)
    check(config_for(tmp_path, "url: ${CRM_DB_URL}\ntable: pipeline\n"))


def test_sql_env_var_missing_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOPE_DB", raising=False)
    with pytest.raises(DataError, match="environment variable NOPE_DB is not set"):
        check(config_for(tmp_path, "url: ${NOPE_DB}\ntable: x\n"))


def test_missing_column_names_dataset_column_and_columns_found(tmp_path: Path) -> None:
    frame().drop(columns=["value"]).to_csv(tmp_path / "d.csv", index=False)
    with pytest.raises(DataError) as info:
        check(config_for(tmp_path, "path: d.csv\n"))
    assert str(info.value) == (
        "dataset 'deals' (d.csv): column 'value' (mapped to 'amount') not found; "
        "columns found: opp, engaged, closed, deal_stage, owner")


def test_required_column_not_mapped(tmp_path: Path) -> None:
    (tmp_path / "d.csv").write_text("deal_id,created_date,stage\nA,2025-01-01,won\n")
    cfg = tmp_path / "c.yaml"
    cfg.write_text("datasets:\n  deals: {path: d.csv}\n")
    from reportgen.config.load import load_config

    with pytest.raises(DataError, match=r"required column 'amount' not found; columns found: deal_id, "
                                        r"created_date, stage\. Map it under datasets\.deals\.columns"):
        load_datasets(load_config(cfg))


def test_unreadable_values_are_counted_not_zero(tmp_path: Path) -> None:
    f = frame().astype({"value": object})
    f.loc[1, "value"] = "n/a"
    f.loc[0, "engaged"] = "not a date"
    f.to_csv(tmp_path / "d.csv", index=False)
    from reportgen.config.load import load_config

    cfg = config_for(tmp_path, "path: d.csv\n")
    cfg.write_text(cfg.read_text() + "quality: {max_rejected_share: 0.5}\n")
    loaded = load_config(cfg)
    data = load_datasets(loaded)
    q = data.quality["deals"]
    assert q.rows_read == 4
    assert q.rows_rejected == {"unreadable created_date": 1, "unreadable amount": 1}
    m = compute_for_config(loaded, now=NOW, data=data)
    assert m.row("revenue", "2025-02")["value"] == pytest.approx(1200.50)  # the n/a deal adds nothing
    assert not math.isnan(m.row("win_rate", "2025-02")["value"])


def test_lookup_join_brings_region(tmp_path: Path) -> None:
    frame().to_csv(tmp_path / "d.csv", index=False)
    (tmp_path / "teams.csv").write_text("agent,office,manager\nÉmile,West,Kim\nZoë,East,Lee\nZoë,East,Lee\n")
    cfg = config_for(tmp_path, "path: d.csv\nlookups:\n  - {path: teams.csv, column: owner, key: agent, "
                               "columns: {office: region, manager: manager}}\n")
    cfg.write_text(cfg.read_text().replace("breakdowns: [rep]", "breakdowns: [region, manager]"))
    from reportgen.config.load import load_config

    m = compute_for_config(load_config(cfg), now=NOW)
    west = m.breakdown("revenue", "region", "2025-02").set_index("segment")["value"]
    assert west.to_dict() == {"West": pytest.approx(1200.50), "East": pytest.approx(800.25)}
    assert set(m.breakdown("revenue", "manager", "2025-02")["segment"]) == {"Kim", "Lee"}


def test_too_many_unreadable_rows_stop_the_load_with_the_first_rows(tmp_path: Path) -> None:
    f = frame().astype({"value": object})
    f.loc[1, "value"] = "n/a"
    f.loc[0, "engaged"] = "not a date"
    f.to_csv(tmp_path / "d.csv", index=False)
    from reportgen.config.load import load_config

    with pytest.raises(DataError) as info:
        load_datasets(load_config(config_for(tmp_path, "path: d.csv\n")))
    assert str(info.value).splitlines() == [
        "dataset 'deals' (d.csv): 2 of 4 rows (50.0%) cannot be used, over the 1% allowed "
        "(quality.max_rejected_share): 1 unreadable created_date, 1 unreadable amount",
        "d.csv:2: column 'created_date': cannot read 'not a date' as a date (expected ISO dates; set date_formats "
        "for created_date if the data writes dates another way)",
        "d.csv:3: column 'amount': cannot read 'n/a' as a number (not a number; fix the value or map the right column)",
    ]
