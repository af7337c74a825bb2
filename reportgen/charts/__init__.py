"""Charts for scorecards, each returned as an SVG string to inline in HTML.

The design language is IBCS notation with Tufte's and Few's restraint:

* Scenarios always look the same: actual (AC) solid dark, prior year (PY) solid light grey, plan or
  target (PL) outlined, forecast (FC) hatched. A reader who learnt it once reads every chart.
* Colour means judgement and nothing else: ``GOOD`` and ``BAD`` mark favourable and unfavourable
  variances, chosen by the KPI's direction (``higher_is_better``). They are Okabe-Ito bluish green
  and vermilion, which stay apart for readers with red-green colour vision deficiency.
* No chart junk: no gridlines, boxes or legends where a direct label will do.

Every chart, the trend with its axis layout included, is written directly as SVG markup: well under
a millisecond each against 30-50 ms for a matplotlib figure (see PERFORMANCE.md), no matplotlib
import (about 0.5 s per process), and few, simple elements for WeasyPrint to lay out. Text is SVG
text in the report's font, so it is searchable and selectable in the PDF.

Every SVG has a ``viewBox`` and no fixed size, so CSS sizes it; ``role="img"``, an ``aria-label`` and
a ``<title>``; ids unique per call, so many charts can share one page; no scripts and no external
references. A missing value (None or NaN) leaves a gap and is never drawn as zero.

The package: :mod:`.svg` (palette, sizes and SVG building blocks), :mod:`.sparkline` (sparkline and
bullet), :mod:`.bars` (variance bars, breakdown bars, funnel) and :mod:`.trend`. The charts and the
palette are re-exported here. :mod:`.raster` draws the e-mail body's column charts as PNG with Pillow
(mail clients show no SVG); it is imported only by the e-mail renderer.
"""

from __future__ import annotations

from reportgen.charts.bars import breakdown_bars, funnel, variance_bar, variance_bars
from reportgen.charts.sparkline import bullet, sparkline
from reportgen.charts.svg import (
    AC_COLOR,
    AXIS_COLOR,
    BACKGROUND,
    BAD_COLOR,
    BAND_COLORS,
    FC_COLOR,
    GOOD_COLOR,
    MISSING_LABEL,
    MUTED_BAR_COLOR,
    MUTED_TEXT_COLOR,
    PL_COLOR,
    PY_COLOR,
    TEXT_COLOR,
    reset_chart_ids,
)
from reportgen.charts.trend import TrendKind, trend

__all__ = [
    "AC_COLOR",
    "AXIS_COLOR",
    "BACKGROUND",
    "BAD_COLOR",
    "BAND_COLORS",
    "FC_COLOR",
    "GOOD_COLOR",
    "MISSING_LABEL",
    "MUTED_BAR_COLOR",
    "MUTED_TEXT_COLOR",
    "PL_COLOR",
    "PY_COLOR",
    "TEXT_COLOR",
    "TrendKind",
    "breakdown_bars",
    "bullet",
    "funnel",
    "reset_chart_ids",
    "sparkline",
    "trend",
    "variance_bar",
    "variance_bars",
]
