"""The whole pipeline on one screen: config -> data -> compute -> render -> files.

``build()`` is what `reportgen build` runs; ``compute_for_config()`` is the part `compute`,
`validate`, the email sender and the batch workers share. Every output file is written atomically
(temp file + rename) and a PDF is parsed back before it is called done, so a crash never leaves a
half-written scorecard for a scheduler to pick up.
"""
from __future__ import annotations

import hashlib
import itertools
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from reportgen.config.issues import did_you_mean
from reportgen.config.models import Audience, LoadedConfig, Scorecard
from reportgen.errors import ReportgenError
from reportgen.kpis.periods import Period, last_complete_period, parse_period, period_containing, period_range
from reportgen.pipeline.exports import write_metric_exports
from reportgen.prefetch import prefetch

if TYPE_CHECKING:
    from reportgen.data import LoadedData
    from reportgen.engine import Metrics, ResolvedKpi

DEFAULT_AUDIENCE = Audience(template="executive")


@dataclass(frozen=True)
class Segment:
    """A slice of the data (for bursting): only rows whose ``dimension`` equals ``value``."""

    dimension: str
    value: str

    @classmethod
    def parse(cls, text: str) -> Segment:
        """``region=North`` as the command line and the Python API take it (the one parser of it): a
        blank side is refused, not read as the segment of blank values."""
        dimension, sep, value = text.partition("=")
        if not sep or not dimension.strip() or not value.strip():
            raise ReportgenError(f"segment {text!r}: expected DIMENSION=VALUE, e.g. region=North")
        return cls(dimension.strip(), value.strip())


@dataclass(frozen=True)
class BuiltScorecard:
    """Files written for one audience and how long each stage took."""

    audience: str
    html: Path
    pdf: Path
    csv: Path | None
    xlsx: Path | None
    pages: int
    timings: dict[str, float] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()  # what WeasyPrint or the renderer warned about (an image it could not load, ...)


def reporting_period(scorecard: Scorecard, *, now: datetime, period: str | None = None) -> Period:
    """The period a scorecard reports on: an explicit label, the period containing ``as_of``, or the
    last complete period at ``now``."""
    grain, fys = scorecard.grain, scorecard.fiscal_year_start
    if period:
        try:
            return parse_period(period, grain, fys)
        except ValueError as exc:
            raise ReportgenError(f"--period {exc}") from None  # the message starts with the label
    if isinstance(scorecard.as_of, date):
        return period_containing(scorecard.as_of, grain, fys)
    return last_complete_period(now.date(), grain, fys)


def load_data(loaded: LoadedConfig, segment: Segment | None = None, *, today: date,
              cache_key: str | None = None, duckdb_threads: int | None = None) -> LoadedData:
    """The config's datasets (one segment's rows when asked); ``today`` is the scorecard's clock, read by
    every date rule of the load (future dates, coverage), never the machine's. ``duckdb_threads``: a batch
    worker's share of the cores (default: the data layer's)."""
    from reportgen.data import load_datasets, restrict_to_segment

    data = load_datasets(loaded, today=today, writable=segment is not None,  # restrict_to_segment deletes rows
                         cache_key=cache_key, duckdb_threads=duckdb_threads)
    return restrict_to_segment(data, segment.dimension, segment.value) if segment else data


_segment_copies = itertools.count(1)


@contextmanager
def segment_copy(data: LoadedData, segment: Segment) -> Iterator[LoadedData]:
    """One segment's rows of ``data``, leaving ``data`` itself whole: for a burst, which loads the
    data once and builds every segment's scorecard from it.

    The segment's rows are copied into a schema of their own (a million-row table becomes the few
    thousand rows of one rep; a dataset without the dimension is copied empty, targets whole) and
    read through a cursor whose search path is that schema, so the engine's unqualified table names
    and temp tables stay apart from the whole data's. ``restrict_to_segment`` then applies its own
    rules to the copy (targets scoped, datasets without the dimension dropped, an absent value an
    error), so the result is the same as loading the data again and restricting it. The schema is
    dropped on exit.
    """
    from reportgen.data import restrict_to_segment
    from reportgen.data.loaded import copy_rows
    from reportgen.data.sql import lit, q

    schema = f"segment__{next(_segment_copies)}"
    con = data.con
    con.execute(f"CREATE SCHEMA {q(schema)}")
    cursor = None
    try:
        for name, cols in data.columns.items():
            if name == "targets":
                where = ""
            elif segment.dimension in cols:
                where = f" WHERE {q(segment.dimension)} IS NOT DISTINCT FROM $value"
            else:
                where = " LIMIT 0"
            if name in data.remote:  # pushed down: only the segment's rows come back
                cond = ("true" if name == "targets" else "false" if segment.dimension not in cols
                        else f"{q(segment.dimension)} IS NOT DISTINCT FROM {lit(segment.value)}")
                copy_rows(data, name, f"{q(schema)}.{q(name)}", cond)
                continue
            con.execute(f"CREATE TABLE {q(schema)}.{q(name)} AS SELECT * FROM main.{q(name)}{where}",
                        {"value": segment.value} if "$value" in where else None)
        cursor = con.cursor()
        cursor.execute(f"SET search_path = {lit(schema)}")
        from reportgen.data import LoadedData
        from reportgen.data.loaded import Partition

        copy = LoadedData(cursor, dict(data.columns), data.quality, data.types,
                          partition=Partition(data, segment.dimension, segment.value))
        yield restrict_to_segment(copy, segment.dimension, segment.value)
    finally:
        if cursor is not None:
            cursor.close()
        con.execute(f"DROP SCHEMA IF EXISTS {q(schema)} CASCADE")


def compute_for_config(loaded: LoadedConfig, *, now: datetime, period: str | None = None,
                       first: str | None = None, segment: Segment | None = None,
                       data: LoadedData | None = None, breakdowns: list[str] | None = None,
                       breakdown_kpis: list[str] | None = None, duckdb_threads: int | None = None) -> Metrics:
    """Load the data and compute every KPI of the config over its history window, for the whole
    company and per segment of each breakdown dimension (default: the config's ``breakdowns``
    that occur in the data; ``[]`` for none), optionally only for ``breakdown_kpis``, plus the
    config's to-date ``windows``.

    The reporting period must be covered by the data its KPIs need: a scorecard saying "revenue
    fell 60%" for a month whose export stopped on the 12th is worse than no scorecard, so a partly
    covered period is an error unless ``scorecard.allow_partial_period`` (then it is marked partial).

    When it loads the data itself, metrics computed before from the same data, config, request and
    code come back from the warm cache (``pipeline.metric_cache``) without a load or a query.
    """
    from reportgen.data import cache as data_cache
    from reportgen.pipeline import metric_cache

    sc = loaded.config.scorecard
    report = reporting_period(sc, now=now, period=period)
    start = parse_period(first, sc.grain, sc.fiscal_year_start) if first else report.shift(-(sc.history - 1))
    key = None
    if data is None:
        prefetch("pandas")  # the engine's import overlaps the read (DuckDB releases the GIL)
        data_key = metric_cache.data_key(loaded, now.date())
        if data_key:
            key = metric_cache.metrics_key(loaded, data_key, report=report, start=start, segment=segment,
                                           breakdowns=breakdowns, breakdown_kpis=breakdown_kpis)
            cached = metric_cache.restore_metrics(key, loaded, period_range(start, report))
            if cached is not None:
                return cached
        data = load_data(loaded, segment, today=now.date(), cache_key=data_key, duckdb_threads=duckdb_threads)
    from reportgen.engine import compute_metrics, resolve_kpis

    kpis = resolve_kpis(loaded.config.kpis)
    if breakdowns is None:
        breakdowns = [d for d in sc.breakdowns if any(d in cols for cols in data.columns.values())]
    if segment:
        breakdowns = [d for d in breakdowns if d != segment.dimension]
    check_reporting_period(kpis, data, report, sc.allow_partial_period)
    metrics = compute_metrics(data, kpis, period_range(start, report), breakdowns=breakdowns,
                              breakdown_kpis=breakdown_kpis, windows=tuple(sc.windows))
    data_cache.start_pending()  # the queries are done: the loaded data's entry is written beside the render
    if key is not None:
        metric_cache.store_metrics(key, metrics)
    return metrics


def check_reporting_period(kpis: dict[str, ResolvedKpi], data: LoadedData, report: Period, allow_partial: bool) -> None:
    """Raise ``DataError`` (one line) when a dataset the KPIs need does not cover ``report``."""
    from reportgen.engine import availability, kpi_spans, reporting_period_problem
    from reportgen.errors import DataError

    missing = availability(kpis, data)
    usable = {k: v for k, v in kpis.items() if k not in missing}
    spans = sorted({s for v in usable.values() for s in kpi_spans(v, usable, data.quality)},
                   key=lambda s: (s.dataset, s.column))
    problem = reporting_period_problem(spans, report, allow_partial)
    if problem:
        raise DataError(problem)


def audiences_of(loaded: LoadedConfig, only: str | None = None) -> dict[str, Audience]:
    audiences = dict(loaded.config.audiences) or {"executive": DEFAULT_AUDIENCE}
    if only is None:
        return audiences
    if only not in audiences:
        raise ReportgenError(f"audience {only!r} is not declared in {loaded.path}{did_you_mean(only, audiences)} "
                             f"(declared: {', '.join(audiences)})")
    return {only: audiences[only]}


MAX_NAME_PART = 60
"""Longest piece of a file name taken from config or data (most filesystems allow 255 bytes in all)."""


def safe_name_part(value: str) -> str:
    """``value`` as a file-name piece: letters, digits, ``-`` and ``_`` only, at most MAX_NAME_PART long.

    Two values that sanitise alike (``a/b`` and ``a?b``) must not write the same file, so whenever
    sanitising or shortening changed the value, a short hash of the original is appended."""
    safe = "".join(ch if (ch.isascii() and ch.isalnum()) or ch in "-_" else "_" for ch in value)
    safe = safe.strip("-") or "_"
    if safe == value and len(safe) <= MAX_NAME_PART:
        return safe
    digest = hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    return f"{safe[:MAX_NAME_PART]}-{digest}"


def output_stem(loaded: LoadedConfig, audience: str, segment: Segment | None = None) -> str:
    """``<config>-<audience>[-<dimension>-<value>]``, every piece safe and the whole unique per value."""
    stem = f"{safe_name_part(loaded.path.stem)}-{safe_name_part(audience)}"
    if segment:
        stem += f"-{safe_name_part(segment.dimension)}-{safe_name_part(str(segment.value))}"
    return stem


def breakdown_kpis_for(loaded: LoadedConfig, audiences: dict[str, Audience]) -> list[str] | None:
    """The KPIs whose breakdowns these audiences' scorecards show: ``None`` for all of them.

    The built-in executive and client templates break down only their headline KPI (the "what
    changed" box names the biggest contributor): computing every breakdown would double the data
    step. Any other template may show any breakdown, so it gets them all."""
    if any(a.template not in ("executive", "client") for a in audiences.values()):
        return None
    return [a.kpis[0] if a.kpis else (loaded.config.kpis[0].id if loaded.config.kpis else "revenue")
            for a in audiences.values()]


def scorecard_metrics(loaded: LoadedConfig, *, now: datetime, audience: str | None = None, period: str | None = None,
                      segment: Segment | None = None, duckdb_threads: int | None = None,
                      layout_started: bool = False) -> Metrics:
    """The data half of :func:`build`: load the config's data and compute what its audiences' (or one
    audience's) scorecards show, with pandas and pypdf (which reads the PDF back) imported while DuckDB
    reads the data, and WeasyPrint too unless the PDF layout process was ``layout_started`` (it
    imports its own)."""
    prefetch("pandas", "pypdf", *(() if layout_started else ("weasyprint",)))
    return compute_for_config(loaded, now=now, period=period, segment=segment,
                              breakdown_kpis=breakdown_kpis_for(loaded, audiences_of(loaded, audience)),
                              duckdb_threads=duckdb_threads)


def build(loaded: LoadedConfig, *, now: datetime, audience: str | None = None, period: str | None = None,
          output_dir: Path | None = None, segment: Segment | None = None,
          exports: bool = True, xlsx: bool | None = None,
          metrics: Metrics | None = None, strict: bool = False) -> list[BuiltScorecard]:
    """Build every (or one) audience's scorecard: HTML + PDF (+ CSV, and XLSX when asked, of the metrics).

    The XLSX export costs most of a second per scorecard, so it is written only when ``xlsx`` is true
    (``None``: the config's ``scorecard.export_xlsx``); the CSV is cheap and always written with ``exports``.

    ``metrics`` already computed for the same config, period and segment (the email sender needs
    them for the message body) are used as they are instead of being computed again.

    ``strict`` fails an audience whose rendering warned (mkdocs' strict mode): a logo WeasyPrint could
    not load or a CSS rule it dropped is a scorecard that does not look as designed. Without it the
    warnings travel with the result (``BuiltScorecard.warnings``) and the CLI prints them."""
    from reportgen.atomic import atomic_write_bytes, atomic_write_text, check_pdf
    from reportgen.pipeline.checks import raise_on_issues
    from reportgen.render import render_scorecard, scorecard_views, start_layout

    raise_on_issues(loaded)  # what `validate` checks, once per loaded config: no caller builds past it
    t0 = time.perf_counter()
    audiences = audiences_of(loaded, audience)
    if metrics is None:  # load + compute, while the PDF layout process gets ready on another core
        metrics = scorecard_metrics(loaded, now=now, audience=audience, period=period, segment=segment,
                                    layout_started=start_layout(loaded))
    t_data = time.perf_counter() - t0
    out_dir = output_dir or loaded.resolve(loaded.config.scorecard.output_dir, key=("scorecard", "output_dir"))
    if xlsx is None:
        xlsx = loaded.config.scorecard.export_xlsx
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ReportgenError(f"cannot create the output folder {out_dir}: {exc.strerror or exc}") from None
    built, failures = [], []
    for name, aud in audiences.items():  # one audience's failure fails its scorecard only (SECURITY.md)
        try:
            stem = output_stem(loaded, name, segment)
            views = scorecard_views(metrics, loaded, name, aud, now=now, segment=segment)  # views
            rendered = render_scorecard(views, loaded)  # render
            if strict and rendered.warnings:
                more = len(rendered.warnings) - 1
                raise ReportgenError(f"rendering warned (--strict): {rendered.warnings[0]}"
                                     + (f" (and {more} more)" if more else ""))
            pages = check_pdf(rendered.pdf)  # write (below), once the PDF reads back within its budget
            if aud.max_pages and pages > aud.max_pages:
                raise ReportgenError(f"the PDF has {pages} pages, over its budget of "
                                     f"{aud.max_pages} (audiences.{name}.max_pages); show fewer KPIs")
            html_path, pdf_path = out_dir / f"{stem}.html", out_dir / f"{stem}.pdf"
            atomic_write_text(html_path, rendered.html)
            atomic_write_bytes(pdf_path, rendered.pdf)
            csv_path = xlsx_path = None
            if exports:
                csv_path = out_dir / f"{stem}-metrics.csv"
                xlsx_path = out_dir / f"{stem}-metrics.xlsx" if xlsx else None
                write_metric_exports(metrics, aud, csv_path, xlsx_path)
        except ReportgenError as exc:
            failures.append((name, str(exc).splitlines()[0] if str(exc) else type(exc).__name__))
            continue
        timings = {"data": t_data, **rendered.timings}
        built.append(BuiltScorecard(name, html_path, pdf_path, csv_path, xlsx_path, pages, timings,
                                    tuple(rendered.warnings)))
    if failures:
        raise AudiencesFailed(failures, built)
    return built


class AudiencesFailed(ReportgenError):
    """Some audiences of a build failed; the others were written (``built``). One line names each
    failed audience and its reason: ``audience 'board': the PDF layout took longer than 60 s ...``."""

    def __init__(self, failures: list[tuple[str, str]], built: list[BuiltScorecard]) -> None:
        self.failures = failures
        self.built = built
        reasons = "; ".join(f"audience {name!r}: {reason}" for name, reason in failures)
        written = f" ({len(built)} other scorecard{'s' if len(built) != 1 else ''} written)" if built else ""
        super().__init__(reasons + written)
