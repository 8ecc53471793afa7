"""Live candles: the in-progress bar of each kept-up series, built from a price feed.

:class:`CandleBuilder` is the pure part: fed ``(price, time[, amount])`` ticks, it keeps the bar
in progress and hands back the finished one when a tick opens the next bucket.
:class:`LiveCandles` runs one builder per kept-up series of a market, publishes
``CandleUpdated`` (transient) on every tick and deals with each bar that closes.

What a closed bar becomes depends on the feed, and we keep this honest:

* a **trade** feed (prices with amounts) sees every trade, so a bar it saw from its first
  moment is a true candle: it is stored and ``CandleClosed`` is published;
* a **ticker** feed (the exchange's ``TickerUpdated``: last prices, no amounts) samples prices,
  so its high/low are not the venue's and it has no volume. Such a bar is never stored; the
  series is handed to ``on_price_only_close`` instead, which fetches the venue's own closed
  candle (keep-up), and that stores it and publishes ``CandleClosed``;
* the first bar a builder sees started before it did, so it is never stored either.

The exchange domain publishes ``TickerUpdated`` only (no trade event yet), so in this code base
live bars come from tickers; the trade path is exercised by feeding the builder directly.
"""

import logging
import math
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

from django.db import transaction

from domains.data.models import Series
from domains.data.services.candle_events import publish_closed, updated_event
from domains.data.services.columns import CandleColumns, from_arrays
from domains.data.services.store import candles_upsert
from domains.data.services.venue_feed import wall_clock_ms
from dsta.kernel.bus import publish
from dsta.kernel.market import PriceType, SeriesKey

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class LiveBar:
    """A bar as a builder holds it. ``volume`` is None when any tick lacked an amount;
    ``partial`` is True when the builder started after the bar opened."""

    open_time: int
    open: float
    high: float
    low: float
    close: float
    volume: float | None
    ticks: int
    partial: bool

    def columns(self) -> CandleColumns:
        """The bar as one row of store columns."""
        volume = math.nan if self.volume is None else self.volume
        return from_arrays(
            [self.open_time],
            {
                "open": [self.open],
                "high": [self.high],
                "low": [self.low],
                "close": [self.close],
                "volume": [volume],
            },
        )


@dataclass(frozen=True)
class BuilderStep:
    """What one tick did: the bar in progress after it, and the bar it closed (if any)."""

    current: LiveBar | None
    closed: LiveBar | None


class CandleBuilder:
    """The bar in progress of one series, from ticks in time order.

    A tick older than the bar in progress belongs to a bar already handed back and is ignored;
    so are prices that are not positive finite numbers.
    """

    def __init__(self, series: SeriesKey) -> None:
        self.series = series
        self.bar: LiveBar | None = None
        self._started = False

    def feed(self, *, price: float, ts_ms: int, amount: float | None = None) -> BuilderStep:
        """Add one tick; returns the bar in progress and the one this tick closed."""
        if not (math.isfinite(price) and price > 0):
            return BuilderStep(current=self.bar, closed=None)
        bucket = self.series.timeframe.floor(ts_ms)
        bar = self.bar
        if bar is not None and bucket < bar.open_time:
            return BuilderStep(current=bar, closed=None)  # late tick of a finished bar
        closed = None
        if bar is not None and bucket > bar.open_time:
            closed, bar = bar, None
        if bar is None:
            # The builder's first bar opened before the builder saw anything: never whole.
            partial = not self._started
            bar = LiveBar(
                open_time=bucket,
                open=price,
                high=price,
                low=price,
                close=price,
                volume=amount,
                ticks=1,
                partial=partial,
            )
            self._started = True
        else:
            bar = replace(
                bar,
                high=max(bar.high, price),
                low=min(bar.low, price),
                close=price,
                volume=None if bar.volume is None or amount is None else bar.volume + amount,
                ticks=bar.ticks + 1,
            )
        self.bar = bar
        return BuilderStep(current=bar, closed=closed)


def kept_up_series() -> list[SeriesKey]:
    """Every series marked keep-up that a live feed can build (trade candles)."""
    rows = Series.objects.filter(keep_up=True, price_type=PriceType.TRADES.value)
    return [row.key for row in rows]


def store_traded_bar(series: SeriesKey, bar: LiveBar) -> bool:
    """Store a whole trade-fed bar and publish ``CandleClosed`` if it is new; True if stored."""
    now = max(wall_clock_ms(), bar.open_time + series.timeframe.ms)
    columns = bar.columns()
    with transaction.atomic():
        result = candles_upsert(series=series, frame=columns, source="live", now_ms=now)
        if result.inserted:
            synthetic = Series.objects.filter(**series.as_dict(), is_synthetic=True).exists()
            publish_closed(series, columns, synthetic=synthetic)
    return result.inserted > 0


class LiveCandles:
    """One :class:`CandleBuilder` per kept-up series, fed by a market's prices.

    ``series_source`` lists the series to build (re-read every ``refresh_seconds``, so marking a
    series keep-up takes effect without a restart). ``on_price_only_close`` gets the series of
    every bar a ticker feed closed (see the module docstring). Thread-safe: feeds may arrive on
    several transport threads.
    """

    def __init__(
        self,
        *,
        on_price_only_close: Callable[[SeriesKey], None],
        series_source: Callable[[], Iterable[SeriesKey]] = kept_up_series,
        refresh_seconds: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._on_price_only_close = on_price_only_close
        self._series_source = series_source
        self._refresh_seconds = refresh_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._builders: dict[SeriesKey, CandleBuilder] = {}
        self._by_market: dict[tuple[str, str], list[SeriesKey]] = {}
        self._loaded_at = -math.inf

    def _series_for(self, venue: str, symbol: str) -> list[SeriesKey]:
        now = self._clock()
        if now - self._loaded_at >= self._refresh_seconds:
            by_market: dict[tuple[str, str], list[SeriesKey]] = {}
            for series in self._series_source():
                by_market.setdefault((series.venue, series.symbol), []).append(series)
            self._by_market, self._loaded_at = by_market, now
        return self._by_market.get((venue, symbol), [])

    def on_price(
        self, *, venue: str, symbol: str, price: float, ts_ms: int, amount: float | None = None
    ) -> int:
        """Feed one tick to every builder of the market; the number of bars it closed."""
        closed_bars: list[tuple[SeriesKey, LiveBar]] = []
        updates = []
        with self._lock:
            for series in self._series_for(venue, symbol):
                builder = self._builders.setdefault(series, CandleBuilder(series))
                step = builder.feed(price=price, ts_ms=ts_ms, amount=amount)
                if step.closed is not None:
                    closed_bars.append((series, step.closed))
                if step.current is not None:
                    bar = step.current
                    updates.append(
                        updated_event(
                            series,
                            open_time_ms=bar.open_time,
                            open_=bar.open,
                            high=bar.high,
                            low=bar.low,
                            close=bar.close,
                            volume=bar.volume,
                        )
                    )
        # Outside the lock: storing and publishing may take a database round trip.
        for series, bar in closed_bars:
            self._closed(series, bar)
        for event in updates:
            publish(event)
        return len(closed_bars)

    def _closed(self, series: SeriesKey, bar: LiveBar) -> None:
        if bar.partial:
            logger.debug("live %s: first bar %d was partial, not stored", series, bar.open_time)
            if bar.volume is None:
                self._on_price_only_close(series)
            return
        if bar.volume is None:
            self._on_price_only_close(series)
            return
        store_traded_bar(series, bar)
