"""Commands that send, schedule and batch-build scorecards: ``send``, ``deliver --due``, ``schedule``,
``batch``, ``history``, ``resolve`` and ``ledger check|repair``.

Thin, like the rest of the CLI: parse options, call :mod:`reportgen.delivery.deliver` / :mod:`reportgen.batch`,
print one line per message or job. Exit codes: 0 all well, 1 some message or job failed (each
failure printed on its own line, saying why), 2 a user error that stopped everything (printed as
``error: ...`` by the group).

``--now`` (hidden) replaces the clock, so tests and incident replays can run a schedule "as of" a
given instant.
"""
from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import click

from reportgen.cli.app import _load, main, parse_now
from reportgen.errors import ReportgenError

if TYPE_CHECKING:
    from reportgen.batch import JobResult
    from reportgen.delivery.deliver import DeliveryReport, GroupRunner, SendGroup
    from reportgen.delivery.due import SlotRun

EXIT_FAILURES = 1

_NOW_OPTION = click.option("--now", "now_text", hidden=True,
                           help="Pretend it is this instant (ISO 8601, e.g. 2026-01-01T07:00+01:00; naive = UTC).")
_WORKERS_OPTION = click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True,
                               help="Worker processes for building scorecards / burst segments in parallel.")
_CLUSTER_OPTION = click.option("--cluster", metavar="ADDRESS",
                               help="Run the jobs on a Dask scheduler instead, e.g. tcp://10.0.0.5:8786 "
                                    "(workers must share the filesystem with this machine, and to send mail they need "
                                    "the SMTP credential variables in their environment).")


def _runner(workers: int, cluster: str | None) -> GroupRunner | None:
    """Run delivery groups in worker processes or on Dask; ``None`` (in process) for one worker."""
    if workers <= 1 and not cluster:
        return None
    from reportgen.batch import SendJob, run_jobs

    def run(groups: list[SendGroup]) -> list[JobResult]:
        return run_jobs([SendJob(group) for group in groups], workers=workers, cluster=cluster)

    return run


def _print_report(report: DeliveryReport) -> None:
    for outcome in report.outcomes:
        click.echo(outcome.line(), err=not outcome.ok)


@main.command("send")
@click.argument("config", type=click.Path(path_type=Path))
@click.option("--delivery", "deliveries", multiple=True, help="Send only this delivery (repeatable; default: all).")
@click.option("--audience", help="Send only the deliveries of this audience.")
@click.option("--period", help="Report on this period (e.g. 2025-12) instead of the delivery's period rule.")
@click.option("--dry-run", is_flag=True, help="Write each message as an .eml file into -o DIR; send nothing.")
@click.option("-o", "--output-dir", type=click.Path(path_type=Path, file_okay=False),
              help="With --dry-run: folder for the .eml files.")
@_WORKERS_OPTION
@_CLUSTER_OPTION
@_NOW_OPTION
def send_command(config: Path, deliveries: tuple[str, ...], audience: str | None, period: str | None, dry_run: bool,
                 output_dir: Path | None, workers: int, cluster: str | None, now_text: str | None) -> None:
    """Send deliveries now; messages already sent for the period are not sent again."""
    if workers <= 1 and not cluster:  # the scorecards are laid out here: WeasyPrint loads while the data does
        from reportgen.pdf.limits import start_layout_process

        start_layout_process()
    from reportgen.delivery.deliver import deliver
    from reportgen.delivery.plan import delivery_period, preflight, select_deliveries

    if dry_run and output_dir is None:
        raise ReportgenError("--dry-run needs -o DIR, the folder to write the .eml files into")
    if output_dir is not None and not dry_run:
        raise ReportgenError("-o DIR is only used with --dry-run (sent scorecards are kept under scorecard.output_dir)")
    now = parse_now(now_text)
    loaded = _load(config)
    specs = select_deliveries(loaded, deliveries, audience)
    preflight(loaded, specs, dry_run=dry_run, environ=os.environ)  # every delivery, before the first message
    failures = held = 0
    for spec in specs:
        report = deliver(loaded, spec, period=period or delivery_period(loaded, spec, now=now), now=now,
                         dry_run_dir=output_dir, runner=_runner(workers, cluster))
        _print_report(report)
        failures += sum(1 for o in report.failures if o.status != "held")
        held += sum(1 for o in report.failures if o.status == "held")
    if failures:  # a held scorecard already said so in its one line
        click.echo(f"{failures} message(s) not delivered; a re-run sends only those", err=True)
    if failures or held:
        sys.exit(EXIT_FAILURES)


@main.command("deliver")
@click.argument("config", type=click.Path(path_type=Path))
@click.option("--due", is_flag=True, required=True,
              help="Send what the schedules say is due since the last run (for cron, systemd timers, Airflow).")
@_WORKERS_OPTION
@_CLUSTER_OPTION
@_NOW_OPTION
def deliver_command(config: Path, due: bool, workers: int, cluster: str | None, now_text: str | None) -> None:
    """Send every delivery whose schedule came due since the last run, once; log missed slots."""
    from reportgen.delivery.due import run_due

    runs = run_due(_load(config), now=parse_now(now_text), runner=_runner(workers, cluster))
    if not _print_runs(runs):
        sys.exit(EXIT_FAILURES)


def _print_runs(runs: Sequence[SlotRun]) -> bool:
    """Print one line per slot and one per failed message; True if nothing failed."""
    ok = True
    for run in runs:
        click.echo(run.line(), err=run.status == "missed")
        report = run.report
        for outcome in report.failures if report else []:
            ok = False
            click.echo(outcome.line(), err=True)
    return ok


@main.command("schedule")
@click.argument("config", type=click.Path(path_type=Path))
@_WORKERS_OPTION
@_CLUSTER_OPTION
def schedule_command(config: Path, workers: int, cluster: str | None) -> None:
    """Stay running and send each delivery on its schedule; stops cleanly on Ctrl-C or SIGTERM.

    The config is re-read on every tick, so an edited recipients list applies from the next slot; a
    config that stops validating is reported and retried, the loop keeps running.
    """
    import signal
    import threading

    from reportgen.delivery.due import run_due
    from reportgen.delivery.schedule import run_forever

    _load(config)  # refuse to start on a broken config
    stop = threading.Event()

    def request_stop(signum: int, _frame: object) -> None:
        click.echo(f"received {signal.Signals(signum).name}; stopping after the current run", err=True)
        stop.set()

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, request_stop)

    def tick(now: datetime) -> None:
        try:
            _print_runs(run_due(_load(config), now=now, runner=_runner(workers, cluster)))
        except ReportgenError as exc:
            click.echo(f"error: {str(exc).splitlines()[0]}", err=True)
        except Exception as exc:  # noqa: BLE001 - a long-lived scheduler logs a bug and keeps its schedule
            click.echo(f"error: unexpected {type(exc).__name__}: {exc}", err=True)

    click.echo(f"scheduler started for {config}; Ctrl-C or SIGTERM stops it", err=True)
    run_forever(tick, clock=lambda: datetime.now(UTC), sleep=stop.wait, stop=stop.is_set)
    click.echo("scheduler stopped", err=True)


@main.command("batch")
@click.argument("configs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--audience", help="Build only this audience of each config (default: every audience).")
@click.option("--period", help="Report on this period in every config.")
@click.option("-o", "--output-dir", type=click.Path(path_type=Path, file_okay=False),
              help="One folder for every scorecard (default: each config's scorecard.output_dir).")
@_WORKERS_OPTION
@_CLUSTER_OPTION
@_NOW_OPTION
def batch_command(configs: tuple[Path, ...], audience: str | None, period: str | None, output_dir: Path | None,
                  workers: int, cluster: str | None, now_text: str | None) -> None:
    """Build many configs' scorecards in parallel; a summary table at the end, exit 1 if any failed."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from reportgen.batch import build_jobs, run_jobs

    jobs, results = build_jobs(configs, audience=audience, output_dir=output_dir, period=period,
                               now=parse_now(now_text))
    if output_dir is not None:
        output_dir.mkdir(parents=True, exist_ok=True)
    stderr = Console(stderr=True)
    with Progress(TextColumn("[progress.description]{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=stderr, transient=False) as progress:
        task = progress.add_task("building", total=len(jobs))
        results += run_jobs(jobs, workers=workers, cluster=cluster,
                            on_result=lambda result: progress.advance(task))
    _print_summary(results)
    failed = [r for r in results if r.status != "ok"]
    for result in failed:
        click.echo(result.line(), err=True)
    if failed:
        sys.exit(EXIT_FAILURES)


def _print_summary(results: Sequence[JobResult]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table("config", "audience", "status", "pages", "seconds", "error", title="batch summary")
    for r in results:
        status = "[green]ok[/]" if r.status == "ok" else "[red]failed[/]"
        table.add_row(r.config, r.audience + (f" ({r.segment})" if r.segment else ""), status,
                      "" if r.pages is None else str(r.pages), f"{r.seconds:.1f}", r.error or "")
    Console().print(table)


@main.command("history")
@click.argument("config", type=click.Path(path_type=Path))
@click.option("--delivery", help="Only this delivery.")
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True, help="Most recent rows shown.")
@click.option("--unknown", "only_unknown", is_flag=True,
              help="Only messages whose outcome is unknown (review them, then `reportgen resolve`).")
def history_command(config: Path, delivery: str | None, limit: int, only_unknown: bool) -> None:
    """Show the delivery ledger: who was sent what, when, and what failed."""
    from rich.console import Console
    from rich.table import Table

    from reportgen.delivery.plan import ledger_path, open_ledger

    loaded = _load(config)
    path = ledger_path(loaded)
    if not path.exists():
        click.echo(f"no ledger yet at {path}: nothing has been sent")
        return
    with open_ledger(loaded, writing=False) as ledger:
        rows = ledger.history(delivery, limit=1_000_000 if only_unknown else limit)
    if only_unknown:
        rows = [r for r in rows if r.status == "unknown"][:limit]
    table = Table("delivery", "period", "recipient", "status", "attempts", "updated (UTC)", "message id / error",
                  title=f"ledger {path}")
    for r in rows:
        table.add_row(r.delivery, r.period, r.recipient, r.status, str(r.attempts),
                      r.updated_at.strftime("%Y-%m-%d %H:%M:%S"), r.error or r.message_id or "")
    Console(width=max(160, Console().width)).print(table)
    if only_unknown and rows:
        click.echo("check the mail server's log for each, then: reportgen resolve CONFIG --delivery D --period P "
                   "--recipient R --as sent|failed --note '...'")


@main.command("resolve")
@click.argument("config", type=click.Path(path_type=Path))
@click.option("--delivery", required=True)
@click.option("--period", required=True)
@click.option("--recipient", required=True)
@click.option("--as", "verdict", type=click.Choice(["sent", "failed"]), required=True,
              help="sent: it arrived (closes the row); failed: it did not (the next run sends it).")
@click.option("--note", required=True, help="Why, for the audit trail (e.g. 'found in relay log, queued 07:00:03').")
def resolve_command(config: Path, delivery: str, period: str, recipient: str, verdict: Literal["sent", "failed"],
                    note: str) -> None:
    """Record a person's verdict on a message whose outcome was unknown."""
    from reportgen.delivery.plan import open_ledger

    with open_ledger(_load(config)) as ledger:
        ledger.resolve(delivery, period, recipient, verdict, note)
    click.echo(f"{delivery} {period} {recipient}: marked {verdict}")


@main.group("ledger")
def ledger_group() -> None:
    """Check the delivery ledger file, or rebuild a damaged one from its journal."""


@ledger_group.command("check")
@click.argument("config", type=click.Path(path_type=Path))
def ledger_check_command(config: Path) -> None:
    """Is the ledger a sound database that agrees with its journal? Reads only; exit 1 if not."""
    from reportgen.config.models import ledger_settings
    from reportgen.delivery.ledger_repair import check_ledger
    from reportgen.delivery.plan import ledger_path

    loaded = _load(config)
    verdict = check_ledger(ledger_path(loaded), lock_timeout=ledger_settings(loaded.config.ledger).lock_timeout_seconds,
                           repair_hint=f"reportgen ledger repair {config}")
    click.echo(verdict.line, err=not verdict.ok)
    if not verdict.ok:
        sys.exit(EXIT_FAILURES)


@ledger_group.command("repair")
@click.argument("config", type=click.Path(path_type=Path))
def ledger_repair_command(config: Path) -> None:
    """Rebuild a damaged ledger from its journal (the damaged file is kept beside it). Stop scheduled runs first."""
    from reportgen.config.models import ledger_settings
    from reportgen.delivery.ledger_repair import repair_ledger
    from reportgen.delivery.plan import ledger_path

    loaded = _load(config)
    settings = ledger_settings(loaded.config.ledger)
    click.echo(repair_ledger(ledger_path(loaded), lock_timeout=settings.lock_timeout_seconds))
