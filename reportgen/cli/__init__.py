"""The command line: thin click commands over the library (``reportgen --help``).

``app`` holds the group and the report commands (kpis, schema, validate, compute, build);
``delivery`` the email and batch commands (send, deliver, schedule, batch, history, resolve).
"""
from __future__ import annotations

from reportgen.cli import delivery  # noqa: F401 - registers the delivery commands on the group
from reportgen.cli.app import main

__all__ = ["main"]
