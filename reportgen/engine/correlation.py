"""What moves together: pairwise correlation of the audience's KPIs over the periods of the metric table.

Why changes, not levels: two business series that both grow over a year (revenue and headcount, calls
and tickets) correlate near 1 on their levels whatever links them, because each is mostly its trend
("spurious regression"). The question a reader means by "these move together" is "in the months
when one went up, did the other go up too?", which is a question about the period-over-period
changes. The plain count printed beside r is the number of those changes in which both KPIs moved
the same way (or, for a negative r, opposite ways).

Why Spearman (rank) and not Pearson: a year of monthly data gives eleven changes, and on eleven
points one exceptional month decides Pearson's r. In the sales-data-sample export, November 2004
(revenue $1.06M on 32 deals, three times a usual month) gives revenue and deals won a Pearson r of
0.94 while the two moved the same way in only 6 of the 11 changes; a rank correlation counts that
month as one month among eleven. Ties get their average rank. A minimum history (12 common periods
by default) and a minimum |r| keep the weakest coincidences off the page; the note under the section
says that what is left is still not cause.

Coverage (kpi-spec.md, "Coverage"): only periods that both KPIs fully cover count. A missing value is
never read as 0 and a partly covered period (the data ends on the 20th) is left out, as is a change
across such a gap: a change is only taken between two consecutive periods that are both counted.

Trivial pairs are not compared: a KPI computed from the other (average deal size = revenue / deals
won, revenue growth from revenue), or two computed from a common input (deals won and win rate both
count won deals; average deal size and sales per rep both divide won revenue, Pearson's own "spurious
correlation of ratios"), would "move together" by construction. And a finding is shown once: once
revenue and win rate are listed, sales per rep (revenue over a near-constant head count) and win
rate would repeat it, so a pair each of whose KPIs is the same as or related to a pair already shown
is left out.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from reportgen.engine.resolve import ResolvedKpi, with_dependencies

if TYPE_CHECKING:
    from reportgen.engine.metrics import Metrics


@dataclass(frozen=True)
class Pair:
    """Two KPIs' co-movement over the periods both cover."""

    first: str
    second: str
    r: float            # Spearman's rank correlation of the period-over-period changes
    periods: int        # n: periods both KPIs fully cover
    changes: int        # changes between consecutive counted periods (the r is over these)
    agreeing: int       # changes in the direction r says (same way for r > 0, opposite for r < 0)
    first_period: str   # the window: first and last counted period labels
    last_period: str

    @property
    def together(self) -> bool:
        """True: they rose and fell together; False: one rose when the other fell."""
        return self.r > 0


@dataclass(frozen=True)
class CoMovement:
    """The pairs shown (strongest first) and what the section needs to say why there are none."""

    pairs: tuple[Pair, ...]
    compared: int        # pairs with enough history and non-constant changes (what |r| was ranked over)
    longest: int         # the most common periods any eligible pair has (for "fewer than 12 months")
    min_periods: int
    min_r: float


def covered_series(metrics: Metrics, kpi: str) -> pd.Series:
    """A KPI's whole-company values by period label, missing (NaN) wherever the period is not fully
    covered: partial periods are left out of a correlation, never counted as a lower value."""
    rows = metrics.company[metrics.company["kpi"] == kpi]
    values = rows["value"].to_numpy(dtype="float64").copy()
    if "coverage" in rows.columns:
        values[(rows["coverage"] != "").to_numpy()] = np.nan
    return pd.Series(values, index=rows["period"].to_list())


def inputs_of(kid: str, kpis: Mapping[str, ResolvedKpi]) -> frozenset[str]:
    """The base names (measures, custom measures) a KPI's value is computed from, through the KPIs
    it reads."""
    reads = with_dependencies([kid], dict(kpis))
    return frozenset(n for k in reads for n in kpis[k].formula.names if n not in kpis)


def trivially_related(a: str, b: str, kpis: Mapping[str, ResolvedKpi]) -> bool:
    """One KPI is computed from the other, or both from a common input: their co-movement is
    arithmetic, not a finding."""
    if a not in kpis or b not in kpis:
        return False
    if a in with_dependencies([b], dict(kpis)) or b in with_dependencies([a], dict(kpis)):
        return True
    return bool(inputs_of(a, kpis) & inputs_of(b, kpis))


def pair_of(first: str, second: str, a: pd.Series, b: pd.Series) -> Pair | None:
    """The co-movement of two series aligned on the same period labels (NaN = not counted); None
    when fewer than three changes remain or either series' changes are constant (r undefined)."""
    both = a.notna().to_numpy() & b.notna().to_numpy()
    x, y = a.to_numpy(dtype="float64"), b.to_numpy(dtype="float64")
    step = both[1:] & both[:-1]  # a change only between two consecutive counted periods
    dx, dy = np.diff(x)[step], np.diff(y)[step]
    if len(dx) < 3 or np.ptp(dx) == 0 or np.ptp(dy) == 0:
        return None
    r = float(np.corrcoef(pd.Series(dx).rank().to_numpy(), pd.Series(dy).rank().to_numpy())[0, 1])
    if not math.isfinite(r):
        return None
    signs = np.sign(dx) * np.sign(dy)
    agreeing = int(np.sum(signs > 0) if r > 0 else np.sum(signs < 0))
    labels = [str(p) for p, keep in zip(a.index, both) if keep]
    return Pair(first, second, r, int(both.sum()), int(len(dx)), agreeing, labels[0], labels[-1])


def strongest(series: Mapping[str, pd.Series], related: Sequence[tuple[str, str]] = (), *,
              min_periods: int = 12, top: int = 3, min_r: float = 0.6) -> CoMovement:
    """The ``top`` pairs of ``series`` (in their order) with at least ``min_periods`` common counted
    periods and |r| >= ``min_r``, strongest first; ``related`` pairs are not compared."""
    skip = {frozenset(p) for p in related}
    ids = [k for k in series if series[k].notna().any()]
    found: list[Pair] = []
    longest = 0
    for a, b in combinations(ids, 2):
        if frozenset((a, b)) in skip:
            continue
        x, y = series[a].align(series[b], join="inner")
        common = int((x.notna() & y.notna()).sum())
        longest = max(longest, common)
        if common < min_periods:
            continue
        pair = pair_of(a, b, x, y)
        if pair is not None:
            found.append(pair)
    order = {k: i for i, k in enumerate(ids)}
    # strongest first; an equal r (a KPI that is another scaled by a constant) goes to the earlier KPIs
    ranked = sorted((p for p in found if abs(p.r) >= min_r),
                    key=lambda p: (-round(abs(p.r), 9), order[p.first] + order[p.second]))
    shown: list[Pair] = []
    for pair in ranked:
        if len(shown) < top and not any(_repeats(pair, other, skip) for other in shown):
            shown.append(pair)
    return CoMovement(tuple(shown), len(found), longest, min_periods, min_r)


def _repeats(pair: Pair, shown: Pair, related: set[frozenset[str]]) -> bool:
    """``pair`` says again what ``shown`` says: each of its KPIs is one of ``shown``'s or related to it."""
    def alike(a: str, b: str) -> bool:
        return a == b or frozenset((a, b)) in related

    return ((alike(pair.first, shown.first) and alike(pair.second, shown.second))
            or (alike(pair.first, shown.second) and alike(pair.second, shown.first)))


def co_movement(metrics: Metrics, ids: Sequence[str], *, min_periods: int = 12, top: int = 3,
                min_r: float = 0.6) -> CoMovement:
    """:func:`strongest` over the available KPIs ``ids`` of the metric table, trivial pairs left out."""
    kpis = metrics.kpis
    shown = [k for k in dict.fromkeys(ids) if k in kpis and k not in metrics.unavailable]
    related = [(a, b) for a, b in combinations(shown, 2) if trivially_related(a, b, kpis)]
    return strongest({k: covered_series(metrics, k) for k in shown}, related,
                     min_periods=min_periods, top=top, min_r=min_r)
