"""Real candles from ../shared/data as Bars, and tiny hand-made bars for hand-checked cases."""

from pathlib import Path

import numpy as np

from dsta.quant import Bars

# Gap-free files (SOURCES.md): two Binance spot pairs on one 5m time axis, and a 1m day.
ETH_BTC_5M = "candles/freqtrade/ETH_BTC-5m.feather.norm.csv"
LTC_BTC_5M = "candles/freqtrade/LTC_BTC-5m.feather.norm.csv"
BTCUSDT_1M = "candles/live_trading_indicators/BTCUSDT-1m-2022-09-05.csv.norm.csv"


def read_candles(shared_data: Path, relative: str) -> np.ndarray:
    """(rows, 6) float array: timestamp_ms, open, high, low, close, volume."""
    return np.loadtxt(shared_data / relative, delimiter=",", skiprows=1)


def load_bars(shared_data: Path, relative: str, symbol: str, timeframe: str) -> Bars:
    """One file as single-symbol Bars."""
    rows = read_candles(shared_data, relative)
    return Bars.from_arrays(
        rows[:, 0].astype(np.int64), rows[:, 1], rows[:, 2], rows[:, 3], rows[:, 4], rows[:, 5],
        symbols=(symbol,), timeframe=timeframe,
    )  # fmt: skip


def load_pair(shared_data: Path) -> Bars:
    """ETH/BTC and LTC/BTC 5m on their shared time axis (both files are gap-free and aligned)."""
    eth = read_candles(shared_data, ETH_BTC_5M)
    ltc = read_candles(shared_data, LTC_BTC_5M)
    assert np.array_equal(eth[:, 0], ltc[:, 0])
    return Bars.from_arrays(
        eth[:, 0].astype(np.int64),
        *(np.column_stack([eth[:, j], ltc[:, j]]) for j in range(1, 6)),
        symbols=("ETH/BTC", "LTC/BTC"),
        timeframe="5m",
    )


def make_bars(
    open_: list[float],
    high: list[float] | None = None,
    low: list[float] | None = None,
    close: list[float] | None = None,
    volume: list[float] | None = None,
) -> Bars:
    """Hand-made 1-symbol 1m bars; missing high/low default to max/min of open and close."""
    o = np.asarray(open_, dtype=float)
    c = np.asarray(close if close is not None else open_, dtype=float)
    h = np.asarray(high, dtype=float) if high is not None else np.maximum(o, c)
    lo = np.asarray(low, dtype=float) if low is not None else np.minimum(o, c)
    v = np.asarray(volume, dtype=float) if volume is not None else np.full(o.size, 1_000.0)
    stamps = 1_600_000_000_000 + 60_000 * np.arange(o.size, dtype=np.int64)
    return Bars.from_arrays(stamps, o, h, lo, c, v, symbols=("TEST/USDT",), timeframe="1m")


def random_walk(n: int, seed: int, symbols: int = 1) -> Bars:
    """A geometric random walk with consistent OHLC, for properties that need many bars."""
    rng = np.random.default_rng(seed)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0, 0.01, (n, symbols)), axis=0))
    open_ = np.vstack([np.full((1, symbols), 100.0), close[:-1]])
    high = np.maximum(open_, close) * (1 + rng.uniform(0, 0.005, (n, symbols)))
    low = np.minimum(open_, close) * (1 - rng.uniform(0, 0.005, (n, symbols)))
    volume = rng.uniform(10, 1_000, (n, symbols))
    names = tuple(f"S{j}/USDT" for j in range(symbols))
    stamps = 1_600_000_000_000 + 60_000 * np.arange(n, dtype=np.int64)
    return Bars.from_arrays(stamps, open_, high, low, close, volume, symbols=names, timeframe="1m")


# The strategies dsta.quant ships. Tests name them rather than asking the registry, which
# also holds strategies other test suites register in the same process.
CLASSIC_STRATEGIES = (
    "bollinger_breakout",
    "buy_and_hold",
    "donchian_breakout",
    "ema_crossover",
    "rsi_mean_reversion",
    "sma_crossover",
)
