"""Gate.io and HTX market streams against a local websocket server (``tests/fake_stream.py``)
speaking each venue's documented frames, with the REST side (Gate's base book) served by the
fake venue behind ccxt's real URLs.

Frames are written from the venues' docs (no recorded frames exist here): Gate "Spot WebSocket
v4" (Server response, Application ping pong, Changed order book levels, Best bid or ask price,
How to maintain local order book); HTX spot "Websocket Market Data" (heartbeat, sub/req, Market
By Price incremental update, Best Bid/Offer). Backoffs go through an injected sleep that returns
at once; the keepalive and stale-stream tests wait tens of milliseconds of real time.
"""

import asyncio
import json
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from domains.exchange.adapters.ws_client import StreamSettings
from domains.exchange.events import (
    OrderBookUpdated,
    TickerUpdated,
    TradeExecuted,
    VenueStatusChanged,
)
from domains.exchange.services.live import LiveVenue
from domains.exchange.services.resilience.breaker import BreakerSettings, LocalBreakerStore
from domains.exchange.services.resilience.config import defaults_of
from domains.exchange.services.resilience.ratelimit import FallbackLimiter, LocalLimiter
from domains.exchange.services.resilience.retry import RetryPolicy
from domains.exchange.services.resilience.runtime import ResilienceRuntime
from domains.exchange.services.streams import (
    GATE_WS_URL,
    HTX_WS_URL,
    MARKET_STREAMS,
    GateMarketStream,
    HtxMarketStream,
    MarketStream,
)
from domains.exchange.services.venues import VenueFactory
from domains.exchange.tests.adapters.conftest import load_markets
from domains.exchange.tests.fake_stream import (
    GATE,
    HTX,
    FakeStreamServer,
    Step,
    gate_book_ticker,
    gate_depth,
    htx_bbo,
    htx_depth,
    htx_image,
)
from domains.exchange.tests.fake_venue import FakeVenue, RecordedRequest, Scripted
from domains.exchange.tests.resilience.conftest import SimClock
from dsta.kernel.bus import Event

FAST = StreamSettings(idle_timeout=5, open_timeout=2, base_delay=0.01, max_delay=0.05)


async def no_wait(seconds: float) -> None:
    await asyncio.sleep(0)


async def until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached")
        await asyncio.sleep(0.002)


@dataclass
class GateBooks:
    """Gate's ``GET /api/v4/spot/order_book?with_id=true`` (docs "Retrieve order book"): the
    base books served in turn by id (the last repeats)."""

    ids: list[int]
    served: list[int] = field(default_factory=list)

    def __call__(self, request: RecordedRequest) -> Scripted | None:
        if request.path != "/api/v4/spot/order_book":
            return None
        book_id = self.ids[min(len(self.served), len(self.ids) - 1)]
        self.served.append(book_id)
        body = {
            "id": book_id,
            "current": 1634345973275,
            "update": 1634345973271,
            "asks": [["60001.0", "1.0"], ["60002.0", "2.0"]],
            "bids": [["60000.0", "1.5"], ["59999.0", "2.0"]],
        }
        return Scripted(200, json.dumps(body))


@dataclass
class StreamRig:
    venue: str
    fake: FakeVenue
    runtime: ResilienceRuntime
    live: LiveVenue
    events: list[Event]
    emitted: list[Event] = field(default_factory=list)

    def market(self, url: str, **options: Any) -> MarketStream:
        kind = MARKET_STREAMS[self.venue]
        return kind(
            symbols=["BTC/USDT"],
            live=self.live,
            runtime=self.runtime.venue(self.venue),
            url=url,
            **{"settings": FAST, "sleep": no_wait, "emit": self.emitted.append, **options},
        )

    def books(self) -> list[OrderBookUpdated]:
        return [e for e in self.emitted if isinstance(e, OrderBookUpdated)]

    def tickers(self) -> list[TickerUpdated]:
        return [e for e in self.emitted if isinstance(e, TickerUpdated)]

    def trades(self) -> list[TradeExecuted]:
        return [e for e in self.emitted if isinstance(e, TradeExecuted)]

    def websocket_changes(self) -> list[tuple[str, str]]:
        return [
            (e.status, e.reason)
            for e in self.events
            if isinstance(e, VenueStatusChanged) and e.component == "websocket"
        ]


def build_stream_rig(shared_data: Path, venue: str, fake: FakeVenue, clock: SimClock) -> StreamRig:
    events: list[Event] = []
    settings = {
        venue: replace(
            defaults_of(venue),
            log_requests=False,
            breaker=BreakerSettings(failure_threshold=3, window=30, cooldown=20),
            retry=RetryPolicy(attempts=2, base_delay=0.1, max_delay=1.0),
        )
    }
    runtime = ResilienceRuntime(
        limiter=FallbackLimiter(None, LocalLimiter(clock=clock)),
        breaker_store=LocalBreakerStore(),
        settings_for=lambda name: settings[name],
        clock=clock,
        sleep=clock.sleep,
        rng=random.Random(7),
        report=events.append,
    )
    factory = VenueFactory(
        runtime=runtime,
        ccxt_config={"session": fake.session()},
        prepare=lambda exchange: exchange.set_markets(load_markets(shared_data, venue)),
    )
    return StreamRig(venue, fake, runtime, factory.public(venue), events)


@pytest.fixture
def gate_books() -> GateBooks:
    return GateBooks(ids=[100])


@pytest.fixture
def gate(shared_data: Path, gate_books: GateBooks) -> Iterator[StreamRig]:
    clock = SimClock()
    with FakeVenue(clock=clock, handler=gate_books) as fake:
        yield build_stream_rig(shared_data, "gateio", fake, clock)


@pytest.fixture
def htx(shared_data: Path) -> Iterator[StreamRig]:
    clock = SimClock()
    with FakeVenue(clock=clock) as fake:  # HTX's base book comes on the stream: no REST
        yield build_stream_rig(shared_data, "htx", fake, clock)


def run_until(
    rig: StreamRig,
    server: FakeStreamServer,
    done: Callable[[MarketStream], bool],
    **options: Any,
) -> MarketStream:
    async def scenario() -> MarketStream:
        async with server:
            market = rig.market(server.url, **options)
            task = asyncio.create_task(market.run())
            await until(lambda: done(market))
            market.stop()
            await task
            return market

    return asyncio.run(scenario())


def book_with(rig: StreamRig, sequence: int) -> Callable[[MarketStream], bool]:
    return lambda market: any(book.sequence == sequence for book in rig.books())


def levels(book: OrderBookUpdated) -> tuple[list[tuple[Decimal, Decimal]], ...]:
    return book.bids, book.asks


def d(*pairs: tuple[str, str]) -> list[tuple[Decimal, Decimal]]:
    return [(Decimal(price), Decimal(amount)) for price, amount in pairs]


# --- Gate.io ---------------------------------------------------------------------------------


def test_gate_subscribes_as_documented_and_keeps_the_book_through_gaps_and_reconnects(
    gate: StreamRig, gate_books: GateBooks
):
    gate_books.ids[:] = [100, 125]  # the venue moved on by the time we ask again
    scripts: list[list[Step]] = [
        [
            ("subscribed", 3),
            ("send", gate_depth("BTC_USDT", 99, 101, bids=[("60000.0", "0")])),  # straddles 100
            ("send", gate_book_ticker("BTC_USDT", 400, "59999.0", "60001.0")),
            # Docs "Public trades channel": one trade a frame, side = the taker's.
            (
                "send",
                {
                    "time": 1606292218,
                    "time_ms": 1606292218231,
                    "channel": "spot.trades",
                    "event": "update",
                    "result": {
                        "id": 309143071,
                        "create_time": 1606292218,
                        "create_time_ms": "1606292218213.4578",
                        "side": "sell",
                        "currency_pair": "BTC_USDT",
                        "amount": "0.0164",
                        "price": "59999.0",
                        "range": "2390902-2390902",
                    },
                },
            ),
            ("send", gate_depth("BTC_USDT", 120, 125, bids=[("59990.0", "4")])),  # 102-119 lost
            ("drop",),
        ],
        [
            ("subscribed", 3),
            ("send", gate_depth("BTC_USDT", 126, 126, asks=[("60001.0", "0")])),
            ("send", gate_depth("BTC_USDT", 150, 200, bids=[("59000.0", "1")], full=True)),
        ],
    ]
    server = FakeStreamServer(scripts, dialect=GATE)
    before = int(time.time())
    market = run_until(gate, server, book_with(gate, 200))

    # Subscribe frames (docs "Client request"): one per channel and pair, fresh time, ids.
    subscriptions = [frame for frame in server.received[0] if frame.get("event") == "subscribe"]
    assert [(f["channel"], f["payload"]) for f in subscriptions] == [
        ("spot.order_book_update", ["BTC_USDT", "100ms"]),
        ("spot.book_ticker", ["BTC_USDT"]),
        ("spot.trades", ["BTC_USDT"]),
    ]
    assert all(abs(f["time"] - before) <= 5 and isinstance(f["id"], int) for f in subscriptions)
    assert [f["payload"] for f in server.received[1] if f.get("event") == "subscribe"] == [
        ["BTC_USDT", "100ms"],
        ["BTC_USDT"],
        ["BTC_USDT"],
    ]
    # Base books through ccxt and the resilient client: first sync, the gap, the reconnect.
    snapshots = [r for r in gate.fake.requests if r.path == "/api/v4/spot/order_book"]
    assert [r.query for r in snapshots] == [
        {"currency_pair": "BTC_USDT", "limit": "100", "with_id": "true"}
    ] * 3
    assert gate_books.served == [100, 125, 125]
    books = gate.books()
    assert [b.sequence for b in books] == [101, 125, 126, 200]
    assert levels(books[0]) == (
        d(("59999.0", "2.0")),  # 60000 removed by quantity 0
        d(("60001.0", "1.0"), ("60002.0", "2.0")),
    )
    assert levels(books[2]) == (
        d(("60000.0", "1.5"), ("59999.0", "2.0")),  # the reconnect started from a new base
        d(("60002.0", "2.0")),
    )
    assert levels(books[3]) == (d(("59000.0", "1")), [])  # full=true replaced the book
    assert market.books["BTC/USDT"].gaps == 1
    assert [(t.venue, t.bid, t.ask) for t in gate.tickers()] == [
        ("gateio", Decimal("59999.0"), Decimal("60001.0"))
    ]
    assert [status for status, _ in gate.websocket_changes()][:3] == ["up", "down", "up"]
    assert [(t.venue, t.trade_id, t.price, t.amount, t.side) for t in gate.trades()] == [
        ("gateio", "309143071", Decimal("59999.0"), Decimal("0.0164"), "sell")
    ]
    assert gate.trades()[0].traded_at.timestamp() == pytest.approx(1606292218.2134578)
    assert market.subscribed == {
        "spot.order_book_update BTC_USDT 100ms",
        "spot.book_ticker BTC_USDT",
        "spot.trades BTC_USDT",
    }


def test_gate_a_refused_subscription_is_logged_and_reported_as_the_stream_down(
    gate: StreamRig, caplog: pytest.LogCaptureFixture
):
    def refuse(frame: dict[str, Any]) -> dict[str, Any]:
        # Docs "Error": code 2, invalid argument (the shape of a current refusal).
        return {
            "time": 1739853211,
            "time_ms": 1739853211201,
            "id": frame["id"],
            "conn_id": "62f2c1dabbe186d7",
            "channel": frame["channel"],
            "event": "subscribe",
            "payload": frame["payload"],
            "error": {"code": 2, "message": "unknown currency pair: BTC_USDT"},
            "result": {"status": "fail"},
        }

    server = FakeStreamServer([[("subscribed", 3, refuse)]], dialect=GATE)
    market = run_until(gate, server, lambda market: len(market.refusals) == 3)

    assert market.refusals[0] == (
        "gateio refused spot.order_book_update BTC_USDT 100ms: "
        "code 2: unknown currency pair: BTC_USDT"
    )
    assert gate.websocket_changes()[:2] == [("up", "connected"), ("down", market.refusals[0])]
    assert gate.runtime.venue("gateio").status().state == "degraded"
    assert "unknown currency pair" in gate.runtime.venue("gateio").status().last_error
    assert any(
        r.levelname == "ERROR" and r.getMessage() == "venue stream: subscription refused"
        for r in caplog.records
    )
    assert market.subscribed == set()


def test_gate_pings_on_a_timer_skips_malformed_frames_and_reconnects_on_an_upgrade_notice(
    gate: StreamRig, gate_books: GateBooks
):
    gate_books.ids[:] = [100, 127]

    def is_ping(frame: Any) -> bool:
        return isinstance(frame, dict) and frame.get("channel") == "spot.ping"

    def pong(frame: dict[str, Any]) -> dict[str, Any]:
        return {"time": frame["time"], "channel": "spot.pong", "event": "", "result": None}

    upgrade = {"type": "upgrade", "msg": "The connection will soon be closed for an upgrade."}
    bad_ids = {"s": "BTC_USDT", "U": "x", "u": 101, "b": [], "a": []}
    scripts: list[list[Step]] = [
        [
            ("subscribed", 3),
            ("raw", '{"channel": "spot.order_book_update", "event": "upd'),  # not JSON
            ("send", {"channel": "spot.order_book_update", "event": "update", "result": []}),
            ("send", {**gate_depth("BTC_USDT", 0, 101), "result": bad_ids}),  # U: no number
            ("send", {"channel": "spot.book_ticker", "event": "update", "result": {"s": "X"}}),
            ("reply", is_ping, pong),
            ("send", gate_depth("BTC_USDT", 101, 102, bids=[("59000.0", "1")])),
            ("send", upgrade),  # docs "Service upgrade notification": reconnect soon
            ("silence",),
        ],
        [
            ("subscribed", 3),
            ("send", gate_depth("BTC_USDT", 125, 130, bids=[("59000.0", "2")])),
        ],
    ]
    server = FakeStreamServer(scripts, dialect=GATE)
    market = run_until(gate, server, book_with(gate, 130), keepalive_every=0.01)

    pings = [frame for frame in server.received[0] if is_ping(frame)]
    assert pings
    assert set(pings[0]) == {"time", "channel"}
    assert (market.stream.stats.malformed, market.malformed) == (1, 3)
    assert [b.sequence for b in gate.books()] == [102, 130]  # none of it spoiled the book
    assert market.notices == [upgrade["msg"]]
    assert market.stream.stats.connections == 2
    assert ("down", f"gateio announced: {upgrade['msg']}") in gate.websocket_changes()


def test_a_database_that_cannot_take_the_status_event_does_not_end_the_market_stream(
    gate: StreamRig, gate_books: GateBooks
):
    # Up/down are durable events (outbox rows): a database blip loses the event (logged),
    # not the stream and its books.
    from django.db import OperationalError

    failed: list[Event] = []

    def report(event: Event) -> None:
        failed.append(event)
        raise OperationalError("database is restarting")

    gate.runtime.report = report
    scripts: list[list[Step]] = [
        [("subscribed", 3), ("send", gate_depth("BTC_USDT", 100, 101, bids=[("59000.0", "1")]))]
    ]
    market = run_until(gate, FakeStreamServer(scripts, dialect=GATE), book_with(gate, 101))

    assert [e.status for e in failed if isinstance(e, VenueStatusChanged)][:1] == ["up"]
    assert market.stream.stats.connections == 1
    assert [b.sequence for b in gate.books()] == [101]


# --- HTX -----------------------------------------------------------------------------------------


def is_request(frame: Any) -> bool:
    return isinstance(frame, dict) and "req" in frame


def image(sequence: int, bids: Any = ((60000.0, 1.5),), asks: Any = ((60001.5, 3.0),)):
    return lambda request: htx_image(request, sequence, bids, asks)


def test_htx_answers_pings_syncs_from_its_req_image_and_resyncs_after_gaps_and_reconnects(
    htx: StreamRig,
):
    scripts: list[list[Step]] = [
        [
            ("subscribed", 3),
            ("ping", 1492420473027),  # unanswered twice, HTX would drop us
            ("send", htx_depth("btcusdt", 100, 105, asks=[(60001.5, 1.25)])),  # asks the image
            ("send", htx_depth("btcusdt", 105, 109, bids=[(59999.0, 2.0)])),  # buffered
            ("reply", is_request, image(105)),  # seqNum = the first buffered prevSeqNum
            ("send", htx_bbo("btcusdt", 59999.0, 60001.5)),
            # Docs "Trade Detail": several trades a frame, JSON numbers, direction = taker.
            (
                "send",
                {
                    "ch": "market.btcusdt.trade.detail",
                    "ts": 1630994963175,
                    "tick": {
                        "id": 137005445109,
                        "ts": 1630994963173,
                        "data": [
                            {
                                "id": 1370054451098,
                                "ts": 1630994963173,
                                "tradeId": 102523573486,
                                "amount": 0.006754,
                                "price": 60001.5,
                                "direction": "buy",
                            },
                            {
                                "id": 1370054451099,
                                "ts": 1630994963173,
                                "tradeId": 102523573487,
                                "amount": 0.5,
                                "price": 60002.0,
                                "direction": "buy",
                            },
                        ],
                    },
                },
            ),
            ("send", htx_depth("btcusdt", 120, 130, bids=[(59990.0, 4.0)])),  # 109 -> 120: gap
            ("reply", is_request, image(130, bids=[(59990.0, 4.0)])),
            ("ping", 1492420478027),
            ("drop",),
        ],
        [
            ("subscribed", 3),
            ("send", htx_depth("btcusdt", 130, 131, asks=[(60001.5, 0)])),
            ("reply", is_request, image(130)),
        ],
    ]
    server = FakeStreamServer(scripts, dialect=HTX)
    market = run_until(htx, server, book_with(htx, 131))

    first, second = server.received
    assert [f for f in first if "sub" in f] == [
        {"sub": "market.btcusdt.mbp.150", "id": "market.btcusdt.mbp.150"},
        {"sub": "market.btcusdt.bbo", "id": "market.btcusdt.bbo"},
        {"sub": "market.btcusdt.trade.detail", "id": "market.btcusdt.trade.detail"},
    ]
    assert [f for f in first if "pong" in f] == [{"pong": 1492420473027}, {"pong": 1492420478027}]
    assert server.missed_pongs == []
    request = {"req": "market.btcusdt.mbp.150", "id": "req market.btcusdt.mbp.150"}
    assert [f for f in first if is_request(f)] == [request, request]  # the sync, the gap
    assert [f for f in second if is_request(f)] == [request]  # the reconnect
    books = htx.books()
    assert [b.sequence for b in books] == [109, 130, 131]
    # 100->105 was in the image; 105->109 applied on top of it.
    assert levels(books[0]) == (
        d(("60000.0", "1.5"), ("59999.0", "2.0")),
        d(("60001.5", "3.0")),
    )
    assert levels(books[2]) == (d(("60000.0", "1.5")), [])  # fresh image, then 60001.5 removed
    assert market.books["BTC/USDT"].gaps == 1
    assert [(t.venue, t.bid, t.ask) for t in htx.tickers()] == [
        ("htx", Decimal("59999.0"), Decimal("60001.5"))
    ]
    assert [status for status, _ in htx.websocket_changes()][:3] == ["up", "down", "up"]
    assert [(t.trade_id, t.price, t.amount, t.side) for t in htx.trades()] == [
        ("102523573486", Decimal("60001.5"), Decimal("0.006754"), "buy"),
        ("102523573487", Decimal("60002.0"), Decimal("0.5"), "buy"),
    ]
    assert market.subscribed == {
        "market.btcusdt.mbp.150",
        "market.btcusdt.bbo",
        "market.btcusdt.trade.detail",
    }


def test_htx_a_stream_of_heartbeats_only_is_stale_and_reopened(htx: StreamRig):
    pings: list[Step] = []
    for ts in range(1, 60):
        pings += [("ping", ts), ("wait", 0.01)]
    scripts: list[list[Step]] = [
        [("subscribed", 3), *pings],
        [("subscribed", 3), ("send", htx_bbo("btcusdt", 59999.0, 60001.5))],
    ]
    server = FakeStreamServer(scripts, dialect=HTX)
    settings = StreamSettings(idle_timeout=0.1, open_timeout=2, base_delay=0.01, max_delay=0.01)
    market = run_until(htx, server, lambda market: bool(htx.tickers()), settings=settings)

    assert market.stream.stats.connections == 2
    assert server.missed_pongs == []  # every ping was answered, and still the data stopped
    down = [reason for status, reason in htx.websocket_changes() if status == "down"]
    assert down == ["only heartbeats for 0.1s, no market data: stale"]


def test_htx_skips_malformed_frames_and_surfaces_refusals(htx: StreamRig):
    def refuse_bbo(frame: dict[str, Any]) -> dict[str, Any]:
        if frame["sub"].endswith(".bbo"):
            return {
                "id": frame["id"],
                "status": "error",
                "err-code": "bad-request",
                "err-msg": f"invalid topic {frame['sub']}",
                "ts": 1494301904959,
            }
        return HTX.ack(frame)

    refused_image = {
        "id": "req market.btcusdt.mbp.150",
        "status": "error",
        "err-code": "too-many-request",
        "err-msg": "too many request",
        "ts": 1494301904959,
    }
    script: list[Step] = [
        ("subscribed", 3, refuse_bbo),
        ("raw", b"\x1f\x8b not really gzip"),
        ("raw", "plain text, not JSON"),
        ("send", {"ch": "market.btcusdt.mbp.150", "ts": 1, "tick": {"seqNum": "x"}}),
        ("send", {"ch": "market.btcusdt.bbo", "ts": 1, "tick": {"bid": "a lot", "ask": 1}}),
        ("send", htx_depth("btcusdt", 100, 105)),
        ("reply", is_request, lambda request: refused_image),
        ("send", htx_depth("btcusdt", 105, 106, bids=[(59999.0, 2.0)])),  # asks again
        ("reply", is_request, image(106)),
    ]
    server = FakeStreamServer([script], dialect=HTX)
    market = run_until(htx, server, book_with(htx, 106))

    assert market.stream.stats.malformed == 2  # not gzip; not JSON
    assert market.malformed == 2  # a depth push without prevSeqNum; a bid that is no number
    assert market.refusals == [
        "htx refused market.btcusdt.bbo: bad-request: invalid topic market.btcusdt.bbo"
    ]
    assert ("down", market.refusals[0]) in htx.websocket_changes()
    assert len([f for f in server.received[0] if is_request(f)]) == 2
    assert market.stream.stats.connections == 1


# --- the command ---------------------------------------------------------------------------------


def test_exchange_stream_knows_each_venue_and_its_default_url():
    assert {name: kind.default_url for name, kind in MARKET_STREAMS.items()} == {
        "binance": "wss://stream.binance.com:9443/ws",
        "gateio": GATE_WS_URL,
        "htx": HTX_WS_URL,
    }
    assert (GATE_WS_URL, HTX_WS_URL) == ("wss://api.gateio.ws/ws/v4/", "wss://api.huobi.pro/ws")
    assert MARKET_STREAMS["gateio"] is GateMarketStream
    assert MARKET_STREAMS["htx"] is HtxMarketStream
    with pytest.raises(CommandError, match="invalid choice"):
        call_command("exchange_stream", "kraken", "--symbol", "BTC/USDT")
    for venue in ("gateio", "htx"):
        with pytest.raises(CommandError) as failed:
            call_command("exchange_stream", venue, "--symbol", "BTCUSDT")
        assert failed.value.returncode == 2
        assert str(failed.value).startswith("invalid_input")
