"""The command line: thin click commands over the library (``reportgen --help``).

``app`` holds the group and the report commands (kpis, schema, validate, compute, build);
``delivery`` the email and batch commands (send, deliver, schedule, batch, history, resolve);
``cache`` the warm cache of loaded data (path, clear).
"""
from __future__ import annotations

from reportgen.cli import cache, delivery  # noqa: F401 - registers the cache and delivery commands on the group
from reportgen.cli import init, serve  # noqa: F401 - registers init and serve
from reportgen.cli.app import main

__all__ = ["main"]
