"""Scheduled runs: every slot that came due since a delivery's last recorded run, sent or marked missed."""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from reportgen.config.delivery import DeliverySpec
from reportgen.config.models import LoadedConfig
from reportgen.delivery.deliver import DeliveryReport, GroupRunner, MessageOutcome, deliver
from reportgen.delivery.plan import delivery_period, ledger_path
from reportgen.errors import ReportgenError


@dataclass(frozen=True)
class SlotRun:
    """One schedule slot of one delivery: sent (with its report) or missed (beyond grace)."""

    delivery: str
    slot: datetime
    status: Literal["sent", "missed"]
    report: DeliveryReport | None = None

    def line(self) -> str:
        local = self.slot.isoformat(timespec="minutes")
        if self.status == "missed":
            return f"missed       {self.delivery} slot {local}: more than the grace period late, not sent"
        assert self.report is not None
        failed = len(self.report.failures)
        return (f"ran          {self.delivery} slot {local} period {self.report.period}: "
                f"{len(self.report.outcomes) - failed} ok, {failed} failed")


def run_due(loaded: LoadedConfig, *, now: datetime, environ: Mapping[str, str] = os.environ,
            runner: GroupRunner | None = None, deliveries: list[DeliverySpec] | None = None) -> list[SlotRun]:
    """Handle every slot that came due since each delivery's last recorded run (cron/systemd entry point).

    Due slots are sent (period = the last complete period at the slot time), missed ones (older than
    ``grace_hours``) are only reported; both are then recorded in the ledger so they are never
    handled twice. A slot whose run found the mail server unusable is *not* recorded, so the next
    invocation within the grace period tries it again (messages already sent are skipped by the
    ledger). A delivery that fails as a whole (e.g. a credential missing) is reported and the other
    deliveries still run.
    """
    from reportgen.delivery.ledger import Ledger
    from reportgen.delivery.schedule import due_slots

    ledger = Ledger(ledger_path(loaded))
    runs: list[SlotRun] = []
    for spec in deliveries if deliveries is not None else loaded.config.deliveries:
        due, missed = due_slots(spec.schedule, spec.timezone, last_run=ledger.last_run(spec.name), now=now,
                                grace=timedelta(hours=spec.grace_hours))
        runs += [SlotRun(spec.name, slot, "missed") for slot in missed]
        if missed:
            ledger.record_run(spec.name, missed[-1])
        for slot in due:
            period = delivery_period(loaded, spec, now=slot)
            try:
                report = deliver(loaded, spec, period=period, now=now, environ=environ, runner=runner)
            except ReportgenError as exc:
                report = DeliveryReport(spec.name, period, (MessageOutcome(spec.name, period, "*", None, "failed",
                                                                           str(exc)),), server_down=True)
            runs.append(SlotRun(spec.name, slot, "sent", report))
            if report.server_down:
                break  # leave this and later slots unrecorded: retried next time, within grace
            ledger.record_run(spec.name, slot)
    return runs
