"""The formula language: parsed and whitelisted, never eval'ed; ratios follow the missing rule."""
from __future__ import annotations

import math

import numpy as np
import pytest

from reportgen.errors import ConfigError
from reportgen.kpis.catalogue import BUILTIN_KPIS, MEASURES
from reportgen.kpis.expressions import Scope, evaluate, parse_formula, safe_divide


def scope(values: dict[str, list[float]], params: dict[str, float] | None = None) -> Scope:
    """One segment, three periods, as float arrays: the shape the engine evaluates formulas on."""
    arrays = {k: np.array(v, dtype="float64") for k, v in values.items()}

    def shift(array: np.ndarray, n: int) -> np.ndarray:
        out = np.full(array.shape, np.nan)
        out[n:] = array[:len(array) - n]
        return out

    return Scope(value=arrays.__getitem__, shift=shift, year_offset=2,
                 target=lambda name: np.array([10.0, np.nan, 20.0]), lookup=lambda name: np.array([1.0, 2.0, 3.0]),
                 params=params or {}, constant=lambda value: np.full(3, value))


def test_division_by_zero_or_missing_is_missing() -> None:
    """On float arrays, as the engine calls it (evaluate.py's scope and table.py's comparisons): a zero
    (either sign) or missing denominator, a missing numerator and an overflow to infinity are missing;
    an ordinary quotient, a negative one and 0 / x are numbers."""
    numerator = np.array([1.0, 1.0, 0.0, np.nan, 1.0, 1e308, 6.0, -6.0, 0.0])
    denominator = np.array([0.0, np.nan, 0.0, 2.0, -0.0, 1e-308, 3.0, 4.0, 5.0])
    got = safe_divide(numerator, denominator)
    assert isinstance(got, np.ndarray) and got.dtype == np.float64
    assert np.isnan(got[:6]).all() and got[6:].tolist() == [2.0, -1.5, 0.0]
    assert np.isnan(numerator[3]) and denominator[0] == 0.0  # the inputs are left as they were
    whole = safe_divide(np.array([3, 0]), np.array([2, 0]))  # integer arrays (counts) divide as floats
    assert whole[0] == 1.5 and np.isnan(whole[1])


def test_arithmetic_prior_year_ago_target_params() -> None:
    s = scope({"a": [10, 20, 40], "b": [2, 0, 4]}, {"k": 3})
    ratio = evaluate(parse_formula("a / b"), s).tolist()
    assert ratio[0] == 5 and math.isnan(ratio[1])
    growth = evaluate(parse_formula("a / prior(a) - 1"), s).tolist()
    assert math.isnan(growth[0]) and growth[1:] == [1.0, 1.0]
    assert evaluate(parse_formula("year_ago(a)"), s).tolist()[2] == 10
    assert evaluate(parse_formula("a / target(a)"), s).tolist()[0] == 1.0
    assert evaluate(parse_formula("-a * k + abs(-1)"), s).tolist() == [-29, -59, -119]
    assert evaluate(parse_formula("lookup(forecast) + 1"), s).tolist() == [2, 3, 4]


def test_names_exclude_function_arguments_of_target_and_lookup() -> None:
    f = parse_formula("1 - abs(lookup(forecast) - revenue) / revenue + target(revenue)")
    assert f.names == {"revenue"} and f.targets == {"revenue"} and f.lookups == {"forecast"}


@pytest.mark.parametrize("text, message", [
    ("__import__('os').system('x')", "unknown function"),
    ("revenue.real", "Attribute is not allowed"),
    ("revenue ** 2", r"only \+ - \* / are allowed"),
    ("'a' + revenue", "only numbers are allowed"),
    ("revenue[0]", "Subscript is not allowed"),
    ("lambda: 1", "Lambda is not allowed"),
    ("target(revenue + 1)", "takes a name"),
    ("prior(a, b)", "takes exactly one argument"),
    ("revenue /", "is not valid"),
])
def test_rejected_formulas(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_formula(text)


def test_every_builtin_kpi_is_defined_and_parses() -> None:
    """The definitions appendix prints these: a KPI without definition text cannot ship."""
    for kpi in BUILTIN_KPIS.values():
        assert kpi.definition and kpi.name and kpi.unit and kpi.direction in ("higher", "lower"), kpi.id
        formula = parse_formula(kpi.expression)
        unknown = formula.names - set(MEASURES) - set(BUILTIN_KPIS) - set(kpi.params)
        assert not unknown, (kpi.id, unknown)
