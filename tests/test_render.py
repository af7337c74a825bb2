"""Rendering: every audience of configs/example.yaml built once per session into real WeasyPrint
PDFs (read back with pypdf/pdfplumber, rasterised with pdftoppm) and self-contained HTML (loaded in
headless Chromium at laptop and phone widths). WeasyPrint warnings count as failures."""
from __future__ import annotations

import logging
import re
from datetime import UTC, datetime
from pathlib import Path

import jinja2
import pytest

from reportgen.config.load import load_config, parse_config
from reportgen.pipeline.build import build, compute_for_config
from reportgen.render import (
    Formats,
    RefusedURL,
    asset_fetcher,
    config_hash,
    fmt,
    make_environment,
    render_audience,
    write_pdf,
)
from tests.fixtures.browser import inspect_html
from tests.pdftools import (
    pdf_font_info,
    pdf_metadata,
    pdf_outline_titles,
    pdf_pages,
    pdf_text,
    render_png,
)

REPO = Path(__file__).resolve().parent.parent
CONFIG = REPO / "configs" / "example.yaml"
NOW = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
AUDIENCES = ("executive", "sales_manager", "client")


class _Warnings(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(f"{record.name}: {record.getMessage()}")


@pytest.fixture(scope="session")
def loaded():
    return load_config(CONFIG)


@pytest.fixture(scope="session")
def built(loaded, tmp_path_factory):
    """All three audiences built once, with every WeasyPrint warning recorded."""
    handler = _Warnings()
    logging.getLogger("weasyprint").addHandler(handler)
    try:
        out = build(loaded, now=NOW, output_dir=tmp_path_factory.mktemp("scorecards"), exports=False)
    finally:
        logging.getLogger("weasyprint").removeHandler(handler)
    return {b.audience: b for b in out}, handler.records


@pytest.fixture(scope="session")
def metrics(loaded):
    return compute_for_config(loaded, now=NOW)


def _variant(loaded, **scorecard) -> object:
    """The example config with scorecard keys replaced, same path (so relative paths still resolve)."""
    text = loaded.text
    for key, value in scorecard.items():
        if re.search(rf"^  {key}:", text, flags=re.M):
            text = re.sub(rf"^  {key}:.*$", f"  {key}: {value}", text, flags=re.M)
        else:
            text = text.replace("scorecard:\n", f"scorecard:\n  {key}: {value}\n", 1)
    return parse_config(text, loaded.path)


def _cards(loaded) -> object:
    """The example config with the executive audience in cards (``layout: cards``), same path."""
    text = loaded.text.replace("    template: executive\n", "    template: executive\n    layout: cards\n", 1)
    assert "layout: cards" in text
    return parse_config(text, loaded.path)


def test_weasyprint_logged_no_warnings(built):
    _, warnings = built
    assert warnings == []


@pytest.mark.parametrize("audience", AUDIENCES)
def test_page_count_within_budget(built, loaded, audience):
    pages = pdf_pages(built[0][audience].pdf)
    assert 1 <= pages <= loaded.config.audiences[audience].max_pages
    if audience == "executive":
        assert pages <= 2


@pytest.mark.parametrize("audience", AUDIENCES)
def test_fonts_are_inter_and_embedded(built, audience):
    fonts = pdf_font_info(built[0][audience].pdf)
    assert fonts and all(f.embedded for f in fonts.values()), fonts
    assert all(name.startswith("Inter") for name in fonts), fonts


def test_executive_shows_every_headline_value_as_formatted(built, metrics, loaded):
    from reportgen.render.scoreboard import kpi_formats

    text = pdf_text(built[0]["executive"].pdf).replace("\n", " ")
    html = built[0]["executive"].html.read_text()
    period = metrics.periods[-1].label
    ids = loaded.config.audiences["executive"].kpis
    numbers = kpi_formats(metrics, ids, Formats("en_US", "USD"))
    for kid in ids:
        row = metrics.row(kid, period)
        expected = numbers[kid].bare(row["value"])  # the table's cells; the currency and scale by the name
        assert expected.replace("\u00a0", " ") in text.replace("\u00a0", " "), (kid, expected)
        if numbers[kid].unit_label:
            assert f'{metrics.kpis[kid].name} <span class="unit">{numbers[kid].unit_label}</span>' in html, kid
    assert "What changed" in text and "Sales revenue rose 29.1% on last month to $1.76M" in text


def test_sales_manager_shows_leaderboard_funnel_and_breakdowns(built, metrics):
    text = pdf_text(built[0]["sales_manager"].pdf)
    period = metrics.periods[-1].label
    reps = metrics.breakdown("revenue", "rep", period)
    best = reps.iloc[0]
    assert best["segment"] in text
    assert fmt.format_value(best["value"], "money") in text
    assert fmt.format_value(best["achievement"], "percent") in text
    for stage in ("Leads", "Opportunities", "Won"):
        assert stage in text
    for label in ("Region", "Product", "Channel", "Activity"):
        assert label in text


def test_client_has_cover_benchmarks_appendices(built, metrics, loaded):
    text = pdf_text(built[0]["client"].pdf)
    first_page = text.split("\f")[0]
    assert "Sales Performance Review" in first_page and "Northwind Analytics" in first_page
    assert "December 2025" in first_page
    assert "Industry median B2B win rate (illustrative)" in text
    for rec in loaded.config.audiences["client"].recommendations:
        assert rec.split(";")[0][:40] in text.replace("\n", " ")
    flat = text.replace("\n", " ")
    for kid in loaded.config.audiences["client"].kpis:
        assert metrics.kpis[kid].name in flat
    assert "Data quality" in text and "won/lost without" in flat and "1 unreadable" in flat
    assert "2,761" in text  # deals rows read


@pytest.mark.parametrize("audience", AUDIENCES)
def test_bookmarks_and_metadata(built, loaded, audience):
    pdf = built[0][audience].pdf
    titles = pdf_outline_titles(pdf)
    assert len(titles) >= 3, titles
    meta = pdf_metadata(pdf)
    assert meta["Title"].startswith(loaded.config.audiences[audience].title or loaded.config.scorecard.title)
    assert meta["Author"] == loaded.config.scorecard.author
    assert f"config-sha256:{config_hash(loaded)}" in meta["Keywords"]
    assert "December 2025" in meta["Subject"]
    assert meta.get("CreationDate", "").startswith("D:20260105")


def test_multi_page_reports_have_a_table_of_contents_with_page_numbers(built):
    text = pdf_text(built[0]["client"].pdf)
    contents = next(p for p in text.split("\f") if "Contents" in p)  # the first page since the cover is a band
    assert re.search(r"Definitions\s*\.+\s*\d", contents), contents[:400]


@pytest.mark.parametrize("audience", AUDIENCES)
def test_pages_render_to_png(built, audience, tmp_path):
    pdf = built[0][audience].pdf
    pngs = render_png(pdf, tmp_path)
    assert len(pngs) == pdf_pages(pdf)
    assert all(p.stat().st_size > 5000 for p in pngs)  # not blank


@pytest.mark.parametrize("width", [1280, 390])
@pytest.mark.parametrize("audience", AUDIENCES)
def test_html_is_self_contained_and_fits_in_chromium(built, chromium, audience, width):
    html = built[0][audience].html
    report = inspect_html(chromium, html, width)
    assert report.clean, report.summary()


def test_html_has_no_external_references(built):
    for b in built[0].values():
        text = b.html.read_text(encoding="utf-8")
        assert not re.search(r"""(src|href)=["']?(https?:|file:|//)""", text)
        assert "url(\"file:" not in text and "data:font/woff2;base64," in text


def test_german_locale_renders_german_numbers(loaded, metrics):
    de = _variant(loaded, locale="de_DE", currency="EUR")
    rendered = render_audience(metrics, de, "executive", de.config.audiences["executive"], now=NOW)
    assert rendered.warnings == ()
    revenue = metrics.row("revenue", metrics.periods[-1].label)["value"]
    expected = fmt.format_value(revenue, "money", locale="de_DE", currency="EUR", compact=True)
    assert expected == "1,76\u00a0Mio.\u00a0€"
    assert expected in rendered.html
    # the table's cells are bare numbers in the KPI's scale, the scale and currency beside the name
    assert '<td class="">1,46</td>' in rendered.html  # the plan, $1,461,000
    assert '<th scope="row" class="l name">Umsatz <span class="unit">Mio.\u00a0€</span></th>' in rendered.html
    # built-in KPI names are translated too; a name set in the config would pass through as written
    assert '<th scope="row" class="l name">Umsatz <span class="unit">Mio.\u00a0€</span></th>' in rendered.html
    assert "Sales revenue" not in rendered.html
    assert "Was sich geändert hat" in rendered.html and "Seite" in rendered.html
    assert "Umsatz: Anstieg gegenüber dem Vormonat um 29,1\u00a0%" in rendered.html


def test_french_locale_renders(loaded, metrics):
    fr = _variant(loaded, locale="fr_FR", currency="EUR")
    rendered = render_audience(metrics, fr, "client", fr.config.audiences["client"], now=NOW)
    assert rendered.warnings == () and "Synthèse" in rendered.html


def test_user_template_extends_builtin_and_overrides_one_block(loaded, metrics, tmp_path):
    (tmp_path / "executive.html").write_text(
        '{% extends "builtin:executive.html" %}'
        '{% block summary %}<p id="custom-summary">Board pack: {{ company }}</p>{% endblock %}',
        encoding="utf-8")
    custom = _variant(loaded, template_dirs=f'["{tmp_path}"]',
                      allowed_roots=f'["{tmp_path}", ../samples/data, ../out]')
    rendered = render_audience(metrics, custom, "executive", custom.config.audiences["executive"], now=NOW)
    assert 'id="custom-summary">Board pack: Northwind Analytics' in rendered.html
    assert "What changed" not in rendered.html  # the overridden block
    assert 'id="kpi-revenue"' in rendered.html  # the rest of the built-in template
    out = tmp_path / "x.pdf"
    out.write_bytes(rendered.pdf)
    assert "Board pack: Northwind Analytics" in pdf_text(out)


def test_environment_escapes_everything_and_fails_on_undefined(tmp_path):
    (tmp_path / "page.txt").write_text("{{ x }}", encoding="utf-8")
    env = make_environment([tmp_path], Formats("de_DE", "EUR"))
    assert env.get_template("page.txt").render(x="<script>") == "&lt;script&gt;"
    with pytest.raises(jinja2.UndefinedError):
        env.from_string("{{ missing }}").render()
    assert isinstance(env, jinja2.sandbox.ImmutableSandboxedEnvironment)
    assert env.from_string("{{ 1234567|value('money') }}").render() == "1.234.567\u00a0€"


def test_fetcher_refuses_remote_urls(tmp_path):
    fetcher = asset_fetcher(roots=[tmp_path])
    with pytest.raises(RefusedURL):
        fetcher.fetch("http://example.com/logo.png")
    with pytest.raises(RefusedURL):
        fetcher.fetch("file:///etc/passwd")
    pdf, warnings = write_pdf('<p>x</p><img src="http://example.com/tracker.png">',
                              base_url=tmp_path.as_uri() + "/", fetcher=fetcher)
    assert pdf.startswith(b"%PDF")
    assert any("refused 'http://example.com/tracker.png'" in w for w in warnings), warnings


def test_fetcher_serves_own_files_and_data_urls(tmp_path):
    (tmp_path / "a.css").write_text("p{}", encoding="utf-8")
    fetcher = asset_fetcher(roots=[tmp_path])
    assert fetcher.fetch((tmp_path / "a.css").as_uri()).read() == b"p{}"
    assert fetcher.fetch("data:text/plain;base64,aGk=").read() == b"hi"


def test_pdf_a_variant(tmp_path):
    pdf, warnings = write_pdf("<html lang=en><title>t</title><p>archive</p>", base_url=tmp_path.as_uri() + "/",
                              fetcher=asset_fetcher(), pdf_a=True)
    import io

    from pypdf import PdfReader

    root = PdfReader(io.BytesIO(pdf)).trailer["/Root"]
    xmp = root["/Metadata"].get_object().get_data()
    assert b'pdfaid:part="3"' in xmp and b'pdfaid:conformance="B"' in xmp
    assert "/OutputIntents" in root and warnings == []


# ---- page layout, read back from the PDF: nothing split, no stranded heading -------------------

def _lines(path: Path) -> list[list[tuple[float, float, str]]]:
    """Per page: (top, bottom, text) of each text line, top to bottom (running header/footer excluded)."""
    import pdfplumber

    pages = []
    with pdfplumber.open(str(path)) as pdf:
        for page in pdf.pages:
            body = page.crop((0, page.height * 0.06, page.width, page.height * 0.94))
            lines: dict[int, list] = {}
            for w in body.extract_words():
                lines.setdefault(round(w["top"] / 3), []).append(w)
            pages.append([(min(w["top"] for w in ws), max(w["bottom"] for w in ws),
                           " ".join(w["text"] for w in sorted(ws, key=lambda w: w["x0"])))
                          for _, ws in sorted(lines.items())])
    return pages


def test_executive_tiles_are_never_split_across_pages(loaded, metrics, tmp_path) -> None:
    """Each tile's KPI name, its actual value and its last comparison row sit on one page (the cards
    layout: the table is one page)."""
    cards = _cards(loaded)
    pdf = _write(render_audience(metrics, cards, "executive", cards.config.audiences["executive"], now=NOW), tmp_path)
    pages = [" ".join(t for _, _, t in page) for page in _lines(pdf)]
    period = metrics.periods[-1].label
    for kid in ("revenue", "win_rate", "nps", "follow_up_rate"):
        name = metrics.kpis[kid].name
        value = fmt.format_value(metrics.row(kid, period)["value"], metrics.kpis[kid].unit, compact=True)
        holders = [i for i, text in enumerate(pages) if name in text]
        assert holders, name
        assert value in pages[holders[0]], f"{name}: value {value} not on the page of its title"


def test_headings_are_never_stranded_at_a_page_bottom(built) -> None:
    """A section heading is followed on its own page by at least two lines of its content."""
    scorecards, _ = built
    headings = {"What changed", "Growth", "Efficiency", "Customers", "Activity", "Leaderboard: quota attainment",
                "Pipeline & funnel", "Executive summary", "Trends", "Recommendations", "Definitions",
                "Data quality", "KPI overview"}
    for audience, b in scorecards.items():
        for number, page in enumerate(_lines(b.pdf), start=1):
            texts = [t for _, _, t in page]
            for i, text in enumerate(texts):
                if text in headings:
                    assert len(texts) - i - 1 >= 2, f"{audience} page {number}: heading {text!r} stranded at the bottom"


def test_table_rows_are_never_split(built) -> None:
    """Every leaderboard row (rank, rep, revenue ... win rate) is one text line on one page."""
    scorecards, _ = built
    rows = [t for page in _lines(scorecards["sales_manager"].pdf) for _, _, t in page
            if re.match(r"^\d{1,2} [A-Z][a-z]+ [A-Z][a-z]+ ", t)]
    assert len(rows) >= 12
    for text in rows:
        assert re.search(r"\d+\.\d%$", text), f"leaderboard row cut: {text!r}"


@pytest.mark.parametrize("layout", ["table", "cards"])
def test_german_tiles_stay_inside_the_page_margins(loaded, metrics, tmp_path, layout) -> None:
    """Wider German amounts ("+296.575 €") must not push comparison columns past the right margin
    (the margins are symmetric, so the right text edge may not pass page width minus the left edge)."""
    de = _variant(_cards(loaded) if layout == "cards" else loaded, locale="de_DE", currency="EUR")
    rendered = render_audience(metrics, de, "executive", de.config.audiences["executive"], now=NOW)
    path = tmp_path / "de.pdf"
    path.write_bytes(rendered.pdf)
    _assert_inside_margins(path, f"executive (de_DE, {layout})")


def test_every_audience_stays_inside_the_page_margins(built) -> None:
    scorecards, _ = built
    for audience, b in scorecards.items():
        _assert_inside_margins(b.pdf, audience)


def _assert_inside_margins(path: Path, label: str) -> None:
    """No word ends past the right margin (margins are symmetric: page width minus the left edge)."""
    import pdfplumber

    with pdfplumber.open(str(path)) as pdf:
        for number, page in enumerate(pdf.pages, start=1):
            words = page.extract_words()
            left = min(w["x0"] for w in words)
            worst = max(words, key=lambda w: w["x1"])
            assert worst["x1"] <= page.width - left + 1.0, (
                f"{label} page {number}: {worst['text']!r} ends at {worst['x1']:.1f} pt, past the right margin "
                f"{page.width - left:.1f} pt")


def test_sparse_real_data_drops_what_it_cannot_show(tmp_path, shared_dir) -> None:
    """The CRM export has no leads and no quotas: no n/a-filled attainment columns, no leads stage,
    and no funnel of stages that do not nest (511 won from 121 created in the month: issue 18)."""
    loaded = load_config(REPO / "configs" / "crm-sales-opportunities.yaml")
    [b] = build(loaded, now=NOW, audience="sales_manager", output_dir=tmp_path, exports=False)
    text = pdf_text(b.pdf)
    assert "Leaderboard" in text and "Quota attainment" not in text and "quota attainment" not in text
    assert "Opportunities → Won" not in text and "Leads →" not in text
    assert "Activity" not in text and "& funnel" not in text  # no heading with nothing under it
    assert not re.search(r"↓ \d{3,}(\.\d)?%", text)


# --------------------------------------------------------------------------------------------------
# What the engine knows: to-date windows, coverage, partial periods, data quality
# --------------------------------------------------------------------------------------------------

def _pdf_words(rendered, tmp_path: Path, name: str) -> str:
    path = tmp_path / f"{name}.pdf"
    path.write_bytes(rendered.pdf)
    return pdf_text(path).replace("\n", " ").replace("\u00a0", " ")


def test_executive_shows_ytd_from_the_window_row(built, metrics, loaded):
    """The table's YTD column holds the window row's value in the KPI's one format; a KPI without a
    window form (target achievement) and a stock KPI (pipeline, MRR: a year to date would repeat the
    month-end value) leave it blank, never "n/a" and never the month again."""
    from reportgen.render.scoreboard import executive_table, is_stock, kpi_formats

    html = built[0]["executive"].html.read_text()
    period = metrics.periods[-1].label
    ids = loaded.config.audiences["executive"].kpis
    formats = Formats("en_US", "USD")
    numbers = kpi_formats(metrics, ids, formats)
    table = executive_table(metrics, ids, loaded.config.objectives, formats)
    rows = {r.id: r for r in table.rows}
    assert [w[0] for w in table.windows] == ["ytd"]
    shown = 0
    for kid in ids:
        row = metrics.window_row(kid, period, "ytd")
        cell = rows[kid].windows[0].value
        if row is None or is_stock(metrics.kpis[kid], metrics.kpis):
            assert cell.text == "" and not cell.missing, kid
            continue
        expected = numbers[kid].bare(row["value"])
        assert cell.text == expected, (kid, cell, expected)
        tr = html[html.index(f'id="kpi-{kid}"'):]
        assert f'<td class="wstart">{expected}</td>' in tr[:tr.index("</tr>")], kid
        shown += 1
    assert shown >= 10
    assert is_stock(metrics.kpis["pipeline_value"], metrics.kpis) and is_stock(metrics.kpis["mrr"], metrics.kpis)
    assert not is_stock(metrics.kpis["revenue"], metrics.kpis)
    assert metrics.window_row("pipeline_value", period, "ytd") is not None  # computed, but not shown
    assert metrics.window_row("target_achievement", period, "ytd") is None


def _with_missing_revenue(metrics):
    from dataclasses import replace

    table = metrics.table.copy()
    period = metrics.periods[-1].label
    rows = (table["kpi"] == "revenue") & (table["period"] == period) & (table["dimension"] == "")
    table.loc[rows, ["value", "delta_prior", "pct_prior", "delta_year_ago", "pct_year_ago", "achievement"]] = float(
        "nan"
    )
    table.loc[rows, "status"] = ""
    table.loc[rows, "coverage"] = "none"
    table.loc[rows, "note"] = "deals end 2025-11-30"
    return replace(metrics, table=table)


def test_missing_kpi_reads_na_with_its_reason(loaded, metrics, tmp_path):
    """A value the data does not cover is "n/a" with the reason (a footnote in the table, the note on a
    card) and in "What changed", never 0; YTD is missing with it (the window row is missing when its
    period is)."""
    missing = _with_missing_revenue(metrics)
    rendered = render_audience(missing, loaded, "executive", loaded.config.audiences["executive"], now=NOW)
    assert rendered.warnings == ()
    text = _pdf_words(rendered, tmp_path, "missing")
    row = rendered.html[rendered.html.index('id="kpi-revenue"'):rendered.html.index('id="kpi-target_achievement"')]
    note = re.search(r'<td class="acv na">n/a<sup class="fn">(\d+)</sup></td>', row)
    assert note, row
    assert f'<li><sup class="fn">{note[1]}</sup>deals end Nov 30, 2025</li>' in rendered.html
    assert re.search(rf"{note[1]} ?deals end Nov 30, 2025", text)
    assert "Sales revenue is not available for this period (deals end Nov 30, 2025)." in text
    assert "$0" not in text
    cards = _cards(loaded)
    rendered = render_audience(missing, cards, "executive", cards.config.audiences["executive"], now=NOW)
    tile = rendered.html[rendered.html.index('id="kpi-revenue"'):rendered.html.index('id="kpi-target_achievement"')]
    assert '<p class="ac ac-missing" title="Actual">n/a</p>' in tile
    assert '<p class="tile-note">deals end Nov 30, 2025</p>' in tile
    assert "YTD" not in tile  # the window is missing when its period is
    assert re.search(r"deals end Nov 30,\s*2025", _pdf_words(rendered, tmp_path, "missing-cards"))
    client = render_audience(missing, loaded, "client", loaded.config.audiences["client"], now=NOW)
    assert client.warnings == ()
    assert "n/a · deals end Nov 30, 2025" in _pdf_words(client, tmp_path, "missing-client")


def test_missing_reason_is_translated(loaded, metrics):
    de = _variant(loaded, locale="de_DE", currency="EUR")
    rendered = render_audience(_with_missing_revenue(metrics), de, "executive", de.config.audiences["executive"],
                               now=NOW)
    assert rendered.warnings == ()
    assert "deals: Daten bis 30.11.2025" in rendered.html


@pytest.fixture(scope="module")
def partial(loaded):
    """example.yaml with December partly covered: the deals export stops on the 20th."""
    text = loaded.text.replace("scorecard:\n", "scorecard:\n  allow_partial_period: true\n", 1)
    text = text.replace("deals:         {path: ../samples/data/deals.csv}",
                        "deals:         {path: ../samples/data/deals.csv, data_through: 2025-12-20}")
    assert "data_through: 2025-12-20" in text
    config = parse_config(text, loaded.path)
    return config, compute_for_config(config, now=NOW)


def test_partial_period_shows_data_through(partial, tmp_path):
    config, metrics = partial
    period = metrics.periods[-1].label
    assert metrics.row("revenue", period)["coverage"] == "partial"
    table = render_audience(metrics, config, "executive", config.config.audiences["executive"], now=NOW)
    assert table.warnings == () and pdf_pages(_write(table, tmp_path)) == 1
    # the table marks the partial actual and draws no variance against it (no bar, no %)
    row = table.html[table.html.index('id="kpi-revenue"'):]
    row = row[:row.index("</tr>")]
    assert re.search(r'<td class="acv">[\d.]+<span class="pmark" title="partial">○</span><sup class="fn">\d+</sup>',
                     row), row
    assert "rg-variance" not in row and "%" not in row.split("wstart")[0]
    assert "partial: deals end Dec 20, 2025" in table.html
    config = _cards(config)
    rendered = render_audience(metrics, config, "executive", config.config.audiences["executive"], now=NOW)
    assert rendered.warnings == ()
    assert pdf_pages(_write(rendered, tmp_path)) <= 2
    text = _pdf_words(rendered, tmp_path, "partial")
    first_page = text.split("\f")[0]
    assert "December 2025 · data through Dec 20" in first_page  # the running header
    assert '<dd>December 2025<span class="period-partial">data through Dec 20</span></dd>' in rendered.html
    assert "partial" in text
    assert re.search(r'id="kpi-revenue"[^>]*>\s*<header class="tile-head">\s*<h3>Sales revenue</h3>\s*'
                     r'<span class="tile-marks"><span class="mark-partial"', rendered.html)
    assert 'id="kpi-nps"' in rendered.html and not re.search(
        r'id="kpi-nps"[^>]*>\s*<header class="tile-head">\s*<h3>[^<]*</h3>\s*'
        r'<span class="tile-marks"><span class="mark-partial"',
        rendered.html,
    )
    # the narrative does not compare a month cut on the 20th with a whole prior month
    assert "Sales revenue was $1.76M in the partial period (data through Dec 20)." in text
    assert "Sales revenue rose" not in text


def test_partial_period_in_the_email(partial):
    from reportgen.render.email import render_email_body

    config, metrics = partial
    body = render_email_body(metrics, config, config.config.audiences["executive"], locale="en_US", charts=[])
    assert "December 2025 (data through Dec 20)" in body.text
    assert "partial · data through Dec 20" in body.text
    assert "data through Dec 20" in body.html
    assert re.search(r"YTD \$[\d.]+M \([+\u2212-][\d.]+% vs prior year\)", body.text.replace("\u2060", ""))


def _write(rendered, tmp_path: Path) -> Path:
    path = tmp_path / "out.pdf"
    path.write_bytes(rendered.pdf)
    return path


def test_quality_appendix_lists_rules_and_examples(built, metrics):
    text = pdf_text(built[0]["client"].pdf).replace("\n", " ")
    html = built[0]["client"].html.read_text(encoding="utf-8")
    deals = metrics.quality["deals"]
    assert deals.rows_rejected
    for reason, count in deals.rows_rejected.items():  # each rule with its count
        assert f"{count} {reason}" in html
    assert deals.examples and "First rejected rows" in text
    assert deals.examples[0][:40] in text.replace("\u00a0", " ")
    assert "Formats read" in text and "Dates: ISO dates" in text


def test_tiles_show_plan_rows_only_for_kpis_with_a_plan(built, metrics, loaded, tmp_path) -> None:
    """A KPI with a plan in some shown period keeps its PL row (n/a where a month has none); a scorecard
    whose config has no plan at all shows no PL rows and no PL in the legend, not a column of n/a."""
    cards = _cards(loaded)
    html = render_audience(metrics, cards, "executive", cards.config.audiences["executive"], now=NOW).html
    planned = [k for k in loaded.config.audiences["executive"].kpis if metrics.series(k, "target").notna().any()]
    assert planned and html.count('class="cmp-pl"') == len(planned)
    assert "PL Plan" in html
    (tmp_path / "deals.csv").write_text(
        "deal_id,created_date,close_date,stage,amount\n1,2025-01-05,2025-01-20,won,100\n"
        "2,2025-02-01,2025-02-10,won,60\n3,2025-02-03,2025-02-28,lost,10\n")
    (tmp_path / "sc.yaml").write_text(
        "scorecard: {as_of: 2025-02-28, history: 2}\ndatasets:\n  deals: {path: deals.csv}\n"
        "kpis: [revenue, deals_won, win_rate]\naudiences:\n  executive: {template: executive, layout: cards}\n"
        "  table: {template: executive}\n")
    out = {b.audience: b for b in build(load_config(tmp_path / "sc.yaml"), now=NOW, output_dir=tmp_path / "out",
                                        exports=False)}
    bare = out["executive"].html.read_text()
    assert 'class="cmp-pl"' not in bare and "PL Plan" not in bare
    assert bare.count('class="cmp-py"') == 3
    table = out["table"].html.read_text()  # the table drops its PL columns: no column without a value
    assert "ΔPL" not in table and "PL Plan" not in table and "ΔPY%" in table


def test_a_missing_prior_year_window_says_why(loaded, metrics, tmp_path):
    """"PY n/a" on a tile's YTD line carries the reason of the window a year earlier (the data starts
    after it began), never a bare n/a."""
    from dataclasses import replace

    table = metrics.table.copy()
    period = metrics.periods[-1]
    now = (table["kpi"] == "revenue") & (table["window"] == "ytd") & (table["period"] == period.label)
    assert now.sum() == 1
    table.loc[now, ["year_ago", "delta_year_ago", "pct_year_ago"]] = float("nan")
    deals = metrics.quality["deals"]  # the export as if it started in March of the year before
    start = period.start.replace(year=period.start.year - 1, month=3, day=2)
    quality = {**metrics.quality, "deals": replace(deals, first_date=start,
                                                   first_dates={c: start for c in deals.first_dates})}
    cards = _cards(loaded)
    rendered = render_audience(replace(metrics, table=table, quality=quality), cards, "executive",
                               cards.config.audiences["executive"], now=NOW)
    tile = rendered.html[rendered.html.index('id="kpi-revenue"'):rendered.html.index('id="kpi-target_achievement"')]
    when = f"Mar 2, {start.year}"
    assert f'PY n/a <span class="win-note">· deals begin {when}</span>' in tile, tile
    assert re.search(rf"PY n/a · deals begin Mar 2,\s*{start.year}", _pdf_words(rendered, tmp_path, "py-missing"))
