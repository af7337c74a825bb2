"""Charts of one's own (reportgen/charts/custom.py): a consultant's template embeds a chart drawn by a
registered Python function, in the scorecard's font and palette, text kept as text, and only from a
file inside the config's folder or its template folders.

Real parts: a config, a template and a chart module written to tmp_path, built through the API into
a real PDF read back with pdfplumber and pypdf.
"""
from __future__ import annotations

import io
import os
import re
import textwrap
from datetime import UTC, datetime
from pathlib import Path

import pdfplumber
import pytest
from pypdf import PdfReader

from reportgen.api import build
from reportgen.errors import ConfigError, RenderError, ReportgenError

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "samples" / "data"
NOW = datetime(2026, 1, 1, 6, tzinfo=UTC)
BRAND = "#7b2d8e"

CHART_MODULE = '''
import matplotlib.pyplot as plt


def revenue_bars(metrics):
    series = metrics.series("revenue")
    fig, ax = plt.subplots(figsize=(6, 2.2))
    ax.bar(range(len(series)), [v / 1e6 for v in series.to_list()])
    ax.set_xticks(range(len(series)), [label[-2:] for label in series.index])
    ax.set_title("Revenue by month (USD millions)")
    return fig, f"Revenue by month: last {series.iloc[-1] / 1e6:.2f} million"


def not_a_figure(metrics):
    return "a string"


def broken(metrics):
    raise ValueError("no such column: margin")
'''

TEMPLATE = """{% extends "builtin:base.html" %}
{% block content %}
<section><h2>Our own view</h2>{{ custom_chart('revenue_bars') }}</section>
{% endblock %}
"""


def write_config(folder: Path, charts: str = "{revenue_bars: 'acme_charts:revenue_bars'}",
                 template: str = TEMPLATE) -> Path:
    (folder / "tpl").mkdir(exist_ok=True)
    (folder / "tpl" / "own.html").write_text(template)
    (folder / "acme_charts.py").write_text(CHART_MODULE)
    config = folder / "acme.yaml"
    config.write_text(textwrap.dedent(f"""\
        scorecard:
          title: Acme Pulse
          company: Acme
          as_of: 2025-12-31
          history: 6
          forecast_periods: 0
          breakdowns: []
          primary_color: "{BRAND}"
          template_dirs: [tpl]
          charts: {charts}
          output_dir: out
          allowed_roots: ["{SAMPLES}"]
        datasets:
          deals: {{path: {SAMPLES / "deals.csv"}}}
        kpis: [revenue, deals_won]
        audiences:
          own: {{template: own.html}}
        """))
    return config


def test_a_registered_chart_is_drawn_in_the_scorecards_font_and_palette(tmp_path: Path) -> None:
    [built] = build(write_config(tmp_path), now=NOW, output_dir=tmp_path / "out")
    html = built.html.read_text(encoding="utf-8")
    [svg] = re.findall(r'<svg\b[^>]*class="rg-chart"[^>]*>.*?</svg>', html, re.S)
    assert 'aria-label="Revenue by month: last ' in svg and 'role="img"' in svg
    assert "<text" in svg and "Revenue by month (USD millions)" in svg  # text kept as text
    assert "Inter" in svg  # the scorecard's font
    assert f"fill: {BRAND}" in svg  # the first colour of the palette is the brand colour
    assert "<style" not in svg and "<?xml" not in html and "dc:date" not in svg
    with pdfplumber.open(str(built.pdf)) as pdf:
        text = "\n".join(page.extract_text() or "" for page in pdf.pages)
        fonts = {c["fontname"] for page in pdf.pages for c in page.chars if c["text"] in "Revenue"}
    assert "Revenue by month (USD millions)" in text  # searchable in the PDF
    assert all("Inter" in f for f in fonts), fonts
    root = PdfReader(io.BytesIO(built.pdf.read_bytes())).trailer["/Root"]
    alts = []

    def walk(node: object) -> None:
        node = node.get_object()  # type: ignore[attr-defined]
        if isinstance(node, list):
            for child in node:
                walk(child)
        elif isinstance(node, dict) and "/S" in node:
            if node["/S"] == "/Figure":
                alts.append(str(node.get("/Alt", "")))
            if "/K" in node:
                walk(node["/K"])

    walk(root["/StructTreeRoot"]["/K"])
    assert any(re.fullmatch(r"Revenue by month: last \d\.\d\d million", a) for a in alts), alts


def test_two_builds_draw_the_same_chart(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir()
    second.mkdir()
    [a] = build(write_config(first), now=NOW, output_dir=first / "out")
    [b] = build(write_config(second), now=NOW, output_dir=second / "out")
    svg = [re.search(r'<svg\b[^>]*class="rg-chart".*?</svg>', p.read_text(encoding="utf-8"), re.S)
           for p in (a.html, b.html)]
    assert svg[0] is not None and svg[1] is not None and svg[0][0] == svg[1][0]


@pytest.mark.parametrize(("charts", "message"), [
    ("{revenue_bars: 'os:system'}", r"scorecard\.charts\.revenue_bars: no file os\.py in .*; put the module "
                                    r"beside the config or in a template folder"),
    ("{revenue_bars: '../acme_charts:revenue_bars'}", r"'\.\./acme_charts:revenue_bars' is not 'module:function'"),
    ("{revenue_bars: 'acme_charts:not_a_figure'}", r"custom chart 'revenue_bars' \(acme_charts:not_a_figure\) "
                                                   r"returned str, expected a matplotlib Figure"),
    ("{revenue_bars: 'acme_charts:broken'}", r"custom chart 'revenue_bars' \(acme_charts:broken\) failed: "
                                             r"ValueError: no such column: margin"),
    ("{revenue_bar: 'acme_charts:revenue_bars'}", r"custom_chart\('revenue_bars'\): no chart 'revenue_bars' in "
                                                  r"scorecard\.charts - did you mean 'revenue_bar'\?"),
])
def test_a_chart_that_cannot_be_drawn_is_one_clear_error(tmp_path: Path, charts: str, message: str) -> None:
    # a chart that cannot be found is refused by the config checks build() runs first (ConfigError);
    # one that fails when drawn, at render time (RenderError): one line either way
    with pytest.raises(ReportgenError, match=message):
        build(write_config(tmp_path, charts), now=NOW, output_dir=tmp_path / "out")


def test_a_chart_module_linked_from_outside_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "evil.py").write_text(CHART_MODULE)
    inside = tmp_path / "cfg"
    inside.mkdir()
    config = write_config(inside, "{revenue_bars: 'evil:revenue_bars'}")
    os.symlink(outside / "evil.py", inside / "evil.py")
    refused = r"evil\.py is a link to .*elsewhere/evil\.py, outside its folder"
    with pytest.raises((ConfigError, RenderError), match=refused):
        build(config, now=NOW, output_dir=inside / "out")


def test_validate_finds_a_chart_that_build_could_not(tmp_path: Path) -> None:
    from reportgen.config.load import load_config
    from reportgen.pipeline.checks import run_checks

    issues = run_checks(load_config(write_config(tmp_path, "{revenue_bars: 'acme_charts:no_such_function'}")))
    assert [str(i) for i in issues if "charts" in str(i)] == [
        f"{tmp_path / 'acme.yaml'}:10:26: scorecard.charts.revenue_bars: acme_charts.py has no function "
        "'no_such_function'"]
