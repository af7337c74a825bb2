"""One number format per KPI on every page (issue 18): the client and sales-manager reports print a
KPI's actual, prior year, variances, to-date value and chart axis in one scale, as the executive table
and the email do (the client table said "$1,757,575 · $1,330,546 · +$427,029 · $14.92M", its axis
"$500,000 / $1M / $1.5M"); headings are translated whole, never an English plural on a translated word."""
from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pdfplumber
import pytest

from reportgen.config.load import load_config
from reportgen.config.models import LoadedConfig
from reportgen.pipeline.build import build

REPO = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
MONEY = re.compile(r"[+\-\u2212]?\$[\d.,]+[KMB]?")


def _client(tmp_path: Path, locale: str = "en_US"):
    loaded = load_config(REPO / "configs" / "example.yaml")
    scorecard = loaded.config.scorecard.model_copy(update={"locale": locale})
    loaded = LoadedConfig(loaded.config.model_copy(update={"scorecard": scorecard}), loaded.path, loaded.source)
    [built] = build(loaded, now=NOW, audience="client", output_dir=tmp_path, exports=False)
    return built


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory):
    return _client(tmp_path_factory.mktemp("client"))


def test_the_client_table_prints_a_kpi_in_one_scale(client) -> None:
    with pdfplumber.open(str(client.pdf)) as pdf:
        text = pdf.pages[0].extract_text()
    [line] = [ln for ln in text.splitlines() if ln.startswith("Sales revenue $")]
    amounts = MONEY.findall(line.replace("\u2060", ""))
    assert len(amounts) >= 4 and all(a.endswith("M") for a in amounts), line


def test_the_trend_axis_is_in_the_kpis_scale(client) -> None:
    html = client.html.read_text(encoding="utf-8")
    chart = re.search(r"<svg[^>]*aria-label=\"Sales revenue: trend[^\"]*\".*?</svg>", html, re.S)
    assert chart, "no revenue trend chart"
    ticks = [t for t in re.findall(r">([^<>]*\$[^<>]*)</text>", chart[0])]
    assert len(ticks) >= 2 and all(t.endswith("M") for t in ticks), ticks


def test_headings_are_translated_whole(tmp_path: Path) -> None:
    built = _client(tmp_path, "fr_FR")
    with pdfplumber.open(str(built.pdf)) as pdf:
        text = " ".join(p.extract_text() for p in pdf.pages)
    assert "KPI par rapport aux références" in text and "Tendances" in text
    assert "KPIs against" not in text and "Tendances" + "s" not in text and "tendance linéaire" in text


def test_the_sales_manager_captions_are_in_the_readers_language(tmp_path: Path) -> None:
    loaded = load_config(REPO / "configs" / "example.yaml")
    scorecard = loaded.config.scorecard.model_copy(update={"locale": "de_DE"})
    loaded = LoadedConfig(loaded.config.model_copy(update={"scorecard": scorecard}), loaded.path, loaded.source)
    [built] = build(loaded, now=NOW, audience="sales_manager", output_dir=tmp_path, exports=False)
    with pdfplumber.open(str(built.pdf)) as pdf:
        text = " ".join(p.extract_text() for p in pdf.pages).replace("\n", " ")
    assert "Umsatz gewonnener Deals im Dezember 2025" in text and "Anzahlen des Zeitraums" in text
    assert "Revenue of won deals" not in text and "Counts of the period" not in text
