"""Accessible PDFs (pdf/writer.py, render/alttext.py), read back with pypdf: a structure tree in reading
order, the document language, the title shown, and figures whose alt text carries the chart's data.

The expected numbers come from the metric table and fmt, not from the alt-text code.
"""
from __future__ import annotations

import io
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from reportgen.config.load import load_config
from reportgen.pipeline.build import audiences_of, scorecard_metrics
from reportgen.render import render_audience

REPO = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 1, 1, 6, tzinfo=UTC)


@pytest.fixture(scope="module")
def example() -> tuple[Any, Any]:
    loaded = load_config(REPO / "configs" / "example.yaml")
    return loaded, scorecard_metrics(loaded, now=NOW, audience="executive")


def render(example: tuple[Any, Any], locale: str | None = None, layout: str | None = None) -> tuple[PdfReader, Any]:
    loaded, metrics = example
    audience = audiences_of(loaded, "executive")["executive"]
    if layout is not None:
        audience = audience.model_copy(update={"layout": layout})
    rendered = render_audience(metrics, loaded, "executive", audience, now=NOW, locale=locale)
    assert rendered.warnings == ()  # WeasyPrint logs an image without alt text or a page without lang
    return PdfReader(io.BytesIO(rendered.pdf)), metrics


def elements(node: Any) -> Iterator[Any]:
    """The structure elements under ``node``, depth first: the reading order."""
    node = node.get_object()
    if isinstance(node, list):
        for child in node:
            yield from elements(child)
    elif isinstance(node, dict) and "/S" in node:
        yield node
        if "/K" in node:
            yield from elements(node["/K"])


def test_the_pdf_is_tagged_with_language_and_title(example: tuple[Any, Any]) -> None:
    pdf, _ = render(example)
    root = pdf.trailer["/Root"]
    assert "/StructTreeRoot" in root
    assert root["/Lang"] == "en"
    assert bool(root["/MarkInfo"]["/Marked"])
    assert bool(root["/ViewerPreferences"]["/DisplayDocTitle"])
    assert pdf.metadata is not None and pdf.metadata.title == "Monthly Sales Scorecard – December 2025"
    assert b"pdfuaid" in root["/Metadata"].get_object().get_data()


def test_the_executive_table_reads_heading_then_table_with_its_charts(example: tuple[Any, Any]) -> None:
    pdf, _ = render(example)
    kinds = [str(e["/S"]) for e in elements(pdf.trailer["/Root"]["/StructTreeRoot"]["/K"])]
    shown = [k for k in kinds if k in ("/H1", "/H2", "/H3", "/Table", "/Figure")]
    assert kinds.count("/H1") == 1
    assert shown.index("/H1") < shown.index("/H2") < shown.index("/Table")
    # the sparklines and variance bars are figures inside the scorecard table, in its reading order
    assert shown[shown.index("/Table"):].count("/Figure") >= 15


def test_cards_read_heading_then_charts_then_table_per_tile(example: tuple[Any, Any]) -> None:
    pdf, _ = render(example, layout="cards")
    kinds = [str(e["/S"]) for e in elements(pdf.trailer["/Root"]["/StructTreeRoot"]["/K"])]
    shown = [k for k in kinds if k in ("/H1", "/H2", "/H3", "/Table", "/Figure")]
    assert shown.index("/H1") < shown.index("/H2") < shown.index("/H3")
    assert kinds.count("/H1") == 1
    # each KPI tile: its heading, then its charts, then its comparison table
    tiles = re.findall(r"/H3((?: /Figure)*) /Table", " ".join(shown))
    assert len(tiles) == kinds.count("/H3") >= 10
    assert all(figures for figures in tiles[:3])


def test_figures_carry_their_data_in_the_alt_text(example: tuple[Any, Any]) -> None:
    pdf, metrics = render(example)
    figures = [e for e in elements(pdf.trailer["/Root"]["/StructTreeRoot"]["/K"]) if e["/S"] == "/Figure"]
    alts = [str(f.get("/Alt", "")) for f in figures]
    assert alts and all(alts)
    charts = [a for a in alts if not a.endswith(" logo")]
    assert charts and all(re.search(r"\d", a) for a in charts)
    # the table's sparkline: the last twelve months in the KPI's one format (revenue in $M, two decimals)
    series = metrics.series("revenue").iloc[-12:]

    def millions(v: float) -> str:
        return f"${v / 1e6:.2f}M"

    [spark] = [a for a in charts if a.startswith("Sales revenue, ")]
    assert spark.startswith("Sales revenue, Jan 25 to Dec 25: "), spark
    assert f"last {millions(series.iloc[-1])} (Dec 25)" in spark
    assert f"low {millions(series.min())}" in spark and f"high {millions(series.max())}" in spark
    before = float(series.iloc[-2])
    word = "up from" if float(series.iloc[-1]) > before else "down from"
    assert f"{word} {millions(before)}" in spark


def test_a_german_pdf_says_so(example: tuple[Any, Any]) -> None:
    pdf, _ = render(example, "de_DE")
    root = pdf.trailer["/Root"]
    assert root["/Lang"] == "de"
    alts = [str(e.get("/Alt", "")) for e in elements(root["/StructTreeRoot"]["/K"]) if e["/S"] == "/Figure"]
    assert any("zuletzt" in a and "Mio." in a for a in alts)
