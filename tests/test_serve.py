"""`reportgen serve` (reportgen/cli/serve.py): the real server process, watched by headless Chromium.

A template edit shows in the page without a reload by hand and without reading the data again; a
config that does not validate shows its error (file:line) in the page; fixing it brings the scorecard back.
"""
from __future__ import annotations

import json
import random
import subprocess
import sys
import textwrap
import time
import urllib.request
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest

from tests.fixtures.browser import ChromiumSession

CONFIG = textwrap.dedent("""\
    scorecard:
      title: Preview Test
      as_of: 2025-06-30
      history: 6
      breakdowns: [region]
      template_dirs: [templates]
    datasets:
      deals:
        path: deals.csv
    kpis: [revenue, deals_won, win_rate]
    audiences:
      executive:
        template: mine.html
    """)


def template(marker: str) -> str:
    return ('{% extends "builtin:executive.html" %}{% block summary %}'
            f'<p id="marker">{marker}</p>{{{{ super() }}}}{{% endblock %}}\n')


def write_project(root: Path) -> Path:
    rng = random.Random(1)
    lines = ["deal_id,created_date,close_date,stage,amount,region"]
    for i in range(300):
        created = date(2025, 1, 1) + timedelta(days=rng.randrange(170))
        lines.append(f"D{i},{created},{created + timedelta(days=10)},{rng.choice(['won', 'lost'])},"
                     f"{rng.randrange(100, 5000)},{rng.choice(['North', 'South'])}")
    lines.append("D300,2025-06-20,2025-06-30,won,1000,North")  # the export reaches the end of June
    (root / "deals.csv").write_text("\n".join(lines) + "\n")
    (root / "templates").mkdir()
    (root / "templates" / "mine.html").write_text(template("first"))
    (root / "scorecard.yaml").write_text(CONFIG)
    return root / "scorecard.yaml"


@pytest.fixture()
def served(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    config = write_project(tmp_path)
    proc = subprocess.Popen([sys.executable, "-m", "reportgen", "serve", str(config), "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()  # printed once the first build is done and the socket listens
        assert line.startswith("serving http://127.0.0.1:"), line
        yield config, line.split()[1]
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        proc.stdout.close()


def status(url: str) -> dict:
    with urllib.request.urlopen(url + "__reportgen/status", timeout=10) as response:
        return json.loads(response.read())


def test_template_edit_and_bad_config_show_in_the_page(chromium: ChromiumSession, served: tuple[Path, str]) -> None:
    config, url = served
    assert status(url)["errors"] == [] and status(url)["loads"] == 1

    def scenario(browser: object) -> dict[str, object]:
        page = browser.new_page()  # type: ignore[attr-defined]
        try:
            page.goto(url)
            seen: dict[str, object] = {"first": page.text_content("#marker")}
            t0 = time.perf_counter()
            (config.parent / "templates" / "mine.html").write_text(template("second"))
            page.wait_for_function("document.querySelector('#marker')?.textContent === 'second'", timeout=15_000)
            seen["template_seconds"] = time.perf_counter() - t0
            config.write_text(CONFIG.replace("  history: 6\n", "  history: 6\n  histroy: 7\n"))
            page.wait_for_selector("#reportgen-errors", timeout=15_000)
            seen["error"] = page.text_content("#reportgen-errors")
            config.write_text(CONFIG.replace("Preview Test", "Preview Retitled"))
            page.wait_for_selector("#marker", timeout=15_000)
            seen["back"] = page.text_content("#marker")
            seen["retitled"] = "Preview Retitled" in page.inner_text("body")
            return seen
        finally:
            page.close()

    seen = chromium.run(scenario)
    assert seen["first"] == "first"
    assert seen["error"] == f"{config}:5:3: unknown key 'histroy' in scorecard - did you mean 'history'?"
    assert seen["back"] == "second" and seen["retitled"]
    after = status(url)
    assert after["loads"] == 1, "a template or config edit that leaves the data alone must not read it again"
    assert after["computes"] == 1, "the KPIs did not change: they must not be computed again"
    assert after["renders"] >= 3
    print(f"template edit shown in the browser after {seen['template_seconds']:.2f} s")
    assert float(seen["template_seconds"]) < 5  # the target (1.5 s) is measured on a quiet machine: see the report


def test_data_change_is_read_again_and_the_page_follows(chromium: ChromiumSession,
                                                        served: tuple[Path, str]) -> None:
    config, url = served

    def scenario(browser: object) -> tuple[str, str]:
        page = browser.new_page()  # type: ignore[attr-defined]
        try:
            page.goto(url)
            before = page.inner_text("body")
            page.evaluate("window.reportgenTest = 1")  # gone once the page has reloaded itself
            with (config.parent / "deals.csv").open("a") as fh:
                fh.write("D999,2025-06-02,2025-06-03,won,987654,North\n")
            page.wait_for_function("window.reportgenTest === undefined", timeout=15_000)
            return before, page.inner_text("body")
        finally:
            page.close()

    before, after = chromium.run(scenario)
    assert status(url)["loads"] == 2 and status(url)["computes"] == 2
    assert before != after  # June's revenue grew by $987,654


def test_serve_listens_on_loopback_only(served: tuple[Path, str]) -> None:
    _, url = served
    assert url.startswith("http://127.0.0.1:")
    with urllib.request.urlopen(url, timeout=10) as response:
        page = response.read().decode()
    assert "__reportgen/status" in page  # the reload script is in the served page...
    assert not (served[0].parent / "out").exists()  # ...and serve writes no scorecard files


def test_bad_port_is_one_line(tmp_path: Path) -> None:
    import socket

    config = write_project(tmp_path)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run([sys.executable, "-m", "reportgen", "serve", str(config), "--port", str(port)],
                                capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].startswith(f"error: cannot listen on 127.0.0.1:{port}")
