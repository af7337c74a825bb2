"""Shared pytest configuration.

Fixtures that start real components (PostgreSQL, SMTP, Chromium) live in ``tests/fixtures/`` as
plugins, one file per component, so each can be read on its own.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.shared import require_shared

REPO = Path(__file__).resolve().parent.parent

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
