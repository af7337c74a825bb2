"""Word-sized charts for a KPI tile: the sparkline and the bullet chart."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence

from reportgen.charts.svg import (
    AC_COLOR,
    BAND_COLORS,
    MARKER_STROKE_WIDTH,
    MISSING_LABEL,
    MUTED_TEXT_COLOR,
    PL_COLOR,
    SMALL_FONT_SIZE,
    STROKE_WIDTH,
    _circle,
    _is_missing,
    _is_present,
    _line,
    _linear,
    _new_id,
    _polyline,
    _rect,
    _runs,
    _svg,
    _text,
)

# --- Sparkline ---------------------------------------------------------------------------------


def sparkline(
    values: Sequence[float | None],
    *,
    width: int = 120,
    height: int = 28,
    higher_is_better: bool = True,
    title: str = "Trend",
) -> str:
    """A word-sized trend line (Tufte): no axes, the last point marked.

    The last point is the reported period's actual, so it is drawn in the actual's colour: a GOOD or
    BAD dot here read as the KPI's status ("Good" beside an orange dot), though it meant the change
    since the previous period, which the table says in words. No grey min/max dots either: grey is the
    prior year's colour and nothing else. ``higher_is_better`` is kept for callers; the line does not
    judge. Missing values break the line.
    """
    del higher_is_better  # the line shows the shape; variances and status carry the judgement
    uid = _new_id("spark")
    pad = 3.0
    present = [(i, float(v)) for i, v in enumerate(values) if _is_present(v)]
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
        last_i, last_v = present[-1]
        body.append(_circle(x_of(last_i), y_of(last_v), 2.2, AC_COLOR, cls="rg-last"))
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
    top = max([maximum or 0.0, *bounds, *(v for v in (actual, target) if _is_present(v))])
    scale_max = maximum if maximum else (top * 1.05 if top > 0 else 1.0)
    x_of = _linear(0.0, scale_max, 0.0, float(width))
    band_y, band_h = 2.0, height - 4.0
    body = [_band_rects(bounds, scale_max, x_of, band_y, band_h, higher_is_better)]
    if not _is_present(actual):
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
    if _is_present(target) and 0 <= float(target) <= scale_max:
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
    if not _is_present(target) or float(target) <= 0:
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
