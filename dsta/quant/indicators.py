"""Technical indicators, compiled with numba, with TA-Lib's conventions (NUMBERS.md).

Every function takes float arrays, 1-D (one series) or 2-D (bars, symbols: computed column by
column), and returns float64 arrays of the same shape. Values that need more history than exists
(the warm-up) are NaN. Every output at bar t depends only on inputs at bars <= t (causal), which
is what makes a strategy built on them free of lookahead.

Conventions, fixed here and tested against hand computations and pandas:
- SMA(n): mean of the last n values; first value at index n-1.
- EMA(n): alpha = 2 / (n + 1), seeded with the SMA of the first n values at index n-1 (TA-Lib).
  pandas' ``ewm(span=n, adjust=False)`` seeds with the first value instead; the two converge
  after a few times n bars.
- RSI(n): Wilder smoothing (alpha = 1/n) of gains and losses, seeded with their simple means
  over the first n changes; first value at index n; 0 when there was no move at all (TA-Lib).
- ATR(n): true range from bar 1 (bar 0 has no previous close), Wilder-smoothed, seeded with the
  mean of TR[1..n]; first value at index n (TA-Lib).
- Bollinger(n, k): middle = SMA(n), bands = middle +/- k * population std (ddof = 0, TA-Lib and
  Bollinger's own definition; pandas' default ddof = 1 is not it).
- rolling_std(n, ddof=1): sample standard deviation by default, as pandas; pass ddof=0 for the
  population one.
- Donchian(n): highest high / lowest low of the last n bars *including* the current one; a
  breakout rule compares the close with the channel of the previous bar (``shift(upper, 1)``).

NaN handling: a rolling window containing a NaN gives NaN. Recursive indicators (EMA, RSI, ATR)
skip leading NaNs (so an EMA of an indicator with its own warm-up works) and propagate a NaN met
later on.

Running sums drift (NUMBERS.md measures ~4e-8 for a running sum of squares); the rolling
moments here are kept relative to a recent value and re-summed exactly every max(128, n) bars,
and a window whose variance cancels to fewer than 8 significant digits (a near-constant window)
is recomputed in two passes: results stay within ~1e-9 relative of a two-pass computation.
"""

import math
from collections.abc import Callable
from typing import Any, NamedTuple

import numba as nb
import numpy as np
from numpy.typing import ArrayLike, NDArray

FloatArray = NDArray[np.float64]

_RESUM_EVERY = 128


def _check_window(name: str, n: int, minimum: int = 1) -> None:
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < minimum:
        raise ValueError(f"{name}: window must be an integer >= {minimum}, got {n!r}")


def _as_float(x: ArrayLike) -> FloatArray:
    array = np.asarray(x, dtype=np.float64)
    if array.ndim not in (1, 2):
        raise ValueError(f"expected a 1-D or 2-D array, got {array.ndim}-D")
    return array


def _columnwise(
    kernel: Callable[..., None], n_out: int, inputs: list[FloatArray], *args: Any
) -> list[FloatArray]:
    """Run a 1-D kernel ``kernel(*inputs_1d, *args, *outs_1d)`` over every column."""
    shape = inputs[0].shape
    for other in inputs[1:]:
        if other.shape != shape:
            raise ValueError(f"input shapes differ: {shape} and {other.shape}")
    outs = [np.empty(shape, dtype=np.float64) for _ in range(n_out)]
    if len(shape) == 1:
        kernel(*[np.ascontiguousarray(a) for a in inputs], *args, *outs)
        return outs
    for j in range(shape[1]):
        column_outs = [np.empty(shape[0], dtype=np.float64) for _ in range(n_out)]
        kernel(*[np.ascontiguousarray(a[:, j]) for a in inputs], *args, *column_outs)
        for out, column in zip(outs, column_outs, strict=True):
            out[:, j] = column
    return outs


@nb.njit(cache=True, nogil=True)
def _first_valid(x: FloatArray) -> int:
    for i in range(x.size):
        if not math.isnan(x[i]):
            return i
    return x.size


@nb.njit(cache=True, nogil=True)
def _rolling_moments_1d(
    x: FloatArray, n: int, ddof: int, out_mean: FloatArray, out_std: FloatArray
) -> None:
    """Rolling mean and std (ddof) over n values; NaN if the window holds a NaN."""
    m = x.size
    shift = 0.0
    first = _first_valid(x)
    if first < m:
        shift = x[first]
    total = 0.0
    squares = 0.0
    nans = 0
    countdown = 0  # bars until the next exact re-sum (a counter: no division per bar)
    for i in range(m):
        value = x[i]
        if math.isnan(value):
            nans += 1
        else:
            d = value - shift
            total += d
            squares += d * d
        if i >= n:
            old = x[i - n]
            if math.isnan(old):
                nans -= 1
            else:
                d = old - shift
                total -= d
                squares -= d * d
        if i < n - 1:
            out_mean[i] = np.nan
            out_std[i] = np.nan
            continue
        countdown -= 1
        if countdown <= 0 and not math.isnan(value):
            countdown = max(_RESUM_EVERY, n)
            # Re-centre on the newest value and re-sum exactly: bounds drift and cancellation.
            shift = value
            total = 0.0
            squares = 0.0
            for j in range(i - n + 1, i + 1):
                if not math.isnan(x[j]):
                    d = x[j] - shift
                    total += d
                    squares += d * d
        if nans > 0:
            out_mean[i] = np.nan
            out_std[i] = np.nan
            continue
        out_mean[i] = shift + total / n
        if n - ddof <= 0:
            out_std[i] = np.nan
            continue
        spread = squares - total * total / n
        if spread <= 1e-8 * squares:
            # Cancellation ate more than 8 of the 16 digits (a near-constant window): two passes.
            mean = 0.0
            for j in range(i - n + 1, i + 1):
                mean += x[j]
            mean /= n
            spread = 0.0
            for j in range(i - n + 1, i + 1):
                spread += (x[j] - mean) * (x[j] - mean)
        out_std[i] = math.sqrt(spread / (n - ddof)) if spread > 0.0 else 0.0


@nb.njit(cache=True, nogil=True)
def _rolling_mean_1d(x: FloatArray, n: int, out: FloatArray) -> None:
    """Rolling mean only (what SMA needs): the same running sum as _rolling_moments_1d, without
    the squares."""
    m = x.size
    shift = 0.0
    first = _first_valid(x)
    if first < m:
        shift = x[first]
    total = 0.0
    nans = 0
    countdown = 0
    for i in range(m):
        value = x[i]
        if math.isnan(value):
            nans += 1
        else:
            total += value - shift
        if i >= n:
            old = x[i - n]
            if math.isnan(old):
                nans -= 1
            else:
                total -= old - shift
        if i < n - 1:
            out[i] = np.nan
            continue
        countdown -= 1
        if countdown <= 0 and not math.isnan(value):
            countdown = max(_RESUM_EVERY, n)
            shift = value
            total = 0.0
            for j in range(i - n + 1, i + 1):
                if not math.isnan(x[j]):
                    total += x[j] - shift
        out[i] = np.nan if nans > 0 else shift + total / n


@nb.njit(cache=True, nogil=True)
def _ema_1d(x: FloatArray, n: int, alpha: float, out: FloatArray) -> None:
    """EMA seeded with the mean of the first n valid values (at their last index)."""
    m = x.size
    out[:] = np.nan
    first = _first_valid(x)
    if first + n > m:
        return
    seed = 0.0
    for j in range(first, first + n):
        seed += x[j]
    value = seed / n
    out[first + n - 1] = value
    for i in range(first + n, m):
        value = value + alpha * (x[i] - value)
        out[i] = value


@nb.njit(cache=True, nogil=True)
def _rsi_1d(x: FloatArray, n: int, out: FloatArray) -> None:
    """Wilder RSI: first value at index first+n, 100 * avg_gain / (avg_gain + avg_loss)."""
    m = x.size
    out[:] = np.nan
    first = _first_valid(x)
    if first + n >= m:
        return
    gain = 0.0
    loss = 0.0
    for j in range(first + 1, first + n + 1):
        change = x[j] - x[j - 1]
        if change > 0:
            gain += change
        else:
            loss -= change
    gain /= n
    loss /= n
    i = first + n
    out[i] = 100.0 * gain / (gain + loss) if gain + loss != 0.0 else 0.0
    for i in range(first + n + 1, m):
        change = x[i] - x[i - 1]
        up = change if change > 0 else 0.0
        down = -change if change < 0 else 0.0
        if math.isnan(change):
            up = np.nan
            down = np.nan
        gain = (gain * (n - 1) + up) / n
        loss = (loss * (n - 1) + down) / n
        out[i] = 100.0 * gain / (gain + loss) if gain + loss != 0.0 else 0.0
        if math.isnan(gain):
            out[i] = np.nan


@nb.njit(cache=True, nogil=True)
def _atr_1d(high: FloatArray, low: FloatArray, close: FloatArray, n: int, out: FloatArray) -> None:
    """Wilder ATR of the true range; TR starts at bar 1, first ATR at index n."""
    m = close.size
    out[:] = np.nan
    if n >= m:
        return
    total = 0.0
    for i in range(1, n + 1):
        total += max(high[i] - low[i], abs(high[i] - close[i - 1]), abs(low[i] - close[i - 1]))
    value = total / n
    out[n] = value
    for i in range(n + 1, m):
        tr = max(high[i] - low[i], abs(high[i] - close[i - 1]), abs(low[i] - close[i - 1]))
        value = (value * (n - 1) + tr) / n
        out[i] = value


@nb.njit(cache=True, nogil=True)
def _rolling_extreme_1d(x: FloatArray, n: int, sign: float, out: FloatArray) -> None:
    """Rolling max (sign=+1) or min (sign=-1) over n values with a monotonic deque."""
    m = x.size
    queue = np.empty(m, dtype=np.int64)
    head = 0
    tail = 0
    nans = 0
    for i in range(m):
        value = x[i]
        if math.isnan(value):
            nans += 1
        else:
            while tail > head and sign * x[queue[tail - 1]] <= sign * value:
                tail -= 1
            queue[tail] = i
            tail += 1
        if i >= n and math.isnan(x[i - n]):
            nans -= 1
        while tail > head and queue[head] <= i - n:
            head += 1
        if i < n - 1 or nans > 0 or tail == head:
            out[i] = np.nan
        else:
            out[i] = x[queue[head]]


def sma(x: ArrayLike, n: int) -> FloatArray:
    """Simple moving average of the last ``n`` values; NaN for the first n-1 bars."""
    _check_window("sma", n)
    (mean,) = _columnwise(_rolling_mean_1d, 1, [_as_float(x)], int(n))
    return mean


def rolling_std(x: ArrayLike, n: int, ddof: int = 1) -> FloatArray:
    """Rolling standard deviation of the last ``n`` values (``ddof=1``: sample, as pandas)."""
    _check_window("rolling_std", n)
    _, std = _columnwise(_rolling_moments_1d, 2, [_as_float(x)], int(n), int(ddof))
    return std


def ema(x: ArrayLike, n: int) -> FloatArray:
    """Exponential moving average, alpha = 2/(n+1), SMA-seeded at index n-1 (TA-Lib)."""
    _check_window("ema", n)
    (out,) = _columnwise(_ema_1d, 1, [_as_float(x)], int(n), 2.0 / (n + 1.0))
    return out


def rsi(x: ArrayLike, n: int = 14) -> FloatArray:
    """Wilder's RSI in [0, 100]; first value at index n (TA-Lib)."""
    _check_window("rsi", n)
    (out,) = _columnwise(_rsi_1d, 1, [_as_float(x)], int(n))
    return out


def atr(high: ArrayLike, low: ArrayLike, close: ArrayLike, n: int = 14) -> FloatArray:
    """Average true range, Wilder-smoothed; first value at index n (TA-Lib)."""
    _check_window("atr", n)
    inputs = [_as_float(high), _as_float(low), _as_float(close)]
    (out,) = _columnwise(_atr_1d, 1, inputs, int(n))
    return out


class BollingerBands(NamedTuple):
    """Middle band (SMA) and the bands k population standard deviations away."""

    middle: FloatArray
    upper: FloatArray
    lower: FloatArray


def bollinger(x: ArrayLike, n: int = 20, k: float = 2.0, ddof: int = 0) -> BollingerBands:
    """Bollinger Bands: SMA(n) +/- k * std(n) with population std (ddof=0) by default."""
    _check_window("bollinger", n)
    mean, std = _columnwise(_rolling_moments_1d, 2, [_as_float(x)], int(n), int(ddof))
    return BollingerBands(mean, mean + k * std, mean - k * std)


def rolling_max(x: ArrayLike, n: int) -> FloatArray:
    """Highest value of the last ``n`` (current included)."""
    _check_window("rolling_max", n)
    (out,) = _columnwise(_rolling_extreme_1d, 1, [_as_float(x)], int(n), 1.0)
    return out


def rolling_min(x: ArrayLike, n: int) -> FloatArray:
    """Lowest value of the last ``n`` (current included)."""
    _check_window("rolling_min", n)
    (out,) = _columnwise(_rolling_extreme_1d, 1, [_as_float(x)], int(n), -1.0)
    return out


class DonchianChannel(NamedTuple):
    """Highest high, lowest low and their midpoint over the window."""

    upper: FloatArray
    lower: FloatArray
    middle: FloatArray


def donchian(high: ArrayLike, low: ArrayLike, n: int = 20) -> DonchianChannel:
    """Donchian channel of the last ``n`` bars, the current one included."""
    upper = rolling_max(high, n)
    lower = rolling_min(low, n)
    return DonchianChannel(upper, lower, (upper + lower) / 2.0)


def shift(x: ArrayLike, k: int = 1) -> FloatArray:
    """``x`` delayed by ``k >= 0`` bars (NaN-filled at the start). Negative k would look ahead."""
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 0:
        raise ValueError(
            f"shift: k must be an integer >= 0 (a negative shift looks ahead), got {k!r}"
        )
    array = _as_float(x)
    out = np.full_like(array, np.nan)
    if k == 0:
        out[...] = array
    elif k < array.shape[0]:
        out[k:] = array[:-k]
    return out


def crossed_above(a: ArrayLike, b: ArrayLike) -> NDArray[np.bool_]:
    """True at bar t when a[t] > b[t] and a[t-1] <= b[t-1] (NaN on either bar gives False)."""
    a_now, b_now = _as_float(a), _as_float(b)
    out = np.zeros(np.broadcast_shapes(a_now.shape, b_now.shape), dtype=np.bool_)
    with np.errstate(invalid="ignore"):
        out[1:] = (a_now[1:] > b_now[1:]) & (a_now[:-1] <= b_now[:-1])
    return out


def crossed_below(a: ArrayLike, b: ArrayLike) -> NDArray[np.bool_]:
    """True at bar t when a[t] < b[t] and a[t-1] >= b[t-1] (NaN on either bar gives False)."""
    a_now, b_now = _as_float(a), _as_float(b)
    out = np.zeros(np.broadcast_shapes(a_now.shape, b_now.shape), dtype=np.bool_)
    with np.errstate(invalid="ignore"):
        out[1:] = (a_now[1:] < b_now[1:]) & (a_now[:-1] >= b_now[:-1])
    return out


def simple_returns(close: ArrayLike) -> FloatArray:
    """close[t] / close[t-1] - 1, NaN at bar 0."""
    array = _as_float(close)
    out = np.full_like(array, np.nan)
    out[1:] = array[1:] / array[:-1] - 1.0
    return out


def realized_volatility(close: ArrayLike, n: int, periods_per_year: float) -> FloatArray:
    """Annualised rolling volatility of simple returns over ``n`` bars (ddof=1).

    At bar t it uses returns up to close[t] only; sizing by volatility target divides by it.
    """
    _check_window("realized_volatility", n, minimum=2)
    return rolling_std(simple_returns(close), n, ddof=1) * math.sqrt(periods_per_year)
