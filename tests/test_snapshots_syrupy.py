"""Snapshots (syrupy) of what reportgen generates for one small fixed config: the SQL `compute --explain`
prints and the HTML page `build` writes. A change to either fails here and shows the diff; when the
change is meant, accept it with ``pytest tests/test_snapshots_syrupy.py --snapshot-update`` and review
the files under ``tests/__snapshots__/test_snapshots_syrupy/`` like any other diff.

The fixture is written into a temporary folder and the commands run there, so nothing in the outputs
depends on the machine: the clock is ``--now``, the paths are relative, and the embedded fonts (bytes
of the installed font files) and the built-in stylesheet (guarded by the render tests) are cut out.
"""
from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.single_file import SingleFileSnapshotExtension, WriteMode

DEALS = """\
deal_id,created_date,close_date,stage,amount,region,rep
D1,2025-01-05,2025-01-20,won,1200,North,Ana
D2,2025-01-08,2025-01-28,lost,800,South,Ben
D3,2025-02-02,2025-02-19,won,1500,North,Ana
D4,2025-02-10,2025-02-25,won,900,South,Ben
D5,2025-03-01,2025-03-18,lost,700,North,Ana
D6,2025-03-04,2025-03-27,won,2100,South,Ben
D7,2025-03-10,2025-03-31,won,1000,North,Ana
"""

CONFIG = textwrap.dedent("""\
    scorecard:
      title: Snapshot scorecard
      company: Fixture Co
      as_of: 2025-03-31
      history: 3
      breakdowns: [region]
    datasets:
      deals: {path: deals.csv}
    kpis: [revenue, deals_won, win_rate, average_deal_size, sales_cycle_days]
    audiences:
      executive: {template: executive.html, kpis: [revenue, deals_won, win_rate, average_deal_size, sales_cycle_days]}
    """)

NOW = "2025-04-02T08:00:00Z"


class SqlSnapshot(SingleFileSnapshotExtension):
    """One ``.sql`` file per snapshot, readable (and diffable) as it is."""

    file_extension = "sql"
    _write_mode = WriteMode.TEXT


class HtmlSnapshot(SingleFileSnapshotExtension):
    """One ``.html`` file per snapshot, which a browser opens as the page it is."""

    file_extension = "html"
    _write_mode = WriteMode.TEXT


def _fixture(folder: Path) -> Path:
    (folder / "deals.csv").write_text(DEALS, encoding="utf-8")
    (folder / "sc.yaml").write_text(CONFIG, encoding="utf-8")
    return folder / "sc.yaml"


def _run(folder: Path, *args: str) -> str:
    result = subprocess.run([sys.executable, "-m", "reportgen", *args], capture_output=True, text=True,
                            cwd=folder, timeout=300)
    assert result.returncode == 0, result.stderr
    return result.stdout


def stable_html(html: str) -> str:
    """The page without what is not the page's own: embedded font bytes and the built-in stylesheet."""
    html = re.sub(r"(data:font/[a-z0-9]+;base64,)[A-Za-z0-9+/=]+", r"\1...", html)
    return re.sub(r"(<style>\n?/\* reportgen scorecard styles).*?</style>", r"\1 ... */</style>", html, flags=re.S)


@pytest.fixture()
def sql_snapshot(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    return snapshot.use_extension(SqlSnapshot)


@pytest.fixture()
def html_snapshot(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    return snapshot.use_extension(HtmlSnapshot)


def test_compute_explain_sql(tmp_path: Path, sql_snapshot: SnapshotAssertion) -> None:
    _fixture(tmp_path)
    sql = _run(tmp_path, "compute", "sc.yaml", "--explain")
    assert str(tmp_path) not in sql
    assert sql == sql_snapshot


def test_executive_html_page(tmp_path: Path, html_snapshot: SnapshotAssertion) -> None:
    _fixture(tmp_path)
    _run(tmp_path, "build", "sc.yaml", "-o", "out", "--now", NOW, "--audience", "executive", "--no-xlsx")
    html = (tmp_path / "out" / "sc-executive.html").read_text(encoding="utf-8")
    assert str(tmp_path) not in html
    assert stable_html(html) == html_snapshot


def test_the_page_does_not_depend_on_where_it_is_built(tmp_path: Path) -> None:
    """What makes the snapshot hold on another machine: two folders, the same page once normalised."""
    pages = []
    for name in ("a", "deeper/b"):
        folder = tmp_path / name
        folder.mkdir(parents=True)
        _fixture(folder)
        _run(folder, "build", "sc.yaml", "-o", "out", "--now", NOW, "--audience", "executive", "--no-xlsx")
        pages.append(stable_html((folder / "out" / "sc-executive.html").read_text(encoding="utf-8")))
    assert pages[0] == pages[1]
