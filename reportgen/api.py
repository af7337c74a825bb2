"""The public Python API: load a config, compute its metrics, build its scorecards.

Thin, typed wrappers over the pipeline with friendly defaults (``now`` is the current time, paths may
be strings), so a notebook or an Airflow task needs no knowledge of the layers below. Everything
raises ``ReportgenError`` (one readable line) for bad configs and data.
"""
from __future__ import annotations

from datetime import datetime
from pathlib import Path

from reportgen.config.load import load_config as _load_config
from reportgen.config.models import LoadedConfig
from reportgen.engine import Metrics
from reportgen.environment import build_now
from reportgen.errors import ReportgenError
from reportgen.pipeline.build import BuiltScorecard, Segment, compute_for_config
from reportgen.pipeline.build import build as _build

__all__ = ["BuiltScorecard", "LoadedConfig", "Metrics", "ReportgenError", "build", "compute", "load_config"]


def load_config(path: str | Path) -> LoadedConfig:
    """Read and validate a scorecard config (every problem reported at once, with file:line)."""
    return _load_config(path)


def _segment(segment: str | None) -> Segment | None:
    if segment is None:
        return None
    dimension, sep, value = segment.partition("=")
    if not sep or not dimension.strip() or not value.strip():
        raise ReportgenError(f"segment {segment!r}: expected DIMENSION=VALUE, e.g. region=North")
    return Segment(dimension.strip(), value.strip())


def compute(config: LoadedConfig | str | Path, *, period: str | None = None, segment: str | None = None,
            now: datetime | None = None) -> Metrics:
    """Every KPI of the config for its reporting period and history (``metrics.table``: one row per
    KPI x period x segment, with comparisons, coverage and notes); ``segment`` is ``"region=West"``."""
    loaded = config if isinstance(config, LoadedConfig) else load_config(config)
    return compute_for_config(loaded, now=now or build_now(), period=period, segment=_segment(segment))


def build(config: LoadedConfig | str | Path, *, audience: str | None = None, period: str | None = None,
          output_dir: str | Path | None = None, segment: str | None = None, xlsx: bool | None = None,
          now: datetime | None = None) -> list[BuiltScorecard]:
    """Build the config's scorecards (HTML + PDF + metric CSV per audience) and return what was written."""
    loaded = config if isinstance(config, LoadedConfig) else load_config(config)
    return _build(loaded, now=now or build_now(), audience=audience, period=period,
                  output_dir=Path(output_dir) if output_dir is not None else None, segment=_segment(segment), xlsx=xlsx)
