"""A column chart as a PNG, drawn with Pillow: the trend charts of the e-mail body.

Mail clients show no SVG, so the e-mail's charts must be raster images. They used to be matplotlib
figures: about 0.5 s to import matplotlib per process and 80-130 ms per chart (figure, Agg, savefig,
then a palette pass), twice per report, which was a third of the cost of each extra report in a
burst. A column chart is rectangles, a few grid lines and short labels, so it is drawn here
directly with Pillow (already a WeasyPrint dependency) in a few milliseconds, with the report's own
font (Inter, the OTF that ships with reportgen) instead of matplotlib's DejaVu Sans.

The chart is drawn at twice its display size (sharp on HiDPI screens) on pixel boundaries, so the
rectangles and lines need no anti-aliasing; the text is anti-aliased by FreeType. The palette is
grey by design (actual dark, earlier periods grey, as in the PDF), so the image is an 8-bit
greyscale PNG: a few KB, and shown by every mail client.
"""
from __future__ import annotations

import io
import math
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING

from reportgen.assets import raster_font_file
from reportgen.charts.svg import AC_COLOR, AXIS_COLOR, MUTED_BAR_COLOR, TEXT_COLOR

if TYPE_CHECKING:
    from PIL import ImageFont

GRID_COLOR = "#e6e6e6"
BACKGROUND = "#ffffff"
SCALE = 2
"""Pixels per CSS pixel: the PNG is drawn at twice its display size."""
FONT_PX = 10
"""Tick label size in CSS pixels (about the 7 pt of the matplotlib version at its 200 dpi)."""
PLOT_BOX = (0.11, 0.2, 0.87, 0.74)
"""Plot area as fractions of the image (left, bottom, width, height), as the matplotlib version had."""
BAR_WIDTH = 0.7
"""Bar width as a fraction of one period's slot."""
MAX_X_LABELS = 6


def column_png(values: Sequence[float], labels: Sequence[str], *, width: int, height: int,
               tick_label: Callable[[float], str]) -> bytes:
    """One bar per value over its label, the last bar dark (the reported period), earlier ones grey.

    ``width`` and ``height`` are the display size in CSS pixels; ``tick_label`` formats a y-axis
    tick (e.g. ``$1.5M``). A missing value (NaN) is a gap, never a bar at 0. At most three y-axis
    intervals on "nice" steps (1, 1.5, 2, 2.5, 3, 5 times a power of ten) and at most six x labels.
    """
    from PIL import Image, ImageDraw

    w, h = width * SCALE, height * SCALE
    image = Image.new("L", (w, h), _grey(BACKGROUND))
    draw = ImageDraw.Draw(image)
    left, bottom_frac, plot_w, plot_h = PLOT_BOX
    x0, x1 = round(left * w), round((left + plot_w) * w)
    y_top, y_base = round((1 - bottom_frac - plot_h) * h), round((1 - bottom_frac) * h)

    finite = [v for v in values if math.isfinite(v)]
    low = min([0.0, *finite])
    high = max([0.0, *finite])
    step = nice_step((high - low) / 3 if high > low else 1.0)
    ticks = _ticks(low, high, step)
    span_low, span_high = min(low, ticks[0]), max(high * 1.05, ticks[-1]) if high > 0 else max(ticks[-1], step)
    if span_high <= span_low:
        span_high = span_low + 1

    def y_of(value: float) -> int:
        return round(y_base - (value - span_low) / (span_high - span_low) * (y_base - y_top))

    for tick in ticks:  # grid lines and tick labels first, bars over them
        y = y_of(tick)
        draw.line([(x0, y), (x1, y)], fill=_grey(GRID_COLOR), width=SCALE // 2 + 1)
        text = tick_label(tick)
        draw.text((x0 - 8 * SCALE, y), text, font=_font(FONT_PX * SCALE, text), fill=_grey(TEXT_COLOR), anchor="rm")

    n = max(len(values), 1)
    slot = (x1 - x0) / n
    zero = y_of(0.0)
    for i, value in enumerate(values):
        if not math.isfinite(value):
            continue
        centre = x0 + slot * (i + 0.5)
        half = slot * BAR_WIDTH / 2
        top, base = sorted((y_of(value), zero))
        color = AC_COLOR if i == len(values) - 1 else MUTED_BAR_COLOR
        draw.rectangle([round(centre - half), top, round(centre + half) - 1, max(base - 1, top)], fill=_grey(color))
    draw.line([(x0, zero), (x1, zero)], fill=_grey(AXIS_COLOR), width=SCALE)

    every = max(1, math.ceil(len(labels) / MAX_X_LABELS))
    for i in range(0, len(labels), every):
        centre = x0 + slot * (i + 0.5)
        font = _font(FONT_PX * SCALE, labels[i])
        draw.text((centre, y_base + 6 * SCALE), labels[i], font=font, fill=_grey(TEXT_COLOR), anchor="mt")

    out = io.BytesIO()
    image.save(out, format="PNG")  # optimize=True saved ~0.5 KB a chart for 10 ms, twice per report
    return out.getvalue()


def nice_step(raw: float) -> float:
    """The smallest "nice" step (1, 1.5, 2, 2.5, 3 or 5 times a power of ten) at least ``raw``."""
    if not math.isfinite(raw) or raw <= 0:
        return 1.0
    power = 10.0 ** math.floor(math.log10(raw))
    for factor in (1.0, 1.5, 2.0, 2.5, 3.0, 5.0, 10.0):
        if factor * power >= raw * (1 - 1e-9):
            return factor * power
    return 10.0 * power


def _ticks(low: float, high: float, step: float) -> list[float]:
    """Multiples of ``step`` from the one at or below ``low`` to the last at or below ``high`` (0 included)."""
    first = math.floor(low / step + 1e-9)
    last = max(math.floor(high / step + 1e-9), first)
    return [k * step for k in range(first, last + 1)]


def _font(size: int, text: str) -> ImageFont.FreeTypeFont:
    """The font for ``text`` (Inter, or the CJK fallback for a Japanese label) at ``size`` pixels."""
    return _font_file(size, str(raster_font_file(text)))


@lru_cache(maxsize=8)
def _font_file(size: int, path: str) -> ImageFont.FreeTypeFont:
    """A font file at ``size`` pixels, loaded once per process."""
    from PIL import ImageFont

    return ImageFont.truetype(path, size)


@lru_cache(maxsize=32)
def _grey(color: str) -> int:
    """A ``#rrggbb`` colour as an 8-bit grey (the chart palette is grey by design)."""
    from PIL import ImageColor

    return int(ImageColor.getcolor(color, "L"))  # type: ignore[arg-type]  # "L" gives an int
