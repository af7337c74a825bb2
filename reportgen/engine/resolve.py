"""KPI resolution: catalogue definitions merged with the config's overrides, and what each KPI needs.

Knowing a KPI's datasets and columns up front is what lets the engine say *why* a KPI is unavailable
("needs dataset subscriptions") instead of computing it from nothing, and lets a bad custom measure
fail as one line naming its dataset and column before any SQL runs.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from reportgen.errors import ConfigError, DataError
from reportgen.kpis.catalogue import ANCHORS, BUILTIN_KPIS, LOOKUPS, MEASURES, KpiDefinition, Measure, Unit
from reportgen.kpis.expressions import Formula, parse_formula

if TYPE_CHECKING:
    from collections.abc import Mapping

    from reportgen.config.models import KpiSpec
    from reportgen.data import DatasetQuality, LoadedData


@dataclass(frozen=True)
class ResolvedKpi:
    """A KPI as this scorecard computes it: catalogue definition plus the config's overrides."""

    id: str
    name: str
    unit: Unit
    direction: str
    objective: str
    formula: Formula
    definition: str
    filter: str | None = None
    params: dict[str, float] = field(default_factory=dict)
    additive: bool = False
    target: float | dict[str, float] | None = None
    benchmark: float | None = None
    benchmark_source: str | None = None
    good: float = 1.0
    warning: float = 0.9
    commentary: str | None = None
    custom_measure: Any = None  # config.Measure for custom aggregate KPIs
    hidden: bool = False  # computed only because another KPI reads it

    @property
    def lower_is_better(self) -> bool:
        return self.direction == "lower"


def _from_definition(d: KpiDefinition, hidden: bool = False) -> ResolvedKpi:
    return ResolvedKpi(d.id, d.name, d.unit, d.direction, d.objective, parse_formula(d.expression), d.definition,
                       params=dict(d.params), additive=d.additive, hidden=hidden)


def resolve_kpis(specs: list[KpiSpec] | None) -> dict[str, ResolvedKpi]:
    """Merge config KPI specs with the catalogue; add (hidden) KPIs that formulas read."""
    resolved: dict[str, ResolvedKpi] = {}
    if not specs:
        for d in BUILTIN_KPIS.values():
            resolved[d.id] = _from_definition(d)
    for spec in specs or []:
        base = BUILTIN_KPIS.get(spec.id)
        if spec.measure is not None:
            formula = parse_formula(f"custom__{spec.id}")
            kpi = ResolvedKpi(spec.id, spec.name or spec.id, spec.unit or "count", spec.direction or "higher",
                              spec.objective or "other", formula, spec.definition or _measure_text(spec.measure),
                              custom_measure=spec.measure,
                              additive=spec.measure.agg in ("sum", "count") and not spec.measure.snapshot)
        elif spec.expression is not None:
            kpi = ResolvedKpi(spec.id, spec.name or spec.id, spec.unit or "ratio", spec.direction or "higher",
                              spec.objective or "other", parse_formula(spec.expression),
                              spec.definition or f"Formula: {spec.expression}")
        elif base is not None:
            kpi = _from_definition(base)
        else:  # validated earlier; keep the engine honest anyway
            raise ConfigError(f"unknown KPI {spec.id!r}")
        params = {**kpi.params, **spec.params}
        kpi = replace(
            kpi, name=spec.name or kpi.name, direction=spec.direction or kpi.direction,
            objective=spec.objective or kpi.objective, filter=spec.filter, params=params, target=spec.target,
            benchmark=spec.benchmark.value if spec.benchmark else None,
            benchmark_source=spec.benchmark.source if spec.benchmark else None,
            good=spec.thresholds.good, warning=spec.thresholds.warning, commentary=spec.commentary,
            definition=spec.definition or kpi.definition,
        )
        if spec.filter and base is not None:
            kpi = replace(kpi, definition=f"{kpi.definition} Only rows where {spec.filter}.")
        resolved[spec.id] = kpi
    # pull in KPIs that formulas read but the config did not list
    pending = list(resolved.values())
    while pending:
        kpi = pending.pop()
        for name in kpi.formula.names:
            if name in BUILTIN_KPIS and name not in resolved:
                resolved[name] = _from_definition(BUILTIN_KPIS[name], hidden=True)
                pending.append(resolved[name])
    return resolved


def _measure_text(m: Any) -> str:
    what = "rows" if m.agg == "count" else f"{m.column}"
    where = "of the last snapshot in the period" if m.snapshot else f"with {m.date} in the period"
    text = f"{m.agg.replace('_', ' ')} of {what} in {m.dataset} {where}"
    return text + (f", where {m.filter}" if m.filter else "") + "."


# --------------------------------------------------------------------------------------------------
# Dependencies and availability
# --------------------------------------------------------------------------------------------------

_COLUMN_REF = re.compile(r"\bt\.([a-z_][a-z0-9_]*)")
_RELATION_COLUMNS = re.compile(r"\b(close_date|customer_id|stage|amount|start_date|end_date|mrr)\b")


def measure_columns(measure: Measure) -> set[str]:
    """Canonical columns a measure reads (``__ts`` helper columns count as their base column)."""
    anchor = ANCHORS[measure.anchor]
    if anchor.relation != "SELECT * FROM base":  # the join reads the relation's own columns
        cols = set(_RELATION_COLUMNS.findall(anchor.relation))
    else:
        cols = set(_COLUMN_REF.findall(measure.sql + " " + anchor.join))
    return {c.removesuffix("__ts") for c in cols}


def kpi_order(kpis: dict[str, ResolvedKpi]) -> list[str]:
    """KPI ids so that every KPI comes after the KPIs its formula reads."""
    order: list[str] = []
    state: dict[str, int] = {}

    def visit(kid: str, chain: tuple[str, ...]) -> None:
        if state.get(kid) == 2:
            return
        if state.get(kid) == 1:
            raise ConfigError(f"KPI formulas form a cycle: {' -> '.join(chain + (kid,))}")
        state[kid] = 1
        for name in sorted(kpis[kid].formula.names):
            if name in kpis:
                visit(name, chain + (kid,))
        state[kid] = 2
        order.append(kid)

    for kid in kpis:
        visit(kid, ())
    return order


def _needs(kpi: ResolvedKpi, kpis: dict[str, ResolvedKpi],
           _seen: frozenset[str] = frozenset()) -> tuple[set[str], set[tuple[str, str]]]:
    """Datasets and (dataset, column) pairs a KPI needs, through the KPIs it reads."""
    datasets: set[str] = set()
    _seen = _seen | {kpi.id}
    columns: set[tuple[str, str]] = set()
    if kpi.custom_measure is not None:
        m = kpi.custom_measure
        datasets.add(m.dataset)
        columns |= ({(m.dataset, m.date)} if m.date else set()) | ({(m.dataset, m.column)} if m.column else set())
    for name in kpi.formula.names:
        if name in MEASURES:
            ds = MEASURES[name].dataset
            datasets.add(ds)
            columns |= {(ds, c) for c in measure_columns(MEASURES[name])}
        elif name in kpis and name not in _seen:  # a cycle is reported by kpi_order()
            d, c = _needs(kpis[name], kpis, _seen)
            datasets |= d
            columns |= c
    for name in kpi.formula.lookups:
        datasets.add(LOOKUPS[name])
    for name in kpi.formula.targets:  # target(x): the config's target for x, else the targets dataset
        if name not in kpis or kpis[name].target is None:
            datasets.add("targets")
    return datasets, columns


def availability(kpis: dict[str, ResolvedKpi], data: LoadedData) -> dict[str, str]:
    """KPI id -> why it cannot be computed (missing dataset or column); available KPIs are absent."""
    out: dict[str, str] = {}
    for kid, kpi in kpis.items():
        datasets, columns = _needs(kpi, kpis)
        missing_ds = sorted(d for d in datasets if not data.has(d))
        if missing_ds:
            out[kid] = "unavailable: needs dataset " + ", ".join(missing_ds)
            continue
        missing_cols = sorted(f"{d}.{c}" for d, c in columns if not data.has(d, c))
        if missing_cols:
            out[kid] = "unavailable: needs column " + ", ".join(missing_cols)
    return out


def kpi_datasets(kpi: ResolvedKpi, kpis: dict[str, ResolvedKpi]) -> set[str]:
    return _needs(kpi, kpis)[0]


def has_window_form(kpi: ResolvedKpi, kpis: dict[str, ResolvedKpi], _seen: frozenset[str] = frozenset()) -> bool:
    """False for KPIs that compare with another period's row (growth, target achievement, forecast
    accuracy), directly or through a KPI they read: they have no to-date window form (kpi-spec.md)."""
    if kpi.formula.reads_other_rows:
        return False
    return all(has_window_form(kpis[n], kpis, _seen | {kpi.id})
               for n in kpi.formula.names if n in kpis and n not in _seen and n != kpi.id)


def with_dependencies(ids: list[str], kpis: dict[str, ResolvedKpi]) -> set[str]:
    """The KPIs plus every KPI their formulas read, transitively."""
    out: set[str] = set()
    pending = [k for k in ids if k in kpis]
    while pending:
        kid = pending.pop()
        if kid not in out:
            out.add(kid)
            pending += [n for n in kpis[kid].formula.names if n in kpis]
    return out


_NUMERIC = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER",
            "UBIGINT", "FLOAT", "REAL", "DOUBLE", "DECIMAL")


def check_custom_measures(kpis: dict[str, ResolvedKpi], data: LoadedData) -> None:
    """A custom measure the data cannot answer is one clear line naming its dataset and column, before
    any SQL runs (a sum over a text column would otherwise surface as a DuckDB binder message, or a
    scorecard with nothing on it)."""
    for kid, kpi in kpis.items():
        m = kpi.custom_measure
        if m is None or not data.has(m.dataset):
            continue  # a dataset that is not there (or dropped for a segment): reported as unavailable
        if m.date is None:  # a snapshot measure not bound to its dataset's as-of column
            raise DataError(f"KPI {kid!r}: a snapshot measure needs a snapshot dataset, and {m.dataset!r} declares "
                            f"none; add snapshot: {{as_of: YYYY-MM-DD}} or snapshot: {{date: <column>}} under "
                            f"datasets.{m.dataset}")
        for column in [m.date] + ([m.column] if m.column else []):
            if not data.has(m.dataset, column):
                raise DataError(f"KPI {kid!r}: dataset {m.dataset!r} has no column {column!r} "
                                f"(columns: {', '.join(data.columns[m.dataset])}); fix kpis.{kid}.measure")
        date_type = _column_type(data, m.dataset, m.date)
        if not (date_type.startswith("DATE") or date_type.startswith("TIMESTAMP")):
            raise DataError(f"KPI {kid!r}: column {m.date!r} of dataset {m.dataset!r} holds {date_type.lower()}, "
                            f"not dates; set kpis.{kid}.measure.date to a date column")
        if m.column and m.agg in ("sum", "avg", "min", "max"):
            col_type = _column_type(data, m.dataset, m.column)
            if not col_type.startswith(_NUMERIC):
                raise DataError(f"KPI {kid!r}: cannot {m.agg} column {m.column!r} of dataset {m.dataset!r}: it holds "
                                f"{col_type.lower()}, not numbers; choose a numeric column or agg: count")


def with_snapshot_columns(kpis: dict[str, ResolvedKpi], quality: Mapping[str, DatasetQuality]
                          ) -> dict[str, ResolvedKpi]:
    """The KPIs with each snapshot measure placed by its dataset's as-of column (the config names the
    dataset as a snapshot once; its measures do not repeat the column). A dataset that is not a
    snapshot leaves the measure unplaced, for :func:`check_custom_measures` to report."""
    out = dict(kpis)
    for kid, kpi in kpis.items():
        m = kpi.custom_measure
        column = snapshot_column(m, quality)
        if m is not None and m.snapshot and m.date is None and column:
            out[kid] = replace(kpi, custom_measure=m.model_copy(update={"date": column}))
    return out


def snapshot_column(m: Any, quality: Mapping[str, DatasetQuality]) -> str | None:
    """The as-of column a snapshot measure is placed by (None: not a snapshot measure, or no snapshot)."""
    if m is None or not m.snapshot:
        return None
    record = quality.get(m.dataset)
    return m.date or (record.snapshot if record is not None else None)


def _column_type(data: LoadedData, dataset: str, column: str) -> str:
    row = data.con.execute("SELECT data_type FROM information_schema.columns WHERE table_name = ? AND column_name = ?",
                           [dataset, column]).fetchall()
    return str(row[0][0]).upper() if row else "UNKNOWN"
