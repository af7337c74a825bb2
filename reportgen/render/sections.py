"""The sections beside the tiles: breakdowns, trend charts, the rep leaderboard, the funnel, activity
by rep and the data-quality appendix."""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from markupsafe import Markup

from reportgen import charts
from reportgen.engine.coverage import base_functions
from reportgen.engine.forecast import forecast as make_forecast
from reportgen.kpis.catalogue import ForecastMethod, Unit
from reportgen.render.alttext import bars_alt, series_alt
from reportgen.render.formats import Formats, _missing, _num
from reportgen.render.views import KpiView, variance_tone

if TYPE_CHECKING:
    from reportgen.engine.metrics import Metrics

DIMENSION_LABELS = {"rep": "Rep", "region": "Region", "product": "Product", "source": "Channel"}
TREND_KPIS = ("revenue", "win_rate", "average_deal_size", "cac", "churn_rate", "nps", "csat", "clv")
"""Client trend charts, in this order, for whichever of these the audience shows (max six)."""
ACTIVITY_KPIS = ("calls_made", "emails_sent", "meetings_scheduled", "follow_up_rate", "lead_response_hours")
FUNNEL_KPIS = (("leads_created", "Leads"), ("opportunities_created", "Opportunities"), ("deals_won", "Won"))

@dataclass(frozen=True)
class Breakdown:
    """One dimension of one KPI in the reported period: sorted bars and a small table."""

    dimension: str
    title: str
    kpi: str
    unit: Unit
    chart: Markup
    rows: list[dict[str, Any]]


def breakdown_view(metrics: Metrics, kid: str, dimension: str, formats: Formats,
                   extra: Sequence[str] = (), maximum: float | None = None) -> Breakdown | None:
    """Bars of ``kid`` by ``dimension`` with a table that adds the ``extra`` KPIs per segment."""
    period = metrics.periods[-1].label
    frame = metrics.breakdown(kid, dimension, period)
    if frame.empty:
        return None
    kpi = metrics.kpis[kid]
    labels, values = frame["segment"].astype(str).to_list(), frame["value"].to_list()
    chart = charts.breakdown_bars(
        labels,
        values,
        value_format=lambda v: formats.compact(v, kpi.unit),
        width=330,
        row_height=18,
        title=bars_alt(f"{formats.t(kpi.name)} by {dimension}", labels, values, kpi.unit, formats),
        missing_label=formats.t("n/a"),
        maximum=maximum,
    )
    others = {e: metrics.breakdown(e, dimension, period).set_index("segment") for e in extra if e in metrics.kpis}
    rows = []
    for _, r in frame.iterrows():
        row = {"segment": r["segment"], "value": r["value"], "pct_prior": r["pct_prior"],
               "tone": variance_tone(_num(r["delta_prior"]), kpi.direction)}
        for e, other in others.items():
            row[e] = other["value"].get(r["segment"], math.nan)
        rows.append(row)
    title = formats.t(DIMENSION_LABELS.get(dimension, dimension.capitalize()))
    return Breakdown(dimension, title, kid, kpi.unit, Markup(chart), rows)


def possible_range(unit: Unit, history: Sequence[float], *, growth: bool = False) -> tuple[float | None, float | None]:
    """The values a KPI can take, for keeping its forecast inside them: a rate (win rate, churn) lies in
    [0, 100%] and a count, duration or ratio is never negative; a growth rate or a margin is unbounded
    where its history already left [0, 1]. A forecast line drawn above the 100% line (a win rate of
    103.3%) is a forecast of something impossible (issue 18)."""
    seen = [float(v) for v in history if not _missing(v)]
    if unit == "percent" and not growth:
        return min([0.0, *seen]), max([1.0, *seen])
    if unit in ("count", "days", "hours", "ratio") and all(v >= 0 for v in seen):
        return 0.0, None
    if unit == "score":
        return min([-100.0, *seen]), max([100.0, *seen])
    return None, None


@dataclass(frozen=True)
class TrendView:
    """A trend chart (AC, PY, PL, FC) of one KPI with the figures quoted under it."""

    kpi: KpiView
    chart: Markup
    forecast_next: float
    forecast_label: str


def trend_view(metrics: Metrics, view: KpiView, formats: Formats, *, periods: int, method: ForecastMethod,
               width_px: int = 330, height_px: int = 160) -> TrendView:
    """History plus ``periods`` forecast periods; PY of a future period is the actual a year before it."""
    kid = view.id
    labels = [p.label for p in metrics.periods]
    actual = metrics.series(kid).to_list()
    year_ago = metrics.series(kid, "year_ago").to_list()
    target = metrics.series(kid, "target").to_list()
    future = [metrics.periods[-1].shift(k + 1) for k in range(periods)]
    low, high = possible_range(view.unit, actual, growth=bool(base_functions(metrics.kpis[kid], metrics.kpis))
                               if kid in metrics.kpis else False)
    fc = make_forecast(actual, periods, method, lower=low, upper=high) if periods else []
    no_forecast: list[float | None] = [None] * len(labels)
    by_label = dict(zip(labels, actual))
    all_labels = labels + [p.label for p in future]
    py_future = [by_label.get(p.shift(-12).label, math.nan) if metrics.grain == "month" else math.nan for p in future]
    chart = charts.trend(
        [formats.period_short(label) for label in all_labels],
        actual + [None] * periods,
        prior_year=year_ago + py_future,
        target=target + [None] * periods if any(not _missing(v) for v in target) else None,
        forecast=[*no_forecast, *fc] if periods else None,
        value_format=lambda v: formats.compact(v, view),  # the KPI's one format: "$1.00M", not "$500,000 / $1M"
        width_px=width_px,
        height_px=height_px,
        kind="line",
        title=series_alt(f"{view.name}: {formats.t('trend with prior year, plan and forecast')}", actual, labels,
                         view.unit, formats, number=view.number.value if view.number else None),
    )
    return TrendView(view, Markup(chart), fc[0] if fc else math.nan, future[0].label if future else "")


def leaderboard(metrics: Metrics, formats: Formats) -> list[dict[str, Any]]:
    """Reps ranked by quota attainment (revenue against the rep's own target; revenue breaks ties and
    ranks reps without a quota last), with deals won and win rate."""
    period = metrics.periods[-1].label
    frame = metrics.breakdown("revenue", "rep", period) if "revenue" in metrics.kpis else None
    if frame is None or frame.empty:
        return []
    frame = frame.sort_values(["achievement", "value"], ascending=False, na_position="last")
    frame = frame.assign(rank=range(1, len(frame) + 1))
    extra = {k: metrics.breakdown(k, "rep", period).set_index("segment")["value"]
             for k in ("deals_won", "win_rate", "pipeline_value") if k in metrics.kpis}
    top = max([_num(v) for v in frame["achievement"] if not _missing(v)] + [1.2])
    rows: list[dict[str, Any]] = []
    for _, r in frame.iterrows():
        ach = _num(r["achievement"])
        bar = charts.bullet(ach, 1.0, maximum=top, width=120, height=12, title=f"{r['segment']}: quota attainment",
                            missing_label=formats.t("n/a"))
        rows.append({"rank": int(r["rank"]) if not _missing(r["rank"]) else None, "rep": r["segment"],
                     "revenue": r["value"], "quota": r["target"], "attainment": ach, "bar": Markup(bar),
                     "status": r["status"], "pct_prior": r["pct_prior"],
                     "tone": variance_tone(_num(r["delta_prior"]), "higher"),
                     **{k: s.get(r["segment"], math.nan) for k, s in extra.items()}})
    return rows


def stages_nest(counts: Sequence[float | None]) -> bool:
    """Whether period counts can be drawn as a funnel: every stage present and none larger than the one
    before. Counts of one period are not a cohort (511 deals won in a month from 121 created in it);
    drawn as a funnel they show a stage four times wider than its parent and a "conversion" that means
    nothing, so such a period gets no funnel (issue 18)."""
    present = [float(v) for v in counts if v is not None and not _missing(v)]
    return len(present) == len(counts) and all(b <= a for a, b in zip(present, present[1:]))


def funnel_view(metrics: Metrics, formats: Formats) -> Markup | None:
    """Leads created -> opportunities created -> deals won in the reported period, when they nest."""
    period = metrics.periods[-1].label
    stages = []
    for kid, label in FUNNEL_KPIS:
        if kid not in metrics.kpis or kid in metrics.unavailable:
            continue  # a stage the data cannot give (no leads dataset) is left out, not drawn as n/a
        row = metrics.row(kid, period)
        # Two leading no-break spaces: charts sizes the label column from an average glyph width,
        # which underestimates wide words such as "Opportunities" in Inter by a few pixels.
        stages.append(("\u00a0\u00a0" + formats.t(label), None if row is None else _num(row["value"])))
    if len(stages) < 2 or all(v is None for _, v in stages):
        return None
    if not stages_nest([v for _, v in stages]):
        return None

    return Markup(charts.funnel(stages, value_format=lambda v: formats.value(v, "count"),
                                conversion_format=lambda f: formats.value(f, "percent"), width=330,
                                title="Leads to won deals", missing_label=formats.t("n/a")))


@dataclass(frozen=True)
class QualityRow:
    """One dataset in the data-quality appendix: what was read, each rule's count of rejected rows and
    the first offending lines, the date span and how dates and numbers were read."""

    name: str
    source: str
    rows_read: int
    rejected: list[tuple[str, int]]
    first_date: Any
    last_date: Any
    missing: list[tuple[str, int]]
    examples: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    data_through: Any = None
    date_formats: list[tuple[str, str]] = field(default_factory=list)
    number_formats: list[tuple[str, str]] = field(default_factory=list)


EXAMPLE_LINES = 3
"""Offending rows shown per dataset; the build log and the export have the rest."""

EXAMPLE_CHARS = 160
"""An example line longer than this is cut (a CSV row can be kilobytes)."""


def quality_rows(metrics: Metrics, base_dir: Path | None = None) -> list[QualityRow]:
    """Per dataset: source (relative to the config when possible), rows read, rejected rows per rule with
    the first examples, dates, gaps, and the formats its dates and numbers were read in."""
    out = []
    for name, q in metrics.quality.items():
        source = str(q.source)
        if base_dir is not None:
            try:
                source = str(Path(source).resolve().relative_to(base_dir.resolve().parent))
            except ValueError:
                pass
        rejected = sorted(((str(k), int(v)) for k, v in (q.rows_rejected or {}).items() if v),
                          key=lambda item: (-item[1], item[0]))
        examples = tuple(_clip(str(e)) for e in tuple(getattr(q, "examples", ()) or ())[:EXAMPLE_LINES])
        out.append(QualityRow(name, source, int(q.rows_read), rejected, q.first_date, q.last_date,
                              sorted(q.missing_values.items()), examples,
                              tuple(getattr(q, "notes", ()) or ()), getattr(q, "data_through", None),
                              sorted((getattr(q, "date_formats", None) or {}).items()),
                              sorted((getattr(q, "number_formats", None) or {}).items())))
    return out


@dataclass(frozen=True)
class FormatGroup:
    """One way values were read ("ISO dates") and the datasets read that way, for the appendix."""

    kind: str                 # "Dates" | "Numbers"
    format: str
    datasets: list[str]


def format_groups(rows: Sequence[QualityRow]) -> list[FormatGroup]:
    """Date and number formats as read, each listed once with the datasets that used it (most
    datasets share one, and ten identical lines would bury the one that differs)."""
    groups: dict[tuple[str, str], list[str]] = {}
    for q in rows:
        for kind, formats in (("Dates", q.date_formats), ("Numbers", q.number_formats)):
            for f in dict.fromkeys(f for _, f in formats):
                groups.setdefault((kind, f), []).append(q.name)
    return [FormatGroup(kind, f, names) for (kind, f), names in groups.items()]


def _clip(line: str) -> str:
    return line if len(line) <= EXAMPLE_CHARS else line[:EXAMPLE_CHARS - 1] + "…"


def rep_activity(metrics: Metrics) -> list[dict[str, Any]]:
    """Calls, emails, meetings and follow-up rate per rep in the reported period."""
    period = metrics.periods[-1].label
    cols = {k: metrics.breakdown(k, "rep", period).set_index("segment")["value"]
            for k in ("calls_made", "emails_sent", "meetings_scheduled", "follow_up_rate") if k in metrics.kpis}
    if not cols:
        return []
    reps = sorted(set().union(*(set(s.index) for s in cols.values())))
    rows = [{"rep": rep, **{k: s.get(rep, math.nan) for k, s in cols.items()}} for rep in reps]
    key = "calls_made" if "calls_made" in cols else next(iter(cols))
    return sorted(rows, key=lambda r: -_num(r[key]) if not _missing(r[key]) else math.inf)

