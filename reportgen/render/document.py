"""One audience's scorecard: the context rendered twice (screen HTML, print HTML) and the PDF written
(the print HTML's charts handed to WeasyPrint as in-memory images, see :mod:`reportgen.pdf.printdoc`)."""
from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from markupsafe import Markup

from reportgen.assets import FONTS_DIR, font_faces_css
from reportgen.charts.custom import CustomCharts, theme_for
from reportgen.config.models import Audience, LoadedConfig
from reportgen.errors import ReportgenError
from reportgen.pdf.limits import LayoutWarmUp, PdfRequest, start_layout_process, write_pdf_bounded
from reportgen.pdf.printdoc import chart_assets
from reportgen.render.context import build_context
from reportgen.render.environment import builtin_template_dir, shared_environment, template_dirs, template_name
from reportgen.render.formats import Formats
from reportgen.render.sandbox import render_template

if TYPE_CHECKING:
    from reportgen.engine.metrics import Metrics

log = logging.getLogger("reportgen.render")


@dataclass(frozen=True)
class Rendered:
    """One audience's scorecard as HTML text and PDF bytes, and what each step cost (seconds)."""

    html: str
    pdf: bytes
    timings: dict[str, float]
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class ScorecardViews:
    """What one audience's template shows: plain view objects built from the metric table (tiles,
    breakdowns, narrative, quality rows), already formatted for the config's locale and currency."""

    audience_name: str
    audience: Audience
    context: dict[str, Any]
    formats: Formats
    seconds: float


def scorecard_views(metrics: Metrics, loaded: LoadedConfig, audience_name: str, audience: Audience, *,
                    now: datetime, segment: Any = None, locale: str | None = None) -> ScorecardViews:
    """The view models of one audience's scorecard (the step between the numbers and the template), in
    ``locale`` (default: the scorecard's), so a reader gets the PDF in the language of their email."""
    sc = loaded.config.scorecard
    formats = Formats(locale or sc.locale, sc.currency)
    t0 = time.perf_counter()
    context = build_context(metrics, loaded, audience_name, audience, now=now, segment=segment, formats=formats)
    context["custom_chart"] = CustomCharts(loaded, metrics, theme_for(loaded))  # drawn when a template asks
    return ScorecardViews(audience_name, audience, context, formats, time.perf_counter() - t0)


FONT_CSS_SLOT = "/* reportgen: @font-face rules */"
"""Where the HTML's font rules go once its text is known (a CSS comment, so a template without it is fine)."""


def render_scorecard(views: ScorecardViews, loaded: LoadedConfig) -> Rendered:
    """Format the views through the audience's template: self-contained HTML, and a PDF from the same template."""
    sc = loaded.config.scorecard
    t1 = time.perf_counter()
    user_dirs = template_dirs(loaded)
    env = shared_environment(user_dirs, views.formats)
    name = template_name(views.audience.template)
    html = render_template(env, name, {**views.context, "media": "screen", "font_css": Markup(FONT_CSS_SLOT)})
    # the fonts last: the HTML embeds only the CJK glyphs its own text uses
    html = html.replace(FONT_CSS_SLOT, font_faces_css(embed=True, language=views.context["lang"], text=html), 1)
    print_html = render_template(env, name, {**views.context, "media": "print",
                                             "font_css": Markup(font_faces_css(embed=False, text=html))})
    t2 = time.perf_counter()
    print_html, charts = chart_assets(print_html)  # the charts as images served from memory
    base_url, roots, files = _layout_sources(loaded)
    request = PdfRequest(print_html, base_url, roots=roots, files=files, memory=charts, pdf_a=sc.pdf_a)
    pdf, warnings = write_pdf_bounded(request)  # in a child process under a time and memory budget
    t3 = time.perf_counter()
    for w in warnings:
        log.debug("WeasyPrint (%s): %s", views.audience_name, w)  # the caller reports Rendered.warnings
    return Rendered(html, pdf, {"charts": views.seconds, "html": t2 - t1, "pdf": t3 - t2}, tuple(warnings))


def layout_warm_up(loaded: LoadedConfig) -> LayoutWarmUp:
    """What the PDF layout of this config's scorecards may fetch (fonts, templates, the logo), from
    where, and the stylesheets each of its documents starts with: the Latin font rules and the
    shipped stylesheet, in the very text ``base.html`` puts in their ``<style>`` elements (any other
    text, a template folder's own ``scorecard.css`` say, is parsed at its first document instead)."""
    base_url, roots, files = _layout_sources(loaded)
    return LayoutWarmUp(base_url, roots=roots, files=files, styles=_shipped_styles())


def _layout_sources(loaded: LoadedConfig) -> tuple[str, tuple[Path, ...], tuple[Path, ...]]:
    """The base URL of a scorecard's print HTML, the folders its fetcher serves and the files (the logo)."""
    sc = loaded.config.scorecard
    return (builtin_template_dir().as_uri() + "/", (FONTS_DIR, builtin_template_dir(), *template_dirs(loaded)),
            (loaded.resolve(sc.logo),) if sc.logo else ())


@lru_cache(maxsize=1)
def _shipped_styles() -> tuple[str, ...]:
    """The Latin font rules and the shipped stylesheet as ``base.html`` writes them (read once)."""
    shipped = (builtin_template_dir() / "scorecard.css").read_text(encoding="utf-8")
    return font_faces_css(embed=False, text=""), shipped.removesuffix("\n")


def start_layout(loaded: LoadedConfig) -> bool:
    """Start the PDF layout process for this config's scorecards now, before the data step, so it
    imports WeasyPrint and parses the shipped stylesheets on another core (see
    :func:`reportgen.pdf.limits.start_layout_process`). True when it runs: this process then needs
    no WeasyPrint of its own. A logo the path policy refuses is left to the render to report."""
    try:
        warm_up = layout_warm_up(loaded)
    except ReportgenError:
        warm_up = None
    return start_layout_process(warm_up=warm_up)


def render_audience(metrics: Metrics, loaded: LoadedConfig, audience_name: str, audience: Audience, *,
                    now: datetime, segment: Any = None, locale: str | None = None) -> Rendered:
    """One audience's scorecard from the metrics: views, then the template (for callers with no use
    for the views in between, such as the email sender rendering it in a reader's ``locale``)."""
    return render_scorecard(scorecard_views(metrics, loaded, audience_name, audience, now=now, segment=segment,
                                            locale=locale), loaded)


Renderer = Callable[..., Rendered]
