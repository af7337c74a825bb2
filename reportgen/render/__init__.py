"""Metrics -> HTML and PDF, from one Jinja template per audience.

The flow for one audience (``render_audience``): build plain view objects from the metric table
(tiles, breakdowns, trends; charts drawn here as inline SVG) -> render the template twice, once for
the screen (fonts inlined as ``data:`` URLs, so the HTML file is self-contained) and once for print
(fonts as ``file:`` URLs, cheaper for WeasyPrint) -> WeasyPrint writes the PDF to bytes, given the
charts as in-memory images and the stylesheets parsed once per process.

WeasyPrint is used the documented way: ``HTML(string=..., base_url=...)``, one shared
``FontConfiguration``, an :class:`AssetFetcher` that serves the project's own fonts, templates, the
logo and in-memory assets and refuses everything else (a scorecard never phones home), and
``write_pdf()`` returning bytes. WeasyPrint's warnings are collected into ``Rendered.warnings``, so
tests can treat them as failures and the build can print them.

The package, in the order of that flow: :mod:`.formats` (locale and currency bound to the fmt
functions), :mod:`.environment` (the Jinja sandbox and where templates are found), :mod:`.views` (one
KPI as a tile or a row), :mod:`.sections` (breakdowns, trends, leaderboard, funnel, data quality),
:mod:`.context` (everything one page reads) and :mod:`.document` (``render_audience``); the PDF is laid
out by :mod:`reportgen.pdf` (WeasyPrint, in a process of its own). Every name other modules and tests
import from ``reportgen.render`` is re-exported here.
"""
from __future__ import annotations

from reportgen.pdf.writer import (
                          MEMORY_SCHEME,
                          AssetFetcher,
                          RefusedURL,
                          asset_fetcher,
                          font_configuration,
                          weasyprint_warnings,
                          write_pdf,
)
from reportgen.render.context import build_context, config_hash, logo_data_url, page_css_size
from reportgen.render.document import (
                          Rendered,
                          Renderer,
                          ScorecardViews,
                          render_audience,
                          render_scorecard,
                          scorecard_views,
                          start_layout,
)
from reportgen.render.environment import (
                          BUILTIN_PREFIX,
                          BUILTIN_TEMPLATES,
                          builtin_template_dir,
                          make_environment,
                          shared_environment,
                          template_dirs,
                          template_name,
)
from reportgen.render.formats import Formats
from reportgen.render.sections import (
                          ACTIVITY_KPIS,
                          DIMENSION_LABELS,
                          FUNNEL_KPIS,
                          TREND_KPIS,
                          Breakdown,
                          FormatGroup,
                          QualityRow,
                          TrendView,
                          breakdown_view,
                          format_groups,
                          funnel_view,
                          leaderboard,
                          quality_rows,
                          rep_activity,
                          trend_view,
)
from reportgen.render.views import (
                          Comparison,
                          KpiView,
                          ObjectiveGroup,
                          audience_kpis,
                          comparisons,
                          group_by_objective,
                          kpi_view,
                          variance_tone,
)

__all__ = [
    "ACTIVITY_KPIS",
    "AssetFetcher",
    "BUILTIN_PREFIX",
    "BUILTIN_TEMPLATES",
    "Breakdown",
    "Comparison",
    "DIMENSION_LABELS",
    "FUNNEL_KPIS",
    "FormatGroup",
    "Formats",
    "KpiView",
    "MEMORY_SCHEME",
    "ObjectiveGroup",
    "QualityRow",
    "RefusedURL",
    "Rendered",
    "Renderer",
    "ScorecardViews",
    "TREND_KPIS",
    "TrendView",
    "asset_fetcher",
    "audience_kpis",
    "breakdown_view",
    "build_context",
    "builtin_template_dir",
    "comparisons",
    "config_hash",
    "font_configuration",
    "format_groups",
    "funnel_view",
    "group_by_objective",
    "kpi_view",
    "leaderboard",
    "logo_data_url",
    "make_environment",
    "page_css_size",
    "quality_rows",
    "render_audience",
    "render_scorecard",
    "rep_activity",
    "scorecard_views",
    "start_layout",
    "shared_environment",
    "template_dirs",
    "template_name",
    "trend_view",
    "variance_tone",
    "weasyprint_warnings",
    "write_pdf",
]
