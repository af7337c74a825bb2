"""Regenerate reportgen.schema.json, the config schema editors read (a test fails when it is stale).

Usage: .venv/bin/python scripts/write_schema.py
"""
from __future__ import annotations

from pathlib import Path

from reportgen.config.schema import SCHEMA_FILE, write_schema

if __name__ == "__main__":
    print(f"wrote {write_schema(Path(__file__).resolve().parent.parent / SCHEMA_FILE)}")
