"""What reportgen reads from the environment: ``${VAR}`` in a database URL, expanded at run time and
never stored, and ``SOURCE_DATE_EPOCH``, the instant of a reproducible build.

One home for each, used by the data sources and recipient queries, and by the CLI and the API, so no
layer has to import another for them.
"""
from __future__ import annotations

import os
import re
from collections.abc import Mapping
from datetime import UTC, datetime

from reportgen.errors import DataError, ReportgenError

SOURCE_DATE_EPOCH = "SOURCE_DATE_EPOCH"


def expand_env(text: str) -> str:
    """Expand ``${VAR}`` from the environment; a missing variable is an error, never an empty string."""
    def repl(m: re.Match[str]) -> str:
        if m.group(1) not in os.environ:
            raise DataError(f"environment variable {m.group(1)} is not set (used in a dataset url)")
        return os.environ[m.group(1)]

    return re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", repl, text)


def build_now(environ: Mapping[str, str] = os.environ) -> datetime:
    """The instant a build is made at: ``SOURCE_DATE_EPOCH`` (seconds since 1970, UTC) when set, else the clock.

    Why: every date a scorecard carries (the PDF's creation and modification dates, the HTML's
    ``dcterms.created``, the "Generated" line) comes from this one instant, so two builds of the same
    config and data with the variable set are byte-identical (reproducible-builds.org's convention)."""
    text = environ.get(SOURCE_DATE_EPOCH, "").strip()
    if not text:
        return datetime.now(UTC)
    if not text.isdigit():
        raise ReportgenError(f"{SOURCE_DATE_EPOCH}={text!r} is not a number of seconds since 1970-01-01 UTC; "
                             "set it to e.g. $(git log -1 --format=%ct) or unset it")
    try:
        return datetime.fromtimestamp(int(text), UTC)
    except (OverflowError, OSError, ValueError):
        raise ReportgenError(f"{SOURCE_DATE_EPOCH}={text!r} is out of range for a date") from None
