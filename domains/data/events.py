"""Events the data domain publishes: closed candles (durable), the in-progress candle and
order-book snapshots (transient).

Pure contracts: pydantic payloads, no Django. No ``from __future__ import annotations``: the
bus reads these annotations at runtime. Candle values are floats (measurements); times are the
bar's open time in UTC, given both as a datetime and as the milliseconds the store keys on.
"""

from datetime import datetime
from decimal import Decimal
from typing import ClassVar

from pydantic import Field

from dsta.kernel.bus import Event


class _CandleEvent(Event):
    """The series key and OHLCV of one bar (an abstract base: no name of its own)."""

    venue: str = Field(description="ccxt exchange id (binance, gateio, htx) or 'demo'.")
    market_type: str = Field(description="spot, swap or future.")
    symbol: str = Field(description="ccxt unified symbol, e.g. 'BTC/USDT' or 'BTC/USDT:USDT'.")
    price_type: str = Field(description="trades, mark, index or funding_rate.")
    timeframe: str = Field(description="Bar duration, e.g. '1m', '1h'.")
    open_time: datetime = Field(description="Bar open time (UTC).")
    open_time_ms: int = Field(description="Bar open time in UTC milliseconds (the store's key).")
    open: float = Field(description="First price of the bar.")
    high: float = Field(description="Highest price of the bar.")
    low: float = Field(description="Lowest price of the bar.")
    close: float = Field(description="Last price of the bar.")
    volume: float | None = Field(
        default=None, description="Traded volume in the base currency; none when unknown."
    )


class CandleClosed(_CandleEvent):
    """A closed bar was stored for the first time (keep-up ingestion or the live builder).

    One event per bar, in open-time order per series. Backfills of history do not publish
    (they are not news); gap fills do not either. Deduplicate by (series, ``open_time_ms``).
    """

    name: ClassVar[str] = "dsta.data.candle.closed.v1"
    minor: ClassVar[int] = 0

    synthetic: bool = Field(default=False, description="True for a made-up (demo) series.")


class CandleUpdated(_CandleEvent):
    """The in-progress bar of a series changed (transient, at most once; may skip updates).

    Built from the exchange's live ticker prices: ``volume`` is none unless a trade feed
    supplied amounts, and high/low are those of the prices seen, not the venue's.
    """

    name: ClassVar[str] = "dsta.data.candle.updated.v1"
    minor: ClassVar[int] = 0
    durable: ClassVar[bool] = False

    closes_at: datetime = Field(description="When the bar closes (open time + timeframe, UTC).")


class OrderBookSnapshot(Event):
    """An L2 order-book snapshot the data domain read from the exchange (transient).

    Levels are ``[price, amount]``, bids best (highest) first, asks best (lowest) first.
    """

    name: ClassVar[str] = "dsta.data.orderbook.captured.v1"
    minor: ClassVar[int] = 0
    durable: ClassVar[bool] = False

    venue: str = Field(description="ccxt exchange id or 'paper'.")
    symbol: str = Field(description="ccxt unified symbol.")
    timestamp: datetime = Field(description="When the venue took the snapshot (UTC).")
    bids: list[tuple[Decimal, Decimal]] = Field(description="[price, amount], best first.")
    asks: list[tuple[Decimal, Decimal]] = Field(description="[price, amount], best first.")
    sequence: int | None = Field(default=None, description="The venue's update id, if any.")
