"""How one job went (a build or a send): the record batch runs, delivery reports and the CLI prints.

It lives in the pipeline layer so that delivery (which produces these for each message group) and
batch (which runs them) share it without importing each other; so does :class:`MessageOutcome`, what
happened to one message, which a send job carries back from its worker.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

Status = Literal["ok", "failed"]

Outcome = Literal["sent", "written", "already_sent", "failed", "unknown", "held", "not_met"]
OK_OUTCOMES = frozenset({"sent", "written", "already_sent", "not_met"})


@dataclass(frozen=True)
class MessageOutcome:
    """What happened to one recipient's message for one period."""

    delivery: str
    period: str
    recipient: str
    segment: str | None
    status: Outcome
    detail: str = ""
    pdf: Path | None = None
    eml: Path | None = None

    @property
    def ok(self) -> bool:
        return self.status in OK_OUTCOMES

    def line(self) -> str:
        """One line for a log or terminal: ``failed  exec 2025-03 ana@x.com [North]: reason``."""
        where = f" [{self.segment}]" if self.segment else ""
        detail = f": {self.detail}" if self.detail else ""
        return f"{self.status:<12} {self.delivery} {self.period} {self.recipient}{where}{detail}"


@dataclass(frozen=True)
class JobResult:
    """How one job went. ``details``: what happened to each message of a send job (empty for a build)."""

    config: str
    audience: str
    segment: str | None
    status: Status
    pages: int | None = None
    seconds: float = 0.0
    error: str | None = None
    outputs: tuple[Path, ...] = ()
    details: tuple[MessageOutcome, ...] = ()
    server_down: bool = False

    def line(self) -> str:
        """``FAILED configs/x.yaml [executive]: cannot read ...``: one line, for logs and summaries."""
        where = f"{self.config} [{self.audience}{', ' + self.segment if self.segment else ''}]"
        return f"{'ok' if self.status == 'ok' else 'FAILED'} {where}" + (f": {self.error}" if self.error else "")
