"""How one job went (a build or a send): the record batch runs, delivery reports and the CLI prints.

It lives in the pipeline layer so that delivery (which produces these for each message group) and
batch (which runs them) share it without importing each other.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

Status = Literal["ok", "failed"]


@dataclass(frozen=True)
class JobResult:
    """How one job went. ``details`` carries per-message outcomes of a delivery job."""

    config: str
    audience: str
    segment: str | None
    status: Status
    pages: int | None = None
    seconds: float = 0.0
    error: str | None = None
    outputs: tuple[Path, ...] = ()
    # MessageOutcome values (reportgen.delivery.deliver); Any because pipeline may not import delivery (layers)
    details: tuple[Any, ...] = ()
    server_down: bool = False

    def line(self) -> str:
        """``FAILED configs/x.yaml [executive]: cannot read ...``: one line, for logs and summaries."""
        where = f"{self.config} [{self.audience}{', ' + self.segment if self.segment else ''}]"
        return f"{'ok' if self.status == 'ok' else 'FAILED'} {where}" + (f": {self.error}" if self.error else "")
