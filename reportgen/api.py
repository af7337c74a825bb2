"""The public Python API: load a config, compute its metrics, build its scorecards.

Thin, typed wrappers over the pipeline with friendly defaults (``now`` is the current time, paths may
be strings), so a notebook or an Airflow task needs no knowledge of the layers below. Everything
raises ``ReportgenError`` (one readable line) for bad configs and data.
"""
from __future__ import annotations

from datetime import datetime
from pathlib import Path

from reportgen.config.issues import Issue
from reportgen.config.models import LoadedConfig
from reportgen.engine import Metrics
from reportgen.environment import build_now
from reportgen.errors import ReportgenError
from reportgen.pipeline.build import BuiltScorecard, Segment, compute_for_config
from reportgen.pipeline.build import build as _build
from reportgen.pipeline.checks import load_checked, raise_on_issues, validate_config

__all__ = ["BuiltScorecard", "Issue", "LoadedConfig", "Metrics", "ReportgenError", "build", "compute", "load_config",
           "validate"]


def load_config(path: str | Path) -> LoadedConfig:
    """Read and validate a scorecard config: every check `reportgen validate` runs (shape, meaning, files,
    templates, deliveries, schedules), every problem reported at once with file:line."""
    return load_checked(path)


def validate(path: str | Path) -> list[Issue]:
    """Every issue of a config file, without raising: an empty list means it is valid.

    Each :class:`Issue` has its ``level``, ``location`` (file:line:column), ``key`` path, ``message``
    and ``hint`` (the fix or the nearest valid name); ``str(issue)`` is the line `validate` prints."""
    return validate_config(path)[1]


def _checked(config: LoadedConfig | str | Path) -> LoadedConfig:
    """A config given as a path is loaded with every check; one loaded elsewhere is checked here."""
    if isinstance(config, LoadedConfig):
        raise_on_issues(config)
        return config
    return load_config(config)


def _segment(segment: str | None) -> Segment | None:
    if segment is None:
        return None
    return Segment.parse(segment)


def compute(config: LoadedConfig | str | Path, *, period: str | None = None, segment: str | None = None,
            now: datetime | None = None) -> Metrics:
    """Every KPI of the config for its reporting period and history (``metrics.table``: one row per
    KPI x period x segment, with comparisons, coverage and notes); ``segment`` is ``"region=West"``."""
    loaded = _checked(config)
    return compute_for_config(loaded, now=now or build_now(), period=period, segment=_segment(segment))


def build(config: LoadedConfig | str | Path, *, audience: str | None = None, period: str | None = None,
          output_dir: str | Path | None = None, segment: str | None = None, xlsx: bool | None = None,
          now: datetime | None = None) -> list[BuiltScorecard]:
    """Build the config's scorecards (HTML + PDF + metric CSV per audience) and return what was written."""
    loaded = _checked(config)
    return _build(loaded, now=now or build_now(), audience=audience, period=period,
                  output_dir=Path(output_dir) if output_dir is not None else None, segment=_segment(segment), xlsx=xlsx)
