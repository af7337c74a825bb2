"""Forecasts (FC) of the next few periods, for the hatched columns of trend charts.

Two methods, chosen by ``scorecard.forecast_method``, both deliberately simple so a reader can redo
them on a napkin and nobody mistakes the FC for a model:

* ``moving_average``: every future period gets the mean of the last three actuals (a flat line;
  recursing on its own forecasts would only smooth the same three numbers again).
* ``linear_trend``: the least-squares line through the whole history, extended forward.

Missing actuals (NaN) are left out, never read as zero: the trend is fitted on the periods that have
a value, at their true positions in time.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

from reportgen.kpis.catalogue import ForecastMethod

MOVING_AVERAGE_WINDOW = 3
"""The issue's "last 3": short enough to follow a turn, long enough to damp one odd month."""


def moving_average(history: Sequence[float | None], periods: int, window: int = MOVING_AVERAGE_WINDOW) -> list[float]:
    """The mean of the last ``window`` present values, repeated ``periods`` times.

    ``moving_average([10, 20, 30, 40], 2)`` is ``[30.0, 30.0]``. With no present value the forecast
    is missing (NaN), not zero.
    """
    present = _present(history)
    if not present or periods <= 0:
        return [math.nan] * max(periods, 0)
    last = [v for _, v in present[-window:]]
    mean = sum(last) / len(last)
    return [mean] * periods


def linear_trend(history: Sequence[float | None], periods: int) -> list[float]:
    """Least-squares line through the history (x = period index), evaluated at the next periods.

    ``linear_trend([1, 3, 5], 2)`` is ``[7.0, 9.0]``. One present value gives a flat line through it;
    none gives NaN.
    """
    present = _present(history)
    if not present or periods <= 0:
        return [math.nan] * max(periods, 0)
    slope, intercept = least_squares(present)
    n = len(history)
    return [intercept + slope * (n + k) for k in range(periods)]


def least_squares(points: Sequence[tuple[float, float]]) -> tuple[float, float]:
    """Slope and intercept of the ordinary least-squares line through ``(x, y)`` points."""
    count = len(points)
    mean_x = sum(x for x, _ in points) / count
    mean_y = sum(y for _, y in points) / count
    sxx = sum((x - mean_x) ** 2 for x, _ in points)
    if sxx == 0:
        return 0.0, mean_y
    slope = sum((x - mean_x) * (y - mean_y) for x, y in points) / sxx
    return slope, mean_y - slope * mean_x


METHODS = {"moving_average": moving_average, "linear_trend": linear_trend}


def forecast(history: Sequence[float | None], periods: int, method: ForecastMethod = "linear_trend", *,
             lower: float | None = None, upper: float | None = None) -> list[float]:
    """The next ``periods`` values by ``method`` (see the module docstring), kept within the KPI's
    possible range [``lower``, ``upper``]: a straight line through a rising win rate crosses 100% in a
    few periods, and a forecast of 103% is a forecast of something that cannot happen."""
    try:
        fn = METHODS[method]
    except KeyError:
        raise ValueError(f"unknown forecast method {method!r}; expected one of {', '.join(METHODS)}") from None
    return [clamp(v, lower, upper) for v in fn(history, periods)]


def clamp(value: float, lower: float | None = None, upper: float | None = None) -> float:
    """``value`` within [lower, upper] (either bound may be None); a missing value stays missing."""
    if math.isnan(value):
        return value
    if lower is not None:
        value = max(value, lower)
    if upper is not None:
        value = min(value, upper)
    return value


def _present(history: Sequence[float | None]) -> list[tuple[float, float]]:
    return [(float(i), float(v)) for i, v in enumerate(history) if v is not None and math.isfinite(float(v))]
