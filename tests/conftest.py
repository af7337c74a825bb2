"""Shared pytest configuration.

Fixtures that start real components (PostgreSQL, SMTP, Chromium) live in ``tests/fixtures/`` as
plugins, one file per component, so each can be read on its own.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.shared import require_shared

REPO = Path(__file__).resolve().parent.parent

# The warm cache of loaded data is off in tests (they and the CLIs they start inherit this): two tests
# writing the same rows would otherwise share an entry, and a test of the loader would read the cache.
# tests/test_cache.py turns it on in a folder of its own.
os.environ["REPORTGEN_CACHE_DIR"] = "off"

pytest_plugins = [
    "tests.fixtures.postgres",
    "tests.fixtures.smtp",
    "tests.fixtures.browser",
]


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    return require_shared()


@pytest.fixture()
def cache_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The warm cache turned on, in a folder of this test's own (every other test runs with it off)."""
    folder = tmp_path / "cache"
    monkeypatch.setenv("REPORTGEN_CACHE_DIR", str(folder))
    return folder
