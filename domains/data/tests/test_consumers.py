"""``WS /api/v1/market-data/stream/{symbol}``: closed candles (from the durable CandleClosed
handler) and bars in progress (CandleUpdated) reach the subscribers of their series only."""

from collections.abc import Awaitable, Callable
from typing import Any
from uuid import uuid4

import numpy as np
import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import AnonymousUser
from django.db import transaction

from domains.data.consumers import market_type_of
from domains.data.services.candle_events import publish_closed, updated_event
from domains.data.services.columns import to_columns
from domains.data.services.ingestion import series_keep_up
from domains.data.services.store import candles_upsert
from domains.data.tests.factories import T0, series_key
from domains.data.tests.fakes import ETH_USDT_1M, RecordedExchange
from dsta.kernel.bus import publish
from dsta.kernel.market import SeriesKey
from dsta.routing import websocket_urlpatterns

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("inprocess_bus")]
ROUTES = URLRouter(websocket_urlpatterns)  # the routes as the composition root mounts them


@pytest.fixture(autouse=True)
def in_memory_layer(settings: Any) -> None:
    # One process, no Redis: subscribers and publishers share the in-memory layer.
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}


@pytest.fixture
def user(django_user_model: Any) -> Any:
    return django_user_model.objects.create_user(username=f"ws{uuid4().hex[:10]}")


def run(scenario: Callable[[], Awaitable[None]]) -> None:
    async_to_sync(scenario)()


def stream(user: Any, url: str) -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(ROUTES, url)
    communicator.scope["user"] = user
    return communicator


def path_of(series: SeriesKey) -> str:
    return (
        f"/api/v1/market-data/stream/{series.url_symbol}"
        f"?venue={series.venue}&timeframe={series.timeframe.code}"
    )


def test_anonymous_and_bad_requests_are_closed_with_a_reason(user: Any) -> None:
    async def scenario() -> None:
        anonymous = stream(AnonymousUser(), "/api/v1/market-data/stream/BTC-USDT?venue=binance")
        assert (await anonymous.connect())[0]
        assert (await anonymous.receive_output())["code"] == 4401
        bad = stream(user, "/api/v1/market-data/stream/BTC-USDT?venue=binance&timeframe=7m")
        await bad.connect()
        error = await bad.receive_json_from()
        assert error["error"]["code"] == "invalid_input"
        assert "unknown timeframe" in error["error"]["message"]
        assert (await bad.receive_output())["code"] == 4400
        no_venue = stream(user, "/api/v1/market-data/stream/BTC-USDT?timeframe=1m")
        await no_venue.connect()
        assert "venue" in (await no_venue.receive_json_from())["error"]["message"]

    run(scenario)


def test_closed_and_in_progress_candles_reach_their_series_subscribers(user: Any) -> None:
    series, other = series_key("1m"), series_key("1m")
    rows = {
        "open_time": np.array([T0]),
        "open": np.array([100.0]),
        "high": np.array([101.0]),
        "low": np.array([99.0]),
        "close": np.array([100.5]),
        "volume": np.array([7.0]),
    }

    def store_and_announce(key: SeriesKey) -> None:
        with transaction.atomic():
            candles_upsert(series=key, frame=rows)
            publish_closed(key, to_columns(rows))

    async def scenario() -> None:
        mine, theirs = stream(user, path_of(series)), stream(user, path_of(other))
        assert (await mine.connect())[0]
        assert (await theirs.connect())[0]
        assert (await mine.receive_json_from())["type"] == "subscribed"
        assert (await theirs.receive_json_from())["series"]["symbol"] == other.symbol

        await database_sync_to_async(store_and_announce)(series)
        closed = await mine.receive_json_from(timeout=5)
        assert closed == {
            "type": "candle",
            "closed": True,
            "series": {**series.as_dict(), "url_symbol": series.url_symbol},
            "candle": {
                "open_time": T0,
                "time": "2024-01-01T00:00:00Z",
                "open": 100.0,
                "high": 101.0,
                "low": 99.0,
                "close": 100.5,
                "volume": 7.0,
            },
            "synthetic": False,
        }
        event = updated_event(
            series,
            open_time_ms=T0 + 60_000,
            open_=100.5,
            high=100.9,
            low=100.4,
            close=100.8,
            volume=None,
        )
        await database_sync_to_async(publish)(event)
        progress = await mine.receive_json_from(timeout=5)
        assert (progress["closed"], progress["candle"]["close"]) == (False, 100.8)
        assert await theirs.receive_nothing(timeout=0.2)
        await mine.disconnect()
        await theirs.disconnect()

    run(scenario)


def test_keep_up_pushes_each_new_closed_candle(
    user: Any, recorded_exchange: Callable[..., RecordedExchange]
) -> None:
    fake = recorded_exchange(ETH_USDT_1M)
    series = series_key("1m")
    now = int(fake.times[3]) + 1  # bars 0, 1 and 2 have closed

    async def scenario() -> None:
        subscriber = stream(user, path_of(series))
        await subscriber.connect()
        await subscriber.receive_json_from()
        await database_sync_to_async(series_keep_up)(series=series, now_ms=now, page_limit=3)
        frames = [await subscriber.receive_json_from(timeout=5) for _ in range(3)]
        assert [f["candle"]["open_time"] for f in frames] == [int(t) for t in fake.times[:3]]
        assert all(f["closed"] for f in frames)
        await subscriber.disconnect()

    run(scenario)


def test_the_market_type_follows_the_symbol() -> None:
    assert market_type_of("BTC/USDT") == "spot"
    assert market_type_of("BTC/USDT:USDT") == "swap"
    assert market_type_of("BTC/USDT:USDT-240329") == "future"
