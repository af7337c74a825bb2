"""Where each canonical column comes from: the config's mapping, lookups joined on, constants, and the
canonical dataset's required columns. Errors name the column and the nearest one found ("did you mean").

Shared by every loader (the general path, the typed read and the pushdown loader in ``load``).
"""
from __future__ import annotations

import re
from datetime import date
from typing import TYPE_CHECKING

from reportgen.data.columns import Column, close_match
from reportgen.data.computed import computed_columns
from reportgen.data.sources import Source
from reportgen.data.sql import lit, one_row, q
from reportgen.errors import DataError
from reportgen.kpis.catalogue import CANONICAL_DATASETS, ColumnSpec

if TYPE_CHECKING:
    import duckdb

    from reportgen.config.datasets import Dataset
    from reportgen.config.models import LoadedConfig

#: The source name under which a dataset's row number can be mapped (``columns: {__row: lead_id}``).
ROW_NUMBER = "__row"
#: Optional columns whose absence has a meaning: no end_date means every subscription is still active.
ABSENT_MEANS_NULL = {("subscriptions", "end_date")}

#: Column names that say "identifier": text even when every value is digits.
ID_NAME = re.compile(r"(?i:(^|[_\s.\-])(id|code|no|nr|number|num|key|zip|sku)$)|[a-z](ID|Id|Code|No|Nr|Key)$")


def mapping_of(ds: Dataset) -> dict[str, str]:
    """canonical column -> source column, from the config's source -> canonical mapping (and lookups)."""
    out: dict[str, str] = {}
    for src, dst in ds.columns.items():
        for canon in [dst] if isinstance(dst, str) else dst:
            out[canon] = src
    for lk in ds.lookups:
        for src, dst in lk.columns.items():
            out.setdefault(dst, src)
    return out


def plan_columns(name: str, ds: Dataset, loaded: LoadedConfig, found: dict[str, str],
                 source: Source) -> list[Column]:
    """The canonical columns this dataset will have, each with its source expression."""
    mapping = mapping_of(ds)
    found = {**found, ROW_NUMBER: "BIGINT"}  # mappable as an id for exports that have none
    for canon, src in mapping.items():
        if src not in found:
            shown = [c for c in found if c != ROW_NUMBER]
            raise DataError(f"dataset {name!r} ({source.description}): column {src!r} (mapped to {canon!r}) not "
                            f"found{close_match(src, shown)}; columns found: {', '.join(shown)}")
    specs = CANONICAL_DATASETS.get(name)
    if specs is None:
        specs = custom_specs(ds, mapping, {c: t for c, t in found.items() if c != ROW_NUMBER or c in mapping.values()})
    columns: list[Column] = []
    canonical = {s.name for s in specs}
    for spec in specs:
        source_col = mapping.get(spec.name, spec.name if spec.name in found and spec.name not in ds.columns else None)
        value_map = ds.stages if spec.name == "stage" and ds.stages else ds.values.get(spec.name)
        if spec.name in ds.computed:
            continue  # written below, after the columns it reads
        if spec.name in ds.constants:
            value = ds.constants[spec.name]
            expr = "NULL" if value is None else lit(value.isoformat() if isinstance(value, date) else value)
            columns.append(Column(spec.name, spec.type, expr, True, spec.values, value_map))
        elif source_col is not None and source_col in found:
            textual = (found[source_col].upper().startswith("VARCHAR") or source.textual) and source_col != ROW_NUMBER
            expr = q(source_col)
            if spec.type in ("id", "text") and not textual and _typed_kind(found[source_col]) == "number":
                expr = integral_text(expr)  # an id stored as a float: "1178", never "1178.0"
            columns.append(Column(spec.name, spec.type, expr, textual, spec.values, value_map))
        elif (name, spec.name) in ABSENT_MEANS_NULL:
            columns.append(Column(spec.name, spec.type, "NULL", True))
        elif spec.required:
            raise DataError(
                f"dataset {name!r} ({source.description}): required column {spec.name!r} not found"
                f"{close_match(spec.name, found)}; columns found: {', '.join(c for c in found if c != ROW_NUMBER)}. "
                f"Map it under datasets.{name}.columns (source name: {spec.name})")
    extra = {canon: src for canon, src in mapping.items() if canon not in canonical and canon not in ds.computed}
    for dim in [*loaded.config.scorecard.breakdowns, *ds.types]:  # `types:` names a column to keep, typed
        if dim not in canonical and dim not in extra and dim in found and dim not in ds.computed:
            extra[dim] = dim
    for dim, src in extra.items():
        kind = ds.types.get(dim, "text")
        textual = (found[src].upper().startswith("VARCHAR") or source.textual) and src != ROW_NUMBER
        expr = q(src)
        if kind == "text" and not textual and _typed_kind(found[src]) == "number":
            expr = integral_text(expr)
        columns.append(Column(dim, kind, expr, textual or kind == "text", (), ds.values.get(dim)))
    if ds.computed:
        computed = computed_columns(name, ds.computed, {c: t for c, t in found.items() if c != ROW_NUMBER}, source,
                                    columns)
        columns += [c for c in computed if c.name not in {x.name for x in columns}]
    return columns


def integral_text(expr: str) -> str:
    """A typed number as text the way it was meant: 1178.0 (an id read through a float) is "1178"."""
    return (f"CASE WHEN {expr} = trunc({expr}) AND abs({expr}) < 1e15 THEN CAST(CAST({expr} AS BIGINT) AS VARCHAR) "
            f"ELSE CAST({expr} AS VARCHAR) END")


def custom_specs(ds: Dataset, mapping: dict[str, str], found: dict[str, str]) -> tuple[ColumnSpec, ...]:
    """A custom dataset keeps every column (renamed by the mapping); types come from ``types:`` or the data."""
    renamed = {src: canon for canon, src in mapping.items()}
    specs = []
    for src, src_type in found.items():
        canon = renamed.get(src, src)
        if canon in ds.computed:
            continue
        declared = ds.types.get(canon)
        t = declared or ("text" if id_like(canon) else _typed_kind(src_type))
        specs.append(ColumnSpec(canon, t or "detect"))  # type: ignore[arg-type]  # 'detect' is settled later
    for canon, value in ds.constants.items():
        if canon not in {s.name for s in specs}:  # a YAML date is a date, a number a number
            kind = "date" if isinstance(value, date) else "number" if isinstance(value, int | float) and \
                not isinstance(value, bool) else "text"
            specs.append(ColumnSpec(canon, ds.types.get(canon, kind)))  # type: ignore[arg-type]
    return tuple(specs)


def id_like(column: str) -> bool:
    """A column named as an identifier (customer_id, EmployeeID, order no, zip code): text even when its
    values are digits, so a breakdown shows "1178", never 1,178 or "1178.0"."""
    return bool(ID_NAME.search(column))


def _typed_kind(source_type: str) -> str | None:
    t = source_type.upper()
    if t.startswith(("DOUBLE", "FLOAT", "DECIMAL", "INTEGER", "BIGINT", "SMALLINT", "TINYINT", "HUGEINT", "REAL",
                     "UBIGINT", "UINTEGER")):
        return "number"
    if t.startswith("TIMESTAMP"):
        return "timestamp"
    if t == "DATE":
        return "date"
    return None


def check_unmapped_stages(con: duckdb.DuckDBPyConnection, staged: str, view: str, columns: list[Column],
                          source_desc: str) -> None:
    """An unmapped stage value is an error: guessing whether "Closed - Pending" is won would change revenue."""
    if not one_row(con, f"SELECT count(*) FROM {q(staged)} WHERE __bad_stage")[0]:
        return
    stage = next(c for c in columns if c.name == "stage")
    rows = con.execute(f"SELECT trim(CAST({stage.expr} AS VARCHAR)) AS v, count(*) FROM {q(view)} "
                       f"WHERE __row IN (SELECT __row FROM {q(staged)} WHERE __bad_stage) GROUP BY 1 ORDER BY 2 DESC, 1"
                       ).fetchall()
    values = ", ".join(f"{r[0]!r} ({r[1]} rows)" for r in rows[:10])
    raise DataError(f"dataset 'deals' ({source_desc}): unmapped stage value(s) {values}; map each to won, lost "
                    "or open under datasets.deals.stages")
