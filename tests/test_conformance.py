"""Every case in ../shared/conformance must produce exactly the expected KPI values.

Cases are discovered at collection time, so a case added to the folder is tested without a code
change. Missing values must be missing (an empty cell), never 0 or infinity.
"""
from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from reportgen.compute import compute_metrics, resolve_kpis
from reportgen.data import load_canonical_folder
from reportgen.periods import parse_period, period_range

CONFORMANCE = Path(__file__).resolve().parents[2] / "shared" / "conformance"
CASES = sorted(p for p in CONFORMANCE.glob("*") if (p / "data").is_dir())
FILES = {"expected.csv": "month", "expected_quarter.csv": "quarter", "expected_breakdowns.csv": "month"}


def _params() -> list:
    out = []
    for case in CASES:
        for fname in FILES:
            if (case / fname).exists():
                out.append(pytest.param(case, fname, id=f"{case.name}-{fname.removesuffix('.csv')}"))
    return out


def test_conformance_cases_exist() -> None:
    assert CASES, f"no conformance cases found in {CONFORMANCE}"


def _close(expected: float, got: float) -> bool:
    if math.isnan(expected) or math.isnan(got):
        return math.isnan(expected) and math.isnan(got)
    return math.isclose(got, expected, rel_tol=1e-9, abs_tol=1e-9)


@pytest.mark.parametrize(("case", "fname"), _params())
def test_conformance(case: Path, fname: str) -> None:
    expected = pd.read_csv(case / fname, dtype={"period": str, "segment": str})
    grain = FILES[fname]
    labels = sorted(expected["period"].unique())
    periods = period_range(parse_period(labels[0], grain), parse_period(labels[-1], grain))
    breakdown = "dimension" in expected.columns
    dimensions = sorted(expected["dimension"].unique()) if breakdown else []
    metrics = compute_metrics(load_canonical_folder(case / "data"), resolve_kpis(None), periods,
                              breakdowns=dimensions)
    table = metrics.table
    keys = ["period", "kpi", "dimension", "segment"] if breakdown else ["period", "kpi"]
    rows = table[table["dimension"] != ""] if breakdown else table[table["dimension"] == ""]
    got = rows.set_index(keys)["value"]
    assert not got.index.duplicated().any()
    diffs = []
    for key, value in expected.set_index(keys)["value"].items():
        if key not in got.index:
            diffs.append(f"{key}: expected {value}, no row computed")
        elif not _close(float(value), float(got[key])):
            diffs.append(f"{key}: expected {value}, got {got[key]}")
    assert not diffs, f"{len(diffs)} values differ:\n" + "\n".join(diffs[:30])
    # KPIs the case has no rows for must be reported unavailable, naming the missing dataset
    absent = set(resolve_kpis(None)) - set(expected["kpi"])
    if not breakdown:
        for kpi in absent:
            assert kpi in metrics.unavailable and "dataset" in metrics.unavailable[kpi]
