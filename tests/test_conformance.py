"""Every case in ../shared/conformance must produce exactly the expected KPI values.

Cases and their ``expected*.csv`` files are discovered at collection time, so a case or a file added
to the folder is tested without a code change. The kind of a file (grain, breakdown, window) is read
from its name and columns; a file of a kind this test does not understand fails rather than being
skipped, so new expectations cannot be silently ignored. Missing values must be missing (an empty
cell), never 0 or infinity.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from reportgen.data import load_canonical_folder
from reportgen.engine import compute_metrics, resolve_kpis
from reportgen.kpis.periods import parse_period, period_range
from tests.shared import CONFORMANCE, needs_shared

pytestmark = needs_shared
CASES = sorted(p for p in CONFORMANCE.glob("*") if (p / "data").is_dir())
GRAINS = {"": "month", "quarter": "quarter", "year": "year", "week": "week", "month": "month"}


@dataclass(frozen=True)
class Kind:
    grain: str
    breakdown: bool
    window: bool


def kind_of(path: Path, columns: list[str]) -> Kind:
    """Grain, breakdown and window of an expected file from its name and columns; raise on anything else."""
    suffix = path.stem.removeprefix("expected").lstrip("_")
    breakdown = {"dimension", "segment"} <= set(columns)
    window = "window" in columns
    name_part = suffix.removesuffix("breakdowns").removesuffix("windows").rstrip("_")
    if suffix.endswith("breakdowns") != breakdown or suffix.endswith("windows") != window:
        raise ValueError(f"{path.name}: its name and its columns {columns} disagree")
    if name_part not in GRAINS:
        raise ValueError(f"{path.name}: unknown kind {suffix!r} (columns {columns})")
    known = (
        {"period", "kpi", "value"}
        | ({"dimension", "segment"} if breakdown else set())
        | ({"window"} if window else set())
    )
    if set(columns) != known:
        raise ValueError(f"{path.name}: unexpected columns {sorted(set(columns) - known)}")
    return Kind(GRAINS[name_part], breakdown, window)


def _params() -> list:
    return [
        pytest.param(f, id=f"{f.parent.name}-{f.stem}") for case in CASES for f in sorted(case.glob("expected*.csv"))
    ]


def test_conformance_cases_exist() -> None:
    assert CASES, f"no conformance cases found in {CONFORMANCE}"
    assert all(list(c.glob("expected*.csv")) for c in CASES), "a case folder without any expected*.csv"


def test_unknown_expected_file_kinds_are_rejected(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown kind"):
        kind_of(tmp_path / "expected_fortnight.csv", ["period", "kpi", "value"])
    with pytest.raises(ValueError, match="unexpected columns"):
        kind_of(tmp_path / "expected.csv", ["period", "kpi", "value", "currency"])
    with pytest.raises(ValueError, match="disagree"):
        kind_of(tmp_path / "expected.csv", ["period", "window", "kpi", "value"])
    assert kind_of(tmp_path / "expected_quarter.csv", ["period", "kpi", "value"]) == Kind("quarter", False, False)


def _close(expected: float, got: float) -> bool:
    if math.isnan(expected) or math.isnan(got):
        return math.isnan(expected) and math.isnan(got)
    return math.isclose(got, expected, rel_tol=1e-9, abs_tol=1e-9)


@pytest.mark.parametrize("path", _params())
def test_conformance(path: Path) -> None:
    expected = pd.read_csv(path, dtype={"period": str, "segment": str, "window": str})
    kind = kind_of(path, list(expected.columns))
    labels = sorted(expected["period"].unique())
    periods = period_range(parse_period(labels[0], kind.grain), parse_period(labels[-1], kind.grain))
    dimensions = sorted(expected["dimension"].unique()) if kind.breakdown else []
    windows = sorted(expected["window"].unique()) if kind.window else []
    metrics = compute_metrics(load_canonical_folder(path.parent / "data"), resolve_kpis(None), periods,
                              breakdowns=dimensions, windows=windows)
    table = metrics.table
    if kind.breakdown:
        keys, rows = (
            ["period", "kpi", "dimension", "segment"],
            table[(table["dimension"] != "") & (table["window"] == "")],
        )
    elif kind.window:
        keys, rows = ["period", "window", "kpi"], table[(table["dimension"] == "") & (table["window"] != "")]
    else:
        keys, rows = ["period", "kpi"], metrics.company
    got = rows.set_index(keys)["value"]
    assert not got.index.duplicated().any()
    diffs = []
    for key, value in expected.set_index(keys)["value"].items():
        if key not in got.index:
            diffs.append(f"{key}: expected {value}, no row computed")
        elif not _close(float(value), float(got[key])):
            diffs.append(f"{key}: expected {value}, got {got[key]}")
    assert not diffs, f"{len(diffs)} values differ:\n" + "\n".join(diffs[:30])
    # a missing value for a KPI whose data does not cover the period says why
    uncovered = rows[rows["coverage"] == "none"]
    assert uncovered["value"].isna().all() and (uncovered["note"] != "").all()
    # KPIs the case has no rows for must be reported unavailable, naming the missing dataset
    if not kind.breakdown:
        absent = set(resolve_kpis(None)) - set(expected["kpi"])
        if kind.window:  # growth, target achievement and forecast accuracy have no window form
            absent -= {"revenue_growth", "mrr_growth", "target_achievement", "forecast_accuracy"}
            assert not {"revenue_growth", "mrr_growth", "target_achievement", "forecast_accuracy"} & set(rows["kpi"])
        for kpi in absent:
            assert kpi in metrics.unavailable and "dataset" in metrics.unavailable[kpi], kpi
