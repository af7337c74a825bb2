"""Planning a delivery: which period it reports, which deliveries run, and its recipients' groups
(the recipients themselves are read by ``recipients``)."""
from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from reportgen.config.delivery import DeliverySpec, Recipient, SmtpSettings
from reportgen.config.issues import did_you_mean
from reportgen.config.models import LoadedConfig, ledger_settings
from reportgen.delivery.recipients import resolve_recipients
from reportgen.errors import DeliveryError, ReportgenError

if TYPE_CHECKING:
    from reportgen.delivery.ledger import Ledger


def delivery_period(loaded: LoadedConfig, spec: DeliverySpec, *, now: datetime) -> str:
    """The period label a delivery reports at ``now``: its fixed label, or the last complete period.

    "Last complete" is judged on the calendar of the delivery's timezone (a 07:00 Berlin run on
    1 April reports March even though it is still 31 March in UTC) and the scorecard's grain and
    fiscal year.
    """
    if spec.period != "last_complete":
        return spec.period
    from reportgen.kpis.periods import last_complete_period

    sc = loaded.config.scorecard
    local_day = now.astimezone(ZoneInfo(spec.timezone)).date()
    return last_complete_period(local_day, sc.grain, sc.fiscal_year_start).label


def select_deliveries(
    loaded: LoadedConfig, names: tuple[str, ...] = (), audience: str | None = None
) -> list[DeliverySpec]:
    """The deliveries to run: all, or those named / of one audience; an unknown name is an error with a hint."""
    specs = list(loaded.config.deliveries)
    if not specs:
        raise DeliveryError(f"{loaded.path} has no 'deliveries:' section; see configs/delivery-example.yaml")
    known = [s.name for s in specs]
    for name in names:
        if name not in known:
            raise DeliveryError(f"delivery {name!r} is not declared in {loaded.path}{did_you_mean(name, known)} "
                                f"(declared: {', '.join(known)})")
    if names:
        specs = [s for s in specs if s.name in names]
    if audience is not None:
        specs = [s for s in specs if s.audience == audience]
        if not specs:
            raise DeliveryError(f"no delivery in {loaded.path} sends audience {audience!r}")
    return specs


def plan_groups(
    spec: DeliverySpec, recipients: list[Recipient]
) -> tuple[dict[str | None, list[Recipient]], list[Recipient]]:
    """Recipients by segment (one ``None`` group without bursting), and those a burst cannot place.

    A recipient without a segment in a burst delivery would otherwise have to get either nothing or
    the whole company's numbers; both are wrong, so they are reported instead.
    """
    if spec.burst_by is None:
        return {None: recipients}, []
    groups: dict[str | None, list[Recipient]] = {}
    unplaced = []
    for recipient in recipients:
        if recipient.segment is None:
            unplaced.append(recipient)
        else:
            groups.setdefault(recipient.segment, []).append(recipient)
    return groups, unplaced


def smtp_settings(loaded: LoadedConfig) -> SmtpSettings:
    if loaded.config.smtp is None:
        raise DeliveryError(f"{loaded.path} has no 'smtp:' section; deliveries need a mail server "
                            f"(see configs/delivery-example.yaml)")
    return loaded.config.smtp


def ledger_path(loaded: LoadedConfig) -> Path:
    """The ledger file (inside the config's allowed folders); its folder is created on first use by the Ledger."""
    return loaded.resolve(ledger_settings(loaded.config.ledger).path)


def open_ledger(loaded: LoadedConfig, *, writing: bool = True) -> Ledger:
    """The config's ledger, with its lock wait and the repair command for this config in its errors.

    ``writing``: make sure now that its write lock can be taken (a run that will claim messages
    learns that another process holds the file before it builds anything). One per run: close it
    when done (``with open_ledger(loaded) as ledger``), so a scheduler running every minute holds
    one connection, not one more per slot."""
    from reportgen.delivery.ledger import Ledger

    settings = ledger_settings(loaded.config.ledger)
    ledger = Ledger(ledger_path(loaded), lock_timeout=settings.lock_timeout_seconds,
                    repair_hint=f"reportgen ledger repair {loaded.path}")
    if writing:
        try:
            ledger.check_writable()
        except BaseException:
            ledger.close()
            raise
    return ledger


def default_output_dir(loaded: LoadedConfig, spec: DeliverySpec, period: str) -> Path:
    """Where a delivery's scorecards are kept: ``<output_dir>/deliveries/<name>/<period>/``."""
    return loaded.resolve(loaded.config.scorecard.output_dir) / "deliveries" / spec.name / period


def preflight(loaded: LoadedConfig, specs: list[DeliverySpec], *, dry_run: bool,
              environ: Mapping[str, str]) -> None:
    """Every check a delivery can fail before anything is built, for *every* delivery, before the first
    message of any leaves: the mail server section and its credentials, each audience, each recipients
    source and each condition. All problems are raised together, one line each.

    Without it, ``send`` mailed delivery 1 and only then found delivery 2's audience misspelt."""
    from reportgen.config.meaning import condition_problems
    from reportgen.delivery.smtp import credentials_from_env
    from reportgen.pipeline.build import audiences_of

    problems: list[str] = []
    try:
        settings = smtp_settings(loaded)
        if not dry_run:
            credentials_from_env(settings, environ)
    except ReportgenError as exc:
        problems.append(str(exc))
    problems += [str(issue) for issue in condition_problems(loaded, {spec.name for spec in specs})]
    for spec in specs:
        try:
            audiences_of(loaded, spec.audience)
            resolve_recipients(loaded, spec)
        except ReportgenError as exc:
            problems.append(f"delivery {spec.name!r}: {exc}")
    if problems:
        raise DeliveryError("\n".join(problems))
