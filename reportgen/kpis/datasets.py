"""The canonical data model: each dataset's columns after the config's mapping, their types, which are
required (kpi-spec.md, "Canonical datasets"). The loader types every source onto these names."""
from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Literal, get_args

from reportgen.errors import ConfigError
from reportgen.kpis.expressions import parse_formula

# --------------------------------------------------------------------------------------------------
# Canonical datasets (kpi-spec.md, "Canonical datasets"): column -> type, and which are required.
# Types: id (text key), text, date (calendar day; a timestamp counts on its day), timestamp, number.
# --------------------------------------------------------------------------------------------------


#: The canonical stages a deal is in (every CRM's own stage names are mapped onto these).
StageName = Literal["won", "lost", "open"]
STAGES: tuple[str, ...] = get_args(StageName)


@dataclass(frozen=True)
class ColumnSpec:
    name: str
    type: Literal["id", "text", "date", "timestamp", "number", "category"]
    required: bool = False
    values: tuple[str, ...] = ()  # the canonical values of a category column


CANONICAL_DATASETS: dict[str, tuple[ColumnSpec, ...]] = {
    "deals": (
        ColumnSpec("deal_id", "id", True),
        ColumnSpec("created_date", "date", True),
        ColumnSpec("close_date", "date"),
        ColumnSpec("stage", "category", True, STAGES),
        ColumnSpec("amount", "number", True),
        ColumnSpec("rep", "text"),
        ColumnSpec("region", "text"),
        ColumnSpec("product", "text"),
        ColumnSpec("source", "text"),
        ColumnSpec("customer_id", "id"),
        ColumnSpec("quote_date", "date"),
        ColumnSpec("profit", "number"),
    ),
    "leads": (
        ColumnSpec("lead_id", "id", True),
        ColumnSpec("created_date", "timestamp", True),
        ColumnSpec("source", "text"),
        ColumnSpec("rep", "text"),
        ColumnSpec("first_contact_at", "timestamp"),
        ColumnSpec("converted_date", "date"),
    ),
    "activities": (
        ColumnSpec("activity_id", "id", True),
        ColumnSpec("date", "date", True),
        ColumnSpec("type", "category", True, ("call", "email", "meeting", "follow_up")),
        ColumnSpec("rep", "text"),
        ColumnSpec("lead_id", "id"),
        ColumnSpec("deal_id", "id"),
    ),
    "subscriptions": (
        ColumnSpec("customer_id", "id", True),
        ColumnSpec("start_date", "date", True),
        ColumnSpec("end_date", "date"),
        ColumnSpec("mrr", "number", True),
    ),
    "spend": (
        ColumnSpec("date", "date", True),
        ColumnSpec("category", "category", True, ("marketing", "sales")),
        ColumnSpec("amount", "number", True),
        ColumnSpec("channel", "text"),
    ),
    "targets": (
        ColumnSpec("period", "text", True),
        ColumnSpec("kpi", "text", True),
        ColumnSpec("value", "number", True),
        ColumnSpec("scope", "text"),
    ),
    "surveys": (
        ColumnSpec("response_date", "date", True),
        ColumnSpec("type", "category", True, ("nps", "csat")),
        ColumnSpec("score", "number", True),
        ColumnSpec("customer_id", "id"),
    ),
    "tickets": (
        ColumnSpec("ticket_id", "id", True),
        ColumnSpec("created_date", "date", True),
        ColumnSpec("customer_id", "id"),
    ),
    "timesheets": (
        ColumnSpec("date", "date", True),
        ColumnSpec("rep", "text", True),
        ColumnSpec("selling_hours", "number", True),
        ColumnSpec("total_hours", "number", True),
    ),
    "forecasts": (
        ColumnSpec("period", "text", True),
        ColumnSpec("forecast", "number", True),
    ),
    # exchange rates: units of the scorecard's currency per unit of `currency`, from `date` on
    "fx_rates": (
        ColumnSpec("date", "date", True),
        ColumnSpec("currency", "text", True),
        ColumnSpec("rate", "number", True),
    ),
}


def computed_sql(text: str) -> tuple[str, list[str]]:
    """A computed column's expression (``datasets.<name>.computed``) as SQL over the typed source columns,
    and the source columns it reads. Parsed like a KPI formula (``expressions.parse_formula``: names,
    numbers, + - * / and unary minus, never evaluated); no functions; a division by zero is missing.
    ConfigError names what is not allowed."""
    formula = parse_formula(text)
    if formula.functions:
        raise ConfigError(f"formula {text!r}: a computed column takes no functions "
                          f"({', '.join(sorted(formula.functions))})")
    names: list[str] = []

    def sql(node: ast.AST) -> str:
        if isinstance(node, ast.Expression):
            return sql(node.body)
        if isinstance(node, ast.Name):
            names.append(node.id)
            return '"' + node.id.replace('"', '""') + '"'
        if isinstance(node, ast.Constant):
            return repr(float(node.value))  # type: ignore[arg-type]  # parse_formula admits numbers only
        if isinstance(node, ast.UnaryOp):
            return f"({'-' if isinstance(node.op, ast.USub) else '+'}{sql(node.operand)})"
        if isinstance(node, ast.BinOp):
            left, right = sql(node.left), sql(node.right)
            if isinstance(node.op, ast.Div):
                return f"({left} / NULLIF({right}, 0))"
            op = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*"}[type(node.op)]
            return f"({left} {op} {right})"
        raise ConfigError(f"formula {text!r}: {type(node).__name__} is not allowed")  # parse_formula refused it

    out = sql(formula.tree)
    return out, list(dict.fromkeys(names))
