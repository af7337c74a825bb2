"""Where the tests find the shared reference data, in one place.

The conformance cases and the real public datasets live beside the repository (``../shared``), not in
it. A lone clone has no such folder: the tests that need it are skipped with a reason that says so,
except under CI (``CI`` set), where a missing folder is a failure, so it can never pass by skipping.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

SHARED = (Path(__file__).resolve().parents[2] / "shared").resolve()
CONFORMANCE = SHARED / "conformance"
REAL_DATA = SHARED / "real-data"


def require_shared() -> Path:
    """The shared folder, or skip (fail under CI) when this checkout has none beside it."""
    if not SHARED.is_dir():
        message = f"../shared (conformance cases and real data) not found at {SHARED}"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message + "; tests that need it are skipped in a lone clone")
    return SHARED


needs_shared = pytest.mark.skipif(not SHARED.is_dir() and not os.environ.get("CI"),
                                  reason=f"../shared not found at {SHARED} (a lone clone): reference data absent")
