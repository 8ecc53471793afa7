"""Candle factories: random but valid OHLCV series and unique series keys."""

import uuid

import numpy as np
import pandas as pd

from dsta.kernel.market import SeriesKey

# 2024-01-01T00:00:00Z: a Monday, so weekly buckets start cleanly in examples.
T0 = 1_704_067_200_000


def series_key(
    timeframe: str = "1m",
    *,
    market_type: str = "spot",
    price_type: str = "trades",
    venue: str = "binance",
) -> SeriesKey:
    """A key no other test uses (a random base currency), so examples never share rows."""
    base = "T" + uuid.uuid4().hex[:10].upper()
    symbol = f"{base}/USDT" if market_type == "spot" else f"{base}/USDT:USDT"
    return SeriesKey.of(venue, market_type, symbol, price_type, timeframe)


def candles(
    rows: int,
    *,
    step_ms: int = 60_000,
    start_ms: int = T0,
    seed: int = 0,
    with_volume: bool = True,
) -> pd.DataFrame:
    """A random-walk OHLCV frame with an ``open_time`` column (UTC ms), every rule satisfied."""
    rng = np.random.default_rng(seed)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0, 0.001, rows)))
    open_ = np.r_[100.0, close[:-1]][:rows]
    wiggle = np.abs(rng.normal(0, 0.0005, (2, rows)))
    frame = pd.DataFrame(
        {
            "open_time": start_ms + step_ms * np.arange(rows, dtype=np.int64),
            "open": open_,
            "high": np.maximum(open_, close) * (1 + wiggle[0]),
            "low": np.minimum(open_, close) * (1 - wiggle[1]),
            "close": close,
        }
    )
    if with_volume:
        frame["volume"] = rng.uniform(0, 10, rows).round(6)
        frame["quote_volume"] = frame["volume"] * frame["close"]
        frame["trades"] = rng.integers(0, 500, rows).astype(float)
    return frame
