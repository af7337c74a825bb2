"""Japanese: the ja catalogue, the CJK fallback font after Inter (reportgen/assets), and what they make.

A glyph the shipped fonts lack is tofu on the page (WeasyPrint does not warn about it), so the fonts
are checked by their character maps: every character of every shipped catalogue, and of the Japanese
CLDR words the number and date formats produce, is in a shipped font. The built files are read
back: the ja executive PDF's text is Japanese, it embeds the CJK font and uses no font outside the
shipped ones; a Latin executive embeds only Inter, and its HTML does not carry the CJK font.
"""
from __future__ import annotations

import base64
import datetime as dt
import io
import re
import unicodedata
import warnings
from pathlib import Path
from typing import Any

import pytest
from fontTools.ttLib import TTFont

from reportgen.assets import FONTS_DIR
from reportgen.config.load import load_config
from reportgen.render import fmt
from reportgen.render.catalogues import CATALOGUE_DIR
from tests.pdftools import pdf_fonts, pdf_pages, pdf_text

EXAMPLE = Path(__file__).resolve().parent.parent / "configs" / "example.yaml"
NOW = dt.datetime(2026, 1, 1, 6, tzinfo=dt.UTC)


def shipped_code_points() -> set[int]:
    """The union of the character maps of every font file reportgen ships."""
    points: set[int] = set()
    for path in sorted(FONTS_DIR.iterdir()):
        if path.suffix in (".otf", ".woff2", ".ttf"):
            with TTFont(path, lazy=True) as font:
                points |= set(font.getBestCmap())
    return points


def untypeset(text: str, points: set[int]) -> list[str]:
    """The characters of ``text`` no shipped font draws (spaces and invisible format characters, such
    as the word joiner that keeps a sign with its number, need no glyph)."""
    drawn = (ch for ch in text if not ch.isspace() and unicodedata.category(ch) != "Cf")
    return sorted({ch for ch in drawn if ord(ch) not in points})


def ja_format_samples() -> str:
    """Every kind of text the Japanese number and date formats produce."""
    locale = "ja_JP"
    d = dt.date(2025, 12, 20)
    samples = [fmt.format_period(p, locale=locale) for p in ("2025-12", "2025-Q4", "2025-W07", "FY2026-Q1", "FY2026")]
    samples += [fmt.format_period_short(p, locale=locale) for p in ("2025-12", "2025-Q4", "2025-W07", "FY2026")]
    samples += [fmt.format_date(d, locale=locale), fmt.format_day_month(d, locale=locale)]
    for unit in ("money", "count", "percent", "days", "hours", "score", "ratio"):
        for value in (0.5, 79.59, 1_460_000.0, 123_456_789.0, -42.0):
            for currency in ("JPY", "USD", "EUR"):
                samples.append(fmt.format_value(value, unit, locale=locale, currency=currency))
                samples.append(fmt.format_value(value, unit, locale=locale, currency=currency, compact=True))
                samples.append(fmt.format_delta(value, unit, locale=locale, currency=currency))
    samples += [fmt.format_change(-0.031, locale=locale), fmt.format_value(None, "money", locale=locale)]
    return " ".join(samples)


def test_every_catalogue_character_is_in_a_shipped_font() -> None:
    points = shipped_code_points()
    catalogues = sorted(CATALOGUE_DIR.glob("*/LC_MESSAGES/*.po"))
    assert "ja" in {po.parent.parent.name for po in catalogues}
    for po in catalogues:
        assert untypeset(po.read_text(encoding="utf-8"), points) == [], po


def test_the_japanese_number_and_date_formats_are_in_a_shipped_font() -> None:
    text = ja_format_samples()
    assert "年" in text and "月" in text and "万" in text  # the CLDR words are really there
    assert untypeset(text, shipped_code_points()) == []


def test_the_subset_covers_kana_jis_level_1_kanji_and_full_width_forms() -> None:
    points = shipped_code_points()
    kana = [*range(0x3041, 0x3097), *range(0x30A1, 0x30FB)]
    full_width = [*range(0xFF01, 0xFF5F), 0xFFE5]
    level_1 = [ord(bytes((0xA0 + row, 0xA0 + cell)).decode("euc_jp"))
               for row in range(16, 48) for cell in range(1, 95) if row < 47 or cell <= 51]  # row 47 ends at 51
    assert len(level_1) == 2965
    assert [chr(p) for p in (*kana, *full_width, *level_1, 0x3001, 0x3002, 0x300C) if p not in points] == []


def test_yen_has_no_decimals_and_a_short_month_does_not_read_as_a_day() -> None:
    assert fmt.format_value(79.59, "money", locale="ja_JP", currency="JPY") == "￥80"
    assert fmt.format_delta(-177.4, "money", locale="ja_JP", currency="JPY", context="text") == "-￥177"
    assert fmt.format_value(79.59, "money", locale="ja_JP", currency="USD") == "$79.59"  # cents stay cents
    assert fmt.format_value(1_460_000, "money", locale="ja_JP", currency="JPY", compact=True) == "￥146万"
    assert fmt.format_period("2025-12", locale="ja_JP") == "2025年12月"
    assert fmt.format_period_short("2025-12", locale="ja_JP") == "25年12月"  # "12月 25" reads 25 December
    assert fmt.format_period_short("2025-12", locale="en_US") == "Dec 25"


def test_charts_name_the_cjk_fallback_after_inter() -> None:
    from reportgen.assets import font_stack, raster_font_file
    from reportgen.charts.custom import ChartTheme
    from reportgen.charts.svg import FONT_STACK

    assert font_stack() == ("Inter", "Noto Sans CJK JP")
    assert FONT_STACK.startswith("Inter, 'Noto Sans CJK JP',")
    assert ChartTheme().rc_params()["font.family"][:2] == ["Inter", "Noto Sans CJK JP"]
    assert raster_font_file("Dec 25").name == "Inter-Regular.otf"
    assert raster_font_file("25年12月").name.startswith("NotoSansCJKjp")


def test_a_matplotlib_chart_draws_japanese_text_without_missing_glyphs() -> None:
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    from reportgen.charts.custom import ChartTheme, _register_fonts, figure_svg

    _register_fonts()
    with matplotlib.rc_context(ChartTheme().rc_params()), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        figure = Figure(figsize=(3, 2))
        axes = figure.subplots()
        axes.bar(["12月", "1月"], [1.0, 2.0])
        axes.set_title("売上高の推移 (Sales)")
        svg = figure_svg(figure, alt="売上高", prefix="t")
    assert [str(w.message) for w in caught if "missing from font" in str(w.message)] == []
    assert "売上高の推移" in svg


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The example executive in Japanese and in English, with the Japanese email body."""
    from reportgen.pipeline.build import audiences_of, scorecard_metrics
    from reportgen.render import render_audience
    from reportgen.render.email import email_charts, render_email_body

    out = tmp_path_factory.mktemp("ja")
    loaded = load_config(EXAMPLE)
    metrics = scorecard_metrics(loaded, now=NOW, audience="executive")
    audience = audiences_of(loaded, "executive")["executive"]
    result: dict[str, Any] = {}
    for locale in ("ja_JP", "en_US"):
        rendered = render_audience(metrics, loaded, "executive", audience, now=NOW, locale=locale)
        pdf = out / f"executive-{locale}.pdf"
        pdf.write_bytes(rendered.pdf)
        result[locale] = (rendered, pdf)
    currency = loaded.config.scorecard.currency
    charts = email_charts(metrics, list(audience.kpis or [])[:4], locale="ja_JP", currency=currency)
    result["email"] = render_email_body(metrics, loaded, audience, locale="ja_JP", charts=charts)
    result["charts"] = charts
    return result


def test_a_japanese_executive_pdf_reads_japanese_in_the_shipped_fonts(built: dict[str, Any]) -> None:
    rendered, pdf = built["ja_JP"]
    assert rendered.warnings == ()
    text = pdf_text(pdf)
    for word in ("主な変化", "売上高", "解約率", "2025年12月", "前月比", "実績"):
        assert word in text, word
    for english in ("What changed", "Sales revenue", "December 2025", "last month"):
        assert english not in text, english
    fonts = pdf_fonts(pdf)  # embedded (pdf_fonts fails on a font that is not)
    assert {"Noto-Sans-CJK-JP", "Noto-Sans-CJK-JP-Bold"} <= fonts, fonts
    assert [n for n in fonts if not n.startswith(("Inter", "Noto-Sans-CJK-JP"))] == [], fonts  # no system font
    assert untypeset(text, shipped_code_points()) == []
    latin = built["en_US"][1]
    assert pdf_pages(pdf) == pdf_pages(latin) == 1  # Japanese labels do not push the table over a page
    assert {name.split("-")[0] for name in pdf_fonts(latin)} == {"Inter"}, pdf_fonts(latin)  # Latin: Inter only


def test_the_japanese_html_embeds_the_cjk_font_and_a_latin_one_does_not(built: dict[str, Any]) -> None:
    rendered, _ = built["ja_JP"]
    assert '"Inter", "Noto Sans CJK JP"' in rendered.html
    # the CJK faces are cut to the page's own characters: every one Inter lacks, and not 3.6 MB
    urls = re.findall(r'font-family: "Noto Sans CJK JP"; src: url\("data:font/otf;base64,([^"]+)"\)', rendered.html)
    assert len(urls) == 2
    inter = set()
    for path in FONTS_DIR.glob("Inter-*.otf"):
        with TTFont(path, lazy=True) as font:
            inter |= set(font.getBestCmap())
    page = re.sub(r'url\("data:[^"]+"\)', "", rendered.html)
    for url in urls:
        with TTFont(io.BytesIO(base64.b64decode(url))) as font:
            assert untypeset(page, inter | set(font.getBestCmap())) == []
            assert len(font.getBestCmap()) < 400
    assert len(rendered.html) < 1_200_000
    latin, _ = built["en_US"]
    assert '"Inter", "Noto Sans CJK JP"' in latin.html  # a stray Japanese name falls back to the reader's font
    assert 'font-family: "Noto Sans CJK JP"; src' not in latin.html  # 3.6 MB a Latin HTML does not need
    assert len(latin.html) < 1_000_000


def test_the_japanese_email_body_and_its_charts(built: dict[str, Any]) -> None:
    body = built["email"]
    assert "主な変化" in body.text and "[要対応]" in body.text and "解約率" in body.text
    assert "What changed" not in body.text
    assert untypeset(body.text, shipped_code_points()) == []
    assert built["charts"], "the example has trend charts for the email"


def test_japanese_sentences_end_with_full_width_marks(built: dict[str, Any]) -> None:
    from reportgen.render.narrative import punctuated

    assert (punctuated("A は5%増, 計画を上回る; 最大の寄与: B（x; y）.", "ja_JP")
            == "A は5%増、計画を上回る。最大の寄与: B（x、y）。")
    assert punctuated("Sales rose 2.5%, on plan; x.", "en_US") == "Sales rose 2.5%, on plan; x."
    lines = [line for line in built["email"].text.splitlines() if line.startswith("* ")]
    assert lines and all(line.endswith("。") and ", " not in line for line in lines), lines


def test_the_pdf_loads_the_cjk_faces_only_for_a_text_that_needs_them() -> None:
    """WeasyPrint loads every face it is given (2.7 MB for the CJK pair: time and temporary files for
    each Latin document, which a write-limited build could not afford)."""
    from reportgen.assets import CJK_FAMILY, font_faces_css

    assert CJK_FAMILY not in font_faces_css(embed=False, text="Sales revenue $1.76M, Umsatz 1,76 Mio. €")
    assert CJK_FAMILY in font_faces_css(embed=False, text="売上高 $1.76M")
    assert CJK_FAMILY in font_faces_css(embed=False)  # text unknown: every face


def test_the_shipped_list_of_inter_s_characters_is_the_font_s_own() -> None:
    """Which characters need the CJK faces is decided from ``Inter.codepoints`` (reading the font cost
    every build 0.07 s): the list must be exactly the character map of the shipped Inter, or a
    character Inter lacks would be drawn as tofu. After the font changes: ``write_code_points()``."""
    from reportgen.assets import INTER_CODE_POINTS, _inter_code_points, font_code_points

    shipped = font_code_points(FONTS_DIR / "Inter-Regular.otf")
    assert _inter_code_points() == shipped, f"{INTER_CODE_POINTS.name} is stale: run write_code_points()"
    for face in ("Inter-Regular.woff2", "Inter-SemiBold.woff2", "Inter-Bold.woff2", "Inter-Italic.woff2"):
        assert font_code_points(FONTS_DIR / face) >= shipped, face  # each face draws what the list says
