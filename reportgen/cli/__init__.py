"""The command line: thin click commands over the library (``reportgen --help``).

``app`` holds the group and the report commands (kpis, schema, validate, compute, build);
``delivery`` the email and batch commands (send, deliver, schedule, batch, history, resolve);
``cache`` the warm cache of loaded data (path, clear); ``init`` a config from raw exports; ``serve`` the live preview.
"""
from __future__ import annotations

from reportgen.cli import (  # noqa: F401 - each module registers its commands on the group
    cache,
    delivery,
    init,
    serve,
)
from reportgen.cli.app import main

__all__ = ["main"]
