"""The "What moves together" section of the sales-manager and client reports, as plain sentences.

The numbers come from :mod:`reportgen.engine.correlation`; this module only words them in the
scorecard's language: "Sales revenue and Opportunity win rate rose and fell together in 9 of 11
monthly changes." with r, n and the window beside it, and the note that correlation is not
cause. When no pair qualifies there is no heading at all (issue 18: no empty headings), only one
line that says why (too short a common history, or no pair strong enough).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from reportgen.config.models import Correlations
from reportgen.render.fmt import MINUS_SIGN, _format_decimal
from reportgen.render.formats import Formats

if TYPE_CHECKING:
    from reportgen.engine.correlation import Pair
    from reportgen.engine.metrics import Metrics

TOGETHER = "{a} and {b} rose and fell together in {k} of {m} {changes}."
OPPOSITE = "{a} and {b} moved in opposite directions in {k} of {m} {changes}."
TOO_SHORT = "What moves together: not shown, fewer than {min} {periods} of common history."
NONE_STRONG = "What moves together: no pair of KPIs with |r| of at least {r} among {count} pairs compared."
NOT_CAUSE = ("Correlation is not cause: both KPIs may follow a third thing (a season, a campaign), and among "
             "{count} pairs compared a few strong ones are chance.")
METHOD = ("r: Spearman rank correlation of the changes between periods both KPIs fully cover; KPIs computed from one "
          "another are not paired.")
CHANGES = {"month": "monthly changes", "quarter": "quarterly changes",
           "week": "weekly changes", "year": "yearly changes"}
PERIODS = {"month": "months", "quarter": "quarters", "week": "weeks", "year": "years"}


@dataclass(frozen=True)
class MovedTogether:
    """One pair as the page shows it."""

    sentence: str
    r: str          # "0.88", "−0.85"
    n: str          # periods used
    window: str     # "Jan 25 – Dec 25"
    together: bool  # rose and fell together (r > 0) or moved opposite ways


@dataclass(frozen=True)
class MovesTogether:
    """The section: its rows and notes, or (no rows) the one line saying why there is none."""

    rows: tuple[MovedTogether, ...]
    note: str = ""
    method: str = ""
    why_not: str = ""
    window: str = ""  # the one window every row shares (said once in the header), else '' (a column per row)


def coefficient(r: float, locale: str) -> str:
    """r with two decimals in the locale's notation and a real minus sign: ``0.88``, ``−0,85``."""
    text = _format_decimal(abs(r), 2, locale)
    return (MINUS_SIGN + text) if r < 0 else text


def moved_together(pair: Pair, names: dict[str, str], grain: str, formats: Formats) -> MovedTogether:
    """A pair in plain words with its r, n and window."""
    t = formats.t
    sentence = t(TOGETHER if pair.together else OPPOSITE).format(
        a=names.get(pair.first, pair.first), b=names.get(pair.second, pair.second),
        k=formats.number(pair.agreeing), m=formats.number(pair.changes),
        changes=t(CHANGES.get(grain, "period-to-period changes")))
    window = f"{formats.period_short(pair.first_period)} – {formats.period_short(pair.last_period)}"
    return MovedTogether(sentence, coefficient(pair.r, formats.locale), formats.number(pair.periods), window,
                         pair.together)


def moves_together_view(metrics: Metrics, ids: Sequence[str], settings: Correlations, formats: Formats,
                        names: dict[str, str]) -> MovesTogether | None:
    """The section for the audience's KPIs ``ids`` (``names``: their shown names); None when the
    audience turned it off (``top: 0``)."""
    from reportgen.engine.correlation import co_movement

    if settings.top <= 0:
        return None
    found = co_movement(metrics, ids, min_periods=settings.min_periods, top=settings.top, min_r=settings.min_r)
    t = formats.t
    if not found.pairs:
        if found.longest < found.min_periods:
            return MovesTogether((), why_not=t(TOO_SHORT).format(
                min=formats.number(settings.min_periods), periods=t(PERIODS.get(metrics.grain, "periods"))))
        return MovesTogether((), why_not=t(NONE_STRONG).format(
            r=coefficient(settings.min_r, formats.locale), count=formats.number(found.compared)))
    rows = tuple(moved_together(p, names, metrics.grain, formats) for p in found.pairs)
    windows = {row.window for row in rows}
    return MovesTogether(rows, note=t(NOT_CAUSE).format(count=formats.number(found.compared)), method=t(METHOD),
                         window=windows.pop() if len(windows) == 1 else "")
