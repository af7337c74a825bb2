"""Coverage (kpi-spec.md, "Coverage"): which periods the data can speak for, per KPI.

A KPI's rows are placed by one date column per dataset it reads (revenue by close_date, pipeline by
created_date, churn by start_date). The data speaks from that column's first date up to the dataset's
last date (any date column, or the config's ``data_through``). A period outside that span is missing
with the reason, never 0; a period partly inside it is computed and marked partial, so an executive
never reads "revenue fell 60%" for a month whose export stopped on the 12th.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from reportgen.engine.resolve import ResolvedKpi, snapshot_column
from reportgen.kpis.catalogue import ANCHORS, MEASURES
from reportgen.kpis.periods import Period

if TYPE_CHECKING:
    from reportgen.data import DatasetQuality

NONE, PARTIAL, FULL = "none", "partial", ""


@dataclass(frozen=True)
class Span:
    """The days one dataset can speak for, as seen through the column that places a KPI's rows."""

    dataset: str
    column: str
    first: date | None
    last: date | None  # None: the dataset has no dated rows
    empty_column: bool = False  # the dataset has dates, but not one in the column that places these rows
    #: A snapshot dataset's as-of days (``data.snapshot``): only they are covered, each up to its day.
    snapshots: tuple[date, ...] | None = None


@dataclass(frozen=True)
class Reason:
    """Why a period is not (wholly) covered, as data: every layer reads it and every locale translates
    it, instead of parsing an English sentence back. ``kind``: "begin" / "end" (the data begins after,
    or ends before, the period does; ``day`` says when), "no_dates" (the dataset has no dated rows),
    "no_column" (it has dates, but none in ``column``, the column that places this KPI's rows) or
    "no_snapshot" (a snapshot dataset with none in the period; ``column`` is "snapshot")."""

    dataset: str
    kind: str
    day: date | None = None
    column: str = ""

    @property
    def text(self) -> str:
        """The English form, as the metric table's ``note`` column carries it ("deals end 2025-12-31")."""
        if self.kind == "no_dates":
            return f"{self.dataset} has no dated rows"
        if self.kind in ("no_column", "no_snapshot"):
            return f"{self.dataset} has no {self.column}"
        return f"{self.dataset} {self.kind} {self.day.isoformat() if self.day else ''}"


_NOTE_PART = re.compile(r"^(?P<dataset>\S+) (?:(?P<kind>begin|end) (?P<day>\d{4}-\d{2}-\d{2})|has no (?P<what>.+))$")


def reasons_of(note: str) -> list[Reason]:
    """The reasons of a ``note`` cell of the metric table: the inverse of ``Reason.text``, in the one
    module that writes them (a metric CSV read back, a table built by hand). Text that is not a
    reason this module writes is left out."""
    out: list[Reason] = []
    for part in (note or "").split("; "):
        match = _NOTE_PART.match(part.strip())
        if match is None:
            continue
        if match["kind"]:
            out.append(Reason(match["dataset"], match["kind"], date.fromisoformat(match["day"])))
        elif match["what"] == "dated rows":
            out.append(Reason(match["dataset"], "no_dates"))
        elif match["what"] == "snapshot":
            out.append(Reason(match["dataset"], "no_snapshot", column="snapshot"))
        else:
            out.append(Reason(match["dataset"], "no_column", column=match["what"]))
    return out


@dataclass(frozen=True)
class Coverage:
    state: str  # FULL (""), PARTIAL or NONE
    reasons: tuple[Reason, ...] = ()

    @property
    def note(self) -> str:
        return "; ".join(dict.fromkeys(r.text for r in self.reasons))


COVERED = Coverage(FULL)


def combined(own: Coverage, *bases: Coverage) -> Coverage:
    """The coverage of a value computed from its own period and from ``bases`` (a growth KPI reads the
    prior period): missing when any is missing, partial when any is partial (kpi-spec.md, "Comparisons":
    growth KPIs included), with every reason."""
    parts = (own, *bases)
    reasons = tuple(dict.fromkeys(r for c in parts for r in c.reasons))
    if any(c.state == NONE for c in parts):
        return Coverage(NONE, tuple(dict.fromkeys(r for c in parts if c.state == NONE for r in c.reasons)))
    if any(c.state == PARTIAL for c in parts):
        return Coverage(PARTIAL, reasons)
    return COVERED


def kpi_spans(kpi: ResolvedKpi, kpis: dict[str, ResolvedKpi], quality: dict[str, DatasetQuality],
              _seen: frozenset[str] = frozenset()) -> list[Span]:
    """The spans of every (dataset, placing column) the KPI reads, through the KPIs it reads.
    Targets and lookups (forecasts) are per-period tables and bound nothing."""
    pairs: set[tuple[str, str]] = set()
    spans: list[Span] = []
    m = kpi.custom_measure
    record = quality.get(m.dataset) if m is not None else None
    # a snapshot's as-of days are its coverage, whether its measure is a stock or a flow over that column
    column = snapshot_column(m, quality) or (m.date if record is not None and record.snapshot == m.date else None)
    if m is not None and column is not None:
        days = quality[m.dataset].snapshots
        spans.append(Span(m.dataset, column, min(days, default=None), max(days, default=None), snapshots=days))
    elif m is not None and m.date:
        pairs.add((m.dataset, m.date))
    for name in kpi.formula.names:
        if name in MEASURES:
            anchor = ANCHORS[MEASURES[name].anchor]
            pairs.add((anchor.dataset, anchor.coverage_column or ""))
        elif name in kpis and name not in _seen and name != kpi.id:
            spans += kpi_spans(kpis[name], kpis, quality, _seen | {kpi.id})
    for dataset, column in sorted(pairs):
        q = quality.get(dataset)
        if q is not None:
            if column and column not in q.first_dates and q.last_date is not None:
                spans.append(Span(dataset, column, None, None, empty_column=True))
            else:
                spans.append(Span(dataset, column, q.first_dates.get(column, q.first_date), q.last_date))
    return sorted(set(spans), key=lambda s: (s.dataset, s.column))


def base_functions(kpi: ResolvedKpi, kpis: dict[str, ResolvedKpi], _seen: frozenset[str] = frozenset()) -> set[str]:
    """Which comparison bases (``prior``, ``year_ago``) a KPI's value reads, directly or through the
    KPIs it reads: a growth KPI is only as covered as its base."""
    out = set(kpi.formula.functions) & {"prior", "year_ago"}
    for name in kpi.formula.names:
        if name in kpis and name not in _seen and name != kpi.id:
            out |= base_functions(kpis[name], kpis, _seen | {kpi.id})
    return out


def with_bases(by_ordinal: dict[int, Coverage], bases: set[str], periods_per_year: int) -> dict[int, Coverage]:
    """``by_ordinal`` with each period's coverage combined with its bases' (P-1, P-1y): "revenue growth
    +364%" against a prior year of three covered months is marked partial, with the reason."""
    if not bases:
        return by_ordinal
    offsets = [o for f, o in (("prior", 1), ("year_ago", periods_per_year)) if f in bases]
    return {o: combined(c, *(by_ordinal[o - k] for k in offsets if o - k in by_ordinal))
            for o, c in by_ordinal.items()}


def period_coverage(spans: list[Span], start: date, end: date) -> Coverage:
    """How far the spans cover the days [start, end]: not at all (missing), partly, or fully."""
    missing: list[Reason] = []
    partial: list[Reason] = []
    for s in spans:
        if s.empty_column:
            missing.append(Reason(s.dataset, "no_column", column=s.column))
        elif s.last is None:
            missing.append(Reason(s.dataset, "no_dates"))
        elif s.snapshots is not None:  # a stock: covered up to its period's last snapshot, whatever came before
            last = max((d for d in s.snapshots if start <= d <= end), default=None)
            if last is None:
                missing.append(Reason(s.dataset, "begin", s.first) if s.first is not None and end < s.first
                               else Reason(s.dataset, "end", s.last) if start > s.last
                               else Reason(s.dataset, "no_snapshot", column="snapshot"))
            elif last < end:
                partial.append(Reason(s.dataset, "end", last))
        elif s.first is not None and end < s.first:
            missing.append(Reason(s.dataset, "begin", s.first))
        elif start > s.last:
            missing.append(Reason(s.dataset, "end", s.last))
        else:
            if s.first is not None and start < s.first:
                partial.append(Reason(s.dataset, "begin", s.first))
            if end > s.last:
                partial.append(Reason(s.dataset, "end", s.last))
    if missing:
        return Coverage(NONE, tuple(dict.fromkeys(missing)))
    return Coverage(PARTIAL, tuple(dict.fromkeys(partial))) if partial else COVERED


def window_coverage(spans: list[Span], window_start: date, period: Period) -> Coverage:
    """A to-date window is missing when its period is, and partial when its period is or when it
    reaches back before the data begins (kpi-spec.md, "Coverage")."""
    own = period_coverage(spans, period.start, period.end)
    if own.state == NONE:
        return own
    wide = period_coverage(spans, window_start, period.end)
    if wide.state == FULL and own.state == FULL:
        return COVERED
    return Coverage(PARTIAL, tuple(dict.fromkeys((*own.reasons, *wide.reasons))))


def reporting_period_problem(spans: list[Span], period: Period, allow_partial: bool) -> str | None:
    """Why a scorecard must not report on ``period`` with these spans (one line), or None.

    Not covered at all is always a problem; partly covered only unless ``allow_partial``."""
    fix = "set scorecard.allow_partial_period: true to report it as partial, or choose --period (compute: --to)"
    where = f"the reporting period {period.label}"
    for s in (s for s in spans if not s.empty_column):  # those KPIs show n/a with the reason
        if s.last is None:
            return (
                f"dataset {s.dataset!r} has no dated rows, so it cannot cover {where}; "
                "check the file or choose --period (compute: --to)"
            )
        if period.start > s.last:
            return (f"dataset {s.dataset!r} ends {s.last.isoformat()}, before {where} begins "
                    f"({period.start.isoformat()}); choose --period (compute: --to)")
        if s.first is not None and period.end < s.first:
            return (f"dataset {s.dataset!r} begins {s.first.isoformat()}, after {where} ends "
                    f"({period.end.isoformat()}); choose --period (compute: --to)")
    for s in (s for s in spans if s.snapshots is not None and s.last is not None):
        if problem := _snapshot_problem(s, period, where, fix, allow_partial):
            return problem
    if allow_partial:
        return None
    for s in (s for s in spans if s.snapshots is None):
        if s.last is not None and period.end > s.last:
            # data ending a day or two short of the period's end is often an export with a quiet last day
            through = (f", or, if the export covers the period through its last day with no later rows, set "
                       f"data_through: {period.end.isoformat()} for dataset {s.dataset!r}"
                       ) if (period.end - s.last).days <= 2 else ""
            return (f"dataset {s.dataset!r} ends {s.last.isoformat()}, before {where} ends "
                    f"({period.end.isoformat()}); {fix}{through}")
        if s.first is not None and period.start < s.first:
            return (f"dataset {s.dataset!r} begins {s.first.isoformat()}, after {where} begins "
                    f"({period.start.isoformat()}); {fix}")
    return None


def _snapshot_problem(s: Span, period: Period, where: str, fix: str, allow_partial: bool) -> str | None:
    """A snapshot dataset with no snapshot in the reporting period (always a problem: never carried
    forward), or whose last one there is dated before the period ends (unless ``allow_partial``)."""
    assert s.snapshots is not None
    inside = [d for d in s.snapshots if period.start <= d <= period.end]
    if not inside:
        before = max((d for d in s.snapshots if d < period.start), default=None)
        after = min((d for d in s.snapshots if d > period.end), default=None)
        near = " and ".join(d.isoformat() for d in (before, after) if d is not None)
        return (f"dataset {s.dataset!r} has no snapshot in {where} (the nearest are as of {near}); "
                "choose --period (compute: --to)")
    if max(inside) < period.end and not allow_partial:
        return (f"dataset {s.dataset!r}'s last snapshot in {where} is as of {max(inside).isoformat()}, before it ends "
                f"({period.end.isoformat()}); {fix}")
    return None
