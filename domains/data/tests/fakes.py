"""A boundary fake of the exchange domain's door: an ``ExchangeApi`` serving recorded candles.

Registered with the rpc registry in place of the exchange gateway (the venues cannot be
reached from here), it answers ``ohlcv`` the way Binance's kline endpoint does: the first
``limit`` candles with an open time at or after ``since``, oldest first, skipping the hours a
real file has no bars for. Candles come from the real files in ``../shared/data``.
"""

import json
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from threading import Lock
from typing import Any

import numpy as np

from domains.exchange.api import (
    BookLevel,
    Candle,
    MarketInfo,
    OrderBook,
    Ticker,
    UnknownVenue,
)

# (file under shared/data/candles, timeframe)
ETH_USDT_1M = "live_trading_indicators/ETHUSDT-1m-2022-08-14.csv.norm.csv"  # 1440 bars, no gaps
ETH_BTC_1M = "freqtrade/legacy_eca8ddabe_parent/ETH_BTC-1m.json"  # 14397 bars, 1 real gap
UNITTEST_1M = "freqtrade/UNITTEST_BTC-1m.json"  # 13681 bars, 538 real gaps (717 bars)


def load_candles(shared_data: Path, name: str) -> np.ndarray:
    """Rows ``[open_time_ms, open, high, low, close, volume]`` of a recorded file."""
    path = shared_data / "candles" / name
    if path.suffix == ".json":
        rows = np.array(json.loads(path.read_text()), dtype=np.float64)
    else:
        rows = np.loadtxt(path, delimiter=",", skiprows=1, dtype=np.float64)
    return rows[np.argsort(rows[:, 0], kind="stable")]


def level(price: str, amount: str) -> BookLevel:
    return BookLevel(Decimal(price), Decimal(amount))


def _moment(ts_ms: int) -> datetime:
    return datetime.fromtimestamp(ts_ms / 1000, tz=UTC)


class RecordedExchange:
    """``ExchangeApi`` over recorded candles. ``calls`` lists each ohlcv ``since`` (ms).

    ``before_page(n)`` runs before the n-th ohlcv answer (1-based): tests use it to fail a page
    (a venue error, a crash) or to cancel the job mid-way.
    """

    def __init__(
        self, rows: np.ndarray, *, venue_page_size: int | None = None, fallback: Any = None
    ) -> None:
        self.fallback = fallback
        self.rows = rows
        self.times = rows[:, 0].astype(np.int64)
        self.venue_page_size = venue_page_size
        self.calls: list[int] = []
        self.before_page: Callable[[int], None] | None = None
        self.book_requests: list[tuple[str, str, int | None]] = []
        self._lock = Lock()

    def ohlcv(
        self,
        *,
        venue: str,
        symbol: str,
        timeframe: str,
        since: datetime | None = None,
        limit: int | None = None,
    ) -> list[Candle]:
        since_ms = 0 if since is None else int(since.timestamp() * 1000)
        with self._lock:
            self.calls.append(since_ms)
            page = len(self.calls)
        if self.before_page is not None:
            self.before_page(page)
        size = limit or 500
        if self.venue_page_size is not None:
            size = min(size, self.venue_page_size)
        first = int(np.searchsorted(self.times, since_ms, side="left"))
        return [
            Candle(
                open_time=_moment(int(row[0])),
                open=float(row[1]),
                high=float(row[2]),
                low=float(row[3]),
                close=float(row[4]),
                volume=float(row[5]),
            )
            for row in self.rows[first : first + size]
        ]

    def markets(self, *, venue: str) -> list[MarketInfo]:
        return []

    def ticker(self, *, venue: str, symbol: str) -> Ticker:
        return Ticker(venue=venue, symbol=symbol, timestamp=datetime.now(UTC))

    def order_book(self, *, venue: str, symbol: str, depth: int | None = None) -> OrderBook:
        if venue != "binance":
            raise UnknownVenue(f"unknown venue {venue!r}", details={"venue": venue})
        self.book_requests.append((venue, symbol, depth))
        bids = (
            BookLevel(Decimal("100.5"), Decimal("2")),
            BookLevel(Decimal("100.4"), Decimal("1")),
        )
        asks = (
            BookLevel(Decimal("100.6"), Decimal("3")),
            BookLevel(Decimal("100.7"), Decimal("4")),
        )
        return OrderBook(
            venue=venue,
            symbol=symbol,
            timestamp=datetime(2024, 1, 1, tzinfo=UTC),
            bids=bids[:depth] if depth else bids,
            asks=asks[:depth] if depth else asks,
            sequence=42,
        )

    def __getattr__(self, name: str) -> Any:
        # Everything but market data (accounts, orders, venue status...) is the real gateway's
        # answer: this fake stands in for the venues' candles and books only.
        if name.startswith("_") or self.fallback is None:
            raise AttributeError(name)
        return getattr(self.fallback, name)
