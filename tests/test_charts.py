"""Charts: inline-ready SVG, IBCS notation, missing values as gaps, and text that survives into the PDF."""

from __future__ import annotations

import io
import logging
import math
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

from reportgen import charts
from reportgen.assets import FONT_FAMILY, font_faces_css
from reportgen.charts.trend import _nice_ticks

SVG = "{http://www.w3.org/2000/svg}"
MONTHS = ["Jan 25", "Feb 25", "Mar 25", "Apr 25", "May 25", "Jun 25"]


def money(value: float) -> str:
    return f"${value:,.0f}"


def signed_money(value: float) -> str:
    sign = "+" if value >= 0 else "\u2212"
    return f"{sign}${abs(value):,.0f}"


CHART_BUILDERS = {
    "sparkline": lambda: charts.sparkline([3.0, 4.0, None, 5.0, 6.0]),
    "bullet": lambda: charts.bullet(85.0, 100.0),
    "variance": lambda: charts.variance_bars(
        ["North", "South"], [1200.0, -800.0], higher_is_better=True, value_format=signed_money
    ),
    "breakdown": lambda: charts.breakdown_bars(["North", "South"], [1200.0, 800.0], value_format=money),
    "funnel": lambda: charts.funnel([("Leads", 100.0), ("Won", 20.0)], value_format=money),
    "trend": lambda: charts.trend(
        MONTHS, [1.0, 2.0, None, 4.0, None, None], prior_year=[1.0] * 6, target=[2.0] * 6,
        forecast=[None, None, None, None, 5.0, 6.0], value_format=money,
    ),
}


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def elements_with_class(root: ET.Element, cls: str) -> list[ET.Element]:
    return [el for el in root.iter() if cls in el.get("class", "").split()]


def ids_of(svg: str) -> list[str]:
    return [el.get("id") for el in parse(svg).iter() if el.get("id")]


@pytest.mark.parametrize("name", CHART_BUILDERS)
def test_chart_is_inline_ready_svg(name):
    svg = CHART_BUILDERS[name]()
    root = parse(svg)  # well-formed XML
    assert root.tag == f"{SVG}svg"
    assert not svg.lstrip().startswith("<?xml") and "<!DOCTYPE" not in svg
    assert re.fullmatch(r"0 0 [\d.]+ [\d.]+", root.get("viewBox"))
    assert root.get("width") is None and root.get("height") is None  # CSS decides the size
    assert root.get("role") == "img" and root.get("aria-label")
    assert root.find(f"{SVG}title").text
    assert "<script" not in svg and "<style" not in svg
    assert 'href="http' not in svg and "url(http" not in svg


@pytest.mark.parametrize("name", CHART_BUILDERS)
def test_ids_are_unique_across_calls_and_references_stay_inside_the_chart(name):
    first, second = CHART_BUILDERS[name](), CHART_BUILDERS[name]()
    all_ids = ids_of(first) + ids_of(second)
    assert len(all_ids) == len(set(all_ids))
    for svg in (first, second):
        references = re.findall(r'(?:url\(#|href="#)([^")]+)', svg)
        assert set(references) <= set(ids_of(svg))


def test_sparkline_breaks_the_line_at_missing_values():
    root = parse(charts.sparkline([1.0, 2.0, None, 3.0, 4.0, math.nan, 5.0]))
    lines = elements_with_class(root, "rg-ac")
    assert [el.tag for el in lines] == [f"{SVG}polyline", f"{SVG}polyline", f"{SVG}circle"]
    assert [len(el.get("points").split()) for el in lines[:2]] == [2, 2]


def test_sparkline_last_point_is_the_actual_and_grey_is_left_to_the_prior_year():
    """The end dot is the reported actual: AC colour whichever way it moved (a green or orange dot read
    as the status), and no grey min/max dots (grey means PY, issue 18)."""
    for rising in ([1.0, 2.0, 3.0], [3.0, 2.0, 1.0]):
        for higher in (True, False):
            svg = charts.sparkline(rising, higher_is_better=higher)
            assert elements_with_class(parse(svg), "rg-last")[0].get("fill") == charts.AC_COLOR
            assert charts.PY_COLOR not in svg and charts.GOOD_COLOR not in svg and charts.BAD_COLOR not in svg


def test_sparkline_with_no_values_is_an_empty_chart():
    root = parse(charts.sparkline([None, None]))
    assert not elements_with_class(root, "rg-ac")


def test_bullet_scale_starts_at_zero_and_marks_the_target():
    root = parse(charts.bullet(50.0, 100.0, maximum=200.0, width=200))
    bar = elements_with_class(root, "rg-ac")[0]
    marker = elements_with_class(root, "rg-pl")[0]
    assert float(bar.get("x")) == 0 and float(bar.get("width")) == pytest.approx(50.0)
    assert float(marker.get("x1")) == pytest.approx(100.0)
    assert len(elements_with_class(root, "rg-band")) == 3  # below 90 %, 90-100 %, above target


def test_bullet_without_actual_shows_an_empty_track_and_na():
    root = parse(charts.bullet(None, 100.0))
    assert not elements_with_class(root, "rg-ac")
    assert [t.text for t in root.iter(f"{SVG}text")] == ["n/a"]
    assert elements_with_class(root, "rg-band")


def test_bullet_bands_darken_towards_the_bad_end():
    def band_fills(higher_is_better: bool) -> list[str]:
        root = parse(charts.bullet(10.0, 20.0, ranges=[10.0, 20.0], maximum=30.0, higher_is_better=higher_is_better))
        return [band.get("fill") for band in elements_with_class(root, "rg-band")]

    assert band_fills(True)[0] == band_fills(False)[-1] == charts.BAND_COLORS[0]


def test_variance_colours_follow_direction_and_missing_has_no_bar():
    def bars(higher_is_better: bool) -> ET.Element:
        return parse(
            charts.variance_bars(
                ["North", "South", "East"], [1200.0, -800.0, None],
                higher_is_better=higher_is_better, value_format=signed_money,
            )
        )

    higher = bars(True)
    assert len(elements_with_class(higher, "rg-good")) == 1 and len(elements_with_class(higher, "rg-bad")) == 1
    north = elements_with_class(higher, "rg-good")[0]
    south = elements_with_class(higher, "rg-bad")[0]
    assert north.get("fill") == charts.GOOD_COLOR and south.get("fill") == charts.BAD_COLOR
    assert float(south.get("x")) + float(south.get("width")) == pytest.approx(float(north.get("x")))  # both meet at 0
    assert float(north.get("width")) == pytest.approx(1.5 * float(south.get("width")))
    lower = bars(False)
    assert elements_with_class(lower, "rg-bad")[0].get("y") == north.get("y")  # +1200 is bad for a cost
    texts = [t.text for t in higher.iter(f"{SVG}text")]
    assert {"+$1,200", "\u2212$800", "n/a"} <= set(texts)


def test_no_red_or_green_outside_variances():
    neutral = [CHART_BUILDERS[name]() for name in ("bullet", "breakdown", "funnel", "trend")]
    for svg in neutral:
        assert charts.GOOD_COLOR not in svg.lower() and charts.BAD_COLOR not in svg.lower()


def test_breakdown_sorts_descending_and_leaves_missing_without_a_bar():
    root = parse(
        charts.breakdown_bars(["A", "B", "C"], [10.0, None, 30.0], value_format=money, highlight="A")
    )
    labels = [t.text for t in root.iter(f"{SVG}text") if not t.text.startswith("$") and t.text != "n/a"]
    assert labels == ["C", "A", "B"]
    dark, muted = elements_with_class(root, "rg-ac"), elements_with_class(root, "rg-muted")
    assert len(dark) == 1 and len(muted) == 1  # A highlighted, C muted, B has no bar
    assert float(muted[0].get("width")) == pytest.approx(3 * float(dark[0].get("width")), rel=1e-3)


def test_funnel_shows_conversion_between_stages_and_skips_missing():
    svg = charts.funnel(
        [("Leads", 200.0), ("Opportunities", 50.0), ("Won", None)],
        value_format=money, conversion_format=lambda p: f"{p * 100:.1f} %",
    )
    root = parse(svg)
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert "\u2193 25.0 %" in texts and "\u2193 n/a" in texts
    widths = [float(bar.get("width")) for bar in elements_with_class(root, "rg-ac")]
    assert len(widths) == 2 and widths[0] == pytest.approx(4 * widths[1], rel=1e-3)  # coordinates have 2 decimals


def test_trend_draws_gaps_for_missing_actuals_and_hatches_forecasts_only_after():
    svg = CHART_BUILDERS["trend"]()
    actual_columns = sorted(int(i.rsplit("-", 1)[1]) for i in ids_of(svg) if "-rg-ac-" in i)
    forecast_columns = sorted(int(i.rsplit("-", 1)[1]) for i in ids_of(svg) if "-rg-fc-" in i)
    assert actual_columns == [0, 1, 3]  # March is missing: no column at all, not a zero one
    assert forecast_columns == [4, 5]
    assert "<pattern" in svg  # the hatch is an SVG pattern


def test_trend_text_stays_text():
    root = parse(CHART_BUILDERS["trend"]())
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert "Jan 25" in texts and "$4" in texts
    assert not list(root.iter(f"{SVG}use"))  # glyphs drawn as paths would be <use> references
    assert all(FONT_FAMILY in t.get("font-family", "") for t in root.iter(f"{SVG}text"))


def test_trend_switches_to_lines_for_long_series_and_keeps_gaps():
    labels = [f"P{i}" for i in range(30)]
    values = [float(i) for i in range(30)]
    values[10] = None
    svg = charts.trend(labels, values, value_format=lambda v: f"{v:.0f}")
    root = parse(svg)
    line = next(el for el in root.iter() if (el.get("id") or "").endswith("-rg-ac"))
    path = line.find(f"{SVG}path").get("d")
    assert path.count("M ") == 2  # the missing period splits the line in two


def test_mismatched_lengths_are_a_clear_error():
    with pytest.raises(ValueError, match="2 labels but 3 values"):
        charts.breakdown_bars(["a", "b"], [1.0, 2.0, 3.0], value_format=money)


# --- Rendering through WeasyPrint: the font is embedded and chart text stays text -----------------


def test_page_with_all_charts_renders_to_pdf_with_embedded_inter_and_searchable_text(tmp_path, caplog):
    import pypdf
    import weasyprint

    body = "".join(f'<div class="chart">{build()}</div>' for build in CHART_BUILDERS.values())
    html = (
        f"<html><head><style>{font_faces_css(embed=False)}"
        f"body {{ font-family: {FONT_FAMILY}; }} .chart {{ width: 12cm; margin: 4mm 0; }}</style></head>"
        f"<body><h1>Charts</h1>{body}</body></html>"
    )
    with caplog.at_level(logging.WARNING, logger="weasyprint"):
        pdf = weasyprint.HTML(string=html).write_pdf()
    assert not [r for r in caplog.records if r.name.startswith("weasyprint")], caplog.text

    reader = pypdf.PdfReader(io.BytesIO(pdf))
    text = "".join(page.extract_text() for page in reader.pages)
    assert "Feb 25" in text  # matplotlib axis label
    assert "North" in text and "Leads" in text  # direct-SVG labels
    font_names = {
        str(font.get_object()["/BaseFont"])
        for page in reader.pages
        for font in page["/Resources"]["/Font"].values()
    }
    assert font_names and all("Inter" in name for name in font_names), font_names

    if shutil.which("pdftoppm") is None:
        pytest.skip("pdftoppm not installed")
    pdf_path = tmp_path / "charts.pdf"
    pdf_path.write_bytes(pdf)
    subprocess.run(
        ["pdftoppm", "-r", "60", "-png", "-f", "1", "-l", "1", str(pdf_path), str(tmp_path / "page")], check=True
    )
    from PIL import Image

    image = Image.open(next(tmp_path.glob("page*.png"))).convert("RGB")
    colours = {colour for _count, colour in image.getcolors(maxcolors=1 << 20)}
    assert _near(colours, charts.GOOD_COLOR) and _near(colours, charts.BAD_COLOR)


def _near(colours: set[tuple[int, int, int]], hex_colour: str) -> bool:
    target = tuple(int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return any(sum(abs(a - b) for a, b in zip(colour, target)) < 12 for colour in colours)


def test_breakdown_bars_share_a_scale_when_given_a_maximum() -> None:
    """Two breakdowns of one KPI: with a common maximum, equal values draw equal bars."""
    import xml.etree.ElementTree as ET

    from reportgen.charts import breakdown_bars

    def widths(svg: str) -> list[float]:
        ns = "{http://www.w3.org/2000/svg}"
        return [float(r.get("width")) for r in ET.fromstring(svg).iter(f"{ns}rect") if r.get("class") == "rg-ac"]

    fmt_ = lambda v: f"{v:05.0f}"  # noqa: E731  (same text width in both charts)
    small = breakdown_bars(["a", "b"], [50.0, 25.0], value_format=fmt_, maximum=100.0)
    large = breakdown_bars(["c", "d"], [100.0, 50.0], value_format=fmt_, maximum=100.0)
    assert widths(small)[0] == pytest.approx(widths(large)[1])
    own = breakdown_bars(["a", "b"], [50.0, 25.0], value_format=fmt_)
    assert widths(own)[0] == pytest.approx(widths(large)[0])  # without it each chart fills its width


# --- The trend is direct SVG: no matplotlib, same IBCS layout -------------------------------------


def test_trend_does_not_import_matplotlib():
    """matplotlib costs about 0.5 s to import per process; no chart may pull it in again."""
    code = (
        "import sys\nfrom reportgen import charts\n"
        "charts.trend(['a', 'b', 'c'], [1.0, 2.0, 3.0], prior_year=[1.0, 1.0, 1.0], target=[2.0] * 3)\n"
        "charts.trend([str(i) for i in range(30)], [float(i) for i in range(30)], forecast=[1.0] * 30)\n"
        "assert 'matplotlib' not in sys.modules, 'matplotlib imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_trend_columns_start_at_zero_with_prior_year_behind_and_left():
    root = parse(charts.trend(["a", "b"], [10.0, 20.0], prior_year=[5.0, None], value_format=money))
    ac = {el.get("id").rsplit("-", 1)[1]: el for el in elements_with_class(root, "rg-ac")}
    py = elements_with_class(root, "rg-py")
    assert len(py) == 1  # the missing prior year of "b" has no column
    bottom = lambda el: float(el.get("y")) + float(el.get("height"))  # noqa: E731
    assert bottom(ac["0"]) == pytest.approx(bottom(ac["1"])) == pytest.approx(bottom(py[0]))  # one zero line
    assert float(ac["1"].get("height")) == pytest.approx(2 * float(ac["0"].get("height")), rel=1e-3)
    assert float(py[0].get("height")) == pytest.approx(0.5 * float(ac["0"].get("height")), rel=1e-3)
    assert float(py[0].get("x")) < float(ac["0"].get("x"))


def test_trend_value_label_sits_above_the_plan_marker():
    root = parse(charts.trend(["a"], [10.0], target=[15.0], value_format=money))
    marker = elements_with_class(root, "rg-pl")[0]
    label = next(t for t in root.iter(f"{SVG}text") if t.text == "$10")
    assert float(label.get("y")) < float(marker.get("y1"))  # y grows downwards


def test_trend_lines_have_an_axis_with_nice_ticks_and_hollow_plan_markers():
    labels = [f"P{i}" for i in range(24)]
    svg = charts.trend(labels, [float(100 + i) for i in range(24)], target=[110.0] * 24,
                       value_format=lambda v: f"{v:.0f}")
    root = parse(svg)
    ticks = [t.text for t in root.iter(f"{SVG}text") if t.get("text-anchor") == "end"]
    assert ticks and all(int(t) % 2 == 0 or int(t) % 5 == 0 for t in ticks)
    markers = elements_with_class(root, "rg-pl-marker")
    assert len(markers) == 24 and all(m.get("fill") == charts.BACKGROUND for m in markers)


@pytest.mark.parametrize(("low", "high", "expected"), [
    (0.0, 100.0, [0.0, 25.0, 50.0, 75.0, 100.0]),
    (0.0, 1.0e6, [0.0, 250000.0, 500000.0, 750000.0, 1.0e6]),
    (-3.0, 7.0, [-2.5, 0.0, 2.5, 5.0]),
    (5.0, 5.0, [5.0]),
])
def test_nice_ticks(low, high, expected):
    assert _nice_ticks(low, high) == pytest.approx(expected)


# --- E-mail charts: a PNG drawn with Pillow, bars in proportion to the series ----------------------


def _bar_heights(png: bytes, n: int) -> list[tuple[int, int]]:
    """(height in px, grey level) of the bar in each of ``n`` slots, read from the image itself."""
    import io

    from PIL import Image

    from reportgen.charts.raster import PLOT_BOX

    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG"
    w, h = image.size
    left, bottom, width, height = PLOT_BOX
    x0, x1 = round(left * w), round((left + width) * w)
    base = round((1 - bottom) * h)
    bars = []
    for i in range(n):
        x = round(x0 + (x1 - x0) / n * (i + 0.5))
        column = [image.getpixel((x, y)) for y in range(base)]
        grey = column[base - 3]
        filled = 0
        for y in range(base - 3, -1, -1):
            if column[y] != grey:
                break
            filled += 1
        bars.append((filled if grey < 200 else 0, grey))
    return bars


def test_email_column_chart_is_a_png_of_the_series():
    import io

    from PIL import Image

    from reportgen.charts.raster import column_png
    from reportgen.charts.svg import AC_COLOR, MUTED_BAR_COLOR

    png = column_png([10.0, 20.0, math.nan, 40.0], ["Jan", "Feb", "Mar", "Apr"], width=280, height=150,
                     tick_label=lambda y: f"{y:g}")

    image = Image.open(io.BytesIO(png))
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and image.size == (560, 300)  # twice the display size
    (h1, g1), (h2, g2), (h3, _), (h4, g4) = _bar_heights(png, 4)
    assert h3 == 0  # a missing period is a gap, never a bar at 0
    assert h1 > 10 and abs(h2 / h1 - 2) < 0.1 and abs(h4 / h1 - 4) < 0.1
    muted, dark = (int(Image.new("RGB", (1, 1), c).convert("L").getpixel((0, 0))) for c in (MUTED_BAR_COLOR, AC_COLOR))
    assert (g1, g2, g4) == (muted, muted, dark)  # the reported period is dark, earlier ones grey


def test_email_column_chart_handles_negative_and_empty_series():
    from reportgen.charts.raster import column_png, nice_step

    assert column_png([-5.0, 3.0], ["a", "b"], width=100, height=60, tick_label=str).startswith(b"\x89PNG")
    assert column_png([math.nan, math.nan], ["a", "b"], width=100, height=60, tick_label=str).startswith(b"\x89PNG")
    assert [nice_step(x) for x in (0.9, 1.2, 2.6, 4, 700_000, 1_100_000)] == [1, 1.5, 3, 5, 1_000_000, 1_500_000]


def test_email_charts_do_not_import_matplotlib():
    """matplotlib costs about 0.5 s to import per process; the e-mail's PNG charts need Pillow only."""
    code = (
        "import sys, math\n"
        "from reportgen.charts.raster import column_png\n"
        "column_png([1.0, 2.0], ['a', 'b'], width=100, height=60, tick_label=str)\n"
        "assert 'matplotlib' not in sys.modules, 'matplotlib imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_chart_ids_are_numbered_per_scorecard_even_when_two_draw_at_once() -> None:
    """Two scorecards drawn in two threads (a Dask worker's threads) each number their charts from 1;
    one resetting its numbering does not renumber the other's (the counter was a process global)."""
    import re
    import threading

    from reportgen.charts import reset_chart_ids, sparkline

    first_drawn, second_reset = threading.Event(), threading.Event()
    ids: dict[str, list[str]] = {"a": [], "b": []}

    def draw(name: str, before: threading.Event | None, after: threading.Event | None) -> None:
        reset_chart_ids()
        if before is not None:
            before.wait(5)
        for _ in range(2):
            svg = sparkline([1.0, 2.0, 3.0], width=60, height=14, title="t")
            ids[name].append(re.search(r'id="(rg-spark-\d+)', svg)[1])  # type: ignore[index]
            if after is not None:
                after.set()
                second_reset.wait(5)

    a = threading.Thread(target=draw, args=("a", None, first_drawn))
    b = threading.Thread(target=lambda: (first_drawn.wait(5), draw("b", None, None), second_reset.set()))
    a.start()
    b.start()
    a.join(10)
    b.join(10)
    assert ids == {"a": ["rg-spark-1", "rg-spark-2"], "b": ["rg-spark-1", "rg-spark-2"]}
