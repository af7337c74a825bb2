"""Secrets from the environment: ``${VAR}`` in a database URL is expanded at run time, never stored.

One home for the expansion, used by the data sources and by recipient queries, so neither layer has
to import the other.
"""
from __future__ import annotations

import os
import re

from reportgen.errors import DataError


def expand_env(text: str) -> str:
    """Expand ``${VAR}`` from the environment; a missing variable is an error, never an empty string."""
    def repl(m: re.Match[str]) -> str:
        if m.group(1) not in os.environ:
            raise DataError(f"environment variable {m.group(1)} is not set (used in a dataset url)")
        return os.environ[m.group(1)]

    return re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", repl, text)
