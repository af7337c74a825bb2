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
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from typing import Literal
from xml.sax.saxutils import escape, quoteattr

from reportgen.assets import FONT_FAMILY

# --- One palette and one style for all charts --------------------------------------------------

AC_COLOR = "#262626"
"""Actual: solid, near black."""
PY_COLOR = "#b8b8b8"
"""Prior year: solid light grey."""
PL_COLOR = "#262626"
"""Plan/target: outline only, in the actual's colour, on white."""
FC_COLOR = "#262626"
"""Forecast: hatch lines in the actual's colour, on white."""
GOOD_COLOR = "#009e73"
"""Favourable variance: Okabe-Ito bluish green."""
BAD_COLOR = "#d55e00"
"""Unfavourable variance: Okabe-Ito vermilion; distinct from GOOD_COLOR in deuteranopia."""
MUTED_BAR_COLOR = "#9e9e9e"
"""Bars that are not highlighted when one category is."""
BAND_COLORS = ("#bdbdbd", "#d4d4d4", "#e3e3e3", "#ededed", "#f5f5f5")
"""Bullet-chart qualitative bands, darkest for the worst range (Few)."""
TEXT_COLOR = "#333333"
MUTED_TEXT_COLOR = "#6b6b6b"
"""Secondary labels; still above 4.5:1 contrast on white."""
AXIS_COLOR = "#8a8a8a"
BACKGROUND = "#ffffff"

FONT_STACK = f"{FONT_FAMILY}, 'Helvetica Neue', Arial, sans-serif"
FONT_SIZE = 11.0
"""Labels, in SVG user units; charts are drawn near 1 unit = 1 CSS px."""
SMALL_FONT_SIZE = 9.5
"""Value labels and axis ticks."""
STROKE_WIDTH = 1.0
MARKER_STROKE_WIDTH = 2.0
"""Target markers and plan outlines, heavier so they read at small sizes."""
CHAR_WIDTH_EM = 0.6
"""Inter's average digit and letter advance is 0.53-0.60 em; used to reserve room for labels."""

MISSING_LABEL = "n/a"

_ids = itertools.count(1)


# --- Sparkline ---------------------------------------------------------------------------------


def sparkline(
    values: Sequence[float | None],
    *,
    width: int = 120,
    height: int = 28,
    higher_is_better: bool = True,
    title: str = "Trend",
) -> str:
    """A word-sized trend line (Tufte): no axes, min and max as faint dots, the last point marked.

    The last point is coloured GOOD or BAD when it moved the favourable or unfavourable way since
    the previous value, so the direction of the latest change reads at a glance. Missing values
    break the line.
    """
    uid = _new_id("spark")
    pad = 3.0
    present = [(i, float(v)) for i, v in enumerate(values) if not _is_missing(v)]
    body: list[str] = []
    if present:
        low, high = min(v for _, v in present), max(v for _, v in present)
        x_of = _linear(0, max(len(values) - 1, 1), pad, width - pad)
        y_of = _linear(low, high, height - pad, pad) if high > low else (lambda _v: height / 2)
        for run in _runs(values):
            points = [(x_of(i), y_of(v)) for i, v in run]
            if len(points) == 1:
                body.append(_circle(*points[0], 1.0, AC_COLOR, cls="rg-ac"))
            else:
                body.append(_polyline(points, AC_COLOR, STROKE_WIDTH, cls="rg-ac"))
        if high > low:
            i_min = next(i for i, v in present if v == low)
            i_max = next(i for i, v in present if v == high)
            body.append(_circle(x_of(i_min), y_of(low), 1.5, PY_COLOR, cls="rg-min"))
            body.append(_circle(x_of(i_max), y_of(high), 1.5, PY_COLOR, cls="rg-max"))
        last_i, last_v = present[-1]
        previous = present[-2][1] if len(present) > 1 else None
        body.append(
            _circle(x_of(last_i), y_of(last_v), 2.2, _change_color(previous, last_v, higher_is_better), cls="rg-last")
        )
    return _svg(uid, width, height, title, body)


# --- Bullet ------------------------------------------------------------------------------------


def bullet(
    actual: float | None,
    target: float | None,
    *,
    ranges: Sequence[float] | None = None,
    maximum: float | None = None,
    higher_is_better: bool = True,
    width: int = 220,
    height: int = 30,
    title: str = "Actual against target",
    missing_label: str = MISSING_LABEL,
) -> str:
    """Few's bullet graph: one linear scale from 0, grey qualitative bands, actual as a dark bar,
    target as a vertical marker.

    ``ranges`` are the upper bounds of the bands in the KPI's unit, ascending. Without them and with
    a target, the bands follow the default status thresholds (90 % and 100 % of target, mirrored
    for lower-is-better KPIs), so the grey shades agree with the status the report prints.
    """
    uid = _new_id("bullet")
    bounds = _bullet_bounds(target, ranges, higher_is_better)
    top = max([maximum or 0.0, *bounds, *(v for v in (actual, target) if not _is_missing(v))])
    scale_max = maximum if maximum else (top * 1.05 if top > 0 else 1.0)
    x_of = _linear(0.0, scale_max, 0.0, float(width))
    band_y, band_h = 2.0, height - 4.0
    body = [_band_rects(bounds, scale_max, x_of, band_y, band_h, higher_is_better)]
    if _is_missing(actual):
        body.append(
            _text(
                width / 2,
                height / 2,
                missing_label,
                anchor="middle",
                baseline="central",
                color=MUTED_TEXT_COLOR,
                size=SMALL_FONT_SIZE,
            )
        )
    else:
        bar_w = x_of(min(max(float(actual), 0.0), scale_max))
        bar_h = band_h / 3
        body.append(_rect(0.0, height / 2 - bar_h / 2, bar_w, bar_h, AC_COLOR, cls="rg-ac"))
    if not _is_missing(target) and 0 <= float(target) <= scale_max:
        x = min(max(x_of(float(target)), MARKER_STROKE_WIDTH / 2), width - MARKER_STROKE_WIDTH / 2)
        marker_h = band_h * 0.7
        body.append(
            _line(
                x, height / 2 - marker_h / 2, x, height / 2 + marker_h / 2, PL_COLOR, MARKER_STROKE_WIDTH, cls="rg-pl"
            )
        )
    return _svg(uid, width, height, title, body)


def _bullet_bounds(target: float | None, ranges: Sequence[float] | None, higher_is_better: bool) -> list[float]:
    if ranges:
        return sorted(float(r) for r in ranges if not _is_missing(r))[:5]
    if _is_missing(target) or float(target) <= 0:
        return []
    target = float(target)
    return [0.9 * target, target] if higher_is_better else [target, target / 0.9]


def _band_rects(
    bounds: Sequence[float],
    scale_max: float,
    x_of: Callable[[float], float],
    y: float,
    h: float,
    higher_is_better: bool,
) -> str:
    """Bands from 0 to each bound and from the last bound to the end of the scale; the worst range
    (low values when higher is better) gets the darkest grey."""
    edges = [0.0, *(b for b in bounds if 0 < b < scale_max), scale_max]
    count = len(edges) - 1
    shades = BAND_COLORS[:count] if higher_is_better else BAND_COLORS[:count][::-1]
    if count == 1:
        shades = (BAND_COLORS[2],)
    return "".join(
        _rect(x_of(lo), y, x_of(hi) - x_of(lo), h, shade, cls="rg-band")
        for (lo, hi), shade in zip(itertools.pairwise(edges), shades)
    )


# --- Variance bars -----------------------------------------------------------------------------


def variance_bars(
    labels: Sequence[str],
    deltas: Sequence[float | None],
    *,
    higher_is_better: bool,
    value_format: Callable[[float], str],
    width: int = 360,
    row_height: int = 20,
    title: str = "Variance",
    missing_label: str = MISSING_LABEL,
) -> str:
    """IBCS horizontal variance bars (actual minus PY or PL) around a zero axis.

    Favourable variances are GOOD, unfavourable BAD, judged by the KPI's direction. Each bar carries
    its formatted value at its outer end; a missing variance shows the missing label, no bar.
    """
    _check_same_length(labels, deltas)
    uid = _new_id("variance")
    texts = [missing_label if _is_missing(d) else value_format(float(d)) for d in deltas]
    label_w = _text_width(labels, FONT_SIZE) + 10
    value_w = _text_width(texts, SMALL_FONT_SIZE) + 6
    present = [float(d) for d in deltas if not _is_missing(d)]
    most_negative = -min([0.0, *present])
    most_positive = max([0.0, *present])
    span = most_negative + most_positive or 1.0
    left_room = value_w if most_negative > 0 else 0.0
    right_room = value_w if most_positive > 0 or not present else 0.0
    bar_area = max(width - label_w - left_room - right_room, 40.0)
    zero_x = label_w + left_room + bar_area * most_negative / span
    per_unit = bar_area / span
    height = row_height * len(labels) + 4
    body: list[str] = []
    for row, (label, delta, text) in enumerate(zip(labels, deltas, texts)):
        y = 2 + row * row_height
        mid = y + row_height / 2
        body.append(_text(label_w - 10, mid, label, anchor="end", baseline="central"))
        if _is_missing(delta):
            body.append(_text(zero_x + 4, mid, text, baseline="central", color=MUTED_TEXT_COLOR, size=SMALL_FONT_SIZE))
            continue
        delta = float(delta)
        bar_len = abs(delta) * per_unit
        favourable = (delta > 0) == higher_is_better
        color, cls = (GOOD_COLOR, "rg-good") if favourable else (BAD_COLOR, "rg-bad")
        bar_h = row_height * 0.62
        if delta >= 0:
            body.append(_rect(zero_x, mid - bar_h / 2, bar_len, bar_h, color, cls=cls))
            body.append(_text(zero_x + bar_len + 4, mid, text, baseline="central", size=SMALL_FONT_SIZE))
        else:
            body.append(_rect(zero_x - bar_len, mid - bar_h / 2, bar_len, bar_h, color, cls=cls))
            body.append(_text(zero_x - bar_len - 4, mid, text, anchor="end", baseline="central", size=SMALL_FONT_SIZE))
    body.append(_line(zero_x, 0, zero_x, height, AC_COLOR, STROKE_WIDTH, cls="rg-axis"))
    return _svg(uid, width, height, title, body)


# --- Breakdown bars ----------------------------------------------------------------------------


def breakdown_bars(
    labels: Sequence[str],
    values: Sequence[float | None],
    *,
    value_format: Callable[[float], str],
    highlight: str | None = None,
    width: int = 360,
    row_height: int = 20,
    title: str = "Breakdown",
    missing_label: str = MISSING_LABEL,
    maximum: float | None = None,
) -> str:
    """Horizontal bars sorted from largest to smallest, each labelled with its value.

    ``maximum`` fixes the scale's upper end, so several breakdowns of one KPI shown side by side
    (by region, by product, by channel) share one scale and bar lengths compare across charts.

    Bars are actuals, so they are AC dark; with ``highlight`` that one category stays dark and the
    others turn grey (emphasis without using the judgement colours). Missing values sort last and
    get the missing label instead of a bar.
    """
    _check_same_length(labels, values)
    uid = _new_id("breakdown")
    rows = sorted(
        zip(labels, values), key=lambda row: (_is_missing(row[1]), -float(row[1]) if not _is_missing(row[1]) else 0.0)
    )
    texts = [missing_label if _is_missing(v) else value_format(float(v)) for _, v in rows]
    label_w = _text_width([label for label, _ in rows], FONT_SIZE) + 10
    value_w = _text_width(texts, SMALL_FONT_SIZE) + 6
    present = [float(v) for _, v in rows if not _is_missing(v)]
    low, high = min([0.0, *present]), max([0.0, *present, *([maximum] if maximum is not None else [])])
    left_room = value_w if low < 0 else 0.0
    bar_area = max(width - label_w - value_w - left_room, 40.0)
    x_of = _linear(low, high if high > low else 1.0, label_w + left_room, label_w + left_room + bar_area)
    zero_x = x_of(0.0)
    height = row_height * len(rows) + 4
    body: list[str] = []
    for row, ((label, value), text) in enumerate(zip(rows, texts)):
        y = 2 + row * row_height
        mid = y + row_height / 2
        emphasised = highlight is None or label == highlight
        body.append(
            _text(label_w - 10, mid, label, anchor="end", baseline="central", weight=600 if highlight == label else 400)
        )
        if _is_missing(value):
            body.append(_text(zero_x + 4, mid, text, baseline="central", color=MUTED_TEXT_COLOR, size=SMALL_FONT_SIZE))
            continue
        x_end = x_of(float(value))
        bar_h = row_height * 0.62
        color = AC_COLOR if emphasised else MUTED_BAR_COLOR
        body.append(
            _rect(
                min(zero_x, x_end),
                mid - bar_h / 2,
                abs(x_end - zero_x),
                bar_h,
                color,
                cls="rg-ac" if emphasised else "rg-muted",
            )
        )
        if float(value) >= 0:
            body.append(_text(x_end + 4, mid, text, baseline="central", size=SMALL_FONT_SIZE))
        else:
            body.append(_text(x_end - 4, mid, text, anchor="end", baseline="central", size=SMALL_FONT_SIZE))
    if low < 0:
        body.append(_line(zero_x, 0, zero_x, height, AC_COLOR, STROKE_WIDTH, cls="rg-axis"))
    return _svg(uid, width, height, title, body)


# --- Funnel ------------------------------------------------------------------------------------


def funnel(
    stages: Sequence[tuple[str, float | None]],
    *,
    value_format: Callable[[float], str],
    conversion_format: Callable[[float], str] | None = None,
    width: int = 360,
    title: str = "Funnel",
    missing_label: str = MISSING_LABEL,
) -> str:
    """Stages (leads -> opportunities -> won) as centred bars whose width is the stage's count, with
    the conversion rate from each stage to the next between them.

    ``conversion_format`` formats a fraction (pass the report's locale-aware percent formatter);
    a conversion from or to a missing or zero stage is missing, as the KPI contract says.
    """
    uid = _new_id("funnel")
    format_conversion = conversion_format or (lambda fraction: f"{fraction:.1%}")
    bar_h, gap = 24.0, 18.0
    texts = [missing_label if _is_missing(v) else value_format(float(v)) for _, v in stages]
    label_w = _text_width([name for name, _ in stages], FONT_SIZE) + 10
    value_w = _text_width(texts, SMALL_FONT_SIZE) + 8
    bar_area = max(width - label_w - value_w, 40.0)
    centre = label_w + bar_area / 2
    top = max([float(v) for _, v in stages if not _is_missing(v) and float(v) > 0] or [1.0])
    height = len(stages) * bar_h + max(len(stages) - 1, 0) * gap + 4
    body: list[str] = []
    for index, ((name, value), text) in enumerate(zip(stages, texts)):
        y = 2 + index * (bar_h + gap)
        mid = y + bar_h / 2
        body.append(_text(label_w - 10, mid, name, anchor="end", baseline="central"))
        if _is_missing(value):
            body.append(
                _text(
                    centre, mid, text, anchor="middle", baseline="central", color=MUTED_TEXT_COLOR, size=SMALL_FONT_SIZE
                )
            )
        else:
            bar_w = max(bar_area * max(float(value), 0.0) / top, 1.0)
            body.append(_rect(centre - bar_w / 2, y, bar_w, bar_h, AC_COLOR, cls="rg-ac"))
            body.append(_text(centre + bar_w / 2 + 4, mid, text, baseline="central", size=SMALL_FONT_SIZE))
        if index + 1 < len(stages):
            rate = _conversion(value, stages[index + 1][1])
            rate_text = missing_label if rate is None else format_conversion(rate)
            body.append(
                _text(
                    centre,
                    y + bar_h + gap / 2,
                    f"\u2193 {rate_text}",
                    anchor="middle",
                    baseline="central",
                    color=MUTED_TEXT_COLOR,
                    size=SMALL_FONT_SIZE,
                )
            )
    return _svg(uid, width, height, title, body)


def _conversion(upper: float | None, lower: float | None) -> float | None:
    """Share of a stage that the next stage's count is; missing when either is missing or zero,
    and when the next stage is larger (period counts, not cohorts: a month can win more deals than
    it created, and "420 % conversion" would read as an error)."""
    if _is_missing(upper) or _is_missing(lower) or float(upper) == 0 or float(lower) > float(upper):
        return None
    return float(lower) / float(upper)


# --- Trend -------------------------------------------------------------------------------------

TrendKind = Literal["auto", "column", "line"]
MAX_COLUMNS = 18
"""Above this many periods ``kind="auto"`` draws lines: columns get too thin to read."""
MAX_VALUE_LABELS = 13
"""Up to this many columns each carries its value and the y axis is dropped (direct labelling)."""
COLUMN_WIDTH = 0.6
"""Column width in periods; the PY column sits 0.18 periods to the left, behind the actual."""
GRID_COLOR = "#ececec"


def trend(
    period_labels: Sequence[str],
    actual: Sequence[float | None],
    *,
    prior_year: Sequence[float | None] | None = None,
    target: Sequence[float | None] | None = None,
    forecast: Sequence[float | None] | None = None,
    value_format: Callable[[float], str] = lambda value: f"{value:,.0f}",
    width_px: int = 480,
    height_px: int = 200,
    kind: TrendKind = "auto",
    title: str = "Trend",
) -> str:
    """Actuals over time in IBCS notation, written directly as SVG like the small charts.

    Columns: AC dark, PY as a light grey column set behind and to the left, PL as an outlined
    marker across each column, FC as hatched columns where there is a forecast but no actual yet.
    Lines (long series): AC solid dark, PY light grey, PL thin with hollow markers, FC dashed.

    It used to be drawn with matplotlib: importing matplotlib cost about 0.5 s per process and each
    chart 30-50 ms, and its SVG (clip paths, one path per tick) made WeasyPrint's layout slower. The
    layout here is the same (margins, nice y ticks, every k-th period label), in about 0.2 ms.
    """
    series = {"actual": actual, "prior_year": prior_year, "target": target, "forecast": forecast}
    for name, values in series.items():
        if values is not None:
            _check_same_length(period_labels, values, name)
    uid = _new_id("trend")
    if kind == "auto":
        kind = "column" if len(period_labels) <= MAX_COLUMNS else "line"
    n = len(period_labels)
    values = [float(v) for s in (actual, prior_year, target, forecast) if s for v in s if not _is_missing(v)]
    direct_labels = kind == "column" and n <= MAX_VALUE_LABELS
    plot_left = width_px * (0.02 if direct_labels else _left_margin(values, value_format, width_px))
    plot_top, plot_bottom = 16.0, height_px - 22.0
    x_of = _linear(-0.6, n - 0.4, plot_left, width_px * 0.98)
    zero_based = kind == "column"  # columns encode length and start at zero; lines may zoom in (Few)
    low = min([0.0, *values]) if zero_based else min(values, default=0.0)
    high = max([0.0, *values]) if zero_based else max(values, default=1.0)
    headroom = (high - low) * (0.14 if direct_labels else 0.08) or 1.0
    y_low, y_high = low - (headroom if low < 0 or not zero_based else 0.0), high + headroom
    y_of = _linear(y_low, y_high, plot_bottom, plot_top)
    body: list[str] = []
    if not direct_labels:
        body.append(_y_axis(y_low, y_high, y_of, plot_left, width_px * 0.98, value_format))
    if kind == "column":
        body.append(_trend_columns(uid, actual, prior_year, target, forecast, x_of, y_of, value_format, direct_labels))
    else:
        body.append(_trend_lines(uid, actual, prior_year, target, forecast, x_of, y_of))
    axis_y = y_of(0.0) if kind == "column" and low < 0 else plot_bottom
    body.append(_line(plot_left, axis_y, width_px * 0.98, axis_y, AXIS_COLOR, STROKE_WIDTH, cls="rg-axis"))
    step = _label_step(period_labels, width_px)
    body += [_text(x_of(i), height_px - 22.0 + 5 + SMALL_FONT_SIZE, period_labels[i], anchor="middle",
                   size=SMALL_FONT_SIZE, family=FONT_STACK) for i in range(0, n, step)]
    return _svg(uid, width_px, height_px, title, body)


def _trend_columns(uid: str, actual, prior_year, target, forecast, x_of, y_of, value_format,  # noqa: ANN001
                   direct_labels: bool) -> str:
    """Columns only where a value exists, so a missing period is a gap, not a zero-height column."""
    half = COLUMN_WIDTH / 2
    parts: list[str] = []

    def column(i: int, value: float, offset: float, fill: str, cls: str, extra: str = "") -> str:
        x0, x1 = x_of(i + offset - half), x_of(i + offset + half)
        y0, y1 = sorted((y_of(0.0), y_of(value)))
        return (f'<rect id="{uid}-{cls}-{i}" class="{cls}" x="{_n(x0)}" y="{_n(y0)}" width="{_n(x1 - x0)}" '
                f'height="{_n(y1 - y0)}" fill="{fill}"{extra}/>')

    if prior_year is not None:
        parts += [column(i, float(v), -0.18, PY_COLOR, "rg-py") for i, v in enumerate(prior_year) if not _is_missing(v)]
    parts += [column(i, float(v), 0.0, AC_COLOR, "rg-ac") for i, v in enumerate(actual) if not _is_missing(v)]
    if forecast is not None:
        hatch = f"{uid}-hatch"
        parts.append(f'<defs><pattern id="{hatch}" patternUnits="userSpaceOnUse" width="4" height="4">'
                     f'<path d="M-1,1 L1,-1 M0,4 L4,0 M3,5 L5,3" stroke="{FC_COLOR}" stroke-width="0.8"/>'
                     "</pattern></defs>")
        outline = f' stroke="{FC_COLOR}" stroke-width="{_n(STROKE_WIDTH)}"'
        parts += [column(i, float(f), 0.0, f"url(#{hatch})", "rg-fc", outline)
                  for i, (a, f) in enumerate(zip(actual, forecast)) if _is_missing(a) and not _is_missing(f)]
    if target is not None:
        parts += [_line(x_of(i - half - 0.06), y_of(float(v)), x_of(i + half + 0.06), y_of(float(v)), PL_COLOR,
                        MARKER_STROKE_WIDTH, cls="rg-pl") for i, v in enumerate(target) if not _is_missing(v)]
    if direct_labels:
        for i, a in enumerate(actual):
            value = a if not _is_missing(a) else (forecast[i] if forecast is not None else None)
            if _is_missing(value):
                continue
            value = float(value)
            plan = target[i] if target is not None and not _is_missing(target[i]) else value
            # above the plan marker too, so the marker never strikes through the label
            above = value >= 0
            anchor = max(value, float(plan)) if above else min(value, float(plan))
            y = y_of(anchor) - 4 if above else y_of(anchor) + 4 + SMALL_FONT_SIZE * 0.8
            parts.append(
                _text(x_of(i), y, value_format(value), anchor="middle", size=SMALL_FONT_SIZE, family=FONT_STACK)
            )
    return "".join(parts)


def _trend_lines(uid: str, actual, prior_year, target, forecast, x_of, y_of) -> str:  # noqa: ANN001
    """One path per series; a missing value starts a new subpath, so gaps stay gaps."""
    def path(values: Sequence[float | None], cls: str, color: str, width: float, extra: str = "") -> str:
        d = " ".join("M " + " L ".join(f"{_n(x_of(i))} {_n(y_of(v))}" for i, v in run) for run in _runs(values))
        if not d:
            return ""
        return (f'<g id="{uid}-{cls}" class="{cls}"><path d="{d}" fill="none" stroke="{color}" '
                f'stroke-width="{_n(width)}" stroke-linejoin="round" stroke-linecap="round"{extra}/></g>')

    parts = []
    if prior_year is not None:
        parts.append(path(prior_year, "rg-py", PY_COLOR, MARKER_STROKE_WIDTH))
    if target is not None:
        parts.append(path(target, "rg-pl", PL_COLOR, STROKE_WIDTH))
        parts += [f'<circle class="rg-pl-marker" cx="{_n(x_of(i))}" cy="{_n(y_of(float(v)))}" r="1.5" '
                  f'fill="{BACKGROUND}" stroke="{PL_COLOR}" stroke-width="{_n(STROKE_WIDTH)}"/>'
                  for i, v in enumerate(target) if not _is_missing(v)]
    if forecast is not None:
        last = max((i for i, v in enumerate(actual) if not _is_missing(v)), default=-1)
        future: list[float | None] = [f if i > last else None for i, f in enumerate(forecast)]
        if 0 <= last < len(actual) - 1:
            future[last] = actual[last]  # the dashed forecast starts where the actual ends
        parts.append(path(future, "rg-fc", FC_COLOR, MARKER_STROKE_WIDTH, ' stroke-dasharray="6 4"'))
    parts.append(path(actual, "rg-ac", AC_COLOR, MARKER_STROKE_WIDTH))
    return "".join(parts)


def _y_axis(low: float, high: float, y_of: Callable[[float], float], left: float, right: float,
            value_format: Callable[[float], str]) -> str:
    """Faint gridlines at nice ticks with their labels left of the plot (Few: light, behind the data)."""
    parts = []
    for tick in _nice_ticks(low, high):
        y = y_of(tick)
        parts.append(_line(left, y, right, y, GRID_COLOR, 0.6, cls="rg-grid"))
        parts.append(_text(left - 3, y + SMALL_FONT_SIZE * 0.35, value_format(tick), anchor="end",
                           color=MUTED_TEXT_COLOR, size=SMALL_FONT_SIZE, family=FONT_STACK))
    return "".join(parts)


def _nice_ticks(low: float, high: float, target_count: int = 4) -> list[float]:
    """3-5 ticks at 1, 2, 2.5 or 5 times a power of ten inside [low, high]."""
    span = high - low
    if not math.isfinite(span) or span <= 0:
        return [low] if math.isfinite(low) else []
    raw = span / target_count
    power = 10 ** math.floor(math.log10(raw))
    step = next((m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw), 10 * power)
    first = math.ceil(low / step - 1e-9) * step
    ticks = []
    k = 0
    while first + k * step <= high + 1e-9 * span:
        ticks.append(round(first + k * step, 12))
        k += 1
    return ticks


def _left_margin(values: Sequence[float], value_format: Callable[[float], str], width_px: int) -> float:
    widest = _text_width([value_format(v) for v in values] or ["0"], SMALL_FONT_SIZE)
    return min((widest + 8) / width_px, 0.3)


def _label_step(period_labels: Sequence[str], width_px: int) -> int:
    """Show every k-th period label so neighbours never overlap."""
    if not period_labels:
        return 1
    label_w = _text_width(period_labels, SMALL_FONT_SIZE) + 8
    per_period = width_px * 0.92 / len(period_labels)
    return max(1, math.ceil(label_w / per_period))



# --- SVG building blocks -----------------------------------------------------------------------


def _new_id(kind: str) -> str:
    return f"rg-{kind}-{next(_ids)}"


def _root_open(uid: str, view_box: str, title: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" id="{uid}" viewBox="{view_box}" '
        f'role="img" aria-labelledby="{uid}-title" aria-label={quoteattr(title)} '
        f'font-family={quoteattr(FONT_STACK)} class="rg-chart">'
        f'<title id="{uid}-title">{escape(title)}</title>'
    )


def _svg(uid: str, width: float, height: float, title: str, body: Sequence[str]) -> str:
    return _root_open(uid, f"0 0 {_n(width)} {_n(height)}", title) + "".join(body) + "</svg>"


def _rect(x: float, y: float, w: float, h: float, fill: str, *, cls: str) -> str:
    return f'<rect class="{cls}" x="{_n(x)}" y="{_n(y)}" width="{_n(w)}" height="{_n(h)}" fill="{fill}"/>'


def _line(x1: float, y1: float, x2: float, y2: float, stroke: str, width: float, *, cls: str) -> str:
    return (
        f'<line class="{cls}" x1="{_n(x1)}" y1="{_n(y1)}" x2="{_n(x2)}" y2="{_n(y2)}" '
        f'stroke="{stroke}" stroke-width="{_n(width)}"/>'
    )


def _circle(cx: float, cy: float, r: float, fill: str, *, cls: str) -> str:
    return f'<circle class="{cls}" cx="{_n(cx)}" cy="{_n(cy)}" r="{_n(r)}" fill="{fill}"/>'


def _polyline(points: Sequence[tuple[float, float]], stroke: str, width: float, *, cls: str) -> str:
    coords = " ".join(f"{_n(x)},{_n(y)}" for x, y in points)
    return (
        f'<polyline class="{cls}" points="{coords}" fill="none" stroke="{stroke}" '
        f'stroke-width="{_n(width)}" stroke-linejoin="round" stroke-linecap="round"/>'
    )


def _text(
    x: float,
    y: float,
    content: str,
    *,
    anchor: str = "start",
    baseline: str = "auto",
    color: str = TEXT_COLOR,
    size: float = FONT_SIZE,
    weight: int = 400,
    family: str | None = None,
) -> str:
    # dominant-baseline is not honoured everywhere (WeasyPrint ignores "central"), so "central"
    # is done by shifting the baseline by about a third of the font size.
    y_shift = size * 0.35 if baseline == "central" else 0.0
    weight_attr = f' font-weight="{weight}"' if weight != 400 else ""
    family_attr = f" font-family={quoteattr(family)}" if family else ""
    return (
        f'<text x="{_n(x)}" y="{_n(y + y_shift)}" text-anchor="{anchor}" font-size="{_n(size)}" '
        f'fill="{color}"{weight_attr}{family_attr}>{escape(content)}</text>'
    )


def _n(number: float) -> str:
    """Coordinates with two decimals at most: exact enough on paper, short in the HTML."""
    return f"{number:.2f}".rstrip("0").rstrip(".") if number != int(number) else str(int(number))


# --- Small pure helpers ------------------------------------------------------------------------


def _is_missing(value: float | None) -> bool:
    return value is None or not math.isfinite(float(value))


def _runs(values: Sequence[float | None]) -> list[list[tuple[int, float]]]:
    """Consecutive present values, so a missing value breaks the line instead of bridging it."""
    runs: list[list[tuple[int, float]]] = []
    current: list[tuple[int, float]] = []
    for index, value in enumerate(values):
        if _is_missing(value):
            if current:
                runs.append(current)
            current = []
        else:
            current.append((index, float(value)))
    if current:
        runs.append(current)
    return runs


def _linear(d0: float, d1: float, r0: float, r1: float) -> Callable[[float], float]:
    span = (d1 - d0) or 1.0
    return lambda value: r0 + (value - d0) * (r1 - r0) / span


def _change_color(previous: float | None, latest: float, higher_is_better: bool) -> str:
    if previous is None or latest == previous:
        return AC_COLOR
    return GOOD_COLOR if (latest > previous) == higher_is_better else BAD_COLOR


def _text_width(texts: Sequence[str], size: float) -> float:
    return max((len(text) for text in texts), default=0) * size * CHAR_WIDTH_EM


def _check_same_length(labels: Sequence[object], values: Sequence[object], name: str = "values") -> None:
    if len(labels) != len(values):
        raise ValueError(f"{len(labels)} labels but {len(values)} {name}; every label needs one value")
