"""Generated sentences from the numbers: the "What changed" box an executive reads first.

Pure functions over :class:`~reportgen.engine.Metrics` (or a single metric row), so they are tested
with small hand-made tables and exact sentences. Every number goes through :mod:`reportgen.render.fmt`, so a
German reader gets "1,8 Mio. $" and "um 29,1 %", and the sentence patterns themselves exist in
English, German and French (other languages fall back to English, never crash).

Three kinds of statement:

* the change of a KPI on the prior period, with its position against plan
  ("Sales revenue rose 29.1% on last month to $1.76M, 20.3% above plan."),
* status changes, computed with the same thresholds as the current status because the prior
  period's row carries its own status ("Churn rate slipped from good to bad (3.6%; plan 2.0%)."),
* top movers: the largest relative changes, judged by the KPI's direction (a falling cost is good).

A rate (unit ``percent``) moves in percentage points, never in percent of itself, so "win rate rose
8.6 pp", not "17.8%".
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, TypeAlias, TypeGuard

from reportgen.kpis.catalogue import Unit
from reportgen.render.catalogues import WithCatalogues, catalogue_section
from reportgen.render.fmt import (
    _format_decimal,
    coverage_note_parts,
    format_coverage_note,
    format_day_month,
    format_delta,
    format_value,
    translate,
)
from reportgen.render.formats import _missing

if TYPE_CHECKING:
    import pandas as pd

    from reportgen.engine.metrics import Metrics
    from reportgen.engine.resolve import ResolvedKpi
    from reportgen.render.kpiformat import KpiFormat

    Row: TypeAlias = Mapping[str, Any] | pd.Series[Any]
    """A metric row: a row of the metric table, or a hand-made dict in tests."""

Tone = Literal["good", "bad", "neutral"]

UNCHANGED_BELOW = 0.0005
"""A relative change under 0.05 % prints as 0.0 %, so it is called unchanged."""

# Sentence patterns per language. {grain} is the prior-period phrase of the grain below.
_PATTERNS: dict[str, dict[str, str]] = WithCatalogues({
    "en": {
        "up": "{name} rose {change} on {grain} to {value}",
        "down": "{name} fell {change} on {grain} to {value}",
        "flat": "{name} was unchanged on {grain} at {value}",
        "no_prior": "{name} was {value}",
        "missing": "{name} is not available for this period",
        "missing_why": "{name} is not available for this period ({why})",
        "partial": "{name} was {value} in the partial period ({why})",
        "above": "{gap} above plan",
        "below": "{gap} below plan",
        "on_plan": "on plan",
        "status": "{name} slipped from {before} to {after} ({value}; {ref_label} {ref})",
    },
    "de": {
        # noun style ("Anstieg um ...") so the sentence is right whatever the KPI name's number and
        # gender: "Neukunden stieg" would be wrong, "Neukunden: Anstieg um 20 %" is not
        "up": "{name}: Anstieg gegenüber {grain} um {change} auf {value}",
        "down": "{name}: Rückgang gegenüber {grain} um {change} auf {value}",
        "flat": "{name}: unverändert gegenüber {grain} bei {value}",
        "no_prior": "{name}: {value}",
        "missing": "{name}: für diese Periode nicht verfügbar",
        "missing_why": "{name}: für diese Periode nicht verfügbar ({why})",
        "partial": "{name}: {value} in der unvollständigen Periode ({why})",
        "above": "{gap} über Plan",
        "below": "{gap} unter Plan",
        "on_plan": "im Plan",
        "status": "{name}: von {before} auf {after} gefallen ({value}; {ref_label} {ref})",
    },
    "fr": {
        # noun style, for the same reason as in German (no article or agreement to get wrong)
        "up": "{name}\u00a0: hausse de {change} par rapport {grain}, à {value}",
        "down": "{name}\u00a0: baisse de {change} par rapport {grain}, à {value}",
        "flat": "{name}\u00a0: stable par rapport {grain}, à {value}",
        "no_prior": "{name}\u00a0: {value}",
        "missing": "{name}\u00a0: non disponible pour cette période",
        "missing_why": "{name}\u00a0: non disponible pour cette période ({why})",
        "partial": "{name}\u00a0: {value} sur la période partielle ({why})",
        "above": "{gap} au-dessus du budget",
        "below": "{gap} en dessous du budget",
        "on_plan": "conforme au budget",
        "status": "{name}\u00a0: passage de {before} à {after} ({value} ; {ref_label} {ref})",
    },
}, lambda language: catalogue_section(language, "sentence"))

_GRAIN_PHRASES: dict[str, dict[str, str]] = WithCatalogues({
    "en": {"month": "last month", "quarter": "last quarter", "year": "last year", "week": "last week"},
    "de": {"month": "dem Vormonat", "quarter": "dem Vorquartal", "year": "dem Vorjahr", "week": "der Vorwoche"},
    "fr": {"month": "au mois précédent", "quarter": "au trimestre précédent", "year": "à l’année précédente",
           "week": "à la semaine précédente"},
}, lambda language: catalogue_section(language, "grain"))

_STATUS_ORDER = {"good": 2, "warning": 1, "bad": 0}


@dataclass(frozen=True)
class Statement:
    """One generated sentence, the KPI it is about and whether the news is good for the business."""

    kpi: str
    text: str
    tone: Tone


def _language(locale: str) -> str:
    lang = locale.replace("-", "_").split("_", 1)[0].lower()
    return lang if lang in _PATTERNS else "en"


def _present(value: Any) -> TypeGuard[float]:
    """The opposite of :func:`_missing`: a finite number, which ``float()`` takes."""
    return not _missing(value)


def _unsigned(text: str) -> str:
    """fmt's signed deltas without their sign: the verb ("rose", "fell") carries the direction."""
    return text.lstrip("+\u2212-")


def tone_of(change: float, direction: str) -> Tone:
    """good when the KPI moved the way its direction prefers, bad the other way, neutral when flat."""
    if _missing(change) or abs(change) < UNCHANGED_BELOW:
        return "neutral"
    return "good" if (change > 0) == (direction != "lower") else "bad"


def change_sentence(name: str, unit: Unit, row: Row, *, grain: str = "month",
                    locale: str = "en_US", currency: str = "USD", number: KpiFormat | None = None) -> str:
    """One KPI's change on the prior period, and where it stands against plan, as a sentence.

    ``row`` needs ``value``, ``prior``, ``pct_prior``, ``delta_prior`` and ``target`` (NaN when
    missing), i.e. a row of the metric table. ``number``: the KPI's one format on this scorecard (the
    table's), so the sentence says "$1.76M" where the row does. A score (NPS) moves in points and a
    rate in percentage points, never in percent of itself.
    """
    lang = _language(locale)
    patterns = _PATTERNS[lang]
    value, prior = row.get("value"), row.get("prior")
    note = _text(row.get("note"))
    if not _present(value):
        if note:
            return patterns["missing_why"].format(name=name, why=format_coverage_note(note, locale=locale)) + "."
        return patterns["missing"].format(name=name) + "."
    value_text = (number.value(value) if number is not None
                  else format_value(value, unit, locale=locale, currency=currency, compact=True))
    if _text(row.get("coverage")) == "partial":
        # a month whose export stops on the 20th is not compared with a whole prior month or its plan
        return patterns["partial"].format(name=name, value=value_text, why=partial_reason(note, locale)) + "."
    grain_text = _GRAIN_PHRASES[lang].get(grain, _GRAIN_PHRASES[lang]["month"])
    if not _present(prior):
        sentence = patterns["no_prior"].format(name=name, value=value_text)
    else:
        delta = float(value) - float(prior)
        pct = row.get("pct_prior")
        if unit == "percent":
            flat = round(abs(delta) * 100, 1) == 0
            change = _unsigned(format_delta(abs(delta), "percent", locale=locale))
        elif unit == "score":
            flat = round(abs(delta), 1) == 0
            change = points(abs(delta), locale)
        elif _present(pct) and abs(float(pct)) >= UNCHANGED_BELOW:
            flat = False
            change = _unsigned(format_value(abs(float(pct)), "percent", locale=locale))
        else:
            flat = True
            change = ""
        key = "flat" if flat else ("up" if delta > 0 else "down")
        sentence = patterns[key].format(name=name, change=change, grain=grain_text, value=value_text)
    plan = plan_clause(unit, value, row.get("target"), locale=locale)
    return sentence + (", " + plan if plan else "") + "."


def points(value: float, locale: str) -> str:
    """A score's change in points ("25.3 points"): an NPS of -10 going to 5 did not rise "150%"."""
    return translate("{n} points", locale).format(n=_format_decimal(value, 1, locale))


def _text(value: Any) -> str:
    """A text cell of a metric row ('' when absent or NaN: hand-made tables lack coverage and note)."""
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)


def partial_reason(note: str, locale: str = "en_US") -> str:
    """Why a period is partial, for a sentence: "data through Dec 20", else the coverage note."""
    ends = [d for _, kind, d in coverage_note_parts(note) if kind == "end" and d is not None]
    if ends:
        return translate("data through {date}", locale).format(date=format_day_month(min(ends), locale=locale))
    return format_coverage_note(note, locale=locale)


def plan_clause(unit: Unit, value: Any, target: Any, *, locale: str = "en_US") -> str:
    """"3.0% above plan", "2.1 pp below plan", "on plan"; empty without a target.

    Rates compare in percentage points, amounts relative to the plan.
    """
    if _missing(value) or _missing(target):
        return ""
    patterns = _PATTERNS[_language(locale)]
    value, target = float(value), float(target)
    if unit == "percent":
        gap = value - target
        if round(abs(gap) * 100, 1) == 0:
            return patterns["on_plan"]
        gap_text = _unsigned(format_delta(abs(gap), "percent", locale=locale))
    elif unit == "score":
        gap = value - target
        if round(abs(gap), 1) == 0:
            return patterns["on_plan"]
        gap_text = points(abs(gap), locale)
    else:
        if target == 0:
            return ""
        gap = value / target - 1
        if abs(gap) < UNCHANGED_BELOW:
            return patterns["on_plan"]
        gap_text = format_value(abs(gap), "percent", locale=locale)
    return patterns["above" if gap > 0 else "below"].format(gap=gap_text)


def status_sentence(name: str, unit: Unit, before: str, after: str, row: Row, *,
                    locale: str = "en_US", currency: str = "USD", number: KpiFormat | None = None) -> str:
    """"Churn rate slipped from good to bad (3.6%; plan 2.0%)." The reference is the target, else the
    benchmark, as for the status itself."""
    target, benchmark = row.get("target"), row.get("benchmark")
    use_target = not _missing(target)
    lang = _language(locale)
    ref_label = translate("Plan" if use_target else "Benchmark", locale)

    def shown(v: Any) -> str:
        return number.value(v) if number is not None else format_value(v, unit, locale=locale, currency=currency,
                                                                         compact=True)
    return _PATTERNS[lang]["status"].format(
        name=name, before=translate(before, locale), after=translate(after, locale), value=shown(row.get("value")),
        ref_label=ref_label if lang == "de" else ref_label.lower(),  # German nouns keep their capital
        ref=shown(target if use_target else benchmark),
    ) + "."


def _partial(row: Row) -> bool:
    """A partly covered period: its change on a whole prior period is an artefact of the cut-off."""
    return _text(row.get("coverage")) == "partial"


def worsened(before: str, after: str) -> bool:
    """True when the status got worse (good -> warning/bad, warning -> bad)."""
    return before in _STATUS_ORDER and after in _STATUS_ORDER and _STATUS_ORDER[after] < _STATUS_ORDER[before]


@dataclass(frozen=True)
class Mover:
    """A KPI with a large relative change on the prior period."""

    kpi: str
    pct: float
    tone: Tone


def top_movers(metrics: Metrics, kpis: Sequence[str], n: int = 3) -> list[Mover]:
    """The ``n`` KPIs with the largest relative change on the prior period (either way).

    A change across zero (prior and value of opposite signs, or a zero prior) has no meaningful
    relative size and is left out.
    """
    period = metrics.periods[-1].label
    found = []
    for kid in kpis:
        row = metrics.row(kid, period)
        if row is None or _missing(row["pct_prior"]) or _missing(row["prior"]) or _partial(row):
            continue
        if float(row["prior"]) == 0 or (float(row["prior"]) > 0) != (float(row["value"]) > 0):
            continue
        pct = float(row["pct_prior"])
        if abs(pct) < UNCHANGED_BELOW:
            continue
        found.append(Mover(kid, pct, tone_of(pct, str(row["direction"]))))
    return sorted(found, key=lambda m: -abs(m.pct))[:n]


def status_changes(metrics: Metrics, kpis: Sequence[str]) -> list[tuple[str, str, str]]:
    """(kpi, status before, status now) for KPIs whose status got worse since the prior period."""
    if len(metrics.periods) < 2:
        return []
    now, before = metrics.periods[-1].label, metrics.periods[-2].label
    out = []
    for kid in kpis:
        row_now, row_before = metrics.row(kid, now), metrics.row(kid, before)
        if row_now is None or row_before is None or _partial(row_now):
            continue
        if worsened(str(row_before["status"]), str(row_now["status"])):
            out.append((kid, str(row_before["status"]), str(row_now["status"])))
    return out


_DRIVER: dict[str, str] = {
    "en": "largest contribution: {dimension} {segment} ({delta})",
    "de": "größter Beitrag: {dimension} {segment} ({delta})",
    "fr": "principale contribution : {dimension} {segment} ({delta})",
}

DRIVER_SHARE = 0.25
"""A segment is named as the driver only if it explains at least this share of the change."""


def driver_clause(metrics: Metrics, kid: str, *, locale: str = "en_US", currency: str = "USD",
                  number: KpiFormat | None = None) -> str:
    """The segment that moved an additive KPI most, in the direction it moved ("largest contribution:
    Region North (+$243,881)"): the "why" beside the "what". Empty for ratios (a segment's change in
    win rate does not add up to the company's), without breakdown rows, or when no single segment
    explains at least a quarter of the change."""
    kpi = metrics.kpis.get(kid)
    period = metrics.periods[-1].label
    row = metrics.row(kid, period)
    if (kpi is None or not kpi.additive or row is None or _missing(row["delta_prior"]) or row["delta_prior"] == 0
            or _partial(row)):
        return ""
    total = float(row["delta_prior"])
    t = metrics.table
    rows = t[(t["kpi"] == kid) & (t["period"] == period) & (t["dimension"] != "") & t["delta_prior"].notna()]
    rows = rows[(rows["delta_prior"] * total) > 0]
    if rows.empty:
        return ""
    best = rows.loc[(rows["delta_prior"].abs()).idxmax()]  # type: ignore[call-overload]  # pandas-stubs: .loc refuses the Hashable label idxmax returns
    if abs(float(best["delta_prior"])) / abs(total) < DRIVER_SHARE:
        return ""
    language = _language(locale)  # a catalogue language has its pattern as sentence:driver
    return (_DRIVER.get(language) or _PATTERNS[language]["driver"]).format(
        dimension=translate(str(best["dimension"]).replace("_", " ").capitalize(), locale),
        segment=best["segment"],
        delta=(number.delta(float(best["delta_prior"])) if number is not None
               else format_delta(float(best["delta_prior"]), kpi.unit, locale=locale, currency=currency)))


def what_changed(metrics: Metrics, kpis: Sequence[str], *, locale: str = "en_US", currency: str = "USD",
                 limit: int = 5, numbers: Mapping[str, KpiFormat] | None = None) -> list[Statement]:
    """The summary on top of a scorecard: the headline KPI, status slips, then the top movers.

    Each KPI is mentioned once; at most ``limit`` statements, so the box stays a summary. ``numbers``:
    each KPI's one format on this scorecard (see :mod:`reportgen.render.kpiformat`).
    """
    numbers = numbers or {}
    period = metrics.periods[-1].label
    shown = [k for k in kpis if k in metrics.kpis and k not in metrics.unavailable]
    statements: list[Statement] = []
    mentioned: set[str] = set()

    def kpi_name(kid: str) -> str:
        return translate(metrics.kpis[kid].name, locale)

    def add_change(kid: str) -> None:
        row = metrics.row(kid, period)
        if row is None or kid in mentioned:
            return
        kpi: ResolvedKpi = metrics.kpis[kid]
        text = change_sentence(
            translate(kpi.name, locale), kpi.unit, row, grain=metrics.grain, locale=locale, currency=currency,
            number=numbers.get(kid))
        change = math.nan if _missing(row["pct_prior"]) or _partial(row) else float(row["pct_prior"])
        statements.append(Statement(kid, text, tone_of(change, kpi.direction)))
        mentioned.add(kid)

    if shown:
        add_change(shown[0])
        driver = driver_clause(metrics, shown[0], locale=locale, currency=currency, number=numbers.get(shown[0]))
        if driver and statements:
            first = statements[0]
            statements[0] = Statement(first.kpi, first.text[:-1] + "; " + driver + ".", first.tone)
    for kid, before, after in status_changes(metrics, shown):
        if kid in mentioned:
            continue
        kpi = metrics.kpis[kid]
        row = metrics.row(kid, period)
        assert row is not None  # status_changes only returns KPIs with a row in the reported period
        statements.append(Statement(kid, status_sentence(kpi_name(kid), kpi.unit, before, after, row,
                                                         locale=locale, currency=currency,
                                                         number=numbers.get(kid)), "bad"))
        mentioned.add(kid)
    for mover in top_movers(metrics, shown, n=len(shown)):
        if len(statements) >= limit:
            break
        add_change(mover.kpi)
    return [Statement(s.kpi, punctuated(s.text, locale), s.tone) for s in statements[:limit]]


_FULL_WIDTH_PUNCTUATION = {"ja": ("、", "。")}
"""Languages that write the clause and sentence marks full width (comma, full stop): the sentences are
joined with ", ", "; " and a final "." here, whatever the language."""


def punctuated(sentence: str, locale: str) -> str:
    """``sentence`` with the language's own marks: in Japanese ", " is 、, "; " and the final "." are 。
    (inside parentheses "; " is 、, as it separates list items there); decimal points are left alone."""
    marks = _FULL_WIDTH_PUNCTUATION.get(locale.replace("-", "_").split("_", 1)[0].lower())
    if not marks:
        return sentence
    comma, stop = marks
    out: list[str] = []
    depth, i = 0, 0
    while i < len(sentence):
        ch, pair = sentence[i], sentence[i:i + 2]
        depth += 1 if ch in "(（" else -1 if ch in ")）" else 0
        if pair in (", ", "; "):
            out.append(stop if pair == "; " and depth == 0 else comma)
            i += 2
            continue
        out.append(stop if ch == "." and i == len(sentence) - 1 else ch)
        i += 1
    return "".join(out)
