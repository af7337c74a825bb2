"""The KPI engine: base aggregates in DuckDB, formulas and comparisons in pandas.

A package along the engine's seams: ``resolve`` (which KPIs, what they need), ``plan`` (the SQL
measure queries over periods and to-date windows), ``evaluate`` (formulas, targets), ``coverage``
(which periods the data speaks for), ``table`` (the tidy metric table) and ``metrics`` (the entry
point). Every name other modules import is re-exported here.

The re-exports are resolved on first use (PEP 562 ``__getattr__``): ``resolve`` and ``coverage``
need no pandas, so `reportgen kpis` can read the catalogue through this package without paying
for pandas and numpy (about 0.5 s) at start-up.
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "coverage": ["Coverage", "Reason", "Span", "kpi_spans", "period_coverage", "reasons_of",
                 "reporting_period_problem", "window_coverage"],
    "evaluate": ["period_values"],
    "metrics": ["WINDOW_ORD_STEP", "Metrics", "compute_metrics"],
    "plan": ["WHOLE", "Interval", "MeasureQuery", "_days_frame", "_periods_frame", "additive_columns", "explain",
             "plan_for", "plan_queries", "run_queries", "segments_of"],
    "resolve": ["ResolvedKpi", "_from_definition", "availability", "check_custom_measures", "has_window_form",
                "kpi_datasets", "kpi_order", "measure_columns", "resolve_kpis", "with_dependencies"],
    "table": ["METRIC_COLUMNS", "TABLE_COLUMNS", "status"],
}
_WHERE = {name: module for module, names in _EXPORTS.items() for name in names}

# Spelled out (the same names, in the same order, as _EXPORTS) so that type checkers see the re-exports.
__all__ = [
    "Coverage", "Reason", "Span", "kpi_spans", "period_coverage", "reasons_of",
    "reporting_period_problem", "window_coverage", "period_values",
    "WINDOW_ORD_STEP", "Metrics", "compute_metrics", "WHOLE", "Interval", "MeasureQuery",
    "_days_frame", "_periods_frame", "additive_columns", "explain", "plan_for", "plan_queries", "run_queries",
    "segments_of", "ResolvedKpi", "_from_definition", "availability", "check_custom_measures", "has_window_form",
    "kpi_datasets", "kpi_order", "measure_columns", "resolve_kpis", "with_dependencies", "METRIC_COLUMNS",
    "TABLE_COLUMNS", "status"
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


if TYPE_CHECKING:
    from reportgen.engine.coverage import (
        Coverage,
        Reason,
        Span,
        kpi_spans,
        period_coverage,
        reasons_of,
        reporting_period_problem,
        window_coverage,
    )
    from reportgen.engine.evaluate import period_values
    from reportgen.engine.metrics import WINDOW_ORD_STEP, Metrics, compute_metrics
    from reportgen.engine.plan import (
        WHOLE,
        Interval,
        MeasureQuery,
        _days_frame,
        _periods_frame,
        additive_columns,
        explain,
        plan_for,
        plan_queries,
        run_queries,
        segments_of,
    )
    from reportgen.engine.resolve import (
        ResolvedKpi,
        _from_definition,
        availability,
        check_custom_measures,
        has_window_form,
        kpi_datasets,
        kpi_order,
        measure_columns,
        resolve_kpis,
        with_dependencies,
    )
    from reportgen.engine.table import METRIC_COLUMNS, TABLE_COLUMNS, status
