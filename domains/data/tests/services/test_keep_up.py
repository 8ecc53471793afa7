"""Keep-up: new closed candles since a series' last one, ``CandleClosed`` for each new one."""

from collections.abc import Callable, Iterator
from uuid import uuid4

import numpy as np
import pytest

from domains.data.events import CandleClosed
from domains.data.models import Series
from domains.data.services.ingestion import keep_up_all, series_keep_up
from domains.data.services.store import candles_upsert
from domains.data.tests.factories import series_key
from domains.data.tests.fakes import ETH_USDT_1M, RecordedExchange
from dsta.kernel.bus import subscribe, unsubscribe
from dsta.kernel.market import SeriesKey

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("inprocess_bus")]

MINUTE = 60_000
Install = Callable[..., RecordedExchange]


@pytest.fixture
def closed_events() -> Iterator[list[CandleClosed]]:
    seen: list[CandleClosed] = []
    name = f"test.closed.{uuid4().hex}"
    subscribe(CandleClosed, seen.append, subscriber=name)
    yield seen
    unsubscribe(CandleClosed, subscriber=name)


def store_head(series: SeriesKey, rows: np.ndarray) -> None:
    candles_upsert(
        series=series,
        frame={
            "open_time": rows[:, 0].astype(np.int64),
            "open": rows[:, 1],
            "high": rows[:, 2],
            "low": rows[:, 3],
            "close": rows[:, 4],
            "volume": rows[:, 5],
        },
    )


def test_keep_up_stores_the_new_closed_candles_and_publishes_each_once(
    recorded_exchange: Install, closed_events: list[CandleClosed]
) -> None:
    fake = recorded_exchange(ETH_USDT_1M)
    series = series_key("1m")
    store_head(series, fake.rows[:100])
    # Half-way through bar 200: bars up to 199 have closed, 200 is in progress.
    now = int(fake.times[200]) + 30_000

    report = series_keep_up(series=series, now_ms=now)

    assert fake.calls == [int(fake.times[100])]
    assert (report.fetched, report.inserted, report.published) == (100, 100, 100)
    ours = [event for event in closed_events if event.symbol == series.symbol]
    assert [event.open_time_ms for event in ours] == [int(t) for t in fake.times[100:200]]
    assert ours[0].close == fake.rows[100, 4]
    assert ours[0].volume == fake.rows[100, 5]
    assert not ours[0].synthetic
    assert Series.objects.get(**series.as_dict()).last_open_time == int(fake.times[199])

    again = series_keep_up(series=series, now_ms=now)
    assert (again.inserted, again.published) == (0, 0)
    assert len([e for e in closed_events if e.symbol == series.symbol]) == 100


def test_keep_up_all_visits_only_kept_up_series_whose_next_bar_has_closed(
    recorded_exchange: Install, closed_events: list[CandleClosed]
) -> None:
    fake = recorded_exchange(ETH_USDT_1M)
    kept, ignored, fresh = series_key("1m"), series_key("1m"), series_key("1h")
    for series in (kept, ignored):
        store_head(series, fake.rows[:10])
    Series.objects.filter(**kept.as_dict()).update(keep_up=True)
    # An hourly series whose last bar closed 30 minutes ago: no new bar can have closed yet.
    store_head(fresh, fake.rows[:1])
    Series.objects.filter(**fresh.as_dict()).update(keep_up=True)
    now = int(fake.times[20]) + 30 * MINUTE

    report = keep_up_all(now_ms=now)

    assert report.errors == []
    assert report.skipped >= 1
    assert Series.objects.get(**kept.as_dict()).candle_count == 50
    assert Series.objects.get(**ignored.as_dict()).candle_count == 10
    assert Series.objects.get(**fresh.as_dict()).candle_count == 1
    assert {e.symbol for e in closed_events} >= {kept.symbol}
    assert ignored.symbol not in {e.symbol for e in closed_events}
