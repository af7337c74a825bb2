"""Metrics -> HTML and PDF, from one Jinja template per audience.

The flow for one audience (``render_audience``): build plain view objects from the metric table
(tiles, breakdowns, trends; charts drawn here as inline SVG) -> render the template twice, once for
the screen (fonts inlined as ``data:`` URLs, so the HTML file is self-contained) and once for print
(fonts as ``file:`` URLs, cheaper for WeasyPrint) -> WeasyPrint writes the PDF to bytes.

WeasyPrint is used the documented way: ``HTML(string=..., base_url=...)``, one shared
``FontConfiguration``, an :class:`AssetFetcher` that serves the project's own fonts, templates, the
logo and in-memory assets and refuses everything else (a scorecard never phones home), and
``write_pdf()`` returning bytes. WeasyPrint's warnings are collected into ``Rendered.warnings``, so
tests can treat them as failures and the build can print them.
"""
from __future__ import annotations

import base64
import hashlib
import logging
import math
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2
from markupsafe import Markup

from . import charts, fmt
from .assets import FONT_FAMILY, FONTS_DIR, font_faces_css
from .config import Audience, LoadedConfig, default_objectives
from .forecast import forecast as make_forecast
from .narrative import Statement, tone_of, what_changed
from .errors import RenderError
from .sandbox import make_sandbox, render_template

if TYPE_CHECKING:
    from .compute import Metrics

BUILTIN_TEMPLATES = ("executive", "sales_manager", "client")
BUILTIN_PREFIX = "builtin"
"""``{% extends "builtin:executive.html" %}`` reaches the shipped template even when a user folder
has a file of the same name (that is how an override extends what it overrides)."""

MEMORY_SCHEME = "reportgen-asset"
"""``reportgen-asset:<name>`` URLs are served from the in-memory assets given to the fetcher."""

DIMENSION_LABELS = {"rep": "Rep", "region": "Region", "product": "Product", "source": "Channel"}
TREND_KPIS = ("revenue", "win_rate", "average_deal_size", "cac", "churn_rate", "nps", "csat", "clv")
"""Client trend charts, in this order, for whichever of these the audience shows (max six)."""
ACTIVITY_KPIS = ("calls_made", "emails_sent", "meetings_scheduled", "follow_up_rate", "lead_response_hours")
FUNNEL_KPIS = (("leads_created", "Leads"), ("opportunities_created", "Opportunities"), ("deals_won", "Won"))

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Rendered:
    """One audience's scorecard as HTML text and PDF bytes, and what each step cost (seconds)."""

    html: str
    pdf: bytes
    timings: dict[str, float]
    warnings: tuple[str, ...] = ()


# --------------------------------------------------------------------------------------------------
# Templates: one environment factory
# --------------------------------------------------------------------------------------------------

def builtin_template_dir() -> Path:
    """Shipped templates: inside the installed package first, else the repository's ``templates/``."""
    import reportgen

    packaged = Path(reportgen.__file__).parent / "templates"
    return packaged if packaged.is_dir() else Path(reportgen.__file__).resolve().parent.parent / "templates"


def template_dirs(loaded: LoadedConfig) -> list[Path]:
    """The user's ``template_dirs`` (relative to the config file), in the order they are searched."""
    return [loaded.resolve(d) for d in loaded.config.scorecard.template_dirs]


@dataclass(frozen=True)
class Formats:
    """The scorecard's locale and currency bound to the fmt functions: what the template filters call."""

    locale: str = "en_US"
    currency: str = "USD"

    def value(self, v: Any, unit: str, compact: bool = False) -> str:
        return fmt.format_value(_num(v), unit, locale=self.locale, currency=self.currency, compact=compact)

    def compact(self, v: Any, unit: str) -> str:
        return self.value(v, unit, compact=True)

    def delta(self, v: Any, unit: str) -> str:
        return fmt.format_delta(_num(v), unit, locale=self.locale, currency=self.currency)

    def change(self, v: Any) -> str:
        return fmt.format_change(_num(v), locale=self.locale)

    def period(self, label: str) -> str:
        return fmt.format_period(label, locale=self.locale)

    def period_short(self, label: str) -> str:
        return fmt.format_period_short(label, locale=self.locale)

    def date(self, d: Any) -> str:
        return fmt.format_date(d, locale=self.locale) if d is not None else self.t("n/a")

    def number(self, v: Any) -> str:
        return fmt.format_value(_num(v), "count", locale=self.locale)

    def t(self, key: str) -> str:
        return fmt.translate(key, self.locale)


def make_environment(user_dirs: Sequence[Path] = (), formats: Formats = Formats()) -> jinja2.Environment:
    """The one Jinja environment every scorecard is rendered with: the budgeted sandbox.

    Every template, shipped or the user's, is code we did not review at run time, so all of them
    render sandboxed (see :mod:`reportgen.sandbox`). Autoescape is on for every template whatever its
    ending (a KPI name or a commentary is user text); undefined names fail loudly (StrictUndefined);
    user folders come before the built-ins, and ``builtin:<name>`` always means the shipped template.
    """
    env = make_sandbox(user_dirs, builtin_template_dir(), BUILTIN_PREFIX)
    env.filters.update({
        "value": formats.value, "compact": formats.compact, "delta": formats.delta, "change": formats.change,
        "period": formats.period, "period_short": formats.period_short, "date": formats.date,
        "number": formats.number, "t": formats.t,
    })
    env.globals.update({"fmt": formats, "t": formats.t})
    return env


def template_name(template: str) -> str:
    """``executive`` -> ``executive.html``; a user's file name is used as it is."""
    return f"{template}.html" if template in BUILTIN_TEMPLATES else template


# --------------------------------------------------------------------------------------------------
# WeasyPrint: fetcher, fonts, PDF
# --------------------------------------------------------------------------------------------------

class RefusedURL(ValueError):
    """A document asked for something that is not one of the project's own assets."""


class AssetFetcher:
    """Marker base of the fetchers :func:`asset_fetcher` builds (on WeasyPrint's ``URLFetcher``,
    subclassed lazily so importing this module does not import WeasyPrint)."""


def asset_fetcher(roots: Sequence[Path] = (), files: Sequence[Path] = (),
                  memory: Mapping[str, tuple[bytes, str]] | None = None) -> Any:
    """A WeasyPrint URL fetcher that serves ``data:`` URLs, files under ``roots`` (fonts, templates) or
    listed in ``files`` (the logo), and ``reportgen-asset:<name>`` from ``memory``; it refuses
    everything else, http(s) above all, so a template can never make a scorecard phone home."""
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    allowed_roots = [Path(r).resolve() for r in roots]
    allowed_files = {Path(f).resolve() for f in files}
    in_memory = dict(memory or {})

    class _Fetcher(URLFetcher, AssetFetcher):
        def fetch(self, url: str, headers: Any = None) -> Any:
            scheme = url.split(":", 1)[0].lower()
            if scheme == "data":
                return super().fetch(url, headers)
            if scheme == MEMORY_SCHEME:
                name = url.split(":", 1)[1]
                if name in in_memory:
                    body, mime = in_memory[name]
                    return URLFetcherResponse(url, body, {"Content-Type": mime})
            if scheme == "file":
                from urllib.parse import unquote, urlsplit

                path = Path(unquote(urlsplit(url).path)).resolve()
                if path in allowed_files or any(path.is_relative_to(r) for r in allowed_roots):
                    return super().fetch(url, headers)
            raise RefusedURL(f"refused {url!r}: a scorecard loads only its own fonts, logo and charts")

    return _Fetcher(allowed_protocols=["data", "file", MEMORY_SCHEME])


@lru_cache(maxsize=1)
def font_configuration() -> Any:
    """One FontConfiguration for the process: @font-face files are loaded once, not per report."""
    from weasyprint.text.fonts import FontConfiguration

    return FontConfiguration()


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@contextmanager
def weasyprint_warnings() -> Iterator[list[str]]:
    """Collect what WeasyPrint logs at WARNING and above while the block runs."""
    handler = _Collect()
    logger = logging.getLogger("weasyprint")
    logger.addHandler(handler)
    try:
        yield handler.messages
    finally:
        logger.removeHandler(handler)


def write_pdf(html: str, *, base_url: str, fetcher: Any, pdf_a: bool = False) -> tuple[bytes, list[str]]:
    """WeasyPrint the documented way: HTML string + base URL + fetcher -> PDF bytes (and warnings)."""
    from weasyprint import HTML

    options: dict[str, Any] = {"font_config": font_configuration()}
    if pdf_a:
        options["pdf_variant"] = "pdf/a-3b"
    with weasyprint_warnings() as warnings:
        try:
            pdf = HTML(string=html, base_url=base_url, url_fetcher=fetcher).write_pdf(**options)
        except OSError as exc:  # WeasyPrint unpacks fonts into temporary files: a full disk fails there
            raise RenderError(f"WeasyPrint could not write its temporary files: {exc.strerror or exc}") from None
    return pdf, list(warnings)


# --------------------------------------------------------------------------------------------------
# Views: what the templates show, as plain values
# --------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Comparison:
    """One reference (PL, PY, prior period) and the variance of the actual against it."""

    key: str            # "pl" | "py" | "pp"
    label: str          # "Plan", "Prior year", "Prior period"
    reference: float
    delta: float
    pct: float | None   # relative variance; None for rates (they vary in pp only)
    tone: str           # good | bad | neutral


@dataclass(frozen=True)
class KpiView:
    """Everything a tile or a table row shows about one KPI in the reported period."""

    id: str
    name: str
    unit: str
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

    @property
    def available(self) -> bool:
        return self.unavailable is None


def _num(v: Any) -> float:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return math.nan
    return f


def _missing(v: Any) -> bool:
    return not math.isfinite(_num(v))


def variance_tone(delta: float, direction: str) -> str:
    """good when the actual beats the reference in the KPI's direction; neutral for no variance."""
    return tone_of(delta, direction) if not _missing(delta) else "neutral"


def comparisons(unit: str, direction: str, value: float, refs: Sequence[tuple[str, str, float]]) -> list[Comparison]:
    """Absolute and relative variances of ``value`` against each reference (NaN stays NaN)."""
    out = []
    for key, label, ref in refs:
        delta = value - ref if not (_missing(value) or _missing(ref)) else math.nan
        if unit == "percent":
            pct = None
        elif _missing(delta) or ref == 0:
            pct = math.nan
        else:
            pct = delta / abs(ref)
        out.append(Comparison(key, label, ref, delta, pct, variance_tone(delta, direction)))
    return out


def kpi_view(metrics: "Metrics", kid: str, formats: Formats, *, period_word: str = "Prior period") -> KpiView:
    """The reported period of one KPI with its references, sparkline and bullet graph."""
    kpi = metrics.kpis[kid]
    t = formats.t
    formula = getattr(kpi.formula, "text", "")
    base = dict(id=kid, name=t(kpi.name), unit=kpi.unit, direction=kpi.direction, objective=kpi.objective,
                definition=kpi.definition, formula=formula, commentary=kpi.commentary)
    period = metrics.periods[-1].label
    row = metrics.row(kid, period) if kid not in metrics.unavailable else None
    if row is None:
        nan = math.nan
        return KpiView(**base, value=nan, target=nan, prior=nan, year_ago=nan, benchmark=nan, benchmark_source="",
                       achievement=nan, status="", comparisons=[], sparkline=Markup(""), bullet=None,
                       unavailable=metrics.unavailable.get(kid, t("n/a")).removeprefix("unavailable: "))
    value = _num(row["value"])
    refs = [("pl", "PL", _num(row["target"])), ("py", "PY", _num(row["year_ago"])), ("pp", "PP", _num(row["prior"]))]
    history = metrics.series(kid).to_list()
    higher = kpi.direction != "lower"
    spark = charts.sparkline(history, width=112, height=26, higher_is_better=higher,
                             title=f"{t(kpi.name)}: {len(history)} periods")
    bullet = None
    if not _missing(row["target"]):
        bullet = Markup(charts.bullet(value, _num(row["target"]), higher_is_better=higher, width=160, height=18,
                                      title=f"{t(kpi.name)} against plan", missing_label=t("n/a")))
    return KpiView(**base, value=value, target=_num(row["target"]), prior=_num(row["prior"]),
                   year_ago=_num(row["year_ago"]), benchmark=_num(row["benchmark"]),
                   benchmark_source=str(row["benchmark_source"] or ""), achievement=_num(row["achievement"]),
                   status=str(row["status"] or ""), comparisons=comparisons(kpi.unit, kpi.direction, value, refs),
                   sparkline=Markup(spark), bullet=bullet)


@dataclass(frozen=True)
class ObjectiveGroup:
    """KPIs grouped under one business objective (growth, efficiency, customers, activity)."""

    key: str
    title: str
    kpis: list[KpiView]


def audience_kpis(metrics: "Metrics", loaded: LoadedConfig, audience: Audience) -> list[str]:
    """The KPIs an audience shows, in its order (default: every non-hidden KPI of the config)."""
    ids = audience.kpis or [k.id for k in loaded.config.kpis] or [k for k, v in metrics.kpis.items() if not v.hidden]
    return [k for k in ids if k in metrics.kpis]


def group_by_objective(views: Sequence[KpiView], objectives: Mapping[str, Sequence[str]]) -> list[ObjectiveGroup]:
    """Tiles under the config's objectives, in the objectives' order; the rest under "Other"."""
    by_id = {v.id: v for v in views}
    groups, placed = [], set()
    for key, ids in objectives.items():
        members = [by_id[k] for k in ids if k in by_id and k not in placed]
        placed |= {v.id for v in members}
        if members:
            groups.append(ObjectiveGroup(key, key.replace("_", " ").capitalize(), members))
    rest = [v for v in views if v.id not in placed]
    if rest:
        groups.append(ObjectiveGroup("other", "Other", rest))
    return groups


@dataclass(frozen=True)
class Breakdown:
    """One dimension of one KPI in the reported period: sorted bars and a small table."""

    dimension: str
    title: str
    kpi: str
    unit: str
    chart: Markup
    rows: list[dict[str, Any]]


def breakdown_view(metrics: "Metrics", kid: str, dimension: str, formats: Formats,
                   extra: Sequence[str] = (), maximum: float | None = None) -> Breakdown | None:
    """Bars of ``kid`` by ``dimension`` with a table that adds the ``extra`` KPIs per segment."""
    period = metrics.periods[-1].label
    frame = metrics.breakdown(kid, dimension, period)
    if frame.empty:
        return None
    kpi = metrics.kpis[kid]
    labels, values = frame["segment"].astype(str).to_list(), frame["value"].to_list()
    chart = charts.breakdown_bars(labels, values, value_format=lambda v: formats.compact(v, kpi.unit), width=330,
                                  row_height=18, title=f"{formats.t(kpi.name)} by {dimension}", missing_label=formats.t("n/a"),
                                  maximum=maximum)
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


@dataclass(frozen=True)
class TrendView:
    """A trend chart (AC, PY, PL, FC) of one KPI with the figures quoted under it."""

    kpi: KpiView
    chart: Markup
    forecast_next: float
    forecast_label: str


def trend_view(metrics: "Metrics", view: KpiView, formats: Formats, *, periods: int, method: str,
               width_px: int = 330, height_px: int = 160) -> TrendView:
    """History plus ``periods`` forecast periods; PY of a future period is the actual a year before it."""
    kid = view.id
    labels = [p.label for p in metrics.periods]
    actual = metrics.series(kid).to_list()
    year_ago = metrics.series(kid, "year_ago").to_list()
    target = metrics.series(kid, "target").to_list()
    future = [metrics.periods[-1].shift(k + 1) for k in range(periods)]
    fc = make_forecast(actual, periods, method) if periods else []
    by_label = dict(zip(labels, actual))
    all_labels = labels + [p.label for p in future]
    py_future = [by_label.get(p.shift(-12).label, math.nan) if metrics.grain == "month" else math.nan for p in future]
    chart = charts.trend(
        [formats.period_short(label) for label in all_labels], actual + [None] * periods,
        prior_year=year_ago + py_future, target=target + [None] * periods if any(not _missing(v) for v in target) else None,
        forecast=[None] * len(labels) + fc if periods else None,
        value_format=lambda v: formats.compact(v, view.unit), width_px=width_px, height_px=height_px, kind="line",
        title=f"{view.name}: trend with prior year, plan and forecast")
    return TrendView(view, Markup(chart), fc[0] if fc else math.nan, future[0].label if future else "")


def leaderboard(metrics: "Metrics", formats: Formats) -> list[dict[str, Any]]:
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
    rows = []
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


def funnel_view(metrics: "Metrics", formats: Formats) -> Markup | None:
    """Leads created -> opportunities created -> deals won in the reported period."""
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
    return Markup(charts.funnel(stages, value_format=lambda v: formats.value(v, "count"),
                                conversion_format=lambda f: formats.value(f, "percent"), width=330,
                                title="Leads to won deals", missing_label=formats.t("n/a")))


@dataclass(frozen=True)
class QualityRow:
    """One dataset in the data-quality appendix."""

    name: str
    source: str
    rows_read: int
    rejected: list[tuple[str, int]]
    first_date: Any
    last_date: Any
    missing: list[tuple[str, int]]


def quality_rows(metrics: "Metrics", base_dir: Path | None = None) -> list[QualityRow]:
    """Per dataset: source (relative to the config when possible), rows read and rejected, dates, gaps."""
    out = []
    for name, q in metrics.quality.items():
        source = str(q.source)
        if base_dir is not None:
            try:
                source = str(Path(source).resolve().relative_to(base_dir.resolve().parent))
            except ValueError:
                pass
        out.append(QualityRow(name, source, int(q.rows_read), sorted(q.rows_rejected.items()), q.first_date,
                              q.last_date, sorted(q.missing_values.items())))
    return out


# --------------------------------------------------------------------------------------------------
# The whole page
# --------------------------------------------------------------------------------------------------

def config_hash(loaded: LoadedConfig) -> str:
    """sha256 of the config text: ties a PDF to the exact config that made it."""
    text = loaded.text or (loaded.path.read_text(encoding="utf-8") if loaded.path.is_file() else "")
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def logo_data_url(path: Path | None) -> str | None:
    """The logo file as a ``data:`` URL, so both the HTML and the PDF carry it inside."""
    if path is None or not path.is_file():
        return None
    mime = {".svg": "image/svg+xml", ".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg",
            ".webp": "image/webp"}.get(path.suffix.lower(), "application/octet-stream")
    return f"data:{mime};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}"


def page_css_size(page_size: str, orientation: str) -> str:
    return f"{page_size} {orientation}"


def build_context(metrics: "Metrics", loaded: LoadedConfig, audience_name: str, audience: Audience, *,
                  now: datetime, segment: Any = None, formats: Formats) -> dict[str, Any]:
    """Everything the templates read: strings, numbers and ready SVG, nothing that computes."""
    sc = loaded.config.scorecard
    t = formats.t
    ids = audience_kpis(metrics, loaded, audience)
    period = metrics.periods[-1]
    period_word = {"month": "Prior month", "quarter": "Prior quarter", "week": "Prior week"}.get(metrics.grain,
                                                                                                   "Prior period")
    views = [kpi_view(metrics, k, formats, period_word=period_word) for k in ids]
    objectives = loaded.config.objectives or default_objectives(
        list(ids), {k: metrics.kpis[k].objective for k in ids if k in metrics.kpis})
    title = audience.title or sc.title
    segment_label = (f"{t(DIMENSION_LABELS.get(segment.dimension, segment.dimension.capitalize()))}: "
                     f"{segment.value}") if segment is not None else ""
    statements: list[Statement] = what_changed(metrics, ids, locale=formats.locale, currency=formats.currency)
    commentary = [(v.name, v.commentary) for v in views if v.commentary]
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
        "first_period": metrics.periods[0].label, "forecast_method": sc.forecast_method,
        "forecast_periods": sc.forecast_periods,
    }
    template = audience.template
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
        ctx["activity"] = [kpi_view(metrics, k, formats, period_word=period_word) for k in ids if k in ACTIVITY_KPIS]
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
        ctx["forecast_accuracy"] = by_id.get("forecast_accuracy")
    return ctx


def rep_activity(metrics: "Metrics") -> list[dict[str, Any]]:
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


def render_audience(metrics: "Metrics", loaded: LoadedConfig, audience_name: str, audience: Audience, *,
                    now: datetime, segment: Any = None) -> Rendered:
    """One audience's scorecard: a self-contained HTML file and a PDF from the same template."""
    sc = loaded.config.scorecard
    formats = Formats(sc.locale, sc.currency)
    t0 = time.perf_counter()
    context = build_context(metrics, loaded, audience_name, audience, now=now, segment=segment, formats=formats)
    t1 = time.perf_counter()
    user_dirs = template_dirs(loaded)
    env = make_environment(user_dirs, formats)
    name = template_name(audience.template)
    html = render_template(env, name, {**context, "media": "screen", "font_css": Markup(font_faces_css(embed=True))})
    print_html = render_template(env, name, {**context, "media": "print",
                                             "font_css": Markup(font_faces_css(embed=False))})
    t2 = time.perf_counter()
    logo = [loaded.resolve(sc.logo)] if sc.logo else []
    fetcher = asset_fetcher(roots=[FONTS_DIR, builtin_template_dir(), *user_dirs], files=logo)
    pdf, warnings = write_pdf(print_html, base_url=builtin_template_dir().as_uri() + "/", fetcher=fetcher,
                              pdf_a=sc.pdf_a)
    t3 = time.perf_counter()
    for w in warnings:
        log.warning("WeasyPrint (%s): %s", audience_name, w)
    return Rendered(html, pdf, {"charts": t1 - t0, "html": t2 - t1, "pdf": t3 - t2}, tuple(warnings))


Renderer = Callable[..., Rendered]
