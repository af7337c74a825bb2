"""The second validation pass, meaning: every name the config uses refers to something real.

Small functions that each return a list of problems (dataset columns, KPIs and their formulas,
audiences, objectives), all collected and shown together.
"""
from __future__ import annotations

import difflib

from reportgen.config.models import Config, LoadedConfig
from reportgen.errors import ConfigError
from reportgen.kpis.catalogue import BUILTIN_KPIS, CANONICAL_DATASETS, LOOKUPS, MEASURES, OBJECTIVES, UNITS
from reportgen.kpis.expressions import parse_formula


def check_meaning(loaded: LoadedConfig) -> list[str]:
    """Second pass: every name the config uses refers to something real. Returns all problems."""
    problems: list[str] = []
    from reportgen.config.conditions import condition_problems

    for check in (_check_datasets, _check_kpis, _check_audiences, _check_objectives, condition_problems):
        problems.extend(check(loaded))
    return problems


def _check_datasets(loaded: LoadedConfig) -> list[str]:
    problems = []
    for name, ds in loaded.config.datasets.items():
        canonical = CANONICAL_DATASETS.get(name)
        if canonical is None:
            continue  # a custom dataset: any columns
        valid = {c.name for c in canonical}
        pairs = [(src, d) for src, dst in ds.columns.items() for d in ([dst] if isinstance(dst, str) else dst)]
        for src, dst in pairs:
            if dst not in valid and dst in _close_canonical(dst, valid):
                problems.append(
                    f"{loaded.where(('datasets', name, 'columns', src))}: column mapping "
                    f"{src!r} -> {dst!r}: {dst!r} is not a column of {name}{did_you_mean(dst, valid)} "
                    f"(canonical columns: {', '.join(sorted(valid))})"
                )
        for col in ds.constants:
            if col not in valid:
                problems.append(f"{loaded.where(('datasets', name, 'constants', col))}: {col!r} is not a column "
                                f"of {name}{did_you_mean(col, valid)}")
        if ds.stages is not None and name != "deals":
            problems.append(f"{loaded.where(('datasets', name, 'stages'))}: 'stages' applies to deals only")
        if ds.order_lines and name != "deals":
            problems.append(f"{loaded.where(('datasets', name, 'order_lines'))}: 'order_lines' applies to deals only")
    return problems


def _close_canonical(name: str, valid: set[str]) -> list[str]:
    """A mapping target close to (but not equal to) a canonical name is a typo; anything else is a new dimension."""
    # 0.8: "custmer_id" and "close_dte" are typos; "deal_size" (0.75 to deal_id) is a dimension of its own
    return [name] if difflib.get_close_matches(name, sorted(valid), n=1, cutoff=0.8) else []


def kpi_ids(config: Config) -> list[str]:
    return [k.id for k in config.kpis]


def _check_kpis(loaded: LoadedConfig) -> list[str]:
    problems = []
    config = loaded.config
    custom = {k.id for k in config.kpis if k.expression or k.measure}
    known = set(BUILTIN_KPIS) | custom
    seen: set[str] = set()
    for i, spec in enumerate(config.kpis):
        where = loaded.source.value_mark(("kpis", i, "id")) if loaded.source else loaded.path
        if spec.id in seen:
            problems.append(f"{where}: KPI {spec.id!r} is listed twice")
        seen.add(spec.id)
        if spec.id not in known:
            problems.append(f"{where}: unknown KPI {spec.id!r}{did_you_mean(spec.id, known)} "
                            "(a custom KPI needs 'expression' or 'measure'; `reportgen kpis` lists the built-ins)")
            continue
        if spec.expression and spec.measure:
            problems.append(f"{where}: KPI {spec.id!r} has both 'expression' and 'measure'; keep one")
        if spec.id in custom and spec.id in BUILTIN_KPIS:
            problems.append(f"{where}: {spec.id!r} is a built-in KPI; give the custom KPI another id "
                            "(or use 'filter'/'params' to override the built-in)")
        if spec.id in MEASURES:
            problems.append(f"{where}: {spec.id!r} is the name of a base measure; choose another id")
        if spec.expression:
            try:
                formula = parse_formula(spec.expression)
            except ConfigError as exc:
                problems.append(f"{loaded.where(('kpis', i, 'expression'))}: {exc}")
                continue
            readable = known | set(MEASURES) | set(spec.params) | {"customer_lifespan_years"}
            for name in sorted(formula.names - readable):
                problems.append(f"{loaded.where(('kpis', i, 'expression'))}: formula of {spec.id!r} reads unknown "
                                f"name {name!r}{did_you_mean(name, readable)}")
            for name in sorted(formula.lookups - set(LOOKUPS)):
                problems.append(f"{loaded.where(('kpis', i, 'expression'))}: lookup({name}) is not available "
                                f"(available: {', '.join(LOOKUPS)})")
            if not spec.unit:
                problems.append(f"{where}: custom KPI {spec.id!r} needs a 'unit' "
                                f"(one of {', '.join(UNITS)})")
        if spec.measure:
            if spec.measure.dataset not in config.datasets:
                problems.append(f"{loaded.where(('kpis', i, 'measure', 'dataset'))}: measure of {spec.id!r} reads "
                                f"dataset {spec.measure.dataset!r}, which is not declared under 'datasets'"
                                f"{did_you_mean(spec.measure.dataset, set(config.datasets))}")
            if spec.measure.agg != "count" and not spec.measure.column:
                problems.append(f"{loaded.where(('kpis', i, 'measure'))}: {spec.measure.agg} needs a 'column'")
            if not spec.unit:
                problems.append(f"{where}: custom KPI {spec.id!r} needs a 'unit' (one of {', '.join(UNITS)})")
    return problems


def _check_audiences(loaded: LoadedConfig) -> list[str]:
    problems = []
    config = loaded.config
    known = set(kpi_ids(config)) or set(BUILTIN_KPIS)
    for name, audience in config.audiences.items():
        for j, kpi in enumerate(audience.kpis):
            if kpi not in known:
                problems.append(f"{loaded.where(('audiences', name, 'kpis', j))}: audience {name!r} lists unknown "
                                f"KPI {kpi!r}{did_you_mean(kpi, known)}")
    return problems


def _check_objectives(loaded: LoadedConfig) -> list[str]:
    problems = []
    known = set(kpi_ids(loaded.config)) or set(BUILTIN_KPIS)
    for name, kpis in loaded.config.objectives.items():
        for j, kpi in enumerate(kpis):
            if kpi not in known:
                problems.append(f"{loaded.where(('objectives', name, j))}: objective {name!r} lists unknown KPI "
                                f"{kpi!r}{did_you_mean(kpi, known)}")
    return problems


def default_objectives(kpis: list[str], objective_of: dict[str, str] | None = None) -> dict[str, list[str]]:
    """Group KPIs under their objective (the config's ``objective:``, else the catalogue's), in the
    catalogue's order of objectives; custom objectives follow."""
    groups: dict[str, list[str]] = {o: [] for o in OBJECTIVES}
    for kpi in kpis:
        objective = (objective_of or {}).get(kpi) or (BUILTIN_KPIS[kpi].objective if kpi in BUILTIN_KPIS else "other")
        groups.setdefault(objective, []).append(kpi)
    return {k: v for k, v in groups.items() if v}


def did_you_mean(name: str, candidates: list[str] | set[str]) -> str:
    close = difflib.get_close_matches(name, sorted(candidates), n=1, cutoff=0.6)
    return f" - did you mean {close[0]!r}?" if close else ""
