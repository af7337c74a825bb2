"""The email itself: headline KPIs as an email-safe HTML body and the same numbers as plain text.

Mail clients are not browsers. Outlook on Windows lays HTML out with Word's engine (no flexbox, no
grid, patchy CSS), Gmail drops ``<style>`` blocks in some views and proxies or blocks remote images,
and nobody shows SVG. So the HTML body is nested tables with inline styles, at most 600 px wide, and
its charts are small PNGs carried inside the message (``multipart/related``, referenced as
``cid:...``): the body never fetches anything. The plain-text part carries the same numbers for
text-only readers and for spam filters that compare the two parts; it uses fmt's ``context="text"``
(ASCII hyphen instead of U+2212).

The PDF scorecard is the document of record and is attached; the body tells the same story in
short: the "what changed" sentences, then every KPI of the audience as one line (bad and warning
first), each with its value, the variance against plan and prior year, its to-date value and its
status written out as a word (colour alone is invisible to colour-blind readers and lost when a
message is printed in black and white). Every number of a KPI is in the KPI's one format on the
scorecard (``scoreboard.kpi_formats``), as the PDF prints it.
"""
from __future__ import annotations

import functools
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from reportgen.render import fmt
from reportgen.render.formats import Formats, _missing, _num
from reportgen.render.scoreboard import relative
from reportgen.render.views import is_stock

if TYPE_CHECKING:
    from reportgen.config.models import Audience, LoadedConfig
    from reportgen.engine.metrics import Metrics
    from reportgen.render.kpiformat import KpiFormat
    from reportgen.render.narrative import Statement

STATUS_FIRST = {"bad": 0, "warning": 1}
"""Where a status puts a KPI in the body: bad ones first, then warnings, then the rest in the audience's
order (a reader who stops after three lines has seen what needs them)."""

CHART_PREFERENCE = ("revenue", "pipeline_value", "deals_won", "win_rate", "mrr", "new_customers")
"""Trend charts in the body: the first two of these the audience shows (falls back to its first KPIs)."""

MAX_CHARTS = 2
CHART_WIDTH_PX, CHART_HEIGHT_PX = 560, 150
"""Display size in CSS pixels; the PNG has twice as many pixels so it stays sharp on HiDPI screens."""

STATUS_TEXT_COLORS = {"good": "#00704f", "warning": "#8a5a00", "bad": "#b33c00"}
"""Darker than the chart colours so the status word keeps a 4.5:1 contrast on white (WCAG AA)."""

WORD_JOINER = "\u2060"
"""Invisible, and no line may break at it: glues a sign to the currency symbol after it."""

_SIGN_BEFORE_SYMBOL = re.compile(r"(?<![\w\u2060])([+\-\u2212])(?=[^\d\s\u2060])")

TEMPLATE = "email/scorecard.html"


def email_sentence(text: str, context: fmt.Context) -> str:
    """A generated sentence (the "what changed" lines) in the body's minus sign, each sign before a
    currency symbol glued to it (``-⁠$89,357``): Unicode allows a line break between "-" and "$" (not
    between a sign and a digit), and a phone's mail client takes it."""
    text = text.replace("\u2212", "-") if context == "text" else text
    return _SIGN_BEFORE_SYMBOL.sub(lambda m: m[1] + WORD_JOINER, text)


@dataclass(frozen=True)
class Variance:
    """One comparison on a KPI's line: ``vs plan +$12,300 (+3.0%)``; ``change`` is None for rates (pp only)."""

    key: str         # "pl" | "py"
    label: str       # "vs plan", translated
    delta: str
    change: str | None = None

    @property
    def text(self) -> str:
        return f"{self.label} {self.delta}" + (f" ({self.change})" if self.change else "")


@dataclass(frozen=True)
class WindowLine:
    """The to-date value beside the period: ``YTD $14.92M (+35.4% vs prior year) · partial``."""

    label: str
    value: str
    change: str | None
    versus: str
    partial: str = ""
    base: str = ""  # "vs prior year partial: deals begin Oct 20, 2016" when the comparison's base is partial

    @property
    def text(self) -> str:
        text = f"{self.label} {self.value}" + (f" ({self.change} {self.versus})" if self.change else "")
        return text + "".join(f" · {part}" for part in (self.partial, self.base) if part)


@dataclass(frozen=True)
class HeadlineKpi:
    """One KPI line of the email, every value already formatted for one locale and context."""

    id: str
    name: str
    value: str
    variances: tuple[Variance, ...]
    status: str
    status_text: str
    status_color: str
    note: str = ""                   # "partial · data through Dec 20", or the reason a value is n/a
    window: WindowLine | None = None


@dataclass(frozen=True)
class EmailChart:
    """An inline chart: its Content-ID, PNG bytes and the sentence shown when images are blocked."""

    cid: str
    png: bytes
    title: str
    alt: str


@dataclass(frozen=True)
class EmailBody:
    """Both alternatives of a message body and the images the HTML refers to by Content-ID."""

    html: str
    text: str
    images: dict[str, bytes]


def headline_kpis(metrics: Metrics, kpi_ids: list[str], *, locale: str, currency: str,
                  context: fmt.Context = "html") -> list[HeadlineKpi]:
    """Every KPI of ``kpi_ids``, one line each, bad and warning first, then the rest in their order.

    The body is the story the PDF tells, not its first page: a KPI left out (churn, the only bad one,
    was seventh of ten) is news the reader never gets. A value the data does not cover reads "n/a" with
    its reason (never 0); a KPI the data cannot compute at all is listed with why; a partial period is
    marked. Every number is in the KPI's one format on the scorecard (``scoreboard.kpi_formats``: the
    PDF prints ``$1.76M`` and ``+$0.30M``, so does the email), and the comparisons follow the table's
    rules: the engine's relative change, no plain variance against a partly covered base, no to-date
    value for a stock KPI."""
    from reportgen.render.scoreboard import kpi_formats

    formats = Formats(locale=locale, currency=currency)
    numbers = kpi_formats(metrics, kpi_ids, formats)
    period = metrics.periods[-1].label
    window = _shown_window(metrics)
    rows = []
    for kid in kpi_ids:
        if kid not in metrics.kpis:
            continue
        kpi, f = metrics.kpis[kid], numbers[kid]
        row = metrics.row(kid, period) if kid not in metrics.unavailable else None
        if row is None:
            reason = metrics.unavailable.get(kid, "").removeprefix("unavailable: ")
            rows.append(HeadlineKpi(id=kid, name=fmt.translate(kpi.name, locale), value=f.value(None, context),
                                    variances=(), status="", status_text="", status_color="#595959", note=reason))
            continue
        value = float(row["value"]) if not _missing(row["value"]) else math.nan
        status = str(row["status"] or "") if not _missing(value) else ""
        plan = variance(value, row["target"], relative(value, _num(row["target"])), f, key="pl",
                        label=fmt.translate("vs plan", locale), context=context)
        prior_year = variance(value, row["year_ago"], _num(row["pct_year_ago"]), f, key="py",
                              label=fmt.translate("vs prior year", locale), context=context,
                              partial=_partial_base(row, "year_ago", formats))
        rows.append(HeadlineKpi(
            id=kid,
            name=fmt.translate(kpi.name, locale),
            value=f.value(value, context),
            variances=tuple(v for v in (plan, prior_year) if v is not None),
            note=coverage_text(row, locale=locale),
            window=None if is_stock(kpi, metrics.kpis) else window_line(metrics, kid, window, f, context=context),
            status=status,
            status_text=fmt.translate(status, locale) if status else "",
            status_color=STATUS_TEXT_COLORS.get(status, "#595959"),
        ))
    return sorted(rows, key=lambda r: STATUS_FIRST.get(r.status, len(STATUS_FIRST)))


def _partial_base(row: Any, base: str, formats: Formats) -> str:
    """The reason a comparison's base covers only part of its period ("deals begin Oct 20, 2016"),
    '' when it is whole: the engine's typed reasons, in the reader's words."""
    from reportgen.render.scoreboard import reason_texts

    if _cell(row, f"{base}_coverage") != "partial":
        return ""
    return "; ".join(reason_texts(_cell(row, f"{base}_note"), formats)) or formats.t("partial")


def _cell(row: Any, key: str) -> str:
    try:
        value = row[key]
    except (KeyError, IndexError):
        return ""
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)


def coverage_text(row: Any, *, locale: str) -> str:
    """What the reader must know beside a value: "partial · data through Dec 20" for a partly covered
    period, "deals end Dec 31, 2025" for a value the data does not cover; '' otherwise."""
    from reportgen.render.narrative import partial_reason

    note = _cell(row, "note")
    if _cell(row, "coverage") == "partial":
        return f"{fmt.translate('partial', locale)} · {partial_reason(note, locale)}"
    if _missing(row["value"]) and note:
        return fmt.format_coverage_note(note, locale=locale)
    return ""


def partial_through_text(metrics: Metrics, kpi_ids: list[str], *, locale: str) -> str:
    """"data through Dec 20" when a shown KPI's reported period is partial because its data ends early."""
    from reportgen.render.views import partial_through

    through = partial_through(metrics, kpi_ids)
    if through is None:
        return ""
    return fmt.translate("data through {date}", locale).format(date=fmt.format_day_month(through, locale=locale))


def _shown_window(metrics: Metrics) -> str | None:
    from reportgen.render.views import shown_window

    return shown_window(metrics)


def window_line(metrics: Metrics, kid: str, window: str | None, f: KpiFormat, *,
                context: fmt.Context = "html") -> WindowLine | None:
    """"YTD $14.92M (+35.4% vs prior year)": the to-date value against the same window a year earlier
    (the engine's change; points for a rate or a score); None when the KPI has no window form or no
    windowed value."""
    from reportgen.render.views import WINDOW_LABELS

    if window is None:
        return None
    row = metrics.window_row(kid, metrics.periods[-1].label, window)
    if row is None or _missing(row["value"]):
        return None
    locale = f.locale
    value = float(row["value"])
    change = None
    base = _partial_base(row, "year_ago", Formats(locale=locale, currency=f.currency))
    if base:  # no change against part of a window (kpi-spec.md, "Comparisons"): the base and why
        base = f"{fmt.translate('vs prior year', locale)} {fmt.translate('partial', locale)}: {base}"
    elif not _missing(row["year_ago"]):
        pct = _num(row["pct_year_ago"])
        if not (f.relative and _missing(pct)):
            change = f.variance(value - float(row["year_ago"]), pct, context, nobreak=True)
    return WindowLine(label=fmt.translate(WINDOW_LABELS.get(window, (window.upper(),))[0], locale),
                      value=f.value(value, context), change=change,
                      versus=fmt.translate("vs prior year", locale),
                      partial=fmt.translate("partial", locale) if _cell(row, "coverage") == "partial" else "",
                      base=base)


def variance(value: float, reference: Any, pct: float, f: KpiFormat, *, key: str, label: str,
             context: fmt.Context = "html", partial: str = "") -> Variance | None:
    """``+$0.30M (+20.3%)`` against a reference in the KPI's format (``pct`` is the engine's relative
    change); rates vary in points only (``+2.1 pp``), scores in points; None without a reference or a
    value. Against a base that covers part of its period (``partial``: why) there is no variance, only
    the base and its reason, as on the page (kpi-spec.md, "Comparisons").

    A relative change of a percentage ("+20% of 10%") is easily misread, so percent KPIs show the
    difference in percentage points alone, as the PDF does.
    """
    if _missing(reference) or _missing(value):
        return None
    reference = float(reference)
    if partial:
        return Variance(key, label, f"{f.value(reference, context)} ({fmt.translate('partial', f.locale)}: {partial})")
    delta = value - reference
    change = f.change(pct, context, nobreak=True) if f.relative and not _missing(pct) else None
    return Variance(key, label, f.delta(delta, context, nobreak=True), change)


def chart_kpis(metrics: Metrics, kpi_ids: list[str], limit: int = MAX_CHARTS) -> list[str]:
    """Which KPIs get a trend chart: preferred ones the audience shows first, then its others."""
    usable = [k for k in kpi_ids if k in metrics.kpis and k not in metrics.unavailable
              and metrics.series(k).notna().sum() >= 2]
    ordered = [k for k in CHART_PREFERENCE if k in usable] + [k for k in usable if k not in CHART_PREFERENCE]
    return ordered[:limit]


def trend_png(metrics: Metrics, kid: str, *, locale: str, currency: str) -> bytes:
    """A small column chart of one KPI over the history window, as a greyscale PNG of a few KB.

    Drawn directly with Pillow (:func:`reportgen.charts.raster.column_png`, a few ms) rather than as
    a matplotlib figure (80-130 ms each, plus 0.5 s to import matplotlib). The reported period is
    dark, earlier ones grey, as in the PDF's trend charts.
    """
    from reportgen.charts.raster import column_png

    f = _kpi_format(metrics, kid, locale, currency)
    series = metrics.series(kid)
    labels = [fmt.format_period_short(label, locale=locale) for label in series.index]
    # a period the data does not cover is a gap in the chart, never a bar at 0
    values = [math.nan if _missing(v) else float(v) for v in series.to_list()]
    return column_png(values, labels, width=CHART_WIDTH_PX, height=CHART_HEIGHT_PX,
                      tick_label=functools.partial(f.value, context="text"))


def _kpi_format(metrics: Metrics, kid: str, locale: str, currency: str) -> KpiFormat:
    from reportgen.render.scoreboard import kpi_formats

    return kpi_formats(metrics, [kid], Formats(locale=locale, currency=currency))[kid]


def email_charts(metrics: Metrics, kpi_ids: list[str], *, locale: str, currency: str) -> list[EmailChart]:
    """Up to two trend charts with Content-IDs that are stable within one message."""
    from reportgen.render.alttext import series_alt

    charts = []
    formats = Formats(locale=locale, currency=currency)
    for kid in chart_kpis(metrics, kpi_ids):
        name = fmt.translate(metrics.kpis[kid].name, locale)
        unit = metrics.kpis[kid].unit
        series = metrics.series(kid)
        charts.append(EmailChart(
            cid=f"trend-{kid.replace('_', '-')}",
            png=trend_png(metrics, kid, locale=locale, currency=currency),
            title=name,
            # the one alt text of a series (span, low, high, last value and its direction), in the
            # recipient's language and the email's numbers
            alt=series_alt(name, series.tolist(), [str(p) for p in series.index], unit, formats,
                           number=functools.partial(_kpi_format(metrics, kid, locale, currency).value,
                                                    context="text")),
        ))
    return charts


def changed_lines(metrics: Metrics, kpi_ids: list[str], *, locale: str, currency: str) -> list[Statement]:
    """The PDF's "what changed" sentences (headline KPI, status slips, top movers), for the body too:
    the same sentences with the same numbers, each KPI in its one format on the scorecard."""
    from reportgen.render.narrative import what_changed
    from reportgen.render.scoreboard import kpi_formats

    numbers = kpi_formats(metrics, kpi_ids, Formats(locale, currency))
    return what_changed(metrics, kpi_ids, locale=locale, currency=currency, numbers=numbers)


def render_email_body(metrics: Metrics, loaded: LoadedConfig, audience: Audience, *, locale: str,
                      segment_label: str = "", charts: list[EmailChart] | None = None) -> EmailBody:
    """The HTML and plain-text bodies for readers of one locale (the PDF is attached separately).

    ``charts`` defaults to :func:`email_charts`; pass them in to draw them once for many recipients.
    """
    from reportgen.render import Formats, audience_kpis
    from reportgen.render.environment import shared_environment
    from reportgen.render.sandbox import render_template

    sc = loaded.config.scorecard
    ids = audience_kpis(metrics, loaded, audience)
    if charts is None:
        charts = email_charts(metrics, ids, locale=locale, currency=sc.currency)
    title = audience.title or sc.title
    period = fmt.format_period(metrics.periods[-1].label, locale=locale)
    statements = changed_lines(metrics, ids, locale=locale, currency=sc.currency)
    html_rows = headline_kpis(metrics, ids, locale=locale, currency=sc.currency, context="html")
    text_rows = headline_kpis(metrics, ids, locale=locale, currency=sc.currency, context="text")
    through = partial_through_text(metrics, ids, locale=locale)
    env = shared_environment(formats=Formats(locale, sc.currency))

    html = render_template(env, TEMPLATE, dict(
        title=title, company=sc.company, period=period, partial_text=through, segment_label=segment_label,
        kpis=html_rows, statements=[email_sentence(s.text, "html") for s in statements],
        charts=charts, lang=locale.split("_")[0], primary_color=sc.primary_color,
    ))

    text = plain_text_body(title=title, company=sc.company, period=f"{period} ({through})" if through else period,
                           segment_label=segment_label, kpis=text_rows, locale=locale,
                           statements=[email_sentence(s.text, "text") for s in statements])
    return EmailBody(html=html, text=text, images={chart.cid: chart.png for chart in charts})


def plain_text_body(*, title: str, company: str, period: str, segment_label: str, kpis: list[HeadlineKpi],
                    locale: str, statements: Sequence[str] = ()) -> str:
    """The text/plain alternative: the "what changed" lines, then one line per KPI with the same numbers
    as the HTML (a line a phone may wrap, never between a sign and its number)."""
    def t(key: str) -> str:
        return fmt.translate(key, locale)

    heading = " - ".join(part for part in (title, segment_label) if part)
    lines = [heading, " - ".join(part for part in (company, period) if part), ""]
    if statements:
        lines += [t("What changed"), *(f"* {s}" for s in statements), ""]
    for kpi in kpis:
        parts = [f"{kpi.name}: {kpi.value}"]
        if kpi.status_text:
            parts[0] += f" [{kpi.status_text}]"
        if kpi.note:
            parts[0] += f" ({kpi.note})"
        parts += [v.text for v in kpi.variances]
        if kpi.window:
            parts.append(kpi.window.text)
        lines.append("- " + " · ".join(parts))
    lines += ["", t("The full scorecard is attached as a PDF.")]
    return "\n".join(lines) + "\n"

