"""reportgen: sales KPI scorecards from CRM data.

The public Python API, for notebooks and schedulers (docs/api.md)::

    import reportgen
    loaded = reportgen.load_config("configs/example.yaml")
    metrics = reportgen.compute(loaded, period="2025-06")     # the tidy metric table: metrics.table
    built = reportgen.build(loaded, audience="executive", output_dir="out")

The package reads in layers, each importing only from the ones before it (checked in CI):
kpis -> config -> data -> engine -> charts -> render -> pipeline -> delivery -> batch -> cli.
Names are loaded on first use, so ``import reportgen`` (and ``reportgen --help``) stays instant.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["build", "compute", "load_config", "validate", "BuiltScorecard", "Issue", "LoadedConfig", "Metrics",
           "ReportgenError"]

if TYPE_CHECKING:
    from reportgen.api import (
        BuiltScorecard,
        Issue,
        LoadedConfig,
        Metrics,
        ReportgenError,
        build,
        compute,
        load_config,
        validate,
    )


def __getattr__(name: str) -> Any:
    if name in __all__:
        from reportgen import api

        return getattr(api, name)
    raise AttributeError(f"module 'reportgen' has no attribute {name!r}")
