"""A tiny, safe expression language for KPI formulas.

Formulas such as ``revenue / opportunities_created`` come from user configs, so they are parsed with
``ast`` and walked against a whitelist; nothing is ever passed to ``eval``. Evaluation is vectorised
over float arrays of one (segment x period) grid, and follows the spec's rule for ratios: a division
by zero or by a missing value is *missing* (NaN), never 0 and never infinity.
"""
from __future__ import annotations

import ast
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeAlias

from reportgen.errors import ConfigError

if TYPE_CHECKING:  # pandas and numpy are imported where formulas are evaluated, not at start-up
    import numpy as np
    import numpy.typing as npt

#: What a formula is evaluated on: the engine's float arrays of one (segment x period) grid, where the
#: arithmetic costs microseconds instead of pandas' index alignment.
Vector: TypeAlias = "npt.NDArray[np.float64]"

#: Functions a formula may call, with their arity.
FUNCTIONS: dict[str, int] = {"prior": 1, "year_ago": 1, "abs": 1, "target": 1, "lookup": 1}


@dataclass(frozen=True)
class Formula:
    """A parsed formula and the names it reads (for dependency ordering and validation)."""

    text: str
    tree: ast.Expression
    names: frozenset[str]
    targets: frozenset[str]
    lookups: frozenset[str]
    functions: frozenset[str] = frozenset()  # functions the formula calls

    @property
    def reads_other_rows(self) -> bool:
        """True when the value depends on another period's row (prior, year_ago) or on a per-period
        table (target, lookup): such a formula has no to-date window form."""
        return bool(self.functions & {"prior", "year_ago", "target", "lookup"})


def parse_formula(text: str) -> Formula:
    """Parse and validate a formula; raise ``ConfigError`` naming the offending part."""
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        raise ConfigError(f"formula {text!r} is not valid: {exc.msg} at column {exc.offset}") from None
    names: set[str] = set()
    targets: set[str] = set()
    lookups: set[str] = set()
    functions: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
                raise ConfigError(
                    f"formula {text!r}: unknown function {ast.unparse(node.func)!r}; "
                    f"allowed: {', '.join(sorted(FUNCTIONS))}"
                )
            functions.add(node.func.id)
            if node.keywords or len(node.args) != FUNCTIONS[node.func.id]:
                raise ConfigError(f"formula {text!r}: {node.func.id}() takes exactly one argument")
            if node.func.id in ("target", "lookup"):
                arg = node.args[0]
                if not isinstance(arg, ast.Name):
                    raise ConfigError(f"formula {text!r}: {node.func.id}() takes a name, e.g. target(revenue)")
                (targets if node.func.id == "target" else lookups).add(arg.id)
        elif isinstance(node, ast.Name):
            names.add(node.id)
        elif isinstance(node, ast.BinOp):
            if not isinstance(node.op, (ast.Add, ast.Sub, ast.Mult, ast.Div)):
                raise ConfigError(f"formula {text!r}: only + - * / are allowed")
        elif isinstance(node, ast.UnaryOp):
            if not isinstance(node.op, (ast.USub, ast.UAdd)):
                raise ConfigError(f"formula {text!r}: only unary minus is allowed")
        elif isinstance(node, ast.Constant):
            if not isinstance(node.value, (int, float)) or isinstance(node.value, bool):
                raise ConfigError(f"formula {text!r}: only numbers are allowed as constants")
        elif not isinstance(node, (ast.Expression, ast.Load, ast.operator, ast.unaryop)):
            raise ConfigError(f"formula {text!r}: {type(node).__name__} is not allowed")
    return Formula(text, tree, frozenset(_value_names(tree.body)), frozenset(targets), frozenset(lookups),
                   frozenset(functions))


def _name_of(node: ast.expr) -> str:
    """The identifier of a node the parser's whitelist already proved to be a plain name."""
    assert isinstance(node, ast.Name), "parse_formula admits only names as callees and target()/lookup() args"
    return node.id


def _value_names(node: ast.AST) -> set[str]:
    """Names read as values: function names and target()/lookup() arguments are not."""
    if isinstance(node, ast.Name):
        return {node.id}
    if isinstance(node, ast.Call):
        if _name_of(node.func) in ("target", "lookup"):
            return set()
        return set().union(*(_value_names(a) for a in node.args))
    return set().union(*(_value_names(c) for c in ast.iter_child_nodes(node)))


def safe_divide(numerator: Vector, denominator: Vector) -> Vector:
    """Element-wise division where a zero or missing denominator (or an overflow) gives missing."""
    import numpy as np

    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        quotient = numerator.astype("float64") / np.where(denominator != 0, denominator, np.nan)
    quotient[~np.isfinite(quotient)] = np.nan
    return quotient


@dataclass(frozen=True)
class Scope:
    """What a formula can read while it is evaluated."""

    value: Callable[[str], Vector]
    shift: Callable[[Vector, int], Vector]
    year_offset: int
    target: Callable[[str], Vector]
    lookup: Callable[[str], Vector]
    params: dict[str, float]
    constant: Callable[[float], Vector]  # a number in the formula, as a vector filling every row


def evaluate(formula: Formula, scope: Scope) -> Vector:
    """Evaluate a parsed formula to floats on the scope's rows."""
    return _eval(formula.tree.body, scope).astype("float64")


def _eval(node: ast.AST, scope: Scope) -> Vector:
    if isinstance(node, ast.Constant):
        value = node.value
        assert isinstance(value, (int, float)), "parse_formula admits only numbers as constants"
        return scope.constant(float(value))
    if isinstance(node, ast.Name):
        if node.id in scope.params:
            return scope.constant(float(scope.params[node.id]))
        return scope.value(node.id)
    if isinstance(node, ast.UnaryOp):
        operand = _eval(node.operand, scope)
        return -operand if isinstance(node.op, ast.USub) else operand
    if isinstance(node, ast.BinOp):
        left, right = _eval(node.left, scope), _eval(node.right, scope)
        if isinstance(node.op, ast.Div):
            return safe_divide(left, right)
        if isinstance(node.op, ast.Add):
            return left + right
        if isinstance(node.op, ast.Sub):
            return left - right
        return left * right
    if isinstance(node, ast.Call):
        fn = _name_of(node.func)
        arg = node.args[0]
        if fn == "target":
            return scope.target(_name_of(arg))
        if fn == "lookup":
            return scope.lookup(_name_of(arg))
        inner = _eval(arg, scope)
        if fn == "abs":
            return abs(inner)
        return scope.shift(inner, 1 if fn == "prior" else scope.year_offset)
    raise ConfigError(f"cannot evaluate {ast.unparse(node)!r}")  # unreachable after parse_formula
