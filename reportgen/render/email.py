"""The email itself: headline KPIs as an email-safe HTML body and the same numbers as plain text.

Mail clients are not browsers. Outlook on Windows lays HTML out with Word's engine (no flexbox, no
grid, patchy CSS), Gmail drops ``<style>`` blocks in some views and proxies or blocks remote images,
and nobody shows SVG. So the HTML body is nested tables with inline styles, at most 600 px wide, and
its charts are small PNGs carried inside the message (``multipart/related``, referenced as
``cid:...``): the body never fetches anything. The plain-text part carries the same numbers for
text-only readers and for spam filters that compare the two parts; it uses fmt's ``context="text"``
(ASCII hyphen instead of U+2212).

The PDF scorecard is the document of record and is attached; the body is its summary, so it shows
only the audience's first few KPIs, each with its value, the variance against plan and prior year
and its status written out as a word (colour alone is invisible to colour-blind readers and lost
when a message is printed in black and white).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from reportgen.render import fmt

if TYPE_CHECKING:
    from reportgen.config.models import Audience, LoadedConfig
    from reportgen.engine.metrics import Metrics

HEADLINE_LIMIT = 6
"""KPIs in the body; the attached scorecard has the rest (a phone screen shows about six rows)."""

CHART_PREFERENCE = ("revenue", "pipeline_value", "deals_won", "win_rate", "mrr", "new_customers")
"""Trend charts in the body: the first two of these the audience shows (falls back to its first KPIs)."""

MAX_CHARTS = 2
CHART_WIDTH_PX, CHART_HEIGHT_PX = 560, 150
"""Display size in CSS pixels; the PNG has twice as many pixels so it stays sharp on HiDPI screens."""

STATUS_TEXT_COLORS = {"good": "#00704f", "warning": "#8a5a00", "bad": "#b33c00"}
"""Darker than the chart colours so the status word keeps a 4.5:1 contrast on white (WCAG AA)."""

TEMPLATE = "email/scorecard.html"


@dataclass(frozen=True)
class HeadlineKpi:
    """One KPI row of the email, every value already formatted for one locale and context."""

    id: str
    name: str
    value: str
    vs_plan: str | None
    vs_prior_year: str | None
    status: str
    status_text: str
    status_color: str
    note: str = ""          # "partial · data through Dec 20", or the reason a value is n/a
    window: str | None = None  # "YTD $14.92M (+35.4% vs PY)"


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
                  context: fmt.Context = "html", limit: int = HEADLINE_LIMIT) -> list[HeadlineKpi]:
    """The first ``limit`` KPIs of ``kpi_ids`` the engine computed for the reported period. A value the
    data does not cover reads "n/a" with its reason (never 0); a partial period is marked."""
    period = metrics.periods[-1].label
    window = _shown_window(metrics)
    rows = []
    for kid in kpi_ids:
        row = metrics.row(kid, period) if kid in metrics.kpis and kid not in metrics.unavailable else None
        if row is None:
            continue
        kpi = metrics.kpis[kid]
        value = float(row["value"]) if not _missing(row["value"]) else math.nan
        status = str(row["status"] or "") if not _missing(value) else ""
        rows.append(HeadlineKpi(
            id=kid,
            name=fmt.translate(kpi.name, locale),
            value=fmt.format_value(value, kpi.unit, locale=locale, currency=currency, context=context),
            note=coverage_text(row, locale=locale),
            window=window_text(metrics, kid, window, locale=locale, currency=currency, context=context),
            vs_plan=variance_text(value, row["target"], kpi.unit, locale=locale, currency=currency, context=context),
            vs_prior_year=variance_text(value, row["year_ago"], kpi.unit, locale=locale, currency=currency,
                                        context=context),
            status=status,
            status_text=fmt.translate(status, locale) if status else "",
            status_color=STATUS_TEXT_COLORS.get(status, "#595959"),
        ))
        if len(rows) == limit:
            break
    return rows


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


def window_text(metrics: Metrics, kid: str, window: str | None, *, locale: str, currency: str,
                context: fmt.Context) -> str | None:
    """"YTD $14,922,512 (+35.4% vs PY)": the to-date value against the same window a year earlier;
    None when the KPI has no window form or no windowed value."""
    from reportgen.render.views import WINDOW_LABELS

    if window is None:
        return None
    row = metrics.window_row(kid, metrics.periods[-1].label, window)
    if row is None or _missing(row["value"]):
        return None
    unit = metrics.kpis[kid].unit
    value = float(row["value"])
    text = (f"{fmt.translate(WINDOW_LABELS.get(window, (window.upper(),))[0], locale)} "
            f"{fmt.format_value(value, unit, locale=locale, currency=currency, context=context)}")
    if not _missing(row["year_ago"]):
        ref = float(row["year_ago"])
        if unit == "percent" or ref == 0:
            change = fmt.format_delta(value - ref, unit, locale=locale, currency=currency, context=context)
        else:
            change = fmt.format_change((value - ref) / abs(ref), locale=locale, context=context)
        text += f" ({change} {fmt.translate('vs prior year', locale)})"
    if _cell(row, "coverage") == "partial":
        text += f" · {fmt.translate('partial', locale)}"
    return text


def variance_text(value: float, reference: Any, unit: fmt.Unit, *, locale: str, currency: str,
                  context: fmt.Context) -> str | None:
    """``+$12,300 (+3.0%)`` against a reference; rates vary in points only (``+2.1 pp``); None if no reference.

    A relative change of a percentage ("+20% of 10%") is easily misread, so percent KPIs show the
    difference in percentage points alone, as the PDF does.
    """
    if _missing(reference):
        return None
    reference = float(reference)
    delta = value - reference
    text = fmt.format_delta(delta, unit, locale=locale, currency=currency, context=context)
    if unit != "percent" and reference != 0:
        text += f" ({fmt.format_change(delta / abs(reference), locale=locale, context=context)})"
    return text


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

    kpi = metrics.kpis[kid]
    series = metrics.series(kid)
    labels = [fmt.format_period_short(label, locale=locale) for label in series.index]
    # a period the data does not cover is a gap in the chart, never a bar at 0
    values = [math.nan if _missing(v) else float(v) for v in series.to_list()]
    return column_png(values, labels, width=CHART_WIDTH_PX, height=CHART_HEIGHT_PX,
                      tick_label=lambda y: fmt.format_value(y, kpi.unit, locale=locale, currency=currency,
                                                            context="text", compact=True))


def email_charts(metrics: Metrics, kpi_ids: list[str], *, locale: str, currency: str) -> list[EmailChart]:
    """Up to two trend charts with Content-IDs that are stable within one message."""
    charts = []
    history = len(metrics.periods)
    for kid in chart_kpis(metrics, kpi_ids):
        name = fmt.translate(metrics.kpis[kid].name, locale)
        latest = metrics.series(kid).iloc[-1]
        value = fmt.format_value(None if _missing(latest) else float(latest), metrics.kpis[kid].unit,
                                 locale=locale, currency=currency, context="text")
        period = fmt.format_period(metrics.periods[-1].label, locale=locale)
        charts.append(EmailChart(
            cid=f"trend-{kid.replace('_', '-')}",
            png=trend_png(metrics, kid, locale=locale, currency=currency),
            title=name,
            alt=f"{name}, {history} periods; {period}: {value}",
        ))
    return charts


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
    html_rows = headline_kpis(metrics, ids, locale=locale, currency=sc.currency, context="html")
    text_rows = headline_kpis(metrics, ids, locale=locale, currency=sc.currency, context="text")
    through = partial_through_text(metrics, ids, locale=locale)
    env = shared_environment(formats=Formats(locale, sc.currency))
    html = render_template(env, TEMPLATE, dict(
        title=title, company=sc.company, period=period, partial_text=through, segment_label=segment_label,
        kpis=html_rows,
        charts=charts, lang=locale.split("_")[0], primary_color=sc.primary_color,
        more=max(0, len(ids) - len(html_rows)),
    ))
    text = plain_text_body(title=title, company=sc.company, period=f"{period} ({through})" if through else period,
                           segment_label=segment_label, kpis=text_rows, locale=locale)
    return EmailBody(html=html, text=text, images={chart.cid: chart.png for chart in charts})


def plain_text_body(*, title: str, company: str, period: str, segment_label: str, kpis: list[HeadlineKpi],
                    locale: str) -> str:
    """The text/plain alternative: same numbers as the HTML, one KPI per block, no layout to break."""
    def t(key: str) -> str:
        return fmt.translate(key, locale)

    heading = " - ".join(part for part in (title, segment_label) if part)
    lines = [heading, " - ".join(part for part in (company, period) if part), ""]
    for kpi in kpis:
        status = f"  [{t('Status')}: {kpi.status_text}]" if kpi.status_text else ""
        note = f"  ({kpi.note})" if kpi.note else ""
        lines.append(f"{kpi.name}: {kpi.value}{status}{note}")
        variances = [f"{t(label)} {text}" for label, text in (("vs plan", kpi.vs_plan),
                                                            ("vs prior year", kpi.vs_prior_year)) if text]
        if kpi.window:
            variances.append(kpi.window)
        if variances:
            lines.append("    " + "; ".join(variances))
    lines += ["", t("The full scorecard is attached as a PDF.")]
    return "\n".join(lines) + "\n"


def _missing(value: Any) -> bool:
    try:
        return not math.isfinite(float(value))
    except (TypeError, ValueError):
        return True
