"""A SQLite URL names a file like any other path of a config: relative to the config's folder and
under its path policy; a KPI filter reaching for files is refused in reportgen's words (issue 21)."""
from __future__ import annotations

import sqlite3
from pathlib import Path

from tests.hostile import HOSTILE_DEALS, cli, config_folder, one_error_line


def _crm(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = [line.split(",") for line in HOSTILE_DEALS.splitlines()[1:] if '"' not in line]
    with sqlite3.connect(path) as con:
        con.execute("CREATE TABLE deals (deal_id, created_date, close_date, stage, amount, rep, region, product)")
        con.executemany("INSERT INTO deals VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
    return path


def test_relative_sqlite_url_is_the_config_folders_file(tmp_path: Path) -> None:
    folder = tmp_path / "client"
    _crm(folder / "crm.db")
    config = config_folder(folder, datasets="deals: {url: 'sqlite:///./crm.db', table: deals}")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = cli("build", config, "-o", tmp_path / "out", cwd=elsewhere, timeout=120)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "out" / "c-executive.pdf").exists()
    assert not (elsewhere / "crm.db").exists()  # SQLite made an empty file in the working folder


def test_sqlite_file_outside_the_config_folder_is_refused(tmp_path: Path) -> None:
    outside = _crm(tmp_path / "other" / "crm.db")
    config = config_folder(tmp_path / "client", datasets=f"deals: {{url: 'sqlite:///{outside}', table: deals}}")
    line = one_error_line(cli("build", config, "-o", tmp_path / "out", timeout=120))
    assert line == (f"error: {config}:8:16: datasets.deals.url: {outside} is outside the config's folder "
                    f"{config.parent}; to allow it, list its folder under scorecard.allowed_roots "
                    f"(e.g. allowed_roots: [{outside.parent}])")


def test_filter_reading_a_file_is_refused_in_reportgens_words(tmp_path: Path) -> None:
    config = config_folder(tmp_path, extra="")
    config.write_text(config.read_text().replace(
        "kpis: [revenue, deals_won, win_rate]",
        "kpis:\n  - id: revenue\n    filter: \"region IN (SELECT column0 FROM read_csv('/etc/passwd'))\""))
    line = one_error_line(cli("build", config, "-o", tmp_path / "out", timeout=120))
    assert line == ("error: while computing measures on deals (filter: region IN (SELECT column0 FROM "
                    "read_csv('/etc/passwd'))): refused: the filter reads the file '/etc/passwd'; a filter is a "
                    "condition on the dataset's own columns and cannot read files")
