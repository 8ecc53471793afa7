"""Venue websockets against a local websocket server: dropped connections, stale streams,
malformed frames, sequence gaps (Binance's depth diff stream resynced from REST snapshots).

Frames are written from Binance's docs (no recorded frames exist here). Backoffs go through an
injected sleep that returns at once; only the heartbeat test waits (50 ms of idle timeout).
"""

import asyncio
import gzip
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from domains.exchange.adapters.binance_depth import DepthBook
from domains.exchange.adapters.ws_client import (
    NotConnected,
    ReconnectingStream,
    StreamGaveUp,
    StreamSettings,
    gzip_json,
    text_json,
)
from domains.exchange.api import BookLevel, OrderBook, VenueUnavailable
from domains.exchange.events import (
    OrderBookUpdated,
    TickerUpdated,
    TradeExecuted,
    VenueStatusChanged,
)
from domains.exchange.services.streams import BinanceMarketStream, binance_subscribe
from domains.exchange.tests.fake_stream import (
    HTX,
    FakeStreamServer,
    book_ticker,
    depth_event,
)
from domains.exchange.tests.resilience.conftest import BinanceRig
from dsta.kernel.bus import Event

FAST = StreamSettings(idle_timeout=5, open_timeout=2, base_delay=0.01, max_delay=0.05)


async def no_wait(seconds: float) -> None:
    await asyncio.sleep(0)


async def until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    """Let the loop run until ``condition`` holds (the stream works on real sockets)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached")
        await asyncio.sleep(0.002)


def snapshot_source(*update_ids: int) -> tuple[Callable[[], Awaitable[OrderBook]], list[int]]:
    """Snapshots with these lastUpdateIds in turn (the last repeats): 1.5 @ 100, 1 @ 101."""
    served: list[int] = []

    async def snapshot() -> OrderBook:
        update_id = update_ids[min(len(served), len(update_ids) - 1)]
        served.append(update_id)
        return OrderBook(
            venue="binance",
            symbol="BTC/USDT",
            timestamp=datetime.now(UTC),
            bids=(BookLevel(Decimal(100), Decimal("1.5")),),
            asks=(BookLevel(Decimal(101), Decimal(1)),),
            sequence=update_id,
        )

    return snapshot, served


def depth_book(snapshot: Callable[[], Awaitable[OrderBook]], books: list[OrderBook]) -> DepthBook:
    async def keep(book: OrderBook) -> None:
        books.append(book)

    return DepthBook(venue="binance", symbol="BTC/USDT", snapshot=snapshot, on_book=keep)


# --- the depth book (Binance's procedure) --------------------------------------------------------


def test_the_book_starts_from_a_snapshot_drops_older_events_and_applies_the_rest():
    snapshot, served = snapshot_source(105)
    books: list[OrderBook] = []
    book = depth_book(snapshot, books)

    async def scenario() -> None:
        await book.on_event(depth_event("BTCUSDT", 100, 103, bids=[("99", "3")]))  # in snapshot
        await book.on_event(depth_event("BTCUSDT", 104, 107, bids=[("100", "0"), ("99.5", "2")]))
        await book.on_event(depth_event("BTCUSDT", 108, 108, asks=[("101", "0"), ("102", "4")]))

    asyncio.run(scenario())
    assert served == [105]
    assert book.dropped == 1  # 100-103 was already in the snapshot
    last = books[-1]
    assert last.sequence == 108
    assert [(lv.price, lv.amount) for lv in last.bids] == [(Decimal("99.5"), Decimal(2))]
    assert [(lv.price, lv.amount) for lv in last.asks] == [(Decimal(102), Decimal(4))]


def test_a_snapshot_older_than_the_first_event_is_fetched_again():
    snapshot, served = snapshot_source(90, 95, 120)
    book = depth_book(snapshot, [])
    asyncio.run(book.on_event(depth_event("BTCUSDT", 110, 112)))
    assert served == [90, 95, 120]
    assert book.update_id == 120  # the event itself was already in the snapshot
    assert book.dropped == 1


def test_a_sequence_gap_discards_the_book_and_resyncs_from_a_new_snapshot():
    snapshot, served = snapshot_source(100, 130)
    books: list[OrderBook] = []
    book = depth_book(snapshot, books)

    async def scenario() -> None:
        await book.on_event(depth_event("BTCUSDT", 101, 102, bids=[("99", "1")]))
        await book.on_event(depth_event("BTCUSDT", 103, 104))
        await book.on_event(depth_event("BTCUSDT", 110, 131, bids=[("98", "7")]))  # 105-109 lost

    asyncio.run(scenario())
    assert (book.gaps, served) == (1, [100, 130])
    assert books[-1].sequence == 131
    # The book is the new snapshot plus the event: the level from before the gap is gone.
    assert [(lv.price, lv.amount) for lv in books[-1].bids] == [
        (Decimal(100), Decimal("1.5")),
        (Decimal(98), Decimal(7)),
    ]


def test_a_snapshot_the_venue_cannot_give_leaves_the_book_unsynced_until_the_next_event():
    attempts: list[int] = []

    async def failing_then_fine() -> OrderBook:
        attempts.append(1)
        if len(attempts) == 1:
            raise VenueUnavailable("binance: down")
        return await snapshot_source(100)[0]()

    book = depth_book(failing_then_fine, [])

    async def scenario() -> None:
        await book.on_event(depth_event("BTCUSDT", 101, 101))
        assert not book.synced
        await book.on_event(depth_event("BTCUSDT", 101, 102))

    asyncio.run(scenario())
    assert book.update_id == 102


# --- the reconnecting client ----------------------------------------------------------------------


def stream(url: str, received: list[Any], statuses: list[tuple[bool, str]], **kwargs: Any):
    async def on_message(message: Any) -> None:
        received.append(message)

    async def on_status(up: bool, reason: str) -> None:
        statuses.append((up, reason))

    return ReconnectingStream(
        url,
        subscriptions=["btcusdt@depth@100ms", "btcusdt@bookTicker"],
        subscribe=binance_subscribe,
        on_message=on_message,
        on_status=on_status,
        sleep=no_wait,
        **{"settings": FAST, **kwargs},
    )


def test_a_dropped_connection_is_reopened_and_every_subscription_sent_again():
    first = depth_event("BTCUSDT", 1, 1)
    second = depth_event("BTCUSDT", 2, 2)
    received: list[Any] = []
    statuses: list[tuple[bool, str]] = []

    async def scenario() -> FakeStreamServer:
        scripts = [
            [("subscribed",), ("send", first), ("drop",)],
            [("subscribed",), ("send", second)],
        ]
        async with FakeStreamServer(scripts) as server:
            client = stream(server.url, received, statuses)
            task = asyncio.create_task(client.run())
            await until(lambda: second in received)
            client.stop()
            await task
            assert client.stats.connections == 2
            assert len(client.delays) == 1  # one backoff, through the injected sleep
        return server

    server = asyncio.run(scenario())
    subscribe = {
        "method": "SUBSCRIBE",
        "params": ["btcusdt@depth@100ms", "btcusdt@bookTicker"],
        "id": 1,
    }
    assert server.received == [[subscribe], [subscribe]]
    assert [m for m in received if "e" in m] == [first, second]
    assert [up for up, _ in statuses] == [True, False, True]
    assert "1006" in statuses[1][1] or "ConnectionClosed" in statuses[1][1]


def test_a_silent_stream_is_dropped_after_the_idle_timeout_and_reopened():
    event = depth_event("BTCUSDT", 5, 5)
    received: list[Any] = []
    statuses: list[tuple[bool, str]] = []

    async def scenario() -> None:
        async with FakeStreamServer(
            [[("subscribed",), ("silence",)], [("subscribed",), ("send", event)]]
        ) as server:
            client = stream(
                server.url,
                received,
                statuses,
                settings=StreamSettings(idle_timeout=0.05, base_delay=0.01, max_delay=0.01),
            )
            task = asyncio.create_task(client.run())
            await until(lambda: event in received)
            client.stop()
            await task

    asyncio.run(scenario())
    assert statuses[1] == (False, "no frame for 0.05s: stale")


def test_malformed_frames_are_skipped_and_the_stream_goes_on():
    event = depth_event("BTCUSDT", 7, 7)
    received: list[Any] = []

    async def scenario() -> ReconnectingStream:
        script = [
            ("subscribed",),
            ("raw", '{"e": "depthUpdate", "U": '),
            ("raw", "<html>"),
            ("send", event),
        ]
        async with FakeStreamServer([script]) as server:
            client = stream(server.url, received, [])
            task = asyncio.create_task(client.run())
            await until(lambda: event in received)
            client.stop()
            await task
            return client

    client = asyncio.run(scenario())
    assert (client.stats.malformed, client.stats.connections) == (2, 1)


def test_a_venue_that_refuses_connections_is_retried_with_backoff_then_given_up():
    statuses: list[tuple[bool, str]] = []

    async def scenario() -> ReconnectingStream:
        async with FakeStreamServer([[]]) as server:
            port = server.port
        client = stream(
            f"ws://127.0.0.1:{port}/ws",
            [],
            statuses,
            settings=StreamSettings(open_timeout=1, base_delay=1, max_delay=8, max_attempts=4),
        )
        with pytest.raises(StreamGaveUp):
            await client.run()
        return client

    client = asyncio.run(scenario())
    assert [up for up, _ in statuses] == [False] * 4
    # Full jitter under a doubling ceiling: 2, 4, 8 seconds (simulated, never slept).
    assert len(client.delays) == 3
    assert all(0 <= d <= c for d, c in zip(client.delays, [2, 4, 8], strict=True))


def test_frames_decode_as_text_json_or_gzip_json_and_anything_else_is_a_value_error():
    frame = {"ch": "market.btcusdt.bbo", "tick": {"bid": 59999.0}}
    assert text_json(json.dumps(frame)) == frame
    assert text_json(json.dumps(frame).encode()) == frame
    assert gzip_json(gzip.compress(json.dumps(frame).encode())) == frame
    assert gzip_json(json.dumps(frame)) == frame  # a text frame is plain JSON
    for bad in (b"\x1f\x8b\x08 truncated", b"plain bytes", gzip.compress(b"not json")):
        with pytest.raises(ValueError):  # noqa: PT011 (zlib, gzip and json raise their own)
            gzip_json(bad)
    with pytest.raises(UnicodeDecodeError):
        text_json(b"\xff\xfe")


def test_a_gzip_stream_is_decoded_and_frames_that_do_not_decompress_are_skipped():
    received: list[Any] = []
    ping = {"ping": 1492420473027}

    async def scenario() -> ReconnectingStream:
        script = [
            ("subscribed",),
            ("raw", b"\x1f\x8b\x08\x00 cut short"),
            ("raw", gzip.compress(b"{not json")),
            ("send", ping),  # gzip binary, as HTX sends everything
        ]
        async with FakeStreamServer([script], dialect=HTX) as server:
            client = ReconnectingStream(
                server.url,
                subscriptions=["market.btcusdt.bbo"],
                subscribe=lambda topics: [{"sub": topic, "id": topic} for topic in topics],
                on_message=lambda message: _keep(received, message),
                decode=gzip_json,
                settings=FAST,
                sleep=no_wait,
            )
            task = asyncio.create_task(client.run())
            await until(lambda: ping in received)
            client.stop()
            await task
            return client

    client = asyncio.run(scenario())
    assert received[0] == {
        "id": "market.btcusdt.bbo",
        "status": "ok",
        "subbed": "market.btcusdt.bbo",
        "ts": 1489474081631,
    }
    assert received[-1] == ping
    assert (client.stats.malformed, client.stats.connections) == (2, 1)


def test_send_writes_on_the_live_connection_and_refuses_without_one():
    received: list[Any] = []

    async def scenario() -> tuple[FakeStreamServer, ReconnectingStream]:
        script = [("subscribed",), ("send", depth_event("BTCUSDT", 1, 1))]
        async with FakeStreamServer([script]) as server:
            client = stream(server.url, received, [])
            with pytest.raises(NotConnected):
                await client.send({"pong": 1})  # not connected yet
            task = asyncio.create_task(client.run())
            await until(lambda: bool(received) and client.connected)
            await client.send({"pong": 1492420473027})  # JSON-encoded
            await client.send('{"time": 1545404023, "channel": "spot.ping"}')  # sent as is
            await until(lambda: len(server.received[0]) == 3)
            client.stop()
            await task
            with pytest.raises(NotConnected):
                await client.send({"pong": 2})
            return server, client

    server, client = asyncio.run(scenario())
    assert server.received[0][1:] == [
        {"pong": 1492420473027},
        {"time": 1545404023, "channel": "spot.ping"},
    ]
    assert not client.connected


async def _keep(received: list[Any], message: Any) -> None:
    received.append(message)


# --- Binance market stream: books, tickers, gaps, reconnects, status events ---------------------


def test_binance_books_stay_in_sync_through_gaps_and_reconnects(binance: BinanceRig):
    binance.sim.depth_ids = [100, 125]  # the venue moved on by the time we ask again
    emitted: list[Event] = []
    gap_event = depth_event("BTCUSDT", 120, 125, bids=[("59990.00", "4")])
    scripts = [
        [
            ("subscribed",),
            ("send", depth_event("BTCUSDT", 99, 101, bids=[("60000.00", "0")])),
            ("send", book_ticker("BTCUSDT", 400, "59999.00", "60001.00")),
            # "Trade Streams": m=true, the buyer was the maker: a sell hit the bid.
            (
                "send",
                {
                    "e": "trade",
                    "E": 1672515782136,
                    "s": "BTCUSDT",
                    "t": 12345,
                    "p": "59999.00",
                    "q": "0.5",
                    "T": 1672515782136,
                    "m": True,
                    "M": True,
                },
            ),
            ("send", gap_event),  # 102-119 never came: resync
            ("drop",),
        ],
        [("subscribed",), ("send", depth_event("BTCUSDT", 126, 126, asks=[("60001.00", "0")]))],
    ]

    async def scenario() -> None:
        async with FakeStreamServer(scripts) as server:
            market = BinanceMarketStream(
                symbols=["BTC/USDT"],
                live=binance.live,
                runtime=binance.runtime.venue("binance"),
                url=server.url,
                settings=FAST,
                sleep=no_wait,
                emit=emitted.append,
            )
            task = asyncio.create_task(market.run())
            await until(
                lambda: any(isinstance(e, OrderBookUpdated) and e.sequence == 126 for e in emitted)
            )
            market.stop()
            await task

    asyncio.run(scenario())

    snapshots = [r for r in binance.fake.requests if r.path == "/api/v3/depth"]
    assert len(snapshots) == 3  # first sync, the gap, the reconnect
    assert {r.query["limit"] for r in snapshots} == {"1000"}
    books = [e for e in emitted if isinstance(e, OrderBookUpdated)]
    assert [b.sequence for b in books] == [101, 125, 126]
    assert books[0].bids[0] == (Decimal("59999.00"), Decimal(2))  # 60000 removed by qty 0
    tickers = [e for e in emitted if isinstance(e, TickerUpdated)]
    assert [(t.bid, t.ask) for t in tickers] == [(Decimal("59999.00"), Decimal("60001.00"))]
    trades = [e for e in emitted if isinstance(e, TradeExecuted)]
    assert [(t.symbol, t.trade_id, t.price, t.amount, t.side) for t in trades] == [
        ("BTC/USDT", "12345", Decimal("59999.00"), Decimal("0.5"), "sell")
    ]
    changes = [(e.component, e.status) for e in binance.events if isinstance(e, VenueStatusChanged)]
    assert changes[:3] == [("websocket", "up"), ("websocket", "down"), ("websocket", "up")]
    assert binance.runtime.venue("binance").status().websocket in ("up", "down")
