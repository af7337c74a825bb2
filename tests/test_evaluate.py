"""Query rows on the engine's (segment x period) grid (engine.evaluate.measure_grid): the rule for
cells no query returned, which decides between 0 and missing for every KPI built on them."""
from __future__ import annotations

import numpy as np

from reportgen.engine.evaluate import measure_grid
from reportgen.engine.plan import WHOLE, MeasureRows
from reportgen.kpis.periods import parse_period, period_range


def rows(segments: list[str], ords: list[int], values: list[list[float]], columns: list[str]) -> MeasureRows:
    return MeasureRows(np.array(segments, dtype=object), np.array(ords, dtype=np.int64),
                       np.array(values, dtype="float64").reshape(len(ords), len(columns)), columns)


def test_cells_no_query_returned_are_zero_for_sums_and_counts_and_missing_otherwise() -> None:
    periods = period_range(parse_period("2024-01", "month"), parse_period("2024-03", "month"))
    jan, feb, mar = (p.ordinal for p in periods)
    sums = rows(["ann", "bob", "zed"], [jan, feb, jan], [[10, 1], [np.nan, 2], [99, 9]], ["won_amount", "won_count"])
    cycle = rows(["ann"], [mar], [[30.0]], ["cycle_avg"])
    grid = measure_grid([sums, cycle], ["ann", "bob"], periods, additive={"won_amount", "won_count"})
    # ann: Jan returned; Feb, Mar not (no rows there: 0). bob: Feb returned with a NULL sum (rows
    # there, no readable amount): missing, never 0. "zed" is not a segment of this grid.
    np.testing.assert_array_equal(grid["won_amount"], [10, 0, 0, 0, np.nan, 0])
    np.testing.assert_array_equal(grid["won_count"], [1, 0, 0, 0, 2, 0])
    np.testing.assert_array_equal(grid["cycle_avg"], [np.nan, np.nan, 30, np.nan, np.nan, np.nan])


def test_window_rows_fill_their_own_grid_by_offset() -> None:
    periods = period_range(parse_period("2024-01", "month"), parse_period("2024-02", "month"))
    jan, feb = (p.ordinal for p in periods)
    step = 10_000_000
    part = rows([WHOLE] * 3, [jan, feb + step, jan + 2 * step], [[1], [20], [300]], ["won_count"])
    np.testing.assert_array_equal(measure_grid([part], [WHOLE], periods, {"won_count"})["won_count"], [1, 0])
    np.testing.assert_array_equal(measure_grid([part], [WHOLE], periods, {"won_count"}, offset=step)["won_count"],
                                  [0, 20])
