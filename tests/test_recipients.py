"""Recipients for bursting from a CSV or a SQL query (SQLite and a real PostgreSQL server)."""
from __future__ import annotations

import sqlite3
import textwrap
from pathlib import Path

import pytest

from reportgen.config.load import parse_config
from reportgen.delivery.recipients import resolve_recipients
from reportgen.errors import ConfigError, DeliveryError

ROWS = [("North", "north@example.com", "Mia", None, None), ("East", "east@example.com", "Lucas", "de_DE", None),
        ("West", "west@example.com", None, None, "client")]


def loaded_with(tmp_path: Path, delivery: str):
    text = textwrap.dedent("""\
        datasets:
          deals: {path: deals.csv}
        deliveries:
          - name: regional
            audience: executive
            schedule: "0 7 1 * *"
            burst_by: region
        """) + textwrap.indent(textwrap.dedent(delivery), "    ")
    return parse_config(text, tmp_path / "c.yaml")


def check(recipients) -> None:
    assert [(r.segment, r.email, r.name, r.locale) for r in recipients] == [
        ("North", "north@example.com", "Mia", None), ("East", "east@example.com", "Lucas", "de_DE")]


def test_recipients_from_sqlite_query(tmp_path: Path) -> None:
    with sqlite3.connect(tmp_path / "crm.db") as con:
        con.execute("CREATE TABLE managers (segment TEXT, email TEXT, name TEXT, locale TEXT, audience TEXT)")
        con.executemany("INSERT INTO managers VALUES (?, ?, ?, ?, ?)", ROWS)
    loaded = loaded_with(tmp_path, f"""\
        recipients_url: sqlite:///{tmp_path / 'crm.db'}
        recipients_query: SELECT segment, email, name, locale, audience FROM managers ORDER BY rowid
        """)
    check(resolve_recipients(loaded, loaded.config.deliveries[0])[0])


def test_recipients_from_postgresql_query(tmp_path: Path, postgres_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import sqlalchemy

    engine = sqlalchemy.create_engine(postgres_url)
    with engine.begin() as conn:
        conn.execute(sqlalchemy.text("DROP TABLE IF EXISTS managers"))
        conn.execute(sqlalchemy.text("CREATE TABLE managers (id serial, region text, mail text, name text, "
                                     "locale text, audience text)"))
        for row in ROWS:
            conn.execute(sqlalchemy.text("INSERT INTO managers (region, mail, name, locale, audience) "
                                         "VALUES (:a, :b, :c, :d, :e)"), dict(zip("abcde", row)))
    engine.dispose()
    monkeypatch.setenv("MANAGERS_DB", postgres_url)
    loaded = loaded_with(tmp_path, """\
        recipients_url: ${MANAGERS_DB}
        recipients_query: SELECT region AS segment, mail AS email, name, locale, audience FROM managers ORDER BY id
        """)
    check(resolve_recipients(loaded, loaded.config.deliveries[0])[0])


def test_query_errors_are_one_line(tmp_path: Path) -> None:
    sqlite3.connect(tmp_path / "e.db").close()
    loaded = loaded_with(tmp_path, f"""\
        recipients_url: sqlite:///{tmp_path / 'e.db'}
        recipients_query: SELECT 'North' AS segment, 'not an address' AS email
        """)
    recipients, [problem] = resolve_recipients(loaded, loaded.config.deliveries[0])
    assert recipients == []  # a bad row fails that recipient, not the delivery
    assert (problem.where, problem.shown) == ("recipients_query row:1", "'not an address'")
    assert problem.reason == "email 'not an address' is not an email address like 'name@example.com'"
    loaded = loaded_with(tmp_path, f"""\
        recipients_url: sqlite:///{tmp_path / 'e.db'}
        recipients_query: SELECT segment FROM no_such_table
        """)
    with pytest.raises(DeliveryError, match=r"^recipients query failed: .*no such table: no_such_table"):
        resolve_recipients(loaded, loaded.config.deliveries[0])
    with pytest.raises(ConfigError, match="recipients_url and recipients_query go together"):
        loaded_with(tmp_path, "recipients_query: SELECT 1\n")
