"""The command line: thin click commands that parse options and call library functions.

User errors (``ReportgenError``) print as one clear line per problem, with no traceback, and exit
non-zero; ``--verbose`` shows the traceback. Heavy libraries are imported inside the commands that
need them so ``reportgen --help`` answers at once.
"""
from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from reportgen.errors import ReportgenError
from reportgen.kpis.periods import GRAINS, WINDOWS  # light: the choices of --grain and --window

if TYPE_CHECKING:
    from reportgen.config.models import LoadedConfig
    from reportgen.data import DatasetQuality
    from reportgen.kpis.periods import Period

EXIT_USER_ERROR = 2


class _Group(click.Group):
    """Turn ReportgenError into one line on stderr and exit code 2.

    An OSError that reaches here (a full disk, a permission, a vanished folder) is the environment,
    not a bug: it too is one line naming the file; ``--verbose`` shows the traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except BrokenPipeError:  # `reportgen kpis | head`: the reader has all it wanted
            import os

            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit's flush
            sys.exit(0)
        except (ReportgenError, OSError) as exc:
            if ctx.obj and ctx.obj.get("verbose"):
                raise
            for line in _error_lines(exc):
                click.echo(f"error: {line}", err=True)
            sys.exit(EXIT_USER_ERROR)


def _error_lines(exc: BaseException) -> list[str]:
    if isinstance(exc, OSError) and not isinstance(exc, ReportgenError):
        where = f"{exc.filename}: " if exc.filename else ""
        return [f"{where}{exc.strerror or exc} (re-run with --verbose for details)"]
    return str(exc).splitlines() or [exc.__class__.__name__]


@click.group(cls=_Group)
@click.option("--verbose", "-v", is_flag=True, help="Show tracebacks for errors.")
@click.version_option(package_name="reportgen")
@click.pass_context
def main(ctx: click.Context, verbose: bool) -> None:
    """reportgen: sales KPI scorecards from CRM data."""
    ctx.obj = {"verbose": verbose}
    from reportgen.prefetch import freeze_heap, tune_gc

    tune_gc()
    ctx.call_on_close(freeze_heap)  # after the command, error or not: the process is about to exit


def _now() -> datetime:
    """The run's instant: SOURCE_DATE_EPOCH when set (reproducible builds), else the clock."""
    from reportgen.environment import build_now

    return build_now()


def parse_now(text: str | None) -> datetime:
    """The run's instant: ``--now`` if given (naive means UTC), else the clock."""
    if not text:
        return datetime.now(UTC)
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise ReportgenError(f"--now {text!r} is not an ISO 8601 date-time such as 2026-01-01T07:00+01:00") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _load(config: Path) -> LoadedConfig:
    """The config with every check `validate` runs passed (one error line per problem otherwise)."""
    from reportgen.pipeline.checks import load_checked

    return load_checked(config)


@main.command("kpis")
@click.option("--format", "fmt", type=click.Choice(["table", "csv"]), default="table", show_default=True)
def kpis_command(fmt: str) -> None:
    """List the built-in KPI catalogue."""
    from reportgen.engine import _from_definition, kpi_datasets
    from reportgen.kpis.catalogue import BUILTIN_KPIS

    resolved = {k: _from_definition(d) for k, d in BUILTIN_KPIS.items()}
    rows = [(d.id, d.name, d.unit, d.direction, ", ".join(sorted(kpi_datasets(resolved[d.id], resolved))),
             d.expression, d.definition) for d in BUILTIN_KPIS.values()]
    if fmt == "csv":
        import csv

        writer = csv.writer(sys.stdout)
        writer.writerow(["id", "name", "unit", "better", "datasets", "formula", "definition"])
        writer.writerows(rows)
        return
    if not sys.stdout.isatty():  # a pipe or a file: one line per KPI, greppable, without laying out a table
        widths = [max(len(str(r[i])) for r in rows) for i in range(5)]
        for kid, name, unit, direction, datasets, _formula, definition in rows:
            cells = (kid, name, unit, direction, datasets)
            click.echo("  ".join(str(c).ljust(w) for c, w in zip(cells, widths)) + "  " + definition)
        return
    from rich.console import Console
    from rich.table import Table

    table = Table("id", "name", "unit", "better", "datasets", "definition", show_lines=False, expand=True)
    for kid, name, unit, direction, datasets, _formula, definition in rows:
        table.add_row(kid, name, unit, direction, datasets, definition)
    Console().print(table)


@main.command("schema")
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False),
              help="Write the schema to this file instead of printing it.")
def schema_command(output: Path | None) -> None:
    """Print the config's JSON Schema (every field with its description), for editors and docs.

    The repository publishes it as reportgen.schema.json; a config names it on its first line with
    '# yaml-language-server: $schema=../reportgen.schema.json'."""
    from reportgen.config.schema import schema_text, write_schema

    if output is None:
        click.echo(schema_text(), nl=False)
    else:
        click.echo(f"wrote {write_schema(output)}")


@main.command("validate")
@click.argument("config", type=click.Path(path_type=Path))
def validate_command(config: Path) -> None:
    """Check a config and its data (columns, stages, dates) without rendering."""
    from reportgen.pipeline.build import compute_for_config

    loaded = _load(config)  # YAML, shape, meaning, files, templates, deliveries, schedules: all issues at once
    metrics = compute_for_config(loaded, now=_now())
    click.echo(f"{config}: config valid; {len(loaded.config.datasets)} datasets read")
    for name, q in metrics.quality.items():
        click.echo(f"  {quality_line(name, q)}")
        for note in q.notes:
            click.echo(f"    note: {note}")
    for kpi, reason in sorted(metrics.unavailable.items()):
        if kpi in {k.id for k in loaded.config.kpis} or not loaded.config.kpis:
            click.echo(f"  warning: KPI {kpi} {reason}")
    report = metrics.periods[-1]
    click.echo(f"  reporting period {report.label} ({report.start} .. {report.end}); "
               f"{metrics.table['kpi'].nunique()} KPIs computed")


def quality_line(name: str, q: DatasetQuality) -> str:
    """One dataset's data-quality summary: rows read, every rule with its count, missing values, span."""
    rejected = ", ".join(f"{v} {k}" for k, v in q.rows_rejected.items()) or "none rejected"
    missing = "; missing: " + ", ".join(f"{v} {k}" for k, v in q.missing_values.items()) if q.missing_values else ""
    span = f"{q.first_date} .. {q.last_date}" if q.first_date else "no dates"
    through = " (data_through)" if q.data_through else ""
    return f"{name}: {q.rows_read} rows ({rejected}{missing}); {span}{through}"


@main.command("compute")
@click.argument("config", type=click.Path(path_type=Path), required=False)
@click.option("--datasets", "datasets_dir", type=click.Path(path_type=Path, file_okay=False),
              help="A folder of canonical CSVs (deals.csv, leads.csv, ...): compute every built-in KPI, no config.")
@click.option("--from", "first", help="First period (YYYY-MM, YYYY-Qn, ...).")
@click.option("--to", "last", help="Last period.")
@click.option("--grain", type=click.Choice(GRAINS), help="Period grain.")
@click.option("--by", "by", multiple=True, help="Add breakdown rows by this dimension (repeatable).")
@click.option("-o", "--output", type=click.Path(path_type=Path), help="CSV file to write.")
@click.option("--window", type=click.Choice(WINDOWS),
              help="Write the to-date window ending at each period instead (ytd, qtd, r12): one row per KPI x period.")
@click.option("--explain", is_flag=True, help="Print the SQL the engine would run, and exit.")
def compute_command(config: Path | None, datasets_dir: Path | None, first: str | None, last: str | None,
                    grain: str | None, by: tuple[str, ...], output: Path | None, window: str | None,
                    explain: bool) -> None:
    """Write the metric table (one row per KPI x period x segment) as CSV; empty value = missing.

    With --window, the rows are the whole-company to-date windows ending at each period (no breakdowns)."""
    from reportgen.atomic import atomic_write_text
    from reportgen.pipeline.exports import csv_text, export_table

    if explain:
        _explain(config, datasets_dir, list(by))
        return
    if output is None:
        raise ReportgenError("compute needs -o/--output FILE (or --explain)")

    if datasets_dir is not None:
        from reportgen.data import load_canonical_folder
        from reportgen.engine import compute_metrics, resolve_kpis

        if not (first and last):
            raise ReportgenError("--datasets needs --from and --to (e.g. --from 2025-01 --to 2025-12)")
        grain = grain or "month"
        periods = _period_span(first, last, grain)
        data = load_canonical_folder(datasets_dir, today=_now().date())
        metrics = compute_metrics(data, resolve_kpis(None), periods, breakdowns=[] if window else list(by),
                                  windows=(window,) if window else ())
    elif config is not None:
        from reportgen.pipeline.build import compute_for_config

        loaded = _load(config)
        if grain and grain != loaded.config.scorecard.grain:
            loaded = _with_scorecard(loaded, grain=grain)
        if window and window not in loaded.config.scorecard.windows:
            loaded = _with_scorecard(loaded, windows=[*loaded.config.scorecard.windows, window])
        metrics = compute_for_config(loaded, now=_now(), period=_convert_label(last, grain) if last else None,
                                     first=_convert_label(first, grain) if first else None,
                                     breakdowns=[] if window else (list(by) or None))
    else:
        raise ReportgenError("give a CONFIG file or --datasets DIR")
    for kpi, reason in sorted(metrics.unavailable.items()):
        click.echo(f"note: KPI {kpi} {reason}", err=True)
    table = metrics.table
    table = table[table["window"] == window] if window else table[table["window"] == ""]
    output.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(output, csv_text(export_table(table)))  # CRM text never a live formula
    what = f"{window} windows, " if window else ""
    click.echo(f"wrote {output} ({len(table)} rows, {what}{metrics.periods[0].label} .. {metrics.periods[-1].label})")


def _explain(config: Path | None, datasets_dir: Path | None, by: list[str]) -> None:
    from reportgen.engine import availability, explain, plan_for, resolve_kpis

    if datasets_dir is not None:
        from reportgen.data import load_canonical_folder

        data, kpis = load_canonical_folder(datasets_dir, today=_now().date()), resolve_kpis(None)
    elif config is not None:
        from reportgen.data import load_datasets

        loaded = _load(config)
        data, kpis = load_datasets(loaded, today=_now().date()), resolve_kpis(loaded.config.kpis)
        by = by or [d for d in loaded.config.scorecard.breakdowns if any(d in c for c in data.columns.values())]
    else:
        raise ReportgenError("give a CONFIG file or --datasets DIR")
    missing = availability(kpis, data)
    click.echo(explain(plan_for(data, {k: v for k, v in kpis.items() if k not in missing}, by)))


def _convert_label(label: str | None, grain: str | None) -> str | None:
    """Accept a month label where a coarser grain is asked for (2025-01 -> 2025-Q1)."""
    if not label or not grain:
        return label
    from reportgen.kpis.periods import grain_of_label, parse_period, period_containing

    try:
        if grain_of_label(label) == "month" and grain != "month":
            return period_containing(parse_period(label, "month").start, grain).label
    except ValueError as exc:
        raise ReportgenError(str(exc)) from None
    return label


def _period_span(first: str, last: str, grain: str) -> list[Period]:
    from reportgen.kpis.periods import parse_period, period_containing, period_range

    try:
        a = period_containing(parse_period(first).start, grain)
        b = period_containing(parse_period(last).end, grain)
    except ValueError as exc:
        raise ReportgenError(str(exc)) from None
    if b.ordinal < a.ordinal:
        raise ReportgenError(f"--from {first} is after --to {last}")
    return period_range(a, b)


def _with_scorecard(loaded: LoadedConfig, **changes: object) -> LoadedConfig:
    from reportgen.config.models import LoadedConfig

    sc = loaded.config.scorecard.model_copy(update=changes)
    return LoadedConfig(loaded.config.model_copy(update={"scorecard": sc}), loaded.path, loaded.source, loaded.text)


@main.command("build")
@click.argument("config", type=click.Path(path_type=Path))
@click.option("--audience", help="Build only this audience (default: every audience in the config).")
@click.option("--period", help="Report on this period (e.g. 2025-06) instead of the config's as_of.")
@click.option("-o", "--output-dir", type=click.Path(path_type=Path, file_okay=False),
              help="Folder for the files (default: scorecard.output_dir).")
@click.option("--segment", metavar="DIMENSION=VALUE",
              help="Build from only one segment's rows, e.g. region=North (as a burst delivery does).")
@click.option("--xlsx/--no-xlsx", default=None,
              help="Also write the metric XLSX (default: scorecard.export_xlsx; the CSV is always written).")
@click.option("--now", "now_text", metavar="DATETIME",
              help="Build as of this ISO 8601 instant (default: SOURCE_DATE_EPOCH, else the clock): it picks "
                   "the 'latest' period and is the date every file carries, so rebuilds are byte-identical.")
@click.option("--strict", is_flag=True,
              help="Fail a scorecard whose rendering warned (an image WeasyPrint could not load, a dropped CSS rule).")
def build_command(config: Path, audience: str | None, period: str | None, output_dir: Path | None,
                  segment: str | None, xlsx: bool | None, now_text: str | None, strict: bool) -> None:
    """Build scorecards: NAME-AUDIENCE.html and .pdf (+ metric CSV/XLSX)."""
    from reportgen.pdf.limits import start_layout_process

    start_layout_process()  # WeasyPrint loads in the layout process while this one reads the config
    from reportgen.pipeline.build import AudiencesFailed, Segment, build

    loaded = _load(config)
    only = Segment.parse(segment) if segment is not None else None
    now = parse_now(now_text) if now_text else _now()
    failed: AudiencesFailed | None = None
    try:
        scorecards = build(loaded, now=now, audience=audience, period=period, output_dir=output_dir,
                           segment=only, xlsx=xlsx, strict=strict)
    except AudiencesFailed as exc:  # the others were written: say which, then the one error line
        scorecards, failed = exc.built, exc
    for built in scorecards:
        click.echo(f"{built.audience}: {built.pdf} ({built.pages} pages), {built.html}")
        for warning in built.warnings:
            click.echo(f"warning: audience {built.audience!r}: {warning} (--strict makes this an error)", err=True)
    if failed is not None:
        raise failed
