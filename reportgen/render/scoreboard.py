"""The executive table (IBCS): one row per KPI, grouped by objective, every number of a row in the KPI's
one format, missing values as one mark with a footnoted reason, partial bases marked instead of compared.

Columns: AC | PL | ΔPL (bar) | ΔPL% | PY | ΔPY% | per to-date window (YTD, QTD, R12): AC, ΔPL%, ΔPY% |
status | sparkline with its last value. A column nobody has a value for is left out (no plan anywhere:
no PL columns), so the page never prints an empty column.

Rules (kpi-spec.md, "Coverage" and "Comparisons"), each a cell state here, not a sentence parsed back:

* not computable (the data does not cover the period; a zero denominator): the mark ``n/a`` with a
  footnote number; the footnote says why, from the engine's typed :class:`~reportgen.engine.Reason`;
* not defined (no plan for this KPI at all; no window form; a stock KPI's year to date, which would
  repeat the month-end value): blank;
* partial (the period, or the comparison's base, is only partly covered): the value with a ``○`` mark
  and a footnote, and no variance against it.

Variances are the engine's (``pct_prior``, ``pct_year_ago`` = value / base − 1): the page never computes
its own sign. The plan has no engine column of its own, so ΔPL% applies the same rule (value / plan − 1).
"""
from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from markupsafe import Markup

from reportgen import charts
from reportgen.charts.bars import variance_pin
from reportgen.render import fmt
from reportgen.render.alttext import series_alt
from reportgen.render.formats import Formats, _missing, _num
from reportgen.render.kpiformat import KpiFormat
from reportgen.render.views import (
    WINDOW_LABELS,
    _get,
    audience_kpis,
    is_stock,
    objective_order,
    variance_tone,
)

if TYPE_CHECKING:
    from reportgen.engine.metrics import Metrics

PARTIAL_MARK = "\u25cb"
"""○: a value computed from part of its period (or a comparison against such a base); a glyph the
shipped Inter font has (◐ is not in it, and a fallback font would be embedded for one character)."""

BAR_WIDTH, BAR_HEIGHT = 64, 12
"""The variance bar's drawing size (SVG units, about CSS px): the cell scales it."""

PIN_WIDTH, PIN_HEIGHT = 44, 12
"""The relative variance pin's drawing size."""

PIN_SCALE_FLOOR = 0.10
"""The relative scale is never under ±10 %: a table whose changes are all under 1 % does not draw
them as full-length pins."""

PIN_OUTLIER_FACTOR = 3.0
"""A change more than this many times the table's median change (in size) is an outlier: it does not
set the scale, its pin is cut at the edge with an overflow mark."""


@dataclass(frozen=True)
class Cell:
    """One cell: its text, the tone of a variance, and its marks. ``text == ""`` and no mark: not defined
    (blank). ``missing``: not computable (the n/a mark). ``partial``: the partial mark. ``note``: the
    footnote number of the reason."""

    text: str = ""
    tone: str = "neutral"
    missing: bool = False
    partial: bool = False
    note: int | None = None
    pct: float = math.nan          # the relative change a plain % variance shows: its pin's length
    pin: Markup | None = None      # the relative variance pin, on the table's one relative scale


BLANK = Cell()


@dataclass(frozen=True)
class WindowCells:
    key: str
    value: Cell
    vs_plan: Cell
    vs_year_ago: Cell


@dataclass(frozen=True)
class ExecRow:
    """One KPI's row of the executive table."""

    id: str
    name: str
    format: KpiFormat      # cells are its bare numbers; ``format.unit_label`` ($M, days) goes beside the name
    status: str
    actual: Cell
    plan: Cell
    bar: Markup | None
    delta_plan: str                # the absolute plan variance, the bar's label
    vs_plan: Cell
    year_ago: Cell
    vs_year_ago: Cell
    windows: list[WindowCells]
    sparkline: Markup
    last: str
    available: bool = True


@dataclass(frozen=True)
class ExecGroup:
    key: str
    title: str
    rows: list[ExecRow]


@dataclass(frozen=True)
class ExecTable:
    """The whole table: groups of rows, which columns it has, and the footnotes its marks point to."""

    groups: list[ExecGroup]
    windows: list[tuple[str, str, str]]   # (key, label, title) of each window column group
    planned: bool                         # any row has a plan: else no PL columns
    footnotes: list[tuple[int, str]] = field(default_factory=list)   # (number, reason)

    @property
    def window_plan(self) -> list[str]:
        """The windows with a ΔPL% column: the first one, and only while the page has room (one or two
        windows); further windows show AC and ΔPY%, so three windows still fit an A4 page."""
        return [self.windows[0][0]] if self.planned and 0 < len(self.windows) <= 2 else []

    @property
    def wide(self) -> bool:
        """More than one window: narrower columns, the sparkline without its last value."""
        return len(self.windows) > 1

    @property
    def rows(self) -> list[ExecRow]:
        return [r for g in self.groups for r in g.rows]


class _Notes:
    """Footnote texts numbered in the order they are first used; one number per distinct text."""

    def __init__(self) -> None:
        self.texts: dict[str, int] = {}

    def number(self, text: str) -> int | None:
        if not text:
            return None
        return self.texts.setdefault(text, len(self.texts) + 1)


def relative(value: float, base: float) -> float:
    """value / base − 1, the engine's rule for ``pct_prior`` (kpi-spec.md, "Comparisons"); missing when
    either is missing or the base is 0."""
    if _missing(value) or _missing(base) or base == 0:
        return math.nan
    return value / base - 1


def reason_texts(note: str, formats: Formats) -> list[str]:
    """The reader's words for a coverage note, from the engine's typed reasons (never the English text)."""
    from reportgen.engine import reasons_of

    return [fmt.reason_text(r, locale=formats.locale) for r in reasons_of(note)]


def kpi_formats(metrics: Metrics, ids: Sequence[str], formats: Formats) -> dict[str, KpiFormat]:
    """Each KPI's one number format on this scorecard, chosen once from every value its row shows; the
    table, the sentences and the e-mail all take it from here."""
    windows = [w for w in getattr(metrics, "windows", ()) or () if "window" in metrics.table.columns]
    return {k: _kpi_format(metrics, k, windows, formats) for k in ids if k in metrics.kpis}


def executive_table(metrics: Metrics, ids: Sequence[str], objectives: Mapping[str, Sequence[str]],
                    formats: Formats, numbers: Mapping[str, KpiFormat] | None = None) -> ExecTable:
    """The executive table of the KPIs ``ids`` in the reported period."""
    notes = _Notes()
    windows = [w for w in getattr(metrics, "windows", ()) or () if "window" in metrics.table.columns]
    planned = any(metrics.series(k, "target").notna().any() for k in ids if k in metrics.kpis)
    formats_by_kpi = dict(numbers) if numbers is not None else kpi_formats(metrics, ids, formats)
    scales = _bar_scales(metrics, ids, formats_by_kpi)
    rows = {k: _row(metrics, k, windows, formats, formats_by_kpi[k], scales, notes) for k in ids}
    rows = _with_pins(rows, metrics, formats)
    # a window column group nobody has a value in is left out (no empty columns)
    kept = [w for w in windows if w in WINDOW_LABELS
            and any(c.value != BLANK for r in rows.values() for c in r.windows if c.key == w)]
    rows = {k: replace(r, windows=[c for c in r.windows if c.key in kept]) for k, r in rows.items()}
    labels = [(w, formats.t(WINDOW_LABELS[w][0]), formats.t(WINDOW_LABELS[w][1])) for w in kept]
    # the shared objective grouping: one home for the order and the "Other" group
    groups = [ExecGroup(key, title, [rows[k] for k in members])
              for key, title, members in objective_order(ids, objectives)]
    return ExecTable(groups, labels, planned, [(n, text) for text, n in notes.texts.items()])


def executive_kpis(metrics: Metrics, loaded: Any, audience: Any) -> list[str]:
    """The KPIs the executive table shows (the audience's, in its order)."""
    return audience_kpis(metrics, loaded, audience)


def _kpi_format(metrics: Metrics, kid: str, windows: Sequence[str], formats: Formats) -> KpiFormat:
    """One format per KPI, from the reported period's actual, plan and prior year (the values the reader
    compares first); the to-date windows and the history only when the period has none of them. A year
    to date ten times the month is then printed in the month's scale ("14.92" beside "1.46", $M), not
    the month in the year's ("$0.22M")."""
    kpi = metrics.kpis[kid]
    levels: list[Any] = []
    others: list[Any] = []
    if kid not in metrics.unavailable:
        period = metrics.periods[-1].label
        row = metrics.row(kid, period)
        if row is not None:
            levels += [row["value"], row["target"], row["year_ago"]]
        others += metrics.series(kid).to_list()
        for w in windows:
            wr = metrics.window_row(kid, period, w)
            if wr is not None:
                others += [wr["value"], wr["target"], wr["year_ago"]]
    present = [_num(v) for v in levels if not _missing(v)]
    return formats.kpi_format(present or [_num(v) for v in others], kpi.unit)


def _bar_scales(metrics: Metrics, ids: Sequence[str], fmts: Mapping[str, KpiFormat]) -> dict[str, float]:
    """The largest absolute plan variance per unit: one bar scale per unit group."""
    period = metrics.periods[-1].label
    scales: dict[str, float] = {}
    for k in ids:
        row = metrics.row(k, period) if k not in metrics.unavailable else None
        if row is None or _get(row, "coverage"):
            continue
        d = _num(row["value"]) - _num(row["target"])
        if not _missing(d):
            unit = fmts[k].unit
            scales[unit] = max(scales.get(unit, 0.0), abs(d))
    return scales


def pin_scale(changes: Sequence[float]) -> float:
    """The table's one relative scale (IBCS: relative variances share one scale): the largest change
    that is not an outlier (at most :data:`PIN_OUTLIER_FACTOR` times the median size), at least
    :data:`PIN_SCALE_FLOOR`. An outlier such as +2,118 % against a ten-week base would otherwise
    shrink every other pin to its head."""
    sizes = sorted(abs(c) for c in changes if not _missing(c) and c != 0)
    if not sizes:
        return PIN_SCALE_FLOOR
    median = sizes[len(sizes) // 2] if len(sizes) % 2 else (sizes[len(sizes) // 2 - 1] + sizes[len(sizes) // 2]) / 2
    inliers = [v for v in sizes if v <= PIN_OUTLIER_FACTOR * median]
    return max(max(inliers, default=median), PIN_SCALE_FLOOR)


def _with_pins(rows: Mapping[str, ExecRow], metrics: Metrics, formats: Formats) -> dict[str, ExecRow]:
    """The period's ΔPL% and ΔPY% cells with their pins, all on one scale. Only a plain relative change
    has one: a rate's pp, a score's points, a partial base and a missing value draw none."""
    scale = pin_scale([c.pct for r in rows.values() for c in (r.vs_plan, r.vs_year_ago)])
    t = formats.t

    def pinned(c: Cell, r: ExecRow, versus: str) -> Cell:
        if _missing(c.pct) or c.missing or c.partial:
            return c
        higher = metrics.kpis[r.id].direction != "lower"
        title = f"{r.name}: {c.text} {t(versus)}"
        return replace(c, pin=Markup(variance_pin(c.pct, scale, higher_is_better=higher, width=PIN_WIDTH,
                                                               height=PIN_HEIGHT, title=title)))

    return {k: replace(r, vs_plan=pinned(r.vs_plan, r, "vs plan"),
                       vs_year_ago=pinned(r.vs_year_ago, r, "vs prior year")) for k, r in rows.items()}


def _row(metrics: Metrics, kid: str, windows: Sequence[str], formats: Formats, f: KpiFormat,
         scales: Mapping[str, float], notes: _Notes) -> ExecRow:
    kpi = metrics.kpis[kid]
    name = formats.t(kpi.name)
    period = metrics.periods[-1].label
    row = metrics.row(kid, period) if kid not in metrics.unavailable else None
    if row is None:
        reason = metrics.unavailable.get(kid, formats.t("not in the data")).removeprefix("unavailable: ")
        na = Cell(formats.t("n/a"), missing=True, note=notes.number(f"{formats.t('Unavailable')}: {reason}"))
        return ExecRow(kid, name, f, "", na, BLANK, None, "", BLANK, BLANK, BLANK,
                       [WindowCells(w, BLANK, BLANK, BLANK) for w in windows], Markup(""), "", available=False)
    t = formats.t
    value = _num(row["value"])
    own_note = "; ".join(reason_texts(str(_get(row, "note")), formats))
    has_plan = bool(metrics.series(kid, "target").notna().any())
    actual = _value_cell(value, f, str(_get(row, "coverage")), own_note, t("no value (zero denominator)"), notes, t)
    plan = _reference_cell(_num(row["target"]), f, "", "", t("no plan for this period") if has_plan else "",
                           notes, t) if has_plan else BLANK
    direction = kpi.direction

    def zero_base() -> int | None:
        return notes.number(t("no relative change from a base of 0"))

    vs_plan = BLANK
    bar = None
    delta_text = ""
    if has_plan:
        delta = value - _num(row["target"])
        vs_plan = _variance_cell(delta, relative(value, _num(row["target"])), f, direction, actual, plan,
                                 zero_base)
        if not (vs_plan.missing or vs_plan.partial) and not _missing(delta):
            delta_text = f.bare_delta(delta)
            bar = Markup(charts.variance_bar(delta, scales.get(f.unit, abs(delta)),
                                             higher_is_better=direction != "lower", width=BAR_WIDTH, height=BAR_HEIGHT,
                                             title=f"{name}: {f.delta(delta)} {t('vs plan')}"))
    py_state = str(_get(row, "year_ago_coverage"))
    py_note = "; ".join(reason_texts(str(_get(row, "year_ago_note")), formats))
    year_ago = _reference_cell(_num(row["year_ago"]), f, py_state, py_note, t("no value (zero denominator)"), notes, t)
    vs_year_ago = _variance_cell(value - _num(row["year_ago"]), _num(row["pct_year_ago"]), f, direction, actual,
                                 year_ago, zero_base)
    cells = [_window_cells(metrics, kid, w, period, f, formats, notes) for w in windows]
    series = metrics.series(kid).iloc[-12:]
    history = series.to_list()
    title = series_alt(name, history, [str(p) for p in series.index], kpi.unit, formats, number=f.value)
    spark = Markup(charts.sparkline(history, width=60, height=14, title=title))
    last = f.bare(history[-1]) if history and not _missing(history[-1]) else ""
    return ExecRow(kid, name, f, str(row["status"] or ""), actual, plan, bar, delta_text, vs_plan, year_ago,
                   vs_year_ago, cells,
                   spark, last)


def _window_cells(metrics: Metrics, kid: str, window: str, period: str, f: KpiFormat, formats: Formats,
                  notes: _Notes) -> WindowCells:
    """A to-date window's AC, ΔPL% and ΔPY%: blank for a KPI without a window form or a stock KPI."""
    t = formats.t
    row = metrics.window_row(kid, period, window)
    if row is None or is_stock(metrics.kpis[kid], metrics.kpis):
        return WindowCells(window, BLANK, BLANK, BLANK)
    value = _num(row["value"])
    note = "; ".join(reason_texts(str(_get(row, "note")), formats))
    actual = _value_cell(value, f, str(_get(row, "coverage")), note, t("no value (zero denominator)"), notes, t)
    direction = metrics.kpis[kid].direction
    target = _num(row["target"])
    def zero_base() -> int | None:
        return notes.number(t("no relative change from a base of 0"))

    vs_plan = BLANK if _missing(target) else _variance_cell(value - target, relative(value, target), f, direction,
                                                           actual, Cell(f.bare(target)), zero_base)
    py_note = "; ".join(reason_texts(str(_get(row, "year_ago_note")), formats))
    year_ago = _reference_cell(_num(row["year_ago"]), f, str(_get(row, "year_ago_coverage")), py_note,
                               t("no value (zero denominator)"), notes, t)
    vs_year_ago = _variance_cell(value - _num(row["year_ago"]), _num(row["pct_year_ago"]), f, direction, actual,
                                 year_ago, zero_base)
    return WindowCells(window, actual, vs_plan, vs_year_ago)


def _value_cell(value: float, f: KpiFormat, coverage: str, note: str, no_value: str, notes: _Notes,
                t: Any) -> Cell:
    """The actual (or a window's actual): the value, partial-marked, or the n/a mark with its reason."""
    if _missing(value):
        return Cell(t("n/a"), missing=True, note=notes.number(note or no_value))
    if coverage == "partial":
        return Cell(f.bare(value), partial=True, note=notes.number(f"{t('partial')}: {note}" if note else ""))
    return Cell(f.bare(value))


def _reference_cell(value: float, f: KpiFormat, coverage: str, note: str, no_value: str, notes: _Notes,
                    t: Any) -> Cell:
    """A comparison's base (PL, PY): the value, partial-marked with its reason, or n/a with why."""
    if _missing(value):
        return Cell(t("n/a"), missing=True, note=notes.number(note or no_value)) if (note or no_value) else BLANK
    if coverage == "partial":
        return Cell(f.bare(value), partial=True,
                    note=notes.number(f"PY {t('partial')}: {note}" if note else ""))
    return Cell(f.bare(value))


def _variance_cell(delta: float, pct: float, f: KpiFormat, direction: str, actual: Cell, base: Cell,
                   zero_base: Callable[[], int | None] = lambda: None) -> Cell:
    """A variance: not computable (the n/a mark, its cause's footnote) when either side is missing; no
    variance but the partial mark (the partial side's footnote) when either side is partial; else the
    relative change (pp for rates, points for scores), which a base of 0 leaves not computable
    (``zero_base`` numbers the footnote saying so, only when it is used)."""
    if actual.missing or base.missing:
        cause = actual if actual.missing else base
        return Cell(cause.text, missing=True, note=cause.note)
    if actual.partial or base.partial:
        return Cell("", partial=True, note=base.note if base.partial else actual.note)
    if _missing(delta):
        return BLANK
    if f.relative and _missing(pct):
        return Cell(f.change(pct), missing=True, note=zero_base())
    return Cell(f.variance(delta, pct), variance_tone(delta, direction), pct=pct if f.relative else math.nan)
