"""The executive page (issue 18): one A4 page of IBCS table, read back from the PDF, with one number format
per KPI, variance bars, the engine's signs (issue 19 item 8), partial bases marked instead of compared
(issue 19 item 6), one mark for "not computable" with its reason, and colours readers can see."""
from __future__ import annotations

import math
import re
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from reportgen.charts import AC_COLOR, BAD_COLOR, GOOD_COLOR, PY_COLOR
from reportgen.config.load import load_config
from reportgen.pipeline.build import build, compute_for_config
from reportgen.render import Formats, render_audience
from reportgen.render.scoreboard import executive_table, kpi_formats
from tests.pdftools import pdf_pages

REPO = Path(__file__).resolve().parent.parent
CONFIG = REPO / "configs" / "example.yaml"
NOW = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def loaded():
    return load_config(CONFIG)


@pytest.fixture(scope="module")
def metrics(loaded):
    return compute_for_config(loaded, now=NOW)


@pytest.fixture(scope="module")
def executive(loaded, tmp_path_factory):
    [b] = build(loaded, now=NOW, audience="executive", output_dir=tmp_path_factory.mktemp("exec"), exports=False)
    return b


def _rgb(hex_colour: str) -> tuple[float, ...]:
    h = hex_colour.lstrip("#")
    return tuple(round(int(h[i:i + 2], 16) / 255, 3) for i in (0, 2, 4))


def test_example_executive_is_one_page_with_every_kpi_and_variance_bars(executive, loaded, metrics):
    """Read back from the PDF: one A4 page, the fifteen KPIs by name, a variance bar per KPI with a plan
    (filled GOOD/BAD rectangles), and no text under 7 pt (the logo is the user's own drawing)."""
    import pdfplumber

    ids = loaded.config.audiences["executive"].kpis
    assert len(ids) == 15
    assert pdf_pages(executive.pdf) == 1
    html = executive.html.read_text()
    drawn = len(re.findall(r'<svg[^>]*id="rg-variance-\d+"', html))
    with pdfplumber.open(str(executive.pdf)) as pdf:
        [page] = pdf.pages
        assert abs(page.width - 595.3) < 1 and abs(page.height - 841.9) < 1  # A4 portrait
        assert "What changed" in page.extract_text()
        head = {w["text"]: w for w in page.extract_words() if w["text"] in ("KPI", "ΔPL", "ΔPL%")}
        names = page.crop((0, head["KPI"]["bottom"], head["KPI"]["x0"] + 73, page.height))  # the KPI column (26 mm)
        words = " ".join(names.extract_text().split())
        for kid in ids:
            assert " ".join(metrics.kpis[kid].name.split()) in words, (kid, words)
        left, right = head["ΔPL"]["x0"] - 25, head["ΔPL%"]["x0"]  # the ΔPL column, between its neighbours
        variance = [r for r in page.rects if left <= r["x0"] and r["x1"] <= right and r["top"] > head["ΔPL"]["bottom"]
                    and tuple(round(c, 3) for c in r.get("non_stroking_color") or ()) in (_rgb(GOOD_COLOR),
                                                                                         _rgb(BAD_COLOR))]
        planned = [k for k in ids if metrics.series(k, "target").notna().any()]
        assert len(variance) == drawn >= len(planned) - 1, (len(variance), drawn, planned)
        company = next(w["top"] for w in page.extract_words() if w["text"] == "NORTHWIND")  # below the logo
        small = [c["text"] for c in page.chars if c["size"] < 6.95 and c["top"] >= company]
        assert not small, "".join(small)


def test_one_number_format_per_kpi_across_the_row(metrics, loaded):
    """AC, PL, PY, Δ and YTD of a KPI share one scale and one number of decimals: revenue in $M with two
    decimals everywhere (not "$1.46M | +$296,575 | YTD $14.92M"), its currency and scale by its name."""
    ids = loaded.config.audiences["executive"].kpis
    table = executive_table(metrics, ids, loaded.config.objectives, Formats())
    revenue = next(r for r in table.rows if r.id == "revenue")
    assert revenue.format.unit_label == "$M"
    cells = [revenue.actual.text, revenue.plan.text, revenue.year_ago.text, revenue.delta_plan.lstrip("+\u2212"),
             revenue.windows[0].value.text]
    assert all(re.fullmatch(r"\d+\.\d\d", c) for c in cells), cells
    numbers = kpi_formats(metrics, ids, Formats())
    assert numbers["revenue"] == revenue.format


def test_relative_change_has_the_engines_sign(metrics, loaded):
    """−50 against −100: the engine says −50% (value / base − 1) and so do the table and the cards; the
    page computed +50% from delta / |base| before (issue 19 item 8)."""
    table = metrics.table.copy()
    period = metrics.periods[-1].label
    rows = (table["kpi"] == "revenue") & (table["period"] == period) & (table["dimension"] == "") & (
        table["window"] == "")
    table.loc[rows, ["value", "year_ago", "delta_year_ago", "pct_year_ago"]] = [-50.0, -100.0, 50.0, -0.5]
    negative = replace(metrics, table=table)
    ids = loaded.config.audiences["executive"].kpis
    row = next(r for r in executive_table(negative, ids, loaded.config.objectives, Formats()).rows
               if r.id == "revenue")
    assert row.vs_year_ago.text == "\u221250.0%"
    text = loaded.text.replace("    template: executive\n", "    template: executive\n    layout: cards\n", 1)
    from reportgen.config.load import parse_config

    cards = parse_config(text, loaded.path)
    html = render_audience(negative, cards, "executive", cards.config.audiences["executive"], now=NOW).html
    tile = html[html.index('id="kpi-revenue"'):html.index('id="kpi-target_achievement"')]
    py = tile[tile.index('class="cmp-py"'):]
    assert "\u221250.0%" in py[:py.index("</tr>")] and "+50.0%" not in py[:py.index("</tr>")]


def test_partial_base_is_marked_not_compared(metrics, loaded):
    """NPS' year to date a year earlier starts before the surveys do: the table shows no ΔPY% for it
    but the partial mark, with the reason in a footnote (kpi-spec "Comparisons"; issue 19 item 6)."""
    ids = loaded.config.audiences["executive"].kpis
    period = metrics.periods[-1].label
    assert metrics.window_row("nps", period, "ytd")["year_ago_coverage"] == "partial"
    table = executive_table(metrics, ids, loaded.config.objectives, Formats())
    cell = next(r for r in table.rows if r.id == "nps").windows[0].vs_year_ago
    assert cell.partial and cell.text == "" and cell.note is not None
    notes = dict(table.footnotes)
    assert notes[cell.note] == "PY partial: surveys begin Feb 2, 2024"


def test_not_computable_is_one_mark_with_a_reason_and_not_defined_is_blank(executive, metrics, loaded):
    """Every n/a in the table carries a footnote number whose note exists; no "–" stands for missing;
    churn's YTD PY (the subscriptions begin after it started) says so; a KPI without a window form or a
    stock KPI has blank YTD cells."""
    html = executive.html.read_text()
    body = html[html.index('<table class="exec">'):html.index("</table>")]
    marks = re.findall(r'<td class="[^"]*\bna\b[^"]*">n/a(<sup class="fn">(\d+)</sup>)?</td>', body)
    assert marks and all(number for _, number in marks), marks
    assert "–" not in re.sub(r"<[^>]+>", "", body)
    notes = re.findall(r'<li><sup class="fn">(\d+)</sup>([^<]+)</li>', html)
    assert {n for _, n in marks} <= {n for n, _ in notes}
    assert ("1", "subscriptions begin Jan 5, 2024") in notes
    ids = loaded.config.audiences["executive"].kpis
    rows = {r.id: r for r in executive_table(metrics, ids, loaded.config.objectives, Formats()).rows}
    for kid in ("target_achievement", "pipeline_value", "mrr"):
        assert all(c.text == "" and not c.missing and not c.partial
                   for w in rows[kid].windows for c in (w.value, w.vs_plan, w.vs_year_ago)), kid


def test_nps_change_is_in_points(metrics, loaded):
    """A score moves in points, not percent: NPS 26.1 -> 51.4 is "+25.3", not "+96.8%"."""
    ids = loaded.config.audiences["executive"].kpis
    nps = next(r for r in executive_table(metrics, ids, loaded.config.objectives, Formats()).rows if r.id == "nps")
    assert re.fullmatch(r"[+\u2212]\d+\.\d", nps.vs_year_ago.text), nps.vs_year_ago


# --- colours -------------------------------------------------------------------------------------

def _luminance(hex_colour: str) -> float:
    h = hex_colour.lstrip("#")
    if len(h) == 3:
        h = "".join(c * 2 for c in h)
    channels = [int(h[i:i + 2], 16) / 255 for i in (0, 2, 4)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str = "#ffffff") -> float:
    hi, lo = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def _rules(css: str) -> list[tuple[str, dict[str, str]]]:
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.S)
    out = []
    for selector, body in re.findall(r"([^{}]+)\{([^{}]*)\}", css):
        decls = dict((k.strip(), v.strip()) for k, v in re.findall(r"([\w-]+)\s*:\s*([^;]+)", body))
        out.append((selector.strip(), decls))
    return out


def test_every_text_colour_pair_in_the_css_reaches_4_5_to_1():
    """Each rule's text colour against its own background (white when it sets none): WCAG AA 4.5:1.
    The missing-value grey (#9e9e9e, 2.68:1) and the client accent (#4f7cac, 4.36:1) failed it."""
    from reportgen.config.models import Scorecard

    checked = 0
    for name in ("scorecard.css", "screen.css"):
        for selector, decls in _rules((REPO / "templates" / name).read_text()):
            colour = decls.get("color", "")
            background = decls.get("background", "#fff")
            if re.fullmatch(r"#[0-9a-fA-F]{3,6}", colour) and re.fullmatch(r"#[0-9a-fA-F]{3,6}", background):
                assert contrast(colour, background) >= 4.5, (name, selector, colour, background)
                checked += 1
    assert checked >= 25
    defaults = Scorecard()
    for brand in (defaults.primary_color, defaults.accent_color):  # text colours by default (var(--accent))
        assert contrast(brand) >= 4.5, brand


def test_marks_reach_3_to_1_and_grey_is_only_the_prior_year():
    """Status dots, scenario keys and chart marks against white: WCAG 1.4.11's 3:1 (the PY swatch was
    1.98:1, the PP one 1.28:1, the warning dot 2.25:1)."""
    css = (REPO / "templates" / "scorecard.css").read_text()
    marks = {sel: d.get("background", "") for sel, d in _rules(css) if re.search(r"\.dot|\.key-", sel)}
    marks = {s: b for s, b in marks.items() if re.fullmatch(r"#[0-9a-fA-F]{3,6}", b) and b.lower() not in ("#fff",
                                                                                                         "#ffffff")}
    assert len(marks) >= 5, marks
    for selector, colour in marks.items():
        assert contrast(colour) >= 3.0, (selector, colour)
    for colour in (AC_COLOR, GOOD_COLOR, BAD_COLOR, PY_COLOR):
        assert contrast(colour) >= 3.0, colour
    assert not math.isclose(contrast(PY_COLOR), contrast("#b8b8b8"))


def test_every_window_the_config_asks_for_is_a_column_group_on_the_one_page(loaded, tmp_path):
    """ytd, qtd and r12 each get their columns (AC, ΔPY%; the first also ΔPL% while there is room), and
    the page stays one A4 page with no word past the right margin."""
    import pdfplumber

    from reportgen.config.load import parse_config

    text = loaded.text.replace("scorecard:\n", "scorecard:\n  windows: [ytd, qtd, r12]\n", 1)
    config = parse_config(text, loaded.path)
    metrics = compute_for_config(config, now=NOW)
    rendered = render_audience(metrics, config, "executive", config.config.audiences["executive"], now=NOW)
    assert rendered.warnings == ()
    path = tmp_path / "windows.pdf"
    path.write_bytes(rendered.pdf)
    assert pdf_pages(path) == 1
    with pdfplumber.open(str(path)) as pdf:
        [page] = pdf.pages
        words = page.extract_words()
        assert {"YTD", "QTD", "R12"} <= {w["text"] for w in words}
        left = min(w["x0"] for w in words)
        assert max(w["x1"] for w in words) <= page.width - left + 1.0


def test_a_zero_base_is_not_computable_with_its_reason(metrics, loaded):
    """Pipeline against a prior year of 0: no "%" can be computed, so the cell is the n/a mark with a
    footnote saying why (it was a bare "n/a" beside "0.0" on the sales-data-sample page)."""
    table = metrics.table.copy()
    period = metrics.periods[-1].label
    rows = (table["kpi"] == "pipeline_value") & (table["period"] == period) & (table["dimension"] == "") & (
        table["window"] == "")
    table.loc[rows, ["year_ago", "pct_year_ago"]] = [0.0, float("nan")]
    ids = loaded.config.audiences["executive"].kpis
    result = executive_table(replace(metrics, table=table), ids, loaded.config.objectives, Formats())
    cell = next(r for r in result.rows if r.id == "pipeline_value").vs_year_ago
    assert cell.missing and cell.text == "n/a" and cell.note is not None
    assert dict(result.footnotes)[cell.note] == "no relative change from a base of 0"
