"""Indicators against hand computations, exact two-pass references and pandas."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from numpy.lib.stride_tricks import sliding_window_view

from dsta.quant import indicators as ind
from dsta.quant.tests.candles import BTCUSDT_1M, read_candles

NAN = np.nan


def test_sma_by_hand() -> None:
    np.testing.assert_allclose(ind.sma([1, 2, 3, 4, 5], 3), [NAN, NAN, 2, 3, 4])


def test_ema_is_seeded_with_the_sma_of_the_first_n_values() -> None:
    # alpha = 2 / (2 + 1); seed mean(2, 4) = 3 at index 1, then e += alpha * (x - e).
    np.testing.assert_allclose(ind.ema([2, 4, 6, 8, 4], 2), [NAN, 3, 5, 7, 5])


def test_ema_skips_leading_nans() -> None:
    np.testing.assert_allclose(ind.ema([NAN, NAN, 2, 4, 6], 2), [NAN, NAN, NAN, 3, 5])


def test_rsi_wilder_by_hand() -> None:
    # changes +1, -2, +1 | +2, -1; seed gains 2/3, losses 2/3 -> 50 at index 3;
    # then gain (2/3*2 + 2)/3 = 10/9, loss 4/9 -> 1000/14; then gain 20/27, loss 17/27 -> 2000/37.
    out = ind.rsi([44, 45, 43, 44, 46, 45], 3)
    np.testing.assert_allclose(out, [NAN, NAN, NAN, 50.0, 1000 / 14, 2000 / 37])


def test_rsi_of_a_flat_series_is_zero_as_talib() -> None:
    assert ind.rsi([5.0] * 6, 3)[-1] == 0.0


def test_atr_by_hand() -> None:
    high = [10.5, 12, 11.5, 14]
    low = [9.5, 9, 10.5, 12]
    close = [10, 11, 11, 13]
    # TR from bar 1: max(3, 2, 1) = 3; max(1, .5, .5) = 1; max(2, 3, 1) = 3.
    # ATR(2): mean(3, 1) = 2 at index 2; (2 * 1 + 3) / 2 = 2.5.
    np.testing.assert_allclose(ind.atr(high, low, close, 2), [NAN, NAN, 2.0, 2.5])


def test_bollinger_uses_the_population_std() -> None:
    bands = ind.bollinger([1, 2, 3, 4], 2, 2.0)
    np.testing.assert_allclose(bands.middle, [NAN, 1.5, 2.5, 3.5])
    np.testing.assert_allclose(bands.upper, [NAN, 2.5, 3.5, 4.5])
    np.testing.assert_allclose(bands.lower, [NAN, 0.5, 1.5, 2.5])


def test_donchian_and_crossings_by_hand() -> None:
    channel = ind.donchian([3, 5, 4, 2, 6], [1, 2, 0, 1, 3], 3)
    np.testing.assert_allclose(channel.upper, [NAN, NAN, 5, 5, 6])
    np.testing.assert_allclose(channel.lower, [NAN, NAN, 0, 0, 0])
    a = np.array([1, 2, 3, 2, 1.0])
    b = np.array([2, 2, 2, 2, 2.0])
    assert list(ind.crossed_above(a, b)) == [False, False, True, False, False]
    assert list(ind.crossed_below(a, b)) == [False, False, False, False, True]
    np.testing.assert_allclose(ind.shift([1, 2, 3], 1), [NAN, 1, 2])
    with pytest.raises(ValueError, match="looks ahead"):
        ind.shift([1, 2, 3], -1)


def test_a_nan_inside_the_window_gives_nan() -> None:
    out = ind.sma([1, 2, NAN, 4, 5, 6], 2)
    np.testing.assert_allclose(out, [NAN, 1.5, NAN, NAN, 4.5, 5.5])


@pytest.fixture
def close(shared_data: Path) -> np.ndarray:
    return read_candles(shared_data, BTCUSDT_1M)[:, 4]


@pytest.mark.parametrize("n", [2, 14, 50, 200])
def test_rolling_moments_match_exact_two_pass_and_pandas(close: np.ndarray, n: int) -> None:
    windows = sliding_window_view(close, n)
    series = pd.Series(close)

    np.testing.assert_allclose(ind.sma(close, n)[n - 1 :], windows.mean(axis=1), rtol=1e-12)
    np.testing.assert_allclose(ind.sma(close, n), series.rolling(n).mean(), rtol=1e-11)
    for ddof in (0, 1):
        exact = windows.std(axis=1, ddof=ddof)
        ours = ind.rolling_std(close, n, ddof=ddof)[n - 1 :]
        np.testing.assert_allclose(ours, exact, rtol=1e-9, atol=1e-9)
        # pandas' online algorithm drifts (up to ~4e-5 here on windows of equal prices, where the
        # exact answer is 0); the two-pass comparison above is the precise one.
        pandas_std = series.rolling(n).std(ddof=ddof)[n - 1 :]
        np.testing.assert_allclose(ours, pandas_std, rtol=1e-6, atol=1e-4)
    np.testing.assert_array_equal(ind.rolling_max(close, n), series.rolling(n).max())
    np.testing.assert_array_equal(ind.rolling_min(close, n), series.rolling(n).min())


@pytest.mark.parametrize("n", [3, 14, 50])
def test_recursive_indicators_match_pandas_ewm_with_talib_seeding(
    shared_data: Path, n: int
) -> None:
    rows = read_candles(shared_data, BTCUSDT_1M)
    high, low, close = rows[:, 2], rows[:, 3], rows[:, 4]

    seeded = (
        pd.Series(np.r_[close[:n].mean(), close[n:]]).ewm(alpha=2 / (n + 1), adjust=False).mean()
    )
    np.testing.assert_allclose(ind.ema(close, n)[n - 1 :], seeded, rtol=1e-12)

    change = np.diff(close)
    gains, losses = np.maximum(change, 0), np.maximum(-change, 0)
    avg_gain = pd.Series(np.r_[gains[:n].mean(), gains[n:]]).ewm(alpha=1 / n, adjust=False).mean()
    avg_loss = pd.Series(np.r_[losses[:n].mean(), losses[n:]]).ewm(alpha=1 / n, adjust=False).mean()
    np.testing.assert_allclose(
        ind.rsi(close, n)[n:], 100 * avg_gain / (avg_gain + avg_loss), rtol=1e-10
    )

    previous = close[:-1]
    true_range = np.maximum.reduce(
        [high[1:] - low[1:], abs(high[1:] - previous), abs(low[1:] - previous)]
    )
    atr = (
        pd.Series(np.r_[true_range[:n].mean(), true_range[n:]])
        .ewm(alpha=1 / n, adjust=False)
        .mean()
    )
    np.testing.assert_allclose(ind.atr(high, low, close, n)[n:], atr, rtol=1e-12)
    assert np.isnan(ind.atr(high, low, close, n)[:n]).all()


def test_two_dimensional_input_is_computed_column_by_column(close: np.ndarray) -> None:
    matrix = np.column_stack([close, close[::-1]])

    for function in (lambda x: ind.sma(x, 20), lambda x: ind.ema(x, 20), lambda x: ind.rsi(x, 14)):
        out = function(matrix)
        np.testing.assert_array_equal(out[:, 0], function(close))
        np.testing.assert_array_equal(out[:, 1], function(close[::-1].copy()))


def test_every_indicator_is_causal(close: np.ndarray) -> None:
    high, low = close * 1.001, close * 0.999
    cut = 777
    functions = {
        "sma": lambda c, h, lo: ind.sma(c, 30),
        "ema": lambda c, h, lo: ind.ema(c, 30),
        "rsi": lambda c, h, lo: ind.rsi(c, 14),
        "atr": lambda c, h, lo: ind.atr(h, lo, c, 14),
        "bollinger": lambda c, h, lo: ind.bollinger(c, 20).upper,
        "donchian": lambda c, h, lo: ind.donchian(h, lo, 20).lower,
        "vol": lambda c, h, lo: ind.realized_volatility(c, 20, 525_600),
    }
    for name, function in functions.items():
        full = function(close, high, low)
        part = function(close[:cut], high[:cut], low[:cut])
        np.testing.assert_array_equal(full[:cut], part, err_msg=name)


def test_bad_windows_are_refused() -> None:
    with pytest.raises(ValueError, match="window"):
        ind.sma([1, 2, 3], 0)
    with pytest.raises(ValueError, match="window"):
        ind.ema([1, 2, 3], 2.5)  # type: ignore[arg-type]
