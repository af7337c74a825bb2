"""The charts' shared palette and sizes, and the SVG building blocks every chart is written with."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterator, Sequence
from contextvars import ContextVar
from typing import TypeGuard
from xml.sax.saxutils import escape, quoteattr

from reportgen.assets import font_stack

# --- One palette and one style for all charts --------------------------------------------------

AC_COLOR = "#262626"
"""Actual: solid, near black."""
PY_COLOR = "#8f8f8f"
"""Prior year: solid grey, the only grey mark (3.2:1 on white: a mark must reach 3:1, WCAG 1.4.11)."""
PL_COLOR = "#262626"
"""Plan/target: outline only, in the actual's colour, on white."""
FC_COLOR = "#262626"
"""Forecast: hatch lines in the actual's colour, on white."""
GOOD_COLOR = "#009e73"
"""Favourable variance: Okabe-Ito bluish green."""
BAD_COLOR = "#d55e00"
"""Unfavourable variance: Okabe-Ito vermilion; distinct from GOOD_COLOR in deuteranopia."""
MUTED_BAR_COLOR = "#767676"
"""Bars that are not highlighted when one category is."""
BAND_COLORS = ("#bdbdbd", "#d4d4d4", "#e3e3e3", "#ededed", "#f5f5f5")
"""Bullet-chart qualitative bands, darkest for the worst range (Few)."""
TEXT_COLOR = "#333333"
MUTED_TEXT_COLOR = "#6b6b6b"
"""Secondary labels; still above 4.5:1 contrast on white."""
AXIS_COLOR = "#8a8a8a"
BACKGROUND = "#ffffff"

FONT_STACK = ", ".join([*(f"'{f}'" if " " in f else f for f in font_stack()), "'Helvetica Neue'", "Arial",
                        "sans-serif"])
"""Inter, then the CJK fallback for the characters Inter lacks (``reportgen.assets.font_stack``)."""
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

_ids: ContextVar[Iterator[int]] = ContextVar("reportgen_chart_ids")
"""The chart-id counter of the scorecard being drawn: one per thread (a context variable), so two
scorecards drawn at once in threads (a Dask worker's threads, the batch's pipelined render) never
share or reset each other's numbering."""


def reset_chart_ids() -> None:
    """Number chart ids from 1 again, at the start of each scorecard.

    Ids need only be unique within one page, and WeasyPrint writes them into the PDF as named
    destinations: numbered per process, a scorecard's PDF would depend on how many this process drew
    before it, so a burst on two workers would not give the same PDFs as on one."""
    _ids.set(itertools.count(1))


def _new_id(kind: str) -> str:
    counter = _ids.get(None)
    if counter is None:
        counter = itertools.count(1)
        _ids.set(counter)
    return f"rg-{kind}-{next(counter)}"


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


def _is_present(value: float | None) -> TypeGuard[float]:
    """The opposite of :func:`_is_missing`, telling the type checker the value is a number."""
    return not _is_missing(value)


def _runs(values: Sequence[float | None]) -> list[list[tuple[int, float]]]:
    """Consecutive present values, so a missing value breaks the line instead of bridging it."""
    runs: list[list[tuple[int, float]]] = []
    current: list[tuple[int, float]] = []
    for index, value in enumerate(values):
        if _is_present(value):
            current.append((index, float(value)))
        else:
            if current:
                runs.append(current)
            current = []
    if current:
        runs.append(current)
    return runs


def _linear(d0: float, d1: float, r0: float, r1: float) -> Callable[[float], float]:
    span = (d1 - d0) or 1.0
    return lambda value: r0 + (value - d0) * (r1 - r0) / span


def _text_width(texts: Sequence[str], size: float) -> float:
    return max((len(text) for text in texts), default=0) * size * CHAR_WIDTH_EM


def _check_same_length(labels: Sequence[object], values: Sequence[object], name: str = "values") -> None:
    if len(labels) != len(values):
        raise ValueError(f"{len(labels)} labels but {len(values)} {name}; every label needs one value")
