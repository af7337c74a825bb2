"""Delivery conditions (``when:``): mail a scorecard, or an alert, only when the computed KPIs say so.

A condition comes from a config, so it is parsed with ``ast`` and walked against a whitelist, as KPI
formulas are (:mod:`reportgen.kpis.expressions`); nothing is ever passed to ``eval``. It reads the
reporting period's company row of each KPI it names (a burst segment's own row when bursting)::

    status(revenue) == 'bad'                      a status turns bad
    win_rate < 0.2                                a KPI crosses a threshold
    abs(change(revenue)) > 0.1                    a change larger than 10 % against the prior period
    status(revenue) != 'good' or churn_rate > 0.05

Values: a number, a KPI id (its value), ``prior(k)``, ``year_ago(k)``, ``target(k)``, ``change(k)``
(relative change against the prior period, a fraction), ``change_year_ago(k)``, ``achievement(k)``,
``abs(...)``, ``+ - * /``; ``status(k)`` is compared with ``==``/``!=`` to ``'good'``, ``'warning'``
or ``'bad'``. Comparisons (chains allowed) combine with ``and``, ``or``, ``not``. A comparison that
reads a missing value is false (missing is never 0), and the verdict says which value was missing.
"""
from __future__ import annotations

import ast
import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from reportgen.errors import ConfigError

#: function -> the column of the KPI's metric row it reads
FUNCTIONS = {"prior": "prior", "year_ago": "year_ago", "target": "target", "change": "pct_prior",
             "change_year_ago": "pct_year_ago", "achievement": "achievement", "status": "status"}
STATUSES = ("good", "warning", "bad")
_COMPARE = {ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "==", ast.NotEq: "!="}


@dataclass(frozen=True)
class Condition:
    """A parsed ``when:`` condition and the KPI ids it reads."""

    text: str
    tree: ast.Expression
    kpis: frozenset[str]


@dataclass
class Verdict:
    """Whether the condition holds, and the values it read (for the one line that says why)."""

    met: bool = False
    read: dict[str, str] = field(default_factory=dict)

    @property
    def detail(self) -> str:
        return ", ".join(f"{name} = {value}" for name, value in self.read.items())


MAX_LENGTH = 500
"""Longest condition accepted: enough for any real alert, and it bounds the parser's nesting
(ast.parse of 100,000 nested minus signs runs out of memory)."""


def parse_condition(text: str) -> Condition:
    """Parse and check a condition's shape; ``ConfigError`` names the offending part."""
    if len(text) > MAX_LENGTH:
        raise ConfigError(f"condition {text[:40]!r}... is {len(text):,} characters long; at most {MAX_LENGTH} "
                          f"(split it into two deliveries)")
    try:
        with warnings.catch_warnings():  # "0and x" parses with a SyntaxWarning on stderr: not the user's business
            warnings.simplefilter("ignore", SyntaxWarning)
            tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        at = f" at column {exc.offset}" if exc.offset else ""
        raise ConfigError(f"condition {text!r} is not valid: {exc.msg}{at}") from None
    except (ValueError, RecursionError, MemoryError) as exc:  # NUL bytes (3.11), nesting past the parser's stack
        raise ConfigError(f"condition {text!r} is not valid: {exc or 'nested too deeply'}") from None
    kpis: set[str] = set()
    _check_test(tree.body, text, kpis)
    return Condition(text.strip(), tree, frozenset(kpis))


def _check_test(node: ast.expr, text: str, kpis: set[str]) -> None:
    if isinstance(node, ast.BoolOp):
        for value in node.values:
            _check_test(value, text, kpis)
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        _check_test(node.operand, text, kpis)
    elif isinstance(node, ast.Compare):
        operands = [node.left, *node.comparators]
        if any(type(op) not in _COMPARE for op in node.ops):
            raise ConfigError(f"condition {text!r}: compare with < <= > >= == != only")
        if any(_is_status(o) or _is_text(o) for o in operands):
            _check_status_comparison(node, text, kpis)
        else:
            for operand in operands:
                _check_value(operand, text, kpis)
    else:
        raise ConfigError(f"condition {text!r}: {ast.unparse(node)!r} is not a comparison; write e.g. "
                          f"'win_rate < 0.2' or \"status(revenue) == 'bad'\"")


def _check_status_comparison(node: ast.Compare, text: str, kpis: set[str]) -> None:
    if len(node.ops) != 1 or not isinstance(node.ops[0], (ast.Eq, ast.NotEq)) \
            or sorted((_is_status(node.left), _is_status(node.comparators[0]))) != [False, True]:
        raise ConfigError(f"condition {text!r}: a status is compared with == or != to one of "
                          f"{', '.join(repr(s) for s in STATUSES)}, e.g. status(revenue) == 'bad'")
    status, word = (node.left, node.comparators[0]) if _is_status(node.left) else (node.comparators[0], node.left)
    if not _is_text(word) or word.value not in STATUSES:  # type: ignore[attr-defined]
        raise ConfigError(f"condition {text!r}: {ast.unparse(word)} is not a status; use one of "
                          f"{', '.join(repr(s) for s in STATUSES)}")
    _check_value(status, text, kpis, status_ok=True)


def _check_value(node: ast.expr, text: str, kpis: set[str], *, status_ok: bool = False) -> None:
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
        return
    if isinstance(node, ast.Name):
        kpis.add(node.id)
    elif isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub, ast.Mult, ast.Div)):
        _check_value(node.left, text, kpis)
        _check_value(node.right, text, kpis)
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        _check_value(node.operand, text, kpis)
    elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "abs" \
            and len(node.args) == 1 and not node.keywords:
        _check_value(node.args[0], text, kpis)
    elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in FUNCTIONS:
        if node.keywords or len(node.args) != 1 or not isinstance(node.args[0], ast.Name):
            raise ConfigError(f"condition {text!r}: {node.func.id}() takes one KPI id, e.g. {node.func.id}(revenue)")
        if node.func.id == "status" and not status_ok:
            raise ConfigError(f"condition {text!r}: status() is compared with == or != to a status, not used as a "
                              f"number")
        kpis.add(node.args[0].id)
    elif isinstance(node, ast.Call):
        raise ConfigError(f"condition {text!r}: unknown function {ast.unparse(node.func)!r}; allowed: abs, "
                          f"{', '.join(sorted(FUNCTIONS))}")
    else:
        raise ConfigError(f"condition {text!r}: {ast.unparse(node)!r} is not allowed here; use numbers, KPI ids, "
                          f"{', '.join(sorted(FUNCTIONS))}() and + - * /")


def _is_status(node: ast.expr) -> bool:
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "status"


def _is_text(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, str)


class Row(Protocol):
    """A KPI's metric row of one period (a pandas Series does): value, prior, status, ..."""

    def get(self, key: str, default: Any = None) -> Any: ...


def evaluate_condition(condition: Condition, row_of: Callable[[str], Row | None]) -> Verdict:
    """Evaluate against ``row_of(kpi)``, the KPI's metric row of the reporting period (``None``: not computed)."""
    verdict = Verdict()
    verdict.met = _test(condition.tree.body, row_of, verdict)
    return verdict


def _test(node: ast.expr, row_of: Callable[[str], Row | None], verdict: Verdict) -> bool:
    if isinstance(node, ast.BoolOp):
        results = [_test(value, row_of, verdict) for value in node.values]  # all read, so the line shows all
        return all(results) if isinstance(node.op, ast.And) else any(results)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        return not _test(node.operand, row_of, verdict)
    assert isinstance(node, ast.Compare), "parse_condition admits comparisons only"
    values = [_value(operand, row_of, verdict) for operand in (node.left, *node.comparators)]
    if any(v is None for v in values):
        return False
    pairs = zip(node.ops, values, values[1:])
    return all(_compare(op, left, right) for op, left, right in pairs)


def _compare(op: ast.cmpop, left: Any, right: Any) -> bool:
    if isinstance(op, ast.Eq):
        return bool(left == right)
    if isinstance(op, ast.NotEq):
        return bool(left != right)
    a, b = float(left), float(right)
    return a < b if isinstance(op, ast.Lt) else a <= b if isinstance(op, ast.LtE) else a > b \
        if isinstance(op, ast.Gt) else a >= b


def _value(node: ast.expr, row_of: Callable[[str], Row | None], verdict: Verdict) -> float | str | None:
    if isinstance(node, ast.Constant):
        return node.value if isinstance(node.value, (int, float, str)) else None
    if isinstance(node, ast.Name):
        return _read(node.id, "value", node.id, row_of, verdict)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "abs":
        inner = _value(node.args[0], row_of, verdict)
        return None if inner is None else abs(float(inner))
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        kpi = node.args[0].id  # type: ignore[attr-defined]
        return _read(kpi, FUNCTIONS[node.func.id], ast.unparse(node), row_of, verdict)
    if isinstance(node, ast.UnaryOp):
        operand = _value(node.operand, row_of, verdict)
        return None if operand is None else (-float(operand) if isinstance(node.op, ast.USub) else float(operand))
    assert isinstance(node, ast.BinOp)
    left, right = _value(node.left, row_of, verdict), _value(node.right, row_of, verdict)
    if left is None or right is None:
        return None
    a, b = float(left), float(right)
    if isinstance(node.op, ast.Div):
        return None if b == 0 else a / b  # a ratio with a zero denominator is missing, as in KPI formulas
    return a + b if isinstance(node.op, ast.Add) else a - b if isinstance(node.op, ast.Sub) else a * b


def _read(kpi: str, column: str, label: str, row_of: Callable[[str], Row | None],
          verdict: Verdict) -> float | str | None:
    row = row_of(kpi)
    value = None if row is None else row.get(column)
    if column == "status":
        value = value if value in STATUSES else None
    elif value is not None:
        value = float(value)
        value = None if math.isnan(value) else value
    verdict.read[label] = "missing" if value is None else (repr(value) if isinstance(value, str) else _shown(value))
    return value


def _shown(value: float) -> str:
    return f"{value:,.2f}".rstrip("0").rstrip(".") if abs(value) >= 100 else f"{value:.4g}"
