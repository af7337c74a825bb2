"""Time each chart warm (all direct SVG, the trend included), to check they stay well under a millisecond.

Run: python bench/bench_charts.py
"""

from __future__ import annotations

import timeit

from reportgen import charts

MONTHS = [f"M{i}" for i in range(12)]
CASES = {
    "sparkline": lambda: charts.sparkline([float(i % 5) for i in range(24)]),
    "bullet": lambda: charts.bullet(85.0, 100.0),
    "variance_bars": lambda: charts.variance_bars(
        ["A", "B", "C", "D"], [1.0, -2.0, None, 3.0], higher_is_better=True, value_format=str
    ),
    "breakdown_bars": lambda: charts.breakdown_bars(["A", "B", "C", "D"], [4.0, 2.0, None, 3.0], value_format=str),
    "funnel": lambda: charts.funnel([("Leads", 100.0), ("Opportunities", 30.0), ("Won", 9.0)], value_format=str),
    "trend": lambda: charts.trend(
        MONTHS, [float(i) for i in range(12)], prior_year=[1.0] * 12, target=[5.0] * 12, value_format=str
    ),
}

if __name__ == "__main__":
    for name, build in CASES.items():
        build()  # warm up imports and font registration
        runs = 1000
        seconds = timeit.timeit(build, number=runs) / runs
        print(f"{name:15s} {seconds * 1000:8.3f} ms")
