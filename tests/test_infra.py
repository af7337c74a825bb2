"""The test infrastructure works against the real things: PostgreSQL, Chromium, WeasyPrint, poppler.

Why these tests exist: the other suites trust these fixtures and helpers to catch problems; if
a helper silently found nothing (an overflow check that never fires, a font check that passes
on any PDF) every test built on it would be worthless. So each helper is shown both a case it
must flag and a clean case it must pass.
"""
from __future__ import annotations

import asyncio
import logging
import struct
import textwrap
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.fixtures.browser import ChromiumSession, inspect_html, screenshot
from tests.fixtures.postgres import PostgresServer
from tests.pdftools import (
    NonEmbeddedFontError,
    pdf_font_info,
    pdf_fonts,
    pdf_metadata,
    pdf_outline_titles,
    pdf_pages,
    pdf_text,
    render_png,
    words_with_boxes,
)

# --- PostgreSQL ---------------------------------------------------------------------------------


def test_postgres_select_one(postgres_url: str, postgres_server: PostgresServer) -> None:
    assert postgres_url.startswith("postgresql+psycopg://")
    engine = sa.create_engine(postgres_url)
    try:
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT 1")).scalar_one() == 1
            version = conn.execute(sa.text("SELECT version()")).scalar_one()
            db = conn.execute(sa.text("SELECT current_database()")).scalar_one()
    finally:
        engine.dispose()
    assert version.startswith("PostgreSQL "), version
    assert db == postgres_server.database
    # Measured ~1.1 s here; a much slower start means something is misconfigured (fsync, DNS).
    assert postgres_server.startup_seconds < 30


def test_postgres_create_insert_select(postgres_url: str) -> None:
    engine = sa.create_engine(postgres_url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("DROP TABLE IF EXISTS infra_deals"))
            conn.execute(
                sa.text("CREATE TABLE infra_deals (id serial PRIMARY KEY, region text NOT NULL, amount numeric(12,2))")
            )
            conn.execute(
                sa.text("INSERT INTO infra_deals (region, amount) VALUES (:r, :a)"),
                [{"r": "EMEA", "a": 1200.50}, {"r": "EMEA", "a": 99.50}, {"r": "APAC", "a": 10}],
            )
        with engine.connect() as conn:
            rows = conn.execute(
                sa.text("SELECT region, sum(amount) FROM infra_deals GROUP BY region ORDER BY region")
            ).all()
    finally:
        engine.dispose()
    assert [(r, float(s)) for r, s in rows] == [("APAC", 10.0), ("EMEA", 1300.0)]


# --- Chromium -----------------------------------------------------------------------------------

BROKEN_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>broken</title>
<link rel="stylesheet" href="missing.css"></head>
<body style="margin:0">
  <div class="kpi-card" style="width:200px"><table class="wide-table" style="width:600px">\
<tr><td>Revenue 1.2M</td></tr></table></div>
  <div class="scroller" style="width:200px;overflow-x:auto"><div style="width:900px">scrolls by design</div></div>
  <p class="too-long" style="width:1500px">Pipeline coverage</p>
  <script>console.error("chart data missing"); console.warn("deprecated option"); console.log("ok");</script>
  <script>throw new Error("kaput");</script>
</body></html>
"""

CLEAN_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>clean</title>
<style>body{margin:0;font-family:sans-serif} .card{max-width:100%;padding:8px;box-sizing:border-box}
.scroller{overflow-x:auto}</style></head>
<body>
  <div class="card"><h1>Scorecard</h1><p>Revenue 1.2M, up 4%.</p>
  <img alt="dot" src="data:image/png;base64,\
iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="></div>
  <div class="scroller"><table style="width:900px"><tr><td>wide but scrollable</td></tr></table></div>
  <script>console.log("rendered");</script>
</body></html>
"""


def test_inspect_html_flags_broken_page(chromium: ChromiumSession, tmp_path: Path) -> None:
    page = tmp_path / "broken.html"
    page.write_text(BROKEN_PAGE, encoding="utf-8")
    report = inspect_html(chromium, page, width=800)

    texts = [(m.type, m.text) for m in report.console]
    assert ("error", "chart data missing") in texts
    assert ("warning", "deprecated option") in texts
    assert all(t != "ok" for _, t in texts), "console.log must not be reported"
    assert any("kaput" in e for e in report.page_errors)
    assert report.requests == [(tmp_path / "missing.css").as_uri()]

    flagged = {(o.kind, o.tag, o.cls) for o in report.overflow}
    assert ("content", "div", "kpi-card") in flagged
    assert ("viewport", "p", "too-long") in flagged
    assert not any("scroller" in o.cls or "scrolls by design" in o.text for o in report.overflow), report.summary()
    # Only the element that causes it, not every ancestor or descendant.
    assert len(report.overflow) == 2, report.summary()
    assert not report.clean


def test_inspect_html_clean_page_reports_nothing(chromium: ChromiumSession, tmp_path: Path) -> None:
    page = tmp_path / "clean.html"
    page.write_text(CLEAN_PAGE, encoding="utf-8")
    for width in (375, 1280):
        report = inspect_html(chromium, page, width=width)
        assert report.clean, report.summary()


def test_viewport_overflow_depends_on_width(chromium: ChromiumSession, tmp_path: Path) -> None:
    page = tmp_path / "fixed.html"
    page.write_text('<!doctype html><body style="margin:0"><div class="w" style="width:700px">x</div></body>',
                    encoding="utf-8")
    assert inspect_html(chromium, page, width=800).overflow == []
    narrow = inspect_html(chromium, page, width=500)
    assert [(o.kind, o.cls) for o in narrow.overflow] == [("viewport", "w")], narrow.summary()


def test_screenshot_is_full_page_png(chromium: ChromiumSession, tmp_path: Path) -> None:
    page = tmp_path / "tall.html"
    page.write_text('<!doctype html><body style="margin:0"><div style="height:2000px;background:#36c"></div></body>',
                    encoding="utf-8")
    out = screenshot(chromium, page, tmp_path / "tall.png", width=400)
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == (400, 2000)


def test_asyncio_still_usable_while_browser_is_open(chromium: ChromiumSession) -> None:
    # Playwright's sync API marks its loop as running in the thread that uses it; the session
    # keeps it on its own thread so async tests elsewhere (SMTP) keep working.
    assert chromium.run(lambda b: b.is_connected())

    async def answer() -> int:
        await asyncio.sleep(0)
        return 42

    assert asyncio.run(answer()) == 42


# --- PDF ----------------------------------------------------------------------------------------

PDF_HTML = textwrap.dedent(
    """\
    <!doctype html>
    <html lang="en"><head><meta charset="utf-8"><title>Q1 Scorecard</title>
    <meta name="author" content="reportgen tests">
    <style>
      @page { size: A4; margin: 20mm }
      body { margin: 0; font-family: "DejaVu Sans"; font-size: 11pt }
      h2 { break-before: page }
    </style></head>
    <body>
      <h1>Q1 Scorecard</h1>
      <p>Revenue grew to 1,234,567 EUR.</p>
      <h2>Pipeline</h2>
      <p>Coverage ratio 3.1x.</p>
    </body></html>
    """
)


@pytest.fixture(scope="module")
def weasy_pdf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A two-page PDF made by WeasyPrint, failing on any warning WeasyPrint logs."""
    from weasyprint import HTML

    records: list[logging.LogRecord] = []
    handler = logging.Handler(level=logging.WARNING)
    handler.emit = records.append  # type: ignore[method-assign]
    logger = logging.getLogger("weasyprint")
    logger.addHandler(handler)
    try:
        t0 = time.monotonic()
        pdf = HTML(string=PDF_HTML).write_pdf()
        elapsed = time.monotonic() - t0
    finally:
        logger.removeHandler(handler)
    assert not records, [r.getMessage() for r in records]
    assert elapsed < 60
    out = tmp_path_factory.mktemp("pdf") / "scorecard.pdf"
    out.write_bytes(pdf)
    return out


def test_pdf_text_pages_outline_metadata(weasy_pdf: Path) -> None:
    assert pdf_pages(weasy_pdf) == 2
    pages = pdf_text(weasy_pdf).split("\f")
    assert len(pages) == 2
    assert "Revenue grew to 1,234,567 EUR." in pages[0]
    assert "Coverage ratio 3.1x." in pages[1]
    assert pdf_outline_titles(weasy_pdf) == ["Q1 Scorecard", "Pipeline"]
    meta = pdf_metadata(weasy_pdf)
    assert meta["Title"] == "Q1 Scorecard"
    assert meta["Author"] == "reportgen tests"
    assert "WeasyPrint" in meta.get("Producer", "")


def test_pdf_fonts_embedded(weasy_pdf: Path) -> None:
    fonts = pdf_fonts(weasy_pdf)
    assert any(name.startswith("DejaVu") for name in fonts), fonts
    assert all(f.embedded for f in pdf_font_info(weasy_pdf).values())


def test_pdf_fonts_flags_non_embedded(tmp_path: Path) -> None:
    from pypdf import PdfWriter
    from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

    writer = PdfWriter()
    page = writer.add_blank_page(width=200, height=200)
    helvetica = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Font"),
            NameObject("/Subtype"): NameObject("/Type1"),
            NameObject("/BaseFont"): NameObject("/Helvetica"),
        }
    )
    page[NameObject("/Resources")] = DictionaryObject(
        {NameObject("/Font"): DictionaryObject({NameObject("/F1"): writer._add_object(helvetica)})}
    )
    content = DecodedStreamObject()
    content.set_data(b"BT /F1 12 Tf 20 100 Td (Hello) Tj ET")
    page[NameObject("/Contents")] = writer._add_object(content)
    path = tmp_path / "unembedded.pdf"
    with path.open("wb") as fh:
        writer.write(fh)

    assert pdf_text(path).strip() == "Hello"
    with pytest.raises(NonEmbeddedFontError, match="Helvetica"):
        pdf_fonts(path)
    assert pdf_fonts(path, require_embedded=False) == {"Helvetica"}
    assert pdf_font_info(path)["Helvetica"].embedded is False


def test_render_png_and_word_boxes(weasy_pdf: Path, tmp_path: Path) -> None:
    pngs = render_png(weasy_pdf, tmp_path / "png", dpi=30)
    assert [p.name for p in pngs] == ["page-1.png", "page-2.png"]
    for png in pngs:
        data = png.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
        width, height = struct.unpack(">II", data[16:24])
        assert abs(width - 248) <= 1 and abs(height - 351) <= 1, (width, height)  # A4 at 30 dpi

    words = words_with_boxes(weasy_pdf, 0)
    by_text = {w.text: w for w in words}
    assert "Revenue" in by_text
    revenue = by_text["Revenue"]
    margin = 20 / 25.4 * 72  # 20 mm in points
    assert revenue.x0 == pytest.approx(margin, abs=1.0)
    assert margin - 1 <= revenue.x0 < revenue.x1 <= revenue.page_width - margin + 1
    assert by_text["Q1"].top < revenue.top  # heading above the paragraph
