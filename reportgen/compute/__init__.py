"""The KPI engine: base aggregates in DuckDB, formulas and comparisons in pandas.

A package along the engine's seams: ``resolve`` (which KPIs, what they need), ``plan`` (the SQL
measure queries over periods and to-date windows), ``evaluate`` (formulas, targets), ``coverage``
(which periods the data speaks for), ``table`` (the tidy metric table) and ``metrics`` (the entry
point). Every name other modules import is re-exported here.
"""
from __future__ import annotations

from .coverage import Coverage, Span, history_start, kpi_spans, period_coverage, reporting_period_problem, window_coverage
from .evaluate import period_values
from .metrics import WINDOW_ORD_STEP, Metrics, compute_metrics
from .plan import (WHOLE, Interval, MeasureQuery, _days_frame, _periods_frame, additive_columns, explain, plan_for,
                   plan_queries, run_queries, segments_of)
from .resolve import (ResolvedKpi, _from_definition, availability, check_custom_measures, has_window_form,
                      kpi_datasets, kpi_order, measure_columns, resolve_kpis, with_dependencies)
from .table import METRIC_COLUMNS, TABLE_COLUMNS, status

__all__ = [
    "Coverage", "Span", "history_start", "kpi_spans", "period_coverage", "reporting_period_problem", "window_coverage",
    "period_values", "WINDOW_ORD_STEP", "Metrics", "compute_metrics", "WHOLE", "Interval", "MeasureQuery",
    "_days_frame", "_periods_frame", "additive_columns", "explain", "plan_for", "plan_queries", "run_queries",
    "segments_of", "ResolvedKpi", "_from_definition", "availability", "check_custom_measures", "has_window_form",
    "kpi_datasets", "kpi_order", "measure_columns", "resolve_kpis", "with_dependencies", "METRIC_COLUMNS", "TABLE_COLUMNS", "status",
]
