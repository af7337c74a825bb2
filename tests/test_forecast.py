"""Forecasts worked by hand: moving average of the last three, least-squares trend."""
from __future__ import annotations

import math

import pytest

from reportgen.engine.forecast import forecast, least_squares, linear_trend, moving_average


def test_moving_average_is_the_mean_of_the_last_three_repeated():
    assert moving_average([10, 20, 30, 40], 2) == [30.0, 30.0]  # (20 + 30 + 40) / 3


def test_moving_average_skips_missing_values_instead_of_reading_zero():
    assert moving_average([10, 20, math.nan, 40], 1) == [pytest.approx(70 / 3)]  # 10, 20, 40


def test_linear_trend_extends_the_least_squares_line():
    assert linear_trend([1, 3, 5], 2) == [7.0, 9.0]
    # y = 2, 4, 5, 4, 5 at x = 0..4: slope 0.6, intercept 2.8 -> x = 5: 5.8, x = 6: 6.4
    assert linear_trend([2, 4, 5, 4, 5], 2) == [pytest.approx(5.8), pytest.approx(6.4)]


def test_linear_trend_fits_present_points_at_their_true_positions():
    # points (0, 1) and (2, 5): slope 2 -> x = 3: 7 (a gap is not squeezed out)
    assert linear_trend([1, None, 5], 1) == [pytest.approx(7.0)]


def test_least_squares_of_one_point_is_flat():
    assert least_squares([(3.0, 8.0)]) == (0.0, 8.0)


def test_no_history_gives_missing_not_zero():
    assert all(math.isnan(v) for v in forecast([math.nan, None], 3, "linear_trend"))
    assert all(math.isnan(v) for v in forecast([], 2, "moving_average"))


def test_method_is_selectable_and_checked():
    assert forecast([1, 2, 3, 10], 1, "moving_average") == [5.0]
    assert forecast([1, 2, 3, 4], 1, "linear_trend") == [pytest.approx(5.0)]
    with pytest.raises(ValueError, match="unknown forecast method 'arima'"):
        forecast([1, 2], 1, "arima")  # type: ignore[arg-type]


def test_forecast_stays_within_the_possible_range():
    """A straight line through a rising win rate passes 100%; the forecast stops at it (issue 18: a
    forecast of 103.3% drawn above the 100% line)."""
    from reportgen.engine.forecast import forecast

    rising = [0.80, 0.88, 0.96]
    assert max(forecast(rising, 3, "linear_trend")) > 1.0  # the unbounded line
    assert forecast(rising, 3, "linear_trend", lower=0.0, upper=1.0) == [1.0, 1.0, 1.0]
    assert forecast([5.0, 3.0, 1.0], 2, "linear_trend", lower=0.0) == [0.0, 0.0]
    assert math.isnan(forecast([None], 1, lower=0.0)[0])


def test_trend_forecast_of_a_rate_is_clamped():
    from reportgen.render.sections import possible_range

    assert possible_range("percent", [0.4, 0.9]) == (0.0, 1.0)
    assert possible_range("percent", [-0.2, 0.3], growth=True) == (None, None)  # growth: unbounded
    assert possible_range("percent", [-0.05, 0.3]) == (-0.05, 1.0)  # a margin below 0 in its own history
    assert possible_range("count", [3, 5]) == (0.0, None)
