"""Alt texts that carry a chart's data: what a reader who cannot see the chart needs from it.

A chart's alt text becomes the ``/Alt`` of its figure in the tagged PDF and the ``aria-label`` of the
SVG in the HTML. "Sales revenue: 12 periods" names the chart and tells nothing; a screen-reader user
needs what a sighted reader takes from it at a glance: the span, the range, the last value and which
way it went ("Sales revenue, Jan 25 to Dec 25: from $0.98M to $1.76M; last $1.76M, up from $1.36M").
Numbers go through the scorecard's :class:`~reportgen.render.formats.Formats`, so they read as the
page's numbers do. A period without a value is counted as such, never read as 0.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

from reportgen.kpis.catalogue import Unit
from reportgen.render.formats import Formats, _missing, _num


def series_alt(name: str, values: Sequence[Any], labels: Sequence[str], unit: Unit, formats: Formats,
               number: Callable[[float], str] | None = None) -> str:
    """A series over periods (sparkline, trend): span, low and high, last value and its direction.

    ``number`` writes a value as the page around the chart does (the executive table's one format per
    KPI); by default the scorecard's compact format."""
    t = formats.t

    def text(value: float) -> str:
        return number(value) if number is not None else formats.compact(value, unit)

    points = [(label, _num(v)) for label, v in zip(labels, values, strict=False)]
    known = [(label, v) for label, v in points if not _missing(v)]
    span = f"{formats.period_short(labels[0])} {t('to')} {formats.period_short(labels[-1])}" if labels else ""
    head = f"{name}, {span}" if span else name
    if not known:
        return f"{head}: {t('n/a')}"
    low = min(known, key=lambda p: p[1])
    high = max(known, key=lambda p: p[1])
    parts = [f"{t('low')} {text(low[1])} ({formats.period_short(low[0])}), "
             f"{t('high')} {text(high[1])} ({formats.period_short(high[0])})"]
    last_label, last = known[-1]
    last_text = f"{t('last')} {text(last)} ({formats.period_short(last_label)})"
    if len(known) >= 2:
        before = known[-2][1]
        word = "up from" if last > before else "down from" if last < before else "unchanged from"
        last_text += f", {t(word)} {text(before)}"
    parts.append(last_text)
    gaps = sum(1 for _, v in points if _missing(v))
    if gaps:
        parts.append(f"{gaps} × {t('n/a')}")
    return f"{head}: " + "; ".join(parts)


def against_alt(name: str, value: Any, reference: Any, unit: Unit, formats: Formats, *,
                reference_label: str = "Plan") -> str:
    """A value against a reference (bullet, quota bar): both numbers and the achievement."""
    t = formats.t
    text = f"{name}: {formats.compact(value, unit)}, {t(reference_label)} {formats.compact(reference, unit)}"
    v, ref = _num(value), _num(reference)
    if not (_missing(v) or _missing(ref)) and ref != 0:
        text += f" ({formats.value(v / ref, 'percent')})"
    return text


def bars_alt(name: str, labels: Sequence[str], values: Sequence[Any], unit: Unit, formats: Formats) -> str:
    """Bars by segment: every segment's value, largest first (a breakdown has a handful of them)."""
    pairs = [(label, _num(v)) for label, v in zip(labels, values, strict=False)]
    ordered = sorted(pairs, key=lambda p: (math.isnan(p[1]), -p[1] if not math.isnan(p[1]) else 0))
    return f"{name}: " + ", ".join(f"{label} {formats.compact(v, unit)}" for label, v in ordered)
