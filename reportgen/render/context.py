"""The whole page: everything a template reads, as strings, numbers and ready SVG."""
from __future__ import annotations

import base64
import hashlib
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reportgen.assets import FONT_FAMILY
from reportgen.bounded import MAX_LOGO_BYTES, read_regular_file
from reportgen.config.meaning import default_objectives
from reportgen.config.models import Audience, LoadedConfig
from reportgen.errors import RenderError
from reportgen.render.environment import BUILTIN_TEMPLATES
from reportgen.render.formats import Formats, _missing
from reportgen.render.narrative import Statement, what_changed
from reportgen.render.scoreboard import executive_table, kpi_formats
from reportgen.render.sections import (
    ACTIVITY_KPIS,
    DIMENSION_LABELS,
    FUNNEL_KPIS,
    TREND_KPIS,
    breakdown_view,
    format_groups,
    funnel_view,
    leaderboard,
    quality_rows,
    rep_activity,
    trend_view,
)
from reportgen.render.together import moves_together_view
from reportgen.render.views import (
    WINDOW_LABELS,
    audience_kpis,
    group_by_objective,
    kpi_view,
    partial_through,
    shown_window,
)

if TYPE_CHECKING:
    from reportgen.engine.metrics import Metrics


def config_hash(loaded: LoadedConfig) -> str:
    """sha256 of the config text: ties a PDF to the exact config that made it."""
    text = loaded.text or (loaded.path.read_text(encoding="utf-8") if loaded.path.is_file() else "")
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def logo_data_url(path: Path | None) -> str | None:
    """The logo file as a ``data:`` URL, so both the HTML and the PDF carry it inside."""
    if path is None or not path.exists():  # a missing logo is reported by `validate` (check_files)
        return None
    data = read_regular_file(path, limit=MAX_LOGO_BYTES, what="logo", error=RenderError)
    mime = {".svg": "image/svg+xml", ".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg",
            ".webp": "image/webp"}.get(path.suffix.lower(), "application/octet-stream")
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def page_css_size(page_size: str, orientation: str) -> str:
    return f"{page_size} {orientation}"


def build_context(metrics: Metrics, loaded: LoadedConfig, audience_name: str, audience: Audience, *,
                  now: datetime, segment: Any = None, formats: Formats) -> dict[str, Any]:
    """Everything the templates read: strings, numbers and ready SVG, nothing that computes."""
    from reportgen.charts import reset_chart_ids

    reset_chart_ids()  # chart ids per scorecard, so its PDF does not depend on what the process drew before
    sc = loaded.config.scorecard
    t = formats.t
    ids = audience_kpis(metrics, loaded, audience)
    period = metrics.periods[-1]
    period_word = {"month": "Prior month", "quarter": "Prior quarter", "week": "Prior week"}.get(metrics.grain,
                                                                                                   "Prior period")
    numbers = kpi_formats(metrics, ids, formats)  # each KPI's one number format, for every page and chart
    views = [replace(kpi_view(metrics, k, formats, period_word=period_word), number=numbers.get(k)) for k in ids]
    objectives = loaded.config.objectives or default_objectives(
        list(ids), {k: metrics.kpis[k].objective for k in ids if k in metrics.kpis})
    title = audience.title or sc.title
    segment_label = (f"{t(DIMENSION_LABELS.get(segment.dimension, segment.dimension.capitalize()))}: "
                     f"{segment.value}") if segment is not None else ""
    statements: list[Statement] = what_changed(metrics, ids, locale=formats.locale, currency=formats.currency,
                                               numbers=numbers)
    commentary = [(v.name, v.commentary) for v in views if v.commentary]
    window = shown_window(metrics) if any(v.window for v in views) else None
    through = partial_through(metrics, ids)
    ctx: dict[str, Any] = {
        "audience_name": audience_name, "audience": audience, "scorecard": sc,
        "title": title, "company": sc.company, "segment_label": segment_label,
        "period": period.label, "period_long": formats.period(period.label), "grain": metrics.grain,
        "generated": now, "generated_text": formats.date(now.date()),
        "author": sc.author, "config_hash": config_hash(loaded), "locale": formats.locale,
        "lang": formats.locale.split("_")[0], "kpis": views, "kpi_by_id": {v.id: v for v in views},
        "groups": group_by_objective(views, objectives), "statements": statements, "commentary": commentary,
        "unavailable": [v for v in views if not v.available],
        "logo": logo_data_url(loaded.resolve(sc.logo) if sc.logo else None),
        "primary_color": sc.primary_color, "accent_color": sc.accent_color,
        "font_family": sc.font_family or FONT_FAMILY, "page_size": page_css_size(sc.page_size, sc.orientation),
        "period_word": period_word, "history": len(metrics.periods),
        "planned": any(v.planned for v in views),  # any shown KPI has a plan: else no PL anywhere
        "first_period": metrics.periods[0].label, "forecast_method": sc.forecast_method,
        "forecast_periods": sc.forecast_periods,
        "window": window, "window_label": t(WINDOW_LABELS[window][0]) if window in WINDOW_LABELS else "",
        "window_title": t(WINDOW_LABELS[window][1]) if window in WINDOW_LABELS else "",
        "partial_through": through,
        "partial_text": t("data through {date}").format(date=formats.day_month(through)) if through else "",
        "data_as_of": formats.date(through) if through else formats.date(period.end),
    }
    template = audience.template
    if template != "executive":  # the one-pager has no room for it (issue 18)
        ctx["moves_together"] = moves_together_view(metrics, ids, audience.correlations, formats,
                                                    {v.id: v.name for v in views})
    if template == "executive" and getattr(audience, "layout", "table") == "table":
        ctx["table"] = executive_table(metrics, ids, objectives, formats, numbers)
    if template in ("sales_manager",) or template not in BUILTIN_TEMPLATES:
        ctx["leaderboard"] = leaderboard(metrics, formats)
        # without any rep quota the attainment columns would be a wall of n/a: the template drops them
        ctx["leaderboard_quotas"] = any(not _missing(r["quota"]) for r in ctx["leaderboard"])
        ctx["funnel"] = funnel_view(metrics, formats)
        ctx["funnel_stages"] = [label for kid, label in FUNNEL_KPIS
                                if kid in metrics.kpis and kid not in metrics.unavailable]
        dims = [d for d in ("region", "product", "source") if d in set(metrics.table["dimension"])]
        extra = [k for k in ("deals_won", "win_rate") if k in metrics.kpis]
        # one scale for all of revenue's breakdowns, so a bar by region compares with one by product
        shown = metrics.table[(metrics.table["kpi"] == "revenue") & metrics.table["dimension"].isin(dims)
                              & (metrics.table["period"] == metrics.periods[-1].label)]["value"]
        top = float(shown.max()) if shown.notna().any() else None
        ctx["breakdowns"] = [b for d in dims if (b := breakdown_view(metrics, "revenue", d, formats, extra, top))]
        # fresh views: the overview table shows the same KPIs, and SVG ids must be unique per page
        ctx["activity"] = [replace(kpi_view(metrics, k, formats, period_word=period_word), number=numbers.get(k))
                           for k in ids if k in ACTIVITY_KPIS]
        ctx["pipeline"] = [v for v in views if v.id in ("pipeline_value", "open_opportunities",
                                                         "opportunities_created", "leads_created",
                                                         "lead_conversion_rate", "win_rate")]
        ctx["rep_activity"] = rep_activity(metrics)
    if template in ("client",) or template not in BUILTIN_TEMPLATES:
        trend_ids = [k for k in TREND_KPIS if k in ids and k not in metrics.unavailable][:6]
        by_id = {v.id: v for v in views}
        ctx["trends"] = [trend_view(metrics, by_id[k], formats, periods=sc.forecast_periods,
                                    method=sc.forecast_method) for k in trend_ids]
        ctx["benchmarked"] = [v for v in views if not _missing(v.benchmark)]
        sources = list(dict.fromkeys(v.benchmark_source for v in views if v.benchmark_source))
        ctx["benchmark_notes"] = sources
        ctx["quality"] = quality_rows(metrics, loaded.base_dir)
        ctx["quality_formats"] = format_groups(ctx["quality"])
        ctx["forecast_accuracy"] = by_id.get("forecast_accuracy")
    return ctx

