"""Mail a delivery's scorecard for one period: build, check, compose, send each message exactly once.

The flow for one delivery and period (``deliver``)::

    recipients (inline + CSV) -> groups (one, or one per burst segment)
      per group: build the scorecard from that group's rows -> check the PDF
        per recipient: body in their locale -> compose -> size check -> ledger claim -> SMTP -> record

A group is the unit of work a batch worker or a Dask worker runs (``send_group``), so bursting a
hundred regions spreads over processes or machines; the ledger (SQLite on the shared filesystem)
makes each (delivery, period, recipient) go out once however many processes race for it.

Failure never spreads sideways: a segment whose scorecard cannot be built fails only its own
recipients, a recipient the server refuses fails only that message. The one exception is the mail
server itself (unreachable, TLS, login refused): the remaining messages of that group are reported
as not attempted instead of each waiting through the same retries; nothing of theirs was claimed,
so the next run sends them.
"""
from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from reportgen.config.delivery import DeliverySpec, Recipient
from reportgen.config.models import LoadedConfig
from reportgen.delivery.email import (
    check_size,
    compose_message,
    make_address,
    make_message_id,
    write_eml,
)
from reportgen.delivery.groupdata import SharedData as SharedData  # re-exported: batch workers use it
from reportgen.delivery.groupdata import check_segment_exists as check_segment_exists
from reportgen.delivery.messages import AttachmentCache, BodyCache, eml_name, subject_for
from reportgen.delivery.plan import default_output_dir, open_ledger, plan_groups, smtp_settings
from reportgen.delivery.recipients import resolve_recipients
from reportgen.delivery.sanity import ConditionNotMet, DeliveryHeld, check_condition, stale_datasets
from reportgen.errors import DeliveryError, ReportgenError
from reportgen.pipeline.result import JobResult, MessageOutcome, Outcome

if TYPE_CHECKING:
    from reportgen.data import LoadedData
    from reportgen.delivery.ledger import Ledger
    from reportgen.delivery.smtp import SendResult
    from reportgen.engine import Metrics
    from reportgen.pipeline.build import BuiltScorecard, Segment

log = logging.getLogger(__name__)

DONE_IN_LEDGER = frozenset({"sent", "unknown"})
"""Ledger states that need no scorecard built: sent, or waiting for a person to check the mail log."""


@dataclass(frozen=True)
class DeliveryReport:
    """Every message of one delivery run, and whether the mail server itself was unusable."""

    delivery: str
    period: str
    outcomes: tuple[MessageOutcome, ...]
    server_down: bool = False

    @property
    def failures(self) -> list[MessageOutcome]:
        return [o for o in self.outcomes if not o.ok]


# ------------------------------------------------------------------------------------------------
# Running a delivery
# ------------------------------------------------------------------------------------------------

GroupRunner = Callable[[list["SendGroup"]], list["JobResult"]]


@dataclass(frozen=True)
class SendGroup:
    """One build-and-send unit: a delivery's recipients of one segment (or all of them)."""

    config: Path
    delivery: str
    period: str
    segment: str | None
    recipients: tuple[Recipient, ...]
    now: datetime
    output_dir: Path
    dry_run_dir: Path | None = None


def deliver(loaded: LoadedConfig, spec: DeliverySpec, *, period: str, now: datetime,
            dry_run_dir: Path | None = None, output_dir: Path | None = None,
            environ: Mapping[str, str] = os.environ, runner: GroupRunner | None = None,
            ledger: Ledger | None = None) -> DeliveryReport:
    """Send (or with ``dry_run_dir``, write as .eml) every message of ``spec`` for ``period``.

    Configuration problems that concern every message (no smtp section, a credential variable not
    set, an unreadable recipients file) raise ``DeliveryError`` before anything is built; a
    recipient row that is not an address fails only that recipient. ``runner`` runs the groups
    elsewhere (worker processes, a Dask cluster); by default they run here, in turn, sharing
    ``ledger`` (the caller's open ledger, or one opened and closed here).
    """
    from reportgen.delivery.smtp import credentials_from_env

    smtp_settings(loaded)
    if dry_run_dir is None:
        credentials_from_env(smtp_settings(loaded), environ)  # fail before building anything
    recipients, problems = resolve_recipients(loaded, spec)
    groups, unplaced = plan_groups(spec, recipients)
    outcomes = [MessageOutcome(spec.name, period, problem.shown, None, "failed", f"{problem.where}: {problem.reason}")
                for problem in problems]
    outcomes += [MessageOutcome(spec.name, period, r.email, None, "failed",
                                f"no segment for burst_by {spec.burst_by!r}: add one in the recipients list")
                 for r in unplaced]
    own = open_ledger(loaded) if dry_run_dir is None and ledger is None and groups else None  # one per run
    try:
        return _deliver_groups(loaded, spec, groups, outcomes, period=period, now=now, dry_run_dir=dry_run_dir,
                               output_dir=output_dir, environ=environ, runner=runner, ledger=ledger or own)
    finally:
        if own is not None:
            own.close()


def _deliver_groups(loaded: LoadedConfig, spec: DeliverySpec, groups: dict[str | None, list[Recipient]],
                    outcomes: list[MessageOutcome], *, period: str, now: datetime, dry_run_dir: Path | None,
                    output_dir: Path | None, environ: Mapping[str, str], runner: GroupRunner | None,
                    ledger: Ledger | None) -> DeliveryReport:
    done = ledger.states(spec.name, period) if ledger is not None else {}
    pending = [r for members in groups.values() for r in members if done.get(r.email) not in DONE_IN_LEDGER]
    stale = stale_datasets(loaded, now) if pending else []  # a period already sent is not held afterwards
    if stale:  # one line for the delivery: the data, not any recipient, is the problem
        held = MessageOutcome(spec.name, period, f"{len(pending)} recipient(s)", None, "held",
                              f"nothing sent: {'; '.join(stale)}")
        return DeliveryReport(spec.name, period, (*outcomes, held))
    out_dir = (output_dir or default_output_dir(loaded, spec, period)).absolute()
    dry_run_dir = dry_run_dir.absolute() if dry_run_dir is not None else None
    # groups may run on cluster nodes whose working folder is not ours: absolute paths only
    jobs = [SendGroup(loaded.path.absolute(), spec.name, period, segment, tuple(members), now, out_dir, dry_run_dir)
            for segment, members in groups.items()]
    server_down = False
    if runner is None:
        shared = SharedData(loaded, now)  # loaded once, on the first group that needs it, for every group
        for job in jobs:
            group = send_group(loaded, spec, job, environ=environ, shared=shared, ledger=ledger)
            outcomes += group.outcomes
            server_down = server_down or group.server_down
    else:
        for job, result in zip(jobs, runner(jobs)):
            if result.details:
                outcomes += list(result.details)
                server_down = server_down or bool(result.server_down)
            else:  # the worker died before it could report per message
                outcomes += [
                    MessageOutcome(spec.name, period, r.email, job.segment, "failed", result.error or "worker failed")
                    for r in job.recipients
                ]
    return DeliveryReport(spec.name, period, tuple(outcomes), server_down)


@dataclass(frozen=True)
class GroupResult:
    outcomes: tuple[MessageOutcome, ...]
    server_down: bool = False
    pages: int | None = None


def send_group(loaded: LoadedConfig, spec: DeliverySpec, job: SendGroup, *,
               environ: Mapping[str, str] = os.environ, shared: SharedData | None = None,
               ledger: Ledger | None = None) -> GroupResult:
    """Build one group's scorecard and send it to the group's recipients; never raises for one message.

    ``ledger``: the run's open ledger; without one (a worker process) the group opens its own and
    closes it before returning, so no connection outlives the group."""
    own = None if job.dry_run_dir is not None or ledger is not None else open_ledger(loaded)
    try:
        return _send_group(loaded, spec, job, environ, shared, ledger or own)
    finally:
        if own is not None:
            own.close()


def _send_group(loaded: LoadedConfig, spec: DeliverySpec, job: SendGroup, environ: Mapping[str, str],
                shared: SharedData | None, ledger: Ledger | None) -> GroupResult:
    pending = list(job.recipients)
    outcomes: list[MessageOutcome] = []
    if ledger is not None:
        done = ledger.states(spec.name, job.period)
        for r in job.recipients:
            if done.get(r.email) in DONE_IN_LEDGER:
                outcomes.append(
                    _outcome(
                        job,
                        r,
                        "already_sent" if done[r.email] == "sent" else "unknown",
                        "" if done[r.email] == "sent" else "awaiting review (reportgen history --unknown)",
                    )
                )
        pending = [r for r in job.recipients if done.get(r.email) not in DONE_IN_LEDGER]
    if not pending:
        return GroupResult(tuple(outcomes))
    try:
        built, metrics = build_for_group(loaded, spec, job, shared)
        check_built(loaded, spec, job, built, metrics)
    except (DeliveryHeld, ConditionNotMet) as exc:  # one line for the group: no recipient is the reason
        who = f"{len(pending)} recipient(s)" + (f" of {job.segment!r}" if job.segment is not None else "")
        status: Outcome = "held" if isinstance(exc, DeliveryHeld) else "not_met"
        detail = f"nothing sent: {exc}" if status == "held" else str(exc)
        return GroupResult(tuple(outcomes + [MessageOutcome(spec.name, job.period, who, job.segment, status,
                                                            detail)]))
    except ReportgenError as exc:
        return GroupResult(tuple(outcomes + [_outcome(job, r, "failed", _building_failed(job, exc)) for r in pending]))
    except Exception as exc:  # a bug in one segment must not stop the others; the log keeps the traceback
        log.exception("building %s for %s failed", spec.name, job.segment or "all")
        return GroupResult(tuple(outcomes + [_outcome(job, r, "failed", _building_failed(job, exc)) for r in pending]))
    sent = send_messages(loaded, spec, job, built, metrics, pending, ledger, environ)
    return GroupResult(tuple(outcomes + sent.outcomes), sent.server_down, built.pages)


def check_built(loaded: LoadedConfig, spec: DeliverySpec, job: SendGroup, built: BuiltScorecard,
                metrics: Metrics) -> None:
    """Hold the group (``DeliveryHeld``) if the PDF about to be attached does not read like a scorecard."""
    from reportgen.delivery.sanity import check_scorecard
    from reportgen.pipeline.build import audiences_of

    audience = audiences_of(loaded, spec.audience)[spec.audience]
    sc = loaded.config.scorecard
    check_scorecard(built.pdf.read_bytes(), metrics, kpis=list(audience.kpis), period=job.period, locale=sc.locale,
                    currency=sc.currency, min_pages=spec.min_pages)


def build_for_group(loaded: LoadedConfig, spec: DeliverySpec, job: SendGroup,
                    shared: SharedData | None = None) -> tuple[BuiltScorecard, Metrics]:
    """The group's scorecard files and metrics; a burst segment must occur in the data.

    Without that check a typo in the recipients CSV ('Nrth') would mail a scorecard of zeros.
    ``shared`` holds the delivery's data loaded once for all groups; each segment is computed from
    a copy of its own rows (``segment_copy``), so the whole data stays intact for the next group.
    """
    from reportgen.pipeline.build import Segment, segment_copy

    segment = Segment(spec.burst_by, job.segment) if spec.burst_by and job.segment is not None else None
    shared = shared or SharedData(loaded, job.now)
    data = shared.get()
    if segment is None:
        return _build_group(loaded, spec, job, None, data)
    check_segment_exists(data, segment, shared.segment_values(segment.dimension))
    with segment_copy(data, segment) as part:
        return _build_group(loaded, spec, job, segment, part)


def _build_group(loaded: LoadedConfig, spec: DeliverySpec, job: SendGroup, segment: Segment | None,
                 data: LoadedData) -> tuple[BuiltScorecard, Metrics]:
    from reportgen.pipeline.build import audiences_of, breakdown_kpis_for, build, compute_for_config

    exports = any(fmt in spec.attach for fmt in ("csv", "xlsx"))
    # attached metric exports list every breakdown; without them only what the template shows is computed
    breakdown_kpis = None if exports else breakdown_kpis_for(loaded, audiences_of(loaded, spec.audience))
    metrics = compute_for_config(loaded, now=job.now, period=job.period, segment=segment, data=data,
                                 breakdown_kpis=breakdown_kpis)
    if spec.when is not None:  # before the PDF: a condition not met costs no rendering
        check_condition(spec.when, metrics, job.period)
    job.output_dir.mkdir(parents=True, exist_ok=True)
    [built] = build(loaded, now=job.now, audience=spec.audience, period=job.period, output_dir=job.output_dir,
                    segment=segment, exports=exports, xlsx="xlsx" in spec.attach, metrics=metrics)
    # build() parsed the PDF back (page count, budget) before writing it atomically: not parsed again here
    return built, metrics


@dataclass(frozen=True)
class _Sent:
    outcomes: list[MessageOutcome]
    server_down: bool


def send_messages(loaded: LoadedConfig, spec: DeliverySpec, job: SendGroup, built: BuiltScorecard,
                   metrics: Metrics, recipients: list[Recipient], ledger: Ledger | None,
                   environ: Mapping[str, str]) -> _Sent:
    from reportgen.delivery.sending import send_once
    from reportgen.delivery.smtp import credentials_from_env

    settings = smtp_settings(loaded)
    attachments = AttachmentCache(loaded, spec, built, metrics, period=job.period, now=job.now,
                                  segment=job.segment)
    bodies = BodyCache(loaded, spec, metrics, job.segment)
    sender = make_address(settings.from_address, settings.from_name)
    domain = settings.from_address.partition("@")[2]
    outcomes: list[MessageOutcome] = []
    for index, recipient in enumerate(recipients):
        try:
            locale = recipient.locale or loaded.config.scorecard.locale
            body = bodies.get(locale)
            msg = compose_message(
                sender=sender, recipient=make_address(recipient.email, recipient.name),
                subject=subject_for(loaded, spec, job.period, job.segment, locale),
                html_body=body.html, text_body=body.text, inline_images=body.images,
                attachments=attachments.get(locale),
                message_id_domain=domain, message_id=make_message_id(spec.name, job.period, recipient.email, domain),
            )
            check_size(msg, settings.max_message_bytes)
        except ReportgenError as exc:
            outcomes.append(_outcome(job, recipient, "failed", str(exc), built.pdf))
            continue
        if ledger is None:
            dry_run_dir = job.dry_run_dir
            assert dry_run_dir is not None, "send_group opens no ledger only for a dry run"
            eml = dry_run_dir / eml_name(spec.name, job.period, recipient.email)
            dry_run_dir.mkdir(parents=True, exist_ok=True)
            write_eml(msg, eml)
            outcomes.append(_outcome(job, recipient, "written", str(eml), built.pdf, eml))
            continue
        try:
            username, password = credentials_from_env(settings, environ)
            result = send_once(ledger, delivery=spec.name, period=job.period, recipient=recipient.email, msg=msg,
                               settings=settings, username=username, password=password)
        except DeliveryError as exc:  # the server, not this message: stop hammering it
            outcomes.append(_outcome(job, recipient, "failed", str(exc), built.pdf))
            outcomes += [_outcome(job, r, "failed", f"not attempted: {exc}", built.pdf) for r in recipients[index + 1:]]
            return _Sent(outcomes, server_down=True)
        outcomes.append(_from_send_result(job, recipient, result, built.pdf, ledger))
    return _Sent(outcomes, server_down=False)


def _from_send_result(job: SendGroup, recipient: Recipient, result: SendResult | None, pdf: Path,
                      ledger: Ledger | None = None) -> MessageOutcome:
    if result is None:  # the ledger said no: sent meanwhile, in flight elsewhere, or a dead claim turned unknown
        return _refused_claim(job, recipient, pdf, ledger)
    status = result.status
    if status == "sent" or (status == "partial" and recipient.email in result.accepted):
        return _outcome(job, recipient, "sent", str(result.message_id), pdf)
    if status == "unknown":
        return _outcome(job, recipient, "unknown", f"{result.error}; check the mail log, then "
                        f"`reportgen resolve`", pdf)
    return _outcome(job, recipient, "failed", result.error or status, pdf)


def _refused_claim(job: SendGroup, recipient: Recipient, pdf: Path, ledger: Ledger | None) -> MessageOutcome:
    """Only a row the ledger says is ``sent`` is "already sent"; a message in flight in another run or
    left by a process that died mid-send has an unknown outcome, and says so until a person resolves it."""
    state = _ledger_states(ledger, job.delivery, job.period).get(recipient.email) if ledger is not None else "sent"
    if state == "sent":
        return _outcome(job, recipient, "already_sent", "sent by another run", pdf)
    if state == "unknown":
        return _outcome(job, recipient, "unknown", "a run died while sending it; check the mail log, then "
                        "`reportgen resolve`", pdf)
    return _outcome(job, recipient, "unknown", f"being sent by another run (ledger state {state!r}); "
                    "run again later to see its outcome", pdf)


def _ledger_states(ledger: Ledger, delivery: str, period: str) -> dict[str, str]:
    return ledger.states(delivery, period)


def _outcome(job: SendGroup, recipient: Recipient, status: Outcome, detail: str = "", pdf: Path | None = None,
             eml: Path | None = None) -> MessageOutcome:
    return MessageOutcome(job.delivery, job.period, recipient.email, job.segment, status, detail, pdf, eml)


def _building_failed(job: SendGroup, exc: BaseException) -> str:
    what = f"the scorecard for {job.segment!r}" if job.segment is not None else "the scorecard"
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    prefix = "" if isinstance(exc, ReportgenError) else f"{type(exc).__name__}: "
    return f"building {what} failed: {prefix}{text}"
