"""Horizontal bar charts: variance bars, breakdown bars and the funnel."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from reportgen.charts.svg import (
    AC_COLOR,
    BAD_COLOR,
    FONT_SIZE,
    GOOD_COLOR,
    MISSING_LABEL,
    MUTED_BAR_COLOR,
    MUTED_TEXT_COLOR,
    SMALL_FONT_SIZE,
    STROKE_WIDTH,
    _check_same_length,
    _circle,
    _is_missing,
    _is_present,
    _line,
    _linear,
    _n,
    _new_id,
    _rect,
    _svg,
    _text,
    _text_width,
)

LABEL_SLACK = 1.15
"""The category labels' room over the average-glyph estimate: a short label of wide letters ("Japan",
"referral" in Inter) ran a few units past the chart's left edge, flagged on a 390 px phone."""


def _label_width(labels: Sequence[str]) -> float:
    """Room for the category labels left of the bars (anchored at their right end)."""
    return _text_width(labels, FONT_SIZE) * LABEL_SLACK


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
    texts = [value_format(float(d)) if _is_present(d) else missing_label for d in deltas]
    label_w = _label_width(labels) + 10
    value_w = _text_width(texts, SMALL_FONT_SIZE) + 6
    present = [float(d) for d in deltas if _is_present(d)]
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
        if not _is_present(delta):
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


def variance_bar(
    delta: float | None,
    scale: float,
    *,
    higher_is_better: bool,
    width: int = 60,
    height: int = 12,
    title: str = "Variance",
) -> str:
    """One row's variance bar for a table cell (IBCS): a zero axis in the middle of the cell, the bar to
    the right for a positive variance and to the left for a negative one, GOOD or BAD by the KPI's
    direction. ``scale`` is the largest absolute variance of the bar's group (KPIs of one unit): every
    bar of the group is drawn on it, so equal lengths mean equal amounts. A missing variance draws the
    axis alone (the cell beside it says why)."""
    uid = _new_id("variance")
    zero_x = width / 2
    body: list[str] = []
    if _is_present(delta) and scale > 0 and float(delta) != 0:
        d = float(delta)
        length = max(min(abs(d) / scale, 1.0) * (width / 2 - 1), 0.6)
        favourable = (d > 0) == higher_is_better
        color, cls = (GOOD_COLOR, "rg-good") if favourable else (BAD_COLOR, "rg-bad")
        bar_h = height * 0.66
        x = zero_x if d > 0 else zero_x - length
        body.append(_rect(x, (height - bar_h) / 2, length, bar_h, color, cls=cls))
    body.append(_line(zero_x, 0, zero_x, height, AC_COLOR, STROKE_WIDTH, cls="rg-axis"))
    return _svg(uid, width, height, title, body)


def variance_pin(
    pct: float | None,
    scale: float,
    *,
    higher_is_better: bool,
    width: int = 44,
    height: int = 12,
    title: str = "Relative variance",
) -> str:
    """One row's relative variance as an IBCS pin for a table cell: a thin needle from a zero axis in
    the middle of the cell with a round head, GOOD or BAD by the KPI's direction. ``scale`` is the one
    relative scale of the whole table (a fraction, 0.5 = 50 %), so equal lengths mean equal percentages
    in every row. A change beyond it (+2,118 % beside +5 %) is cut at the cell's edge and ends in an
    arrow head instead of the round one (class ``rg-overflow``): the number beside it gives the size,
    and one outlier no longer flattens every other pin to a dot. Nothing is drawn for a missing change:
    the caller leaves the pin out, the cell says why."""
    uid = _new_id("pin")
    zero_x = width / 2
    mid = height / 2
    half = width / 2 - 3.0
    body: list[str] = []
    if _is_present(pct) and scale > 0:
        p = float(pct)
        favourable = (p > 0) == higher_is_better
        color, cls = (GOOD_COLOR, "rg-good") if favourable else (BAD_COLOR, "rg-bad")
        if p == 0:
            color, cls = AC_COLOR, "rg-zero"
        over = abs(p) > scale
        length = half if over else abs(p) / scale * half
        sign = 1.0 if p >= 0 else -1.0
        end = zero_x + sign * length
        body.append(_line(zero_x, mid, end, mid, color, 2.0, cls=f"rg-pin {cls}"))
        if over:
            tip = end + sign * 2.6
            body.append(_polygon([(end - sign * 0.6, mid - 3.0), (tip, mid), (end - sign * 0.6, mid + 3.0)], color,
                                 cls=f"rg-pin-head rg-overflow {cls}"))
        else:
            body.append(_circle(end, mid, 2.4, color, cls=f"rg-pin-head {cls}"))
    body.append(_line(zero_x, 0, zero_x, height, AC_COLOR, STROKE_WIDTH, cls="rg-axis"))
    return _svg(uid, width, height, title, body)


def _polygon(points: Sequence[tuple[float, float]], fill: str, *, cls: str) -> str:
    coords = " ".join(f"{_n(x)},{_n(y)}" for x, y in points)
    return f'<polygon class="{cls}" points="{coords}" fill="{fill}"/>'


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
        zip(labels, values), key=lambda row: (_is_missing(row[1]), -float(row[1]) if _is_present(row[1]) else 0.0)
    )
    texts = [value_format(float(v)) if _is_present(v) else missing_label for _, v in rows]
    label_w = _label_width([label for label, _ in rows]) + 10
    value_w = _text_width(texts, SMALL_FONT_SIZE) + 6
    present = [float(v) for _, v in rows if _is_present(v)]
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
        if not _is_present(value):
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
    texts = [value_format(float(v)) if _is_present(v) else missing_label for _, v in stages]
    label_w = _label_width([name for name, _ in stages]) + 10
    value_w = _text_width(texts, SMALL_FONT_SIZE) + 8
    bar_area = max(width - label_w - value_w, 40.0)
    centre = label_w + bar_area / 2
    top = max([float(v) for _, v in stages if _is_present(v) and float(v) > 0] or [1.0])
    height = len(stages) * bar_h + max(len(stages) - 1, 0) * gap + 4
    body: list[str] = []
    for index, ((name, value), text) in enumerate(zip(stages, texts)):
        y = 2 + index * (bar_h + gap)
        mid = y + bar_h / 2
        body.append(_text(label_w - 10, mid, name, anchor="end", baseline="central"))
        if not _is_present(value):
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
    if not _is_present(upper) or not _is_present(lower) or float(upper) == 0 or float(lower) > float(upper):
        return None
    return float(lower) / float(upper)
