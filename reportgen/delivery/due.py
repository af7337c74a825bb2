"""Scheduled runs: what came due since a delivery's last recorded run, sent once per period or marked missed.

A frequent schedule meets a monthly scorecard: an every-minute cron has 1,440 slots in a day's grace
window, and every one of them reports the same period. Each slot of one period would rebuild and
re-check the same scorecard, so the slots are grouped by the period they report and each period
runs once, at its latest slot; the line says how many earlier slots that run stands for. Missed
slots (beyond grace) are likewise reported as one line per period. A schedule's first run sends only
the latest period and reports the slots of earlier ones as skipped.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Literal

from reportgen.config.delivery import DeliverySpec
from reportgen.config.models import LoadedConfig
from reportgen.delivery.deliver import DeliveryReport, GroupRunner, deliver
from reportgen.delivery.plan import delivery_period, open_ledger
from reportgen.errors import ReportgenError
from reportgen.pipeline.result import MessageOutcome

if TYPE_CHECKING:
    from reportgen.delivery.ledger import Ledger


@dataclass(frozen=True)
class SlotRun:
    """One period's schedule slots of one delivery: sent once (with its report) or missed (beyond grace).

    ``slot`` is the latest slot of the period; ``earlier`` counts the period's other slots it stands for."""

    delivery: str
    slot: datetime
    status: Literal["sent", "missed", "skipped"]
    report: DeliveryReport | None = None
    earlier: int = 0
    period: str = ""

    def line(self) -> str:
        local = self.slot.isoformat(timespec="minutes")
        if self.status == "missed":
            slots = f"slot {local}" if not self.earlier else f"{self.earlier + 1} slots up to {local}"
            return f"missed       {self.delivery} {slots}: more than the grace period late, not sent"
        if self.status == "skipped":
            slots = f"slot {local}" if not self.earlier else f"{self.earlier + 1} slots up to {local}"
            return (f"skipped      {self.delivery} {slots} (period {self.period}): first run of this schedule, "
                    f"only the latest period is sent")
        assert self.report is not None
        not_met = [o for o in self.report.outcomes if o.status == "not_met"]
        if not_met and len(not_met) == len(self.report.outcomes):
            return f"not met      {self.delivery} slot {local} period {self.report.period}: {not_met[0].detail}"
        failed = len(self.report.failures)
        collapsed = (f"; {self.earlier} earlier slot(s) of this period collapsed into this run" if self.earlier
                     else "")
        return (f"ran          {self.delivery} slot {local} period {self.report.period}: "
                f"{len(self.report.outcomes) - failed} ok, {failed} failed{collapsed}")


def run_due(loaded: LoadedConfig, *, now: datetime, environ: Mapping[str, str] = os.environ,
            runner: GroupRunner | None = None, deliveries: list[DeliverySpec] | None = None) -> list[SlotRun]:
    """Handle what came due since each delivery's last recorded run (cron/systemd entry point).

    Due slots are sent once per period (the last complete period at the slot time), missed ones
    (older than ``grace_hours``) are only reported; both are then recorded in the ledger so they are
    never handled twice. A run that found the mail server unusable is *not* recorded, so the next
    invocation within the grace period tries it again (messages already sent are skipped by the
    ledger). A delivery that fails as a whole (e.g. a credential missing) is reported and the other
    deliveries still run. One ledger connection serves the whole call and is closed at its end.
    """
    with open_ledger(loaded) as ledger:
        runs: list[SlotRun] = []
        for spec in deliveries if deliveries is not None else loaded.config.deliveries:
            runs += _run_delivery(loaded, spec, ledger, now=now, environ=environ, runner=runner)
        return runs


def _run_delivery(loaded: LoadedConfig, spec: DeliverySpec, ledger: Ledger, *, now: datetime,
                  environ: Mapping[str, str], runner: GroupRunner | None) -> list[SlotRun]:
    from reportgen.delivery.schedule import due_slots

    last_run = ledger.last_run(spec.name)
    due, missed = due_slots(spec.schedule, spec.timezone, last_run=last_run, now=now,
                            grace=timedelta(hours=spec.grace_hours))
    runs = [SlotRun(spec.name, slots[-1], "missed", earlier=len(slots) - 1, period=period)
            for period, slots in _by_period(loaded, spec, missed).items()]
    if missed:
        ledger.record_run(spec.name, missed[-1])
    periods = _by_period(loaded, spec, due)
    if last_run is None and len(periods) > 1:
        # A new schedule has nothing to catch up: an hourly one started on the 1st would otherwise mail the
        # month before last too, because its slots on the 31st report that month.
        *older, latest = periods
        runs += [SlotRun(spec.name, periods[p][-1], "skipped", earlier=len(periods[p]) - 1, period=p) for p in older]
        periods = {latest: periods[latest]}
    for period, slots in periods.items():
        try:
            report = deliver(loaded, spec, period=period, now=now, environ=environ, runner=runner,
                             ledger=ledger)
        except ReportgenError as exc:
            report = DeliveryReport(spec.name, period, (MessageOutcome(spec.name, period, "*", None, "failed",
                                                                       str(exc)),), server_down=True)
        runs.append(SlotRun(spec.name, slots[-1], "sent", report, earlier=len(slots) - 1, period=period))
        if report.server_down:
            break  # leave this and later slots unrecorded: retried next time, within grace
        ledger.record_run(spec.name, slots[-1])
    return runs


def _by_period(loaded: LoadedConfig, spec: DeliverySpec, slots: list[datetime]) -> dict[str, list[datetime]]:
    """Slots grouped by the period each reports, oldest first (a dict keeps the periods in slot order)."""
    groups: dict[str, list[datetime]] = {}
    for slot in slots:
        groups.setdefault(delivery_period(loaded, spec, now=slot), []).append(slot)
    return groups
