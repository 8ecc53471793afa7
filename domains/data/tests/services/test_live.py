"""Live bars: the pure builder, and LiveCandles storing trade-fed bars / deferring ticker-fed
ones to the venue's own closed candle."""

from collections.abc import Iterator
from uuid import uuid4

import pytest

from domains.data.events import CandleClosed, CandleUpdated
from domains.data.models import Series
from domains.data.selectors import candles_arrays
from domains.data.services.live import CandleBuilder, LiveCandles
from domains.data.tests.factories import T0, series_key
from dsta.kernel.bus import subscribe, unsubscribe
from dsta.kernel.market import SeriesKey

pytestmark = pytest.mark.usefixtures("inprocess_bus")
MINUTE = 60_000


def test_the_builder_rolls_bars_on_the_utc_grid() -> None:
    builder = CandleBuilder(series_key("1m"))
    first = builder.feed(price=100.0, ts_ms=T0 + 10_000, amount=1.0)
    assert first.closed is None
    assert first.current is not None
    assert first.current.partial
    builder.feed(price=101.0, ts_ms=T0 + 20_000, amount=2.0)
    step = builder.feed(price=102.0, ts_ms=T0 + MINUTE + 1, amount=0.5)
    assert step.closed is not None
    closed = step.closed
    assert (closed.open_time, closed.open, closed.high, closed.low, closed.close) == (
        T0,
        100.0,
        101.0,
        100.0,
        101.0,
    )
    assert (closed.volume, closed.ticks, closed.partial) == (3.0, 2, True)
    bar = step.current
    assert bar is not None
    assert (bar.open_time, bar.partial) == (T0 + MINUTE, False)
    # A late tick of the finished bar and a nonsense price change nothing.
    assert builder.feed(price=50.0, ts_ms=T0 + 59_000).current == bar
    assert builder.feed(price=float("nan"), ts_ms=T0 + MINUTE + 2).current == bar
    # One tick without an amount makes the bar's volume unknown, not a wrong sum.
    builder.feed(price=99.0, ts_ms=T0 + MINUTE + 3)
    assert builder.bar is not None
    assert builder.bar.volume is None
    assert (builder.bar.low, builder.bar.close) == (99.0, 99.0)


@pytest.fixture
def candle_events() -> Iterator[list[object]]:
    seen: list[object] = []
    name = f"test.live.{uuid4().hex}"
    subscribe(CandleClosed, seen.append, subscriber=name + ".closed")
    subscribe(CandleUpdated, seen.append, subscriber=name + ".updated")
    yield seen
    unsubscribe(CandleClosed, subscriber=name + ".closed")
    unsubscribe(CandleUpdated, subscriber=name + ".updated")


@pytest.mark.django_db(transaction=True)
def test_trade_fed_bars_are_stored_and_announced_but_not_the_partial_first_one(
    candle_events: list[object],
) -> None:
    series = series_key("1m")
    deferred: list[SeriesKey] = []
    live = LiveCandles(on_price_only_close=deferred.append, series_source=lambda: [series])

    def tick(price: float, ts: int) -> int:
        return live.on_price(
            venue=series.venue, symbol=series.symbol, price=price, ts_ms=ts, amount=1.0
        )

    tick(100.0, T0 + 30_000)  # the builder starts mid-bar: that bar is partial
    assert tick(101.0, T0 + MINUTE) == 1  # closes the partial bar: not stored
    tick(103.0, T0 + MINUTE + 10_000)
    tick(100.5, T0 + MINUTE + 20_000)
    assert tick(102.0, T0 + 2 * MINUTE) == 1  # closes a whole bar

    arrays = candles_arrays(series=series)
    assert arrays["open_time"].tolist() == [T0 + MINUTE]
    assert [arrays[n][0] for n in ("open", "high", "low", "close", "volume")] == [
        101.0,
        103.0,
        100.5,
        100.5,
        3.0,
    ]
    closed = [e for e in candle_events if isinstance(e, CandleClosed)]
    assert [(e.symbol, e.open_time_ms) for e in closed] == [(series.symbol, T0 + MINUTE)]
    updates = [e for e in candle_events if isinstance(e, CandleUpdated)]
    assert len(updates) == 5
    assert updates[-1].open_time_ms == T0 + 2 * MINUTE
    assert updates[-1].closes_at.timestamp() * 1000 == T0 + 3 * MINUTE
    assert deferred == []


@pytest.mark.django_db
def test_ticker_fed_bars_are_never_stored_the_venue_candle_is_fetched_instead(
    candle_events: list[object],
) -> None:
    series = series_key("1m")
    other = series_key("1m")
    deferred: list[SeriesKey] = []
    live = LiveCandles(on_price_only_close=deferred.append, series_source=lambda: [series, other])

    for i, price in enumerate((100.0, 100.2, 100.1, 100.4)):
        live.on_price(venue=series.venue, symbol=series.symbol, price=price, ts_ms=T0 + i * 25_000)
    live.on_price(venue=series.venue, symbol=series.symbol, price=100.3, ts_ms=T0 + 2 * MINUTE)

    assert deferred == [series, series]
    assert not Series.objects.filter(symbol=series.symbol).exists()
    updates = [e for e in candle_events if isinstance(e, CandleUpdated)]
    assert {e.symbol for e in updates} == {series.symbol}
    assert updates[2].high == 100.2
    assert updates[2].volume is None
