"""The second validation pass, meaning: every name the config uses refers to something real.

Small functions that each return a list of :class:`~reportgen.config.issues.Issue` (dataset columns,
KPIs and their formulas, audiences, objectives), each run through ``validate_safely`` and all collected
and shown together.
"""
from __future__ import annotations

from reportgen.config.issues import Check, Issue, closest, did_you_mean, issue_at, suggestion, validate_safely
from reportgen.config.models import LoadedConfig, computed_kpi_ids
from reportgen.config.shape import names_set_aside
from reportgen.config.yamlmarks import KeyPath
from reportgen.errors import ConfigError
from reportgen.kpis.catalogue import BUILTIN_KPIS, CANONICAL_DATASETS, LOOKUPS, MEASURES, OBJECTIVES, UNITS
from reportgen.kpis.datasets import computed_sql
from reportgen.kpis.expressions import parse_formula

__all__ = ["MEANING_CHECKS", "check_meaning", "default_objectives", "did_you_mean"]


def check_meaning(loaded: LoadedConfig) -> list[Issue]:
    """Second pass: every name the config uses refers to something real. Returns every issue."""
    return [issue for check in MEANING_CHECKS for issue in validate_safely(check)(loaded)]


def _check_datasets(loaded: LoadedConfig) -> list[Issue]:
    issues = []
    for name, ds in loaded.config.datasets.items():
        for column, text in ds.computed.items():  # validated like a KPI formula, with its position
            try:
                computed_sql(text)
            except ConfigError as exc:
                issues.append(issue_at(loaded, ("datasets", name, "computed", column),
                                       f"computed column {column!r}: {exc}"))
        canonical = CANONICAL_DATASETS.get(name)
        if ds.snapshot is not None and canonical is not None:
            issues.append(issue_at(loaded, ("datasets", name, "snapshot"),
                                   f"'snapshot' applies to custom datasets; {name!r} is canonical and its KPIs are "
                                   "placed by its own dates",
                                   f"(name the snapshot file's dataset, e.g. {name}_snapshot)"))
        if canonical is None:  # a custom dataset (any columns), unless the name is a typo of a canonical one
            # 0.8 as for column names: "leadz" is a typo of leads; "web_visits" is a dataset of its own
            if closest(name, CANONICAL_DATASETS, cutoff=0.8):
                issues.append(issue_at(loaded, ("datasets", name), f"dataset {name!r} is not a canonical dataset",
                                       _joined(suggestion(name, CANONICAL_DATASETS),
                                               "(a custom dataset needs a name that is not this close to one)")))
            continue
        valid = {c.name for c in canonical}
        pairs = [(src, d) for src, dst in ds.columns.items() for d in ([dst] if isinstance(dst, str) else dst)]
        for src, dst in pairs:
            # 0.8: "custmer_id" and "close_dte" are typos; "deal_size" (0.75 to deal_id) is a dimension of its own
            if dst not in valid and closest(dst, valid, cutoff=0.8):
                issues.append(issue_at(
                    loaded, ("datasets", name, "columns", src),
                    f"column mapping {src!r} -> {dst!r}: {dst!r} is not a column of {name}",
                    _joined(suggestion(dst, valid), f"(canonical columns: {', '.join(sorted(valid))})")))
        for col in ds.constants:
            if col not in valid:
                issues.append(issue_at(loaded, ("datasets", name, "constants", col),
                                       f"{col!r} is not a column of {name}", suggestion(col, valid)))
        if ds.stages is not None and name != "deals":
            issues.append(issue_at(loaded, ("datasets", name, "stages"), "'stages' applies to deals only"))
        if ds.order_lines and name != "deals":
            issues.append(issue_at(loaded, ("datasets", name, "order_lines"), "'order_lines' applies to deals only"))
    return issues


def _joined(*hints: str) -> str:
    """Hints in one line: a did-you-mean first, then a list of valid names in parentheses."""
    return " ".join(h for h in hints if h)


def _check_kpis(loaded: LoadedConfig) -> list[Issue]:
    issues = []
    config = loaded.config
    custom = {k.id for k in config.kpis if k.expression or k.measure}
    known = set(BUILTIN_KPIS) | custom
    seen: set[str] = set()
    for i, spec in enumerate(config.kpis):
        key: KeyPath = ("kpis", i, "id")
        if spec.id in seen:
            issues.append(issue_at(loaded, key, f"KPI {spec.id!r} is listed twice"))
        seen.add(spec.id)
        if spec.id not in known:
            issues.append(issue_at(loaded, key, f"unknown KPI {spec.id!r}", _joined(
                suggestion(spec.id, known),
                "(a custom KPI needs 'expression' or 'measure'; `reportgen kpis` lists the built-ins)")))
            continue
        if spec.expression and spec.measure:
            issues.append(issue_at(loaded, key, f"KPI {spec.id!r} has both 'expression' and 'measure'", "keep one"))
        if spec.id in custom and spec.id in BUILTIN_KPIS:
            issues.append(issue_at(loaded, key, f"{spec.id!r} is a built-in KPI; give the custom KPI another id "
                                   "(or use 'filter'/'params' to override the built-in)"))
        if spec.id in MEASURES:
            issues.append(issue_at(loaded, key, f"{spec.id!r} is the name of a base measure; choose another id"))
        if spec.expression:
            issues += _check_expression(loaded, i, known)
        if spec.measure:
            if spec.measure.dataset not in set(config.datasets) | names_set_aside(loaded, "datasets"):
                issues.append(issue_at(
                    loaded, ("kpis", i, "measure", "dataset"), f"measure of {spec.id!r} reads dataset "
                    f"{spec.measure.dataset!r}, which is not declared under 'datasets'",
                    suggestion(spec.measure.dataset, config.datasets)))
            source = config.datasets.get(spec.measure.dataset)
            if spec.measure.snapshot and source is not None and source.snapshot is None:
                issues.append(issue_at(
                    loaded, ("kpis", i, "measure", "snapshot"), f"measure of {spec.id!r} is a snapshot, but dataset "
                    f"{spec.measure.dataset!r} declares no 'snapshot'", f"(add snapshot: {{as_of: YYYY-MM-DD}} or "
                    f"snapshot: {{date: <as-of column>}} under datasets.{spec.measure.dataset})"))
            if spec.measure.agg != "count" and not spec.measure.column:
                issues.append(issue_at(loaded, ("kpis", i, "measure"), f"{spec.measure.agg} needs a 'column'"))
        if (spec.expression or spec.measure) and not spec.unit:
            issues.append(issue_at(loaded, key, f"custom KPI {spec.id!r} needs a 'unit' (one of {', '.join(UNITS)})"))
    return issues


def _check_expression(loaded: LoadedConfig, i: int, known: set[str]) -> list[Issue]:
    """A custom KPI's formula parses and reads only KPIs, measures, its params and lookups that exist."""
    spec = loaded.config.kpis[i]
    key: KeyPath = ("kpis", i, "expression")
    try:
        formula = parse_formula(spec.expression or "")
    except ConfigError as exc:
        return [issue_at(loaded, key, str(exc))]
    issues = []
    readable = known | set(MEASURES) | set(spec.params) | {"customer_lifespan_years"}
    for name in sorted(formula.names - readable):
        issues.append(issue_at(loaded, key, f"formula of {spec.id!r} reads unknown name {name!r}",
                               suggestion(name, readable)))
    for name in sorted(formula.lookups - set(LOOKUPS)):
        issues.append(issue_at(loaded, key, f"lookup({name}) is not available",
                               f"(available: {', '.join(LOOKUPS)})"))
    return issues


def _check_audiences(loaded: LoadedConfig) -> list[Issue]:
    issues = []
    config = loaded.config
    known = computed_kpi_ids(config) | names_set_aside(loaded, "kpis")
    for name, audience in config.audiences.items():
        for j, kpi in enumerate(audience.kpis):
            if kpi not in known:
                issues.append(issue_at(loaded, ("audiences", name, "kpis", j),
                                       f"audience {name!r} lists unknown KPI {kpi!r}", _unknown_kpi_hint(kpi, known)))
    return issues


def _check_objectives(loaded: LoadedConfig) -> list[Issue]:
    issues = []
    known = computed_kpi_ids(loaded.config) | names_set_aside(loaded, "kpis")
    for name, kpis in loaded.config.objectives.items():
        for j, kpi in enumerate(kpis):
            if kpi not in known:
                issues.append(issue_at(loaded, ("objectives", name, j),
                                       f"objective {name!r} lists unknown KPI {kpi!r}", _unknown_kpi_hint(kpi, known)))
    return issues


def _unknown_kpi_hint(kpi: str, known: set[str]) -> str:
    """The nearest of the config's KPIs; else a built-in the config does not list (it must be added to 'kpis')."""
    near = suggestion(kpi, known)
    if near or kpi in known:
        return near
    unlisted = "(a built-in KPI the config does not list: add it under 'kpis')"
    if kpi in BUILTIN_KPIS:
        return unlisted
    builtin = closest(kpi, BUILTIN_KPIS)
    return f"did you mean {builtin!r}? {unlisted}" if builtin else ""


def _check_conditions(loaded: LoadedConfig) -> list[Issue]:
    """Each delivery's ``when:`` reads only KPIs the config computes (the rule lives with the conditions)."""

    return condition_problems(loaded)


MEANING_CHECKS: tuple[Check, ...] = (_check_datasets, _check_kpis, _check_audiences, _check_objectives,
                                     _check_conditions)


def default_objectives(kpis: list[str], objective_of: dict[str, str] | None = None) -> dict[str, list[str]]:
    """Group KPIs under their objective (the config's ``objective:``, else the catalogue's), in the
    catalogue's order of objectives; custom objectives follow."""
    groups: dict[str, list[str]] = {o: [] for o in OBJECTIVES}
    for kpi in kpis:
        objective = (objective_of or {}).get(kpi) or (BUILTIN_KPIS[kpi].objective if kpi in BUILTIN_KPIS else "other")
        groups.setdefault(objective, []).append(kpi)
    return {k: v for k, v in groups.items() if v}


def condition_problems(loaded: LoadedConfig, only: set[str] | None = None) -> list[Issue]:
    """Each delivery's (or each of the ``only`` named) ``when:`` reads only KPIs the config computes."""
    from reportgen.config.conditions import parse_condition

    known = computed_kpi_ids(loaded.config)
    issues = []
    for i, spec in enumerate(loaded.config.deliveries):
        if spec.when is None or (only is not None and spec.name not in only):
            continue
        for kpi in sorted(parse_condition(spec.when).kpis - known):
            issues.append(issue_at(loaded, ("deliveries", i, "when"), f"delivery {spec.name!r}: condition reads "
                                   f"unknown KPI {kpi!r}", " ".join(h for h in (
                                       suggestion(kpi, known), f"(KPIs: {', '.join(sorted(known))})") if h)))
    return issues
