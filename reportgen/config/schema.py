"""The config's JSON Schema, for editors: what `reportgen schema` prints and ``reportgen.schema.json`` holds.

An editor (VS Code's YAML extension, any yaml-language-server client) reads a YAML config the YAML 1.2
way: ``as_of: 2025-12-31`` is a string there, not a date, and a KPI may be written as its bare id. The
schema describes every form the loader accepts, so a shipped config never shows a red squiggle the
loader would not raise (a test checks each one with ``jsonschema``).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from reportgen.config.models import Config

SCHEMA_FILE = "reportgen.schema.json"
"""The published schema, at the top of the repository; configs point at it with
``# yaml-language-server: $schema=../reportgen.schema.json``."""


def config_json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a reportgen config file, every field with its description."""
    schema = Config.model_json_schema()
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema, "title": "reportgen config"}


def schema_text() -> str:
    """The schema as the published file holds it (stable key order, two-space indent, final newline)."""
    return json.dumps(config_json_schema(), indent=2, ensure_ascii=False) + "\n"


def write_schema(path: str | Path) -> Path:
    """Write the schema to ``path`` (how ``scripts/write_schema.py`` regenerates the published file)."""
    path = Path(path)
    path.write_text(schema_text(), encoding="utf-8")
    return path
