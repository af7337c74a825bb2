"""The print HTML taken apart for WeasyPrint (pdf/printdoc.py) and the stylesheets parsed once per
process (pdf/writer.py): the PDF must look exactly as if WeasyPrint had been given the whole page."""
from __future__ import annotations

import logging
from pathlib import Path

import pytest

from reportgen import charts
from reportgen.assets import FONTS_DIR, font_faces_css
from reportgen.pdf.printdoc import chart_assets, split_styles
from reportgen.pdf.uasheet import NOTE_RULES, lean_html_class, lean_ua_stylesheet, uses_notes
from reportgen.pdf.writer import font_configuration, stylesheet
from reportgen.render import asset_fetcher, write_pdf
from tests.pdftools import pdf_text, render_png

PAGE = """<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>t</title>
<style>{fonts} body {{ font-family: Inter; }} p {{ font-size: 9pt; }} p.x {{ color: rgb(200, 0, 0); }}
@page {{ size: A6; }}</style>
<style>p {{ color: rgb(0, 0, 200); font-size: 14pt; }} .big {{ font-size: 24pt; }}</style>
</head><body><p class="x">red: the earlier rule is more specific; 14 pt: the later one of equal weight</p><p>blue</p>
<p class="big" style="color: rgb(0, 140, 0)">green: a style attribute beats every sheet</p>
{chart}</body></html>"""


def _page(chart: str = "") -> str:
    return PAGE.format(fonts=font_faces_css(embed=False), chart=chart)


def _pngs(pdf: bytes, tmp_path: Path, name: str) -> list[bytes]:
    path = tmp_path / f"{name}.pdf"
    path.write_bytes(pdf)
    return [p.read_bytes() for p in render_png(path, tmp_path / name, dpi=50)]


def _whole(html: str, fetcher: object) -> bytes:
    """What write_pdf did before: the document to WeasyPrint as it is."""
    from weasyprint import HTML

    return HTML(string=html, base_url=FONTS_DIR.as_uri() + "/", url_fetcher=fetcher).write_pdf(
        font_config=font_configuration())


def test_styles_taken_out_cascade_as_they_did_in_the_page(tmp_path: Path) -> None:
    html = _page()
    split = split_styles(html)
    assert split is not None
    body, styles = split
    assert "<style" not in body and len(styles) == 2 and "p.x" in styles[0] and ".big" in styles[1]
    fetcher = asset_fetcher(roots=[FONTS_DIR])
    pdf, warnings = write_pdf(html, base_url=FONTS_DIR.as_uri() + "/", fetcher=fetcher)
    assert warnings == []
    assert _pngs(pdf, tmp_path, "split") == _pngs(_whole(html, fetcher), tmp_path, "whole")


def test_charts_become_images_that_draw_the_same(tmp_path: Path) -> None:
    chart = f'<div style="width: 60mm">{charts.sparkline([3.0, 4.0, None, 5.0, 6.0])}</div>'
    html = _page(chart)
    print_html, assets = chart_assets(html)
    assert "<svg" not in print_html and list(assets) == ["chart-1.svg"]
    assert '<img class="rg-chart" src="reportgen-asset:chart-1.svg" alt="Trend">' in print_html
    body, mime = assets["chart-1.svg"]
    assert body.startswith(b"<svg") and mime == "image/svg+xml"
    css = "<style>.rg-chart { display: block; width: 100%; height: auto; }</style></head>"
    inline, as_image = html.replace("</head>", css), print_html.replace("</head>", css)
    pdf, warnings = write_pdf(as_image, base_url=FONTS_DIR.as_uri() + "/",
                              fetcher=asset_fetcher(roots=[FONTS_DIR], memory=assets))
    assert warnings == []
    assert _pngs(pdf, tmp_path, "image") == _pngs(_whole(inline, asset_fetcher(roots=[FONTS_DIR])), tmp_path, "inline")


def test_only_reportgens_own_charts_are_moved() -> None:
    own = charts.sparkline([1.0, 2.0])
    other = '<svg viewBox="0 0 10 10"><circle cx="5" cy="5" r="4"/></svg>'
    html, assets = chart_assets(f"<p>{other}</p><p>{own}</p>")
    assert other in html and len(assets) == 1


@pytest.mark.parametrize("html", [
    "<html><head><style>p{}</style><link rel=stylesheet href=a.css></head><body></body></html>",
    "<html><head><style>p{}</style></head><body><style>p{color:red}</style></body></html>",
    "<html><head><!-- <style>p{}</style> --><style>p{}</style></head><body></body></html>",
    "<html><head><style media=print>p{}</style></head><body></body></html>",
    "<html><head><base href=file:///x/><style>p{}</style></head><body></body></html>",
    "<html><head><title><style>p{}</style></title></head><body></body></html>",
    "<html><head><style>@import url(a.css); p{}</style></head><body></body></html>",
    "<html><head><style>@\\69mport url(a.css);</style></head><body></body></html>",
    "<html><head><style>@layer a; p{}</style></head><body></body></html>",
    "<html><head><style>@counter-style x { system: cyclic; symbols: a; }</style></head><body></body></html>",
    "<html><body><style>p{}</style></body></html>",
])
def test_documents_whose_styles_cannot_be_taken_out_go_whole(html: str) -> None:
    assert split_styles(html) is None


def test_a_stylesheet_is_parsed_once_and_its_warnings_come_every_time(caplog: pytest.LogCaptureFixture) -> None:
    css = "p { colour: red; color: blue }"
    fetcher = asset_fetcher(roots=[FONTS_DIR])
    with caplog.at_level(logging.WARNING, logger="weasyprint"):
        first = stylesheet(css, base_url="file:///", fetcher=fetcher)
        second = stylesheet(css, base_url="file:///", fetcher=asset_fetcher(roots=[FONTS_DIR]))
    assert first is second
    assert sum("colour" in r.getMessage() for r in caplog.records) == 2
    assert stylesheet(css, base_url="file:///", fetcher=asset_fetcher(roots=[FONTS_DIR, Path("/tmp")])) is not first


def test_a_pages_own_style_block_still_applies(tmp_path: Path) -> None:
    """A user template that overrides the styles block: its rules reach the PDF (split or not)."""
    html = _page().replace("</head>", "<style>.big { display: none; }</style></head>")
    pdf, _ = write_pdf(html, base_url=FONTS_DIR.as_uri() + "/", fetcher=asset_fetcher(roots=[FONTS_DIR]))
    path = tmp_path / "x.pdf"
    path.write_bytes(pdf)
    text = pdf_text(path)
    assert "blue" in text and "green" not in text


def test_the_lean_user_agent_stylesheet_leaves_out_only_the_five_note_rules() -> None:
    from weasyprint import HTML
    from weasyprint.html import UA

    assert lean_ua_stylesheet() is not None, "the installed WeasyPrint's stylesheet changed: see pdf/uasheet.py"
    removed = [m[0].split(" ", 1)[0] for m in NOTE_RULES.finditer(UA)]
    assert removed == ["::footnote-call", "::footnote-marker", "::note-call", "::note-marker", "::note-callback"]
    assert issubclass(lean_html_class(), HTML) and lean_html_class() is not HTML


@pytest.mark.parametrize(("text", "notes"), [
    ("p { color: red }", False),
    ("span { float: footnote }", True),
    ("aside { position: NOTE(side) }", True),
    ("span { float: foot\\6eote }", True),  # an escape could spell it
    ("<p>reading notes, annotated</p>", False),
])
def test_documents_that_may_have_footnotes_or_notes_are_told_apart(text: str, notes: bool) -> None:
    assert uses_notes(["<p>x</p>", text]) is notes


def test_a_footnote_still_gets_its_call_and_marker(tmp_path: Path) -> None:
    """A page with a footnote keeps WeasyPrint's own stylesheet: the call and the marker are drawn."""
    html = _page().replace("<p>blue</p>", '<p>blue<span style="float: footnote">the footnote</span></p>')
    fetcher = asset_fetcher(roots=[FONTS_DIR])
    pdf, warnings = write_pdf(html, base_url=FONTS_DIR.as_uri() + "/", fetcher=fetcher)
    assert warnings == []
    path = tmp_path / "f.pdf"
    path.write_bytes(pdf)
    assert "1. the footnote" in pdf_text(path)
    assert _pngs(pdf, tmp_path, "split") == _pngs(_whole(html, fetcher), tmp_path, "whole")
