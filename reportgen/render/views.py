"""KPI views: what a tile or a table row shows about one KPI in the reported period, as plain values."""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any, TypedDict

from markupsafe import Markup

from reportgen import charts
from reportgen.config.models import Audience, LoadedConfig
from reportgen.kpis.catalogue import ANCHORS, MEASURES, Unit
from reportgen.kpis.periods import PERIODS_PER_YEAR, WINDOWS, window_start
from reportgen.render import fmt
from reportgen.render.alttext import against_alt, series_alt
from reportgen.render.formats import Formats, _missing, _num
from reportgen.render.kpiformat import KpiFormat
from reportgen.render.narrative import tone_of

if TYPE_CHECKING:
    from reportgen.engine.metrics import Metrics
    from reportgen.engine.resolve import ResolvedKpi


@dataclass(frozen=True)
class Comparison:
    """One reference (PL, PY, prior period) and the variance of the actual against it."""

    key: str            # "pl" | "py" | "pp"
    label: str          # "Plan", "Prior year", "Prior period"
    reference: float
    delta: float
    pct: float | None   # relative variance; None for rates (they vary in pp only)
    tone: str           # good | bad | neutral
    partial: bool = False  # the base (or the period) is only partly covered: shown marked, never as a variance


@dataclass(frozen=True)
class KpiView:
    """Everything a tile or a table row shows about one KPI in the reported period."""

    id: str
    name: str
    unit: Unit
    direction: str
    objective: str
    value: float
    target: float
    prior: float
    year_ago: float
    benchmark: float
    benchmark_source: str
    achievement: float
    status: str
    comparisons: list[Comparison]
    sparkline: Markup
    bullet: Markup | None
    definition: str
    formula: str
    commentary: str | None
    unavailable: str | None = None
    coverage: str = ""                 # '' covered, 'partial' (computed from the days there), 'none' (missing)
    note: str = ""                     # why, for the reader: "deals end Dec 31, 2025"
    window: WindowView | None = None   # the to-date value beside the period (YTD); None without a window form
    planned: bool = False              # a plan exists for some period shown: without one the tile has no PL row
    number: KpiFormat | None = None    # the KPI's one number format on this scorecard (scoreboard.kpi_formats)

    @property
    def available(self) -> bool:
        return self.unavailable is None

    @property
    def missing(self) -> bool:
        """Computed but without a value (the data does not cover the period, a zero denominator):
        shown as n/a with its note, never as 0."""
        return self.available and _missing(self.value)

    @property
    def partial(self) -> bool:
        return self.available and self.coverage == "partial"


@dataclass(frozen=True)
class WindowView:
    """A to-date window of one KPI ending with the reported period (year to date), against the same
    window a year earlier."""

    key: str            # "ytd" | "qtd" | "r12"
    label: str          # "YTD", translated
    title: str          # "Year to date", translated
    value: float
    year_ago: float
    delta: float
    pct: float | None   # None for rates (they vary in pp only)
    tone: str
    coverage: str = ""
    note: str = ""
    year_ago_note: str = ""  # why the window a year earlier has no value ("deals start Mar 2, 2023")
    year_ago_partial: bool = False  # the window a year earlier is only partly covered: no plain variance

    @property
    def partial(self) -> bool:
        return self.coverage == "partial"


class _KpiBase(TypedDict):
    """The :class:`KpiView` fields that come from the KPI itself, whether or not it has a row."""

    id: str
    name: str
    unit: Unit
    direction: str
    objective: str
    definition: str
    formula: str
    commentary: str | None


class _KpiCoverage(TypedDict):
    """The :class:`KpiView` fields about how far the data covers the reported period."""

    coverage: str
    note: str
    window: WindowView | None


WINDOW_PREFERENCE = WINDOWS
WINDOW_LABELS = {"ytd": ("YTD", "Year to date"), "qtd": ("QTD", "Quarter to date"), "r12": ("R12", "Rolling 12 months")}


def variance_tone(delta: float, direction: str) -> str:
    """good when the actual beats the reference in the KPI's direction; neutral for no variance."""
    return tone_of(delta, direction) if not _missing(delta) else "neutral"


def comparisons(
    unit: Unit, direction: str, value: float, refs: Sequence[tuple[str, str, float] | tuple[str, str, float, float]]
) -> list[Comparison]:
    """Absolute and relative variances of ``value`` against each reference (NaN stays NaN).

    The relative variance is the engine's (``pct_prior``, ``pct_year_ago``) when a reference carries
    it as a fourth item, else the same rule, value / reference − 1 (kpi-spec.md, "Comparisons"): one
    sign for the CSV and the page (−50 against −100 is −50% in both, issue 19). None where a relative
    change is not defined (rates vary in pp, scores in points)."""
    out = []
    for key, label, ref, *given in refs:
        delta = value - ref if not (_missing(value) or _missing(ref)) else math.nan
        if unit in ("percent", "score"):
            pct = None
        elif given:
            pct = _num(given[0])
        elif _missing(delta) or ref == 0:
            pct = math.nan
        else:
            pct = value / ref - 1
        out.append(Comparison(key, label, ref, delta, pct, variance_tone(delta, direction)))
    return out


def _marked(found: list[Comparison], row: Any) -> list[Comparison]:
    """The comparisons with those against a partly covered base (or from a partly covered period)
    marked partial (kpi-spec.md, "Comparisons": shown with the mark, never as a plain variance)."""
    from dataclasses import replace

    own = _get(row, "coverage") == "partial"
    base = {"py": _get(row, "year_ago_coverage") == "partial", "pp": _get(row, "prior_coverage") == "partial"}
    return [replace(c, partial=True) if own or base.get(c.key, False) else c for c in found]


def is_stock(kpi: ResolvedKpi, kpis: Mapping[str, ResolvedKpi]) -> bool:
    """A stock KPI (pipeline, open opportunities, MRR) is a level at the period's end: every measure it
    reads counts rows open at P.end. Its year to date is the same month-end value again, so the table
    leaves the to-date columns blank (not defined) for it."""
    seen: set[str] = set()

    def anchors(k: ResolvedKpi) -> list[bool]:
        out = []
        for name in k.formula.names:
            if name in MEASURES:
                out.append(ANCHORS[MEASURES[name].anchor].opens is not None)
            elif name in kpis and name not in seen and name != k.id:
                seen.add(name)
                out += anchors(kpis[name])
        return out

    found = anchors(kpi) if kpi.custom_measure is None else [bool(kpi.custom_measure.snapshot)]
    return bool(found) and all(found)


def shown_window(metrics: Metrics) -> str | None:
    """The to-date window the tiles show beside the period: year to date when configured, else the
    first configured one; None without windows (or a table without a ``window`` column)."""
    windows = tuple(getattr(metrics, "windows", ()) or ())
    if not windows or "window" not in metrics.table.columns:
        return None
    return next((w for w in WINDOW_PREFERENCE if w in windows), windows[0])


def window_view(metrics: Metrics, kid: str, formats: Formats) -> WindowView | None:
    """The shown window's row of one KPI for the reported period; None when the KPI has no window form
    (revenue growth, target achievement) or the window has no value."""
    window = shown_window(metrics)
    if window is None or kid in metrics.unavailable or is_stock(metrics.kpis[kid], metrics.kpis):
        return None  # a stock KPI's year to date is its month-end value again: not defined
    period = metrics.periods[-1]
    row = metrics.window_row(kid, period.label, window)
    if row is None or _missing(row["value"]):
        return None
    if str(_get(row, "period_start")) == period.start.isoformat():
        return None  # January's year to date is January: the tile already shows it
    kpi = metrics.kpis[kid]
    value, year_ago = _num(row["value"]), _num(row["year_ago"])
    cmp = comparisons(kpi.unit, kpi.direction, value, [("py", "PY", year_ago, _num(row["pct_year_ago"]))])[0]
    label, title = WINDOW_LABELS.get(window, (window.upper(), window.upper()))
    py_partial = _get(row, "year_ago_coverage") == "partial" and not _missing(year_ago)
    py_note = (f"PY {formats.t('partial')}: {formats.coverage_note(str(_get(row, 'year_ago_note')))}" if py_partial
               else _year_ago_note(metrics, kid, window, year_ago, formats))
    return WindowView(window, formats.t(label), formats.t(title), value, year_ago, cmp.delta, cmp.pct, cmp.tone,
                      str(_get(row, "coverage") or ""), formats.coverage_note(str(_get(row, "note") or "")),
                      py_note, py_partial)


def _year_ago_note(metrics: Metrics, kid: str, window: str, year_ago: float, formats: Formats) -> str:
    """Why the same window a year earlier is missing, so "PY n/a" never stands without a reason: the
    engine's own coverage rule applied to that window (the data starts after it began)."""
    from reportgen.engine import kpi_spans, window_coverage

    if not _missing(year_ago) or kid not in metrics.kpis:
        return ""
    period = metrics.periods[-1]
    earlier = period.shift(-PERIODS_PER_YEAR[period.grain])
    spans = kpi_spans(metrics.kpis[kid], metrics.kpis, metrics.quality)
    note = window_coverage(spans, window_start(earlier, window), earlier).note
    return formats.coverage_note(note) if note else formats.t("not in the data")


def _get(row: Any, key: str) -> Any:
    """A column of a metric row that hand-made tables may lack (coverage, note)."""
    try:
        value = row[key]
    except (KeyError, IndexError):
        return ""
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) else value


def partial_through(metrics: Metrics, kpi_ids: Sequence[str]) -> date | None:
    """The day the data stops inside the reported period ("data through Dec 20"), when any shown KPI's
    reported period is partial because a dataset ends early; None for a fully covered period."""
    period = metrics.periods[-1].label
    ends = []
    for kid in kpi_ids:
        row = metrics.row(kid, period) if kid in metrics.kpis and kid not in metrics.unavailable else None
        if row is not None and _get(row, "coverage") == "partial":
            ends += [d for _, kind, d in fmt.coverage_note_parts(str(_get(row, "note"))) if kind == "end" and d]
    return min(ends, default=None)


def kpi_view(metrics: Metrics, kid: str, formats: Formats, *, period_word: str = "Prior period") -> KpiView:
    """The reported period of one KPI with its references, sparkline and bullet graph, its coverage
    (a missing value carries its reason) and the to-date window beside it."""
    kpi = metrics.kpis[kid]
    t = formats.t
    formula = getattr(kpi.formula, "text", "")
    base = _KpiBase(id=kid, name=t(kpi.name), unit=kpi.unit, direction=kpi.direction, objective=kpi.objective,
                    definition=kpi.definition, formula=formula, commentary=kpi.commentary)
    period = metrics.periods[-1].label
    row = metrics.row(kid, period) if kid not in metrics.unavailable else None
    if row is None:
        nan = math.nan
        return KpiView(**base, value=nan, target=nan, prior=nan, year_ago=nan, benchmark=nan, benchmark_source="",
                       achievement=nan, status="", comparisons=[], sparkline=Markup(""), bullet=None,
                       unavailable=metrics.unavailable.get(kid, t("n/a")).removeprefix("unavailable: "))
    value = _num(row["value"])
    coverage = _KpiCoverage(coverage=str(_get(row, "coverage") or ""),
                            note=formats.coverage_note(str(_get(row, "note") or "")),
                            window=window_view(metrics, kid, formats))
    refs: list[tuple[str, str, float] | tuple[str, str, float, float]] = [
        ("pl", "PL", _num(row["target"])), ("py", "PY", _num(row["year_ago"]), _num(row["pct_year_ago"])),
        ("pp", "PP", _num(row["prior"]), _num(row["pct_prior"]))]
    history = metrics.series(kid).to_list()
    higher = kpi.direction != "lower"
    spark = charts.sparkline(history, width=112, height=21, higher_is_better=higher,
                             title=series_alt(t(kpi.name), history, list(metrics.series(kid).index), kpi.unit, formats))
    bullet = None
    if not _missing(row["target"]):
        bullet = Markup(charts.bullet(value, _num(row["target"]), higher_is_better=higher, width=160, height=18,
                                      title=against_alt(t(kpi.name), value, row["target"], kpi.unit, formats),
                                      missing_label=t("n/a")))
    return KpiView(**base, value=value, target=_num(row["target"]), prior=_num(row["prior"]),
                   year_ago=_num(row["year_ago"]), benchmark=_num(row["benchmark"]),
                   benchmark_source=str(row["benchmark_source"] or ""), achievement=_num(row["achievement"]),
                   status=str(row["status"] or ""),
                   comparisons=_marked(comparisons(kpi.unit, kpi.direction, value, refs), row),
                   sparkline=Markup(spark), bullet=bullet, planned=bool(metrics.series(kid, "target").notna().any()),
                   **coverage)


@dataclass(frozen=True)
class ObjectiveGroup:
    """KPIs grouped under one business objective (growth, efficiency, customers, activity)."""

    key: str
    title: str
    kpis: list[KpiView]


def audience_kpis(metrics: Metrics, loaded: LoadedConfig, audience: Audience) -> list[str]:
    """The KPIs an audience shows, in its order (default: every non-hidden KPI of the config)."""
    ids = audience.kpis or [k.id for k in loaded.config.kpis] or [k for k, v in metrics.kpis.items() if not v.hidden]
    return [k for k in ids if k in metrics.kpis]


def objective_order(ids: Sequence[str], objectives: Mapping[str, Sequence[str]]) -> list[tuple[str, str, list[str]]]:
    """(key, title, KPI ids) per objective, in the objectives' order; the rest under "Other". An objective
    none of whose KPIs is shown is left out (no empty heading)."""
    shown = set(ids)
    groups, placed = [], set()
    for key, members in objectives.items():
        mine = [k for k in dict.fromkeys(members) if k in shown and k not in placed]
        placed |= set(mine)
        if mine:
            groups.append((key, key.replace("_", " ").capitalize(), mine))
    rest = [k for k in ids if k not in placed]
    if rest:
        groups.append(("other", "Other", rest))
    return groups


def group_by_objective(views: Sequence[KpiView], objectives: Mapping[str, Sequence[str]]) -> list[ObjectiveGroup]:
    """Tiles under the config's objectives, in the objectives' order; the rest under "Other"."""
    by_id = {v.id: v for v in views}
    return [ObjectiveGroup(key, title, [by_id[k] for k in members])
            for key, title, members in objective_order([v.id for v in views], objectives)]
