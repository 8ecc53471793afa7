"""``WS /api/v1/exchange/{venue}/stream`` on the real route table: a user's own order updates
and fills (durable events, after commit) and the tickers/books of subscribed symbols
(transient events), through channels' in-memory layer."""

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import AnonymousUser

from domains.exchange.api import OrderRequest
from domains.exchange.services.accounts import paper_account_open
from domains.exchange.services.paper.service import PaperExchange
from domains.exchange.tests.factories import book
from dsta.routing import websocket_urlpatterns

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def in_memory_layer(settings: Any) -> None:
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}


def run(scenario: Callable[[], Awaitable[None]]) -> None:
    async_to_sync(scenario)()


def stream_of(user: Any, venue: str = "paper") -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(
        URLRouter(websocket_urlpatterns), f"/api/v1/exchange/{venue}/stream"
    )
    communicator.scope["user"] = user
    return communicator


def funded_account(user: Any) -> Any:
    return paper_account_open(
        owner_id=user.pk, name="ws", balances={"USDT": Decimal(10_000), "BTC": Decimal(1)}
    ).id


def feed(bid: str, ask: str) -> None:
    PaperExchange().feed_book(book=book(bids=[(bid, "1")], asks=[(ask, "1")], at=datetime.now(UTC)))


def buy(account_id: Any, price: str) -> Any:
    return PaperExchange().place_order(
        account_id=account_id,
        request=OrderRequest(
            symbol="BTC/USDT",
            side="buy",  # type: ignore[arg-type]
            type="limit",  # type: ignore[arg-type]
            amount=Decimal("0.01"),
            price=Decimal(price),
        ),
    )


async def frames_until(communicator: WebsocketCommunicator, kind: str) -> list[dict[str, Any]]:
    """Every frame up to and including the first of type ``kind``."""
    seen = []
    while True:
        frame = await communicator.receive_json_from(timeout=2)
        seen.append(frame)
        if frame["type"] == kind:
            return seen


def test_the_stream_pushes_the_users_orders_fills_and_subscribed_market_data(
    make_user: Callable[..., Any],
):
    owner, other = make_user("trader"), make_user("trader")
    account = funded_account(owner)
    other_account = funded_account(other)
    feed("59990.00", "60010.00")

    async def scenario() -> None:
        mine, theirs = stream_of(owner), stream_of(other)
        assert (await mine.connect())[0]
        assert (await theirs.connect())[0]
        await mine.send_json_to({"action": "subscribe", "symbols": ["BTC-USDT"]})
        assert await mine.receive_json_from() == {
            "type": "subscribed",
            "symbols": ["BTC/USDT"],
            "channels": ["orderbook", "ticker", "trades"],
        }

        await database_sync_to_async(feed)("59995.00", "60005.00")
        pushed = await frames_until(mine, "ticker")
        books = [f for f in pushed if f["type"] == "orderbook"]
        assert books[0]["book"]["bids"] == [["59995.00", "1"]]
        assert pushed[-1]["ticker"]["bid"] == "59995.00"

        placed = await database_sync_to_async(buy)(account, "60005.00")  # crosses: fills
        order_frames = await frames_until(mine, "fill")
        if not any(f["type"] == "trade" for f in order_frames):
            order_frames += await frames_until(mine, "trade")
        updates = [f["order"] for f in order_frames if f["type"] == "order"]
        assert updates[-1]["client_order_id"] == placed.client_order_id
        fill = next(f["fill"] for f in order_frames if f["type"] == "fill")
        assert (fill["price"], fill["amount"]) == ("60005.00", "0.01")
        # The fill is also a print on the paper venue's public tape, the buyer the aggressor.
        trade = next(f["trade"] for f in order_frames if f["type"] == "trade")
        assert (trade["trade_id"], trade["price"], trade["amount"], trade["side"]) == (
            fill["fill_id"],
            "60005.00",
            "0.01",
            "buy",
        )

        # Then the book the fill left (the ask it took from is smaller) and its ticker: the
        # paper exchange publishes them after the fill's transaction.
        left = await frames_until(mine, "ticker")
        books = [f["book"] for f in order_frames + left if f["type"] == "orderbook"]
        assert books[-1]["asks"][0] == ["60005.00", "0.99"]

        # The other user saw nothing of it: no market subscription, not their order.
        assert await theirs.receive_nothing(timeout=0.1)
        await database_sync_to_async(buy)(other_account, "50000.00")
        theirs_frame = await theirs.receive_json_from(timeout=2)
        assert theirs_frame["order"]["account_id"] == str(other_account)
        assert await mine.receive_nothing(timeout=0.1)
        await mine.disconnect()
        await theirs.disconnect()

    run(scenario)


def test_unsubscribing_stops_market_data(make_user: Callable[..., Any]):
    user = make_user("viewer")
    feed("59990.00", "60010.00")

    async def scenario() -> None:
        stream = stream_of(user)
        assert (await stream.connect())[0]
        await stream.send_json_to(
            {"action": "subscribe", "symbols": ["BTC/USDT"], "channels": ["ticker"]}
        )
        await stream.receive_json_from()
        await database_sync_to_async(feed)("59991.00", "60009.00")
        assert (await stream.receive_json_from(timeout=2))["type"] == "ticker"  # no book
        await stream.send_json_to({"action": "unsubscribe", "symbols": ["BTC-USDT"]})
        assert (await stream.receive_json_from())["type"] == "unsubscribed"
        await database_sync_to_async(feed)("59992.00", "60008.00")
        assert await stream.receive_nothing(timeout=0.1)
        await stream.disconnect()

    run(scenario)


def test_a_trades_only_subscription_gets_the_tape_and_nothing_else(
    make_user: Callable[..., Any],
):
    watcher, trader = make_user("viewer"), make_user("trader")
    account = funded_account(trader)
    feed("59990.00", "60010.00")

    async def scenario() -> None:
        stream = stream_of(watcher)
        assert (await stream.connect())[0]
        await stream.send_json_to(
            {"action": "subscribe", "symbols": ["BTC-USDT"], "channels": ["trades"]}
        )
        assert (await stream.receive_json_from())["channels"] == ["trades"]
        await database_sync_to_async(feed)("59995.00", "60005.00")
        assert await stream.receive_nothing(timeout=0.1)  # no ticker, no book
        await database_sync_to_async(buy)(account, "60005.00")
        frame = await stream.receive_json_from(timeout=2)
        # Someone else's print, with no account or owner in it.
        assert frame["type"] == "trade"
        assert set(frame["trade"]) == {
            "venue",
            "symbol",
            "trade_id",
            "price",
            "amount",
            "side",
            "traded_at",
        }
        assert frame["trade"]["symbol"] == "BTC/USDT"
        await stream.disconnect()

    run(scenario)


def test_bad_frames_get_an_error_and_the_stream_stays_open(make_user: Callable[..., Any]):
    user = make_user("viewer")

    async def scenario() -> None:
        stream = stream_of(user)
        assert (await stream.connect())[0]
        for frame in (
            "not json",
            '{"action": "dance"}',
            '{"action": "subscribe", "symbols": "BTC-USDT"}',
            '{"action": "subscribe", "symbols": ["BTCUSDT"]}',
            '{"action": "subscribe", "symbols": ["BTC-USDT"], "channels": ["candles"]}',
        ):
            await stream.send_to(text_data=frame)
            reply = await stream.receive_json_from()
            assert reply["type"] == "error"
            assert reply["error"]["code"] == "invalid_input", frame
        await stream.send_json_to({"action": "subscribe", "symbols": ["ETH-USDT"]})
        assert (await stream.receive_json_from())["type"] == "subscribed"
        await stream.disconnect()

    run(scenario)


@pytest.mark.parametrize(
    ("venue", "signed_in", "code"), [("paper", False, 4401), ("kraken", True, 4404)]
)
def test_anonymous_users_and_unknown_venues_are_closed(
    venue: str, signed_in: bool, code: int, make_user: Callable[..., Any]
):
    user = make_user("viewer") if signed_in else AnonymousUser()

    async def scenario() -> None:
        stream = stream_of(user, venue)
        assert (await stream.connect())[0]
        assert (await stream.receive_output())["code"] == code
        await stream.disconnect()

    run(scenario)
