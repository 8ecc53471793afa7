"""What moves the paper books: source venues' books and candles, preference, seeding on demand.

Real database, the bus in-process. The feed is driven the way the bus drives it (its handler
methods get the events), on a manual clock, except where the test goes through ``publish``
and the handlers the exchange app registered.
"""

import io
from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from domains.data.api import market_data_api
from domains.data.events import CandleClosed
from domains.exchange.api import (
    Candle,
    InvalidOrder,
    OrderAck,
    OrderBook,
    OrderRequest,
    OrderSide,
    OrderStatus,
    OrderType,
)
from domains.exchange.events import OrderBookUpdated
from domains.exchange.handlers import PAPER_BOOKS_SUBSCRIBER, PAPER_CANDLES_SUBSCRIBER
from domains.exchange.services.gateway import ExchangeGateway
from domains.exchange.services.paper.market_feed import (
    FeedOutcome,
    PaperFeedConfig,
    PaperMarketFeed,
    paper_market_feed,
    parse_sources,
)
from domains.exchange.services.paper.service import PaperExchange
from domains.exchange.services.paper.synthetic import book_from_candle
from domains.exchange.tests.factories import ManualClock
from dsta.kernel.bus import Event, drain, publish, subscriptions_for
from dsta.kernel.bus.models import OutboxMessage
from dsta.kernel.market import Timeframe

pytestmark = pytest.mark.django_db

SYMBOL = "BTC/USDT"
MINUTE = timedelta(minutes=1)
# Whole minutes, so bars sit on the 1m grid; recent, so the feed's max age is about real time.
NOW = timezone.now().replace(second=0, microsecond=0) - timedelta(hours=1)
# Throttle off: each book of these tests must count.
CONFIG = PaperFeedConfig(book_min_interval=timedelta(0))


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(now=NOW)


@pytest.fixture
def paper(clock: ManualClock) -> PaperExchange:
    return PaperExchange(clock=clock)


@pytest.fixture
def feed(paper: PaperExchange, clock: ManualClock) -> PaperMarketFeed:
    return PaperMarketFeed(paper=paper, clock=clock, config=CONFIG)


@pytest.fixture
def account(paper: PaperExchange) -> UUID:
    return paper.create_account(
        name="feed", balances={"USDT": Decimal("100000"), "BTC": Decimal("1")}
    )


@pytest.fixture
def process_feed() -> Iterator[PaperMarketFeed]:
    """The feed the exchange app's handlers use, as fresh as a new process's."""
    feed = paper_market_feed()
    feed.reset()
    yield feed
    feed.reset()


def levels(*pairs: tuple[str, str]) -> list[tuple[Decimal, Decimal]]:
    return [(Decimal(price), Decimal(amount)) for price, amount in pairs]


def source_book(
    venue: str, *, bids: list[tuple[str, str]], asks: list[tuple[str, str]], at: datetime
) -> OrderBookUpdated:
    return OrderBookUpdated(
        venue=venue, symbol=SYMBOL, bids=levels(*bids), asks=levels(*asks), occurred_at=at
    )


def closed_bar(
    venue: str,
    open_time: datetime,
    *,
    high: float = 101.0,
    low: float = 94.0,
    close: float = 100.0,
    volume: float | None = 10.0,
    timeframe: str = "1m",
) -> CandleClosed:
    ms = int(open_time.timestamp() * 1000)
    return CandleClosed(
        venue=venue,
        market_type="spot",
        symbol=SYMBOL,
        price_type="trades",
        timeframe=timeframe,
        open_time=open_time,
        open_time_ms=ms,
        open=99.0,
        high=high,
        low=low,
        close=close,
        volume=volume,
    )


def limit(side: OrderSide, amount: str, price: str) -> OrderRequest:
    return OrderRequest(
        symbol=SYMBOL, side=side, type=OrderType.LIMIT, amount=Decimal(amount), price=Decimal(price)
    )


def status(paper: PaperExchange, account: UUID, ack: OrderAck) -> OrderStatus:
    order = paper.get_order(account_id=account, symbol=SYMBOL, client_order_id=ack.client_order_id)
    return order.status


def top(book: OrderBook) -> tuple[Decimal | None, Decimal | None]:
    return (
        book.bids[0].price if book.bids else None,
        book.asks[0].price if book.asks else None,
    )


# --- wiring -----------------------------------------------------------------------------------


def test_the_exchange_app_subscribes_the_feed_under_stable_names():
    books = {s.subscriber: s.handler for s in subscriptions_for(OrderBookUpdated.name)}
    candles = {s.subscriber: s.handler for s in subscriptions_for(CandleClosed.name)}
    assert PAPER_BOOKS_SUBSCRIBER == "exchange.paper_feed_books"
    assert PAPER_CANDLES_SUBSCRIBER == "exchange.paper_feed_candles"
    assert books[PAPER_BOOKS_SUBSCRIBER].__name__ == "on_order_book_updated_feed_paper"
    assert candles[PAPER_CANDLES_SUBSCRIBER].__name__ == "on_candle_closed_feed_paper"


def test_sources_keep_their_order_and_never_include_the_paper_venue(settings: Any):
    assert parse_sources(" Binance, demo,,paper,binance ,htx") == ("binance", "demo", "htx")
    settings.EXCHANGE_PAPER_SOURCES = "gateio,paper"
    settings.EXCHANGE_PAPER_TIMEFRAME = "5m"
    config = PaperFeedConfig.from_settings()
    assert (config.sources, config.timeframe) == (("gateio",), Timeframe("5m"))
    assert PaperFeedConfig().sources == ("binance", "gateio", "htx", "demo")


# --- live books -------------------------------------------------------------------------------


def test_a_source_venues_book_on_the_bus_moves_the_paper_book_and_fills_a_resting_order(
    process_feed: PaperMarketFeed, delivered: list[Event]
):
    paper = process_feed.paper
    account = paper.create_account(name="bus", balances={"USDT": Decimal("1000")})
    ack = paper.place_order(account_id=account, request=limit(OrderSide.BUY, "0.5", "100"))
    assert status(paper, account, ack) is OrderStatus.OPEN

    publish(
        OrderBookUpdated(
            venue="binance",
            symbol=SYMBOL,
            bids=levels(("99", "1"), ("98", "2")),
            asks=levels(("99.5", "2"), ("101", "3")),
        )
    )

    assert status(paper, account, ack) is OrderStatus.FILLED
    [fill] = paper.my_trades(account_id=account)
    assert (fill.price, fill.amount) == (Decimal("100"), Decimal("0.5"))
    book = paper.order_book(venue="paper", symbol=SYMBOL)
    # The venue's levels, less what the resting order took from the best ask.
    assert [(lv.price, lv.amount) for lv in book.bids] == levels(("99", "1"), ("98", "2"))
    assert [(lv.price, lv.amount) for lv in book.asks] == levels(("99.5", "1.5"), ("101", "3"))
    # One source book in, one paper book out: the paper venue's own event did not loop back.
    books = [e for e in delivered if isinstance(e, OrderBookUpdated)]
    assert sorted(e.venue for e in books) == ["binance", "paper"]


def test_the_paper_venues_own_book_and_other_venues_books_are_not_fed(
    feed: PaperMarketFeed, paper: PaperExchange, clock: ManualClock
):
    own = source_book("paper", bids=[("50", "1")], asks=[("51", "1")], at=clock.now)
    assert feed.on_order_book(own) is FeedOutcome.NOT_A_SOURCE
    okx = source_book("okx", bids=[("50", "1")], asks=[("51", "1")], at=clock.now)
    assert feed.on_order_book(okx) is FeedOutcome.NOT_A_SOURCE
    unknown = OrderBookUpdated(
        venue="binance", symbol="DOGE/USDT", bids=levels(("1", "1")), asks=levels(("2", "1"))
    )
    assert feed.on_order_book(unknown) is FeedOutcome.NOT_SIMULATED
    assert paper.order_book(venue="paper", symbol=SYMBOL).bids == ()


def test_books_of_one_symbol_are_throttled_but_keep_their_source_preferred(
    paper: PaperExchange, clock: ManualClock
):
    feed = PaperMarketFeed(
        paper=paper, clock=clock, config=PaperFeedConfig(book_min_interval=timedelta(seconds=1))
    )
    first = source_book("binance", bids=[("99", "1")], asks=[("100", "1")], at=clock.now)
    assert feed.on_order_book(first) is FeedOutcome.APPLIED
    clock.advance(seconds=0.5)
    second = source_book("binance", bids=[("98", "1")], asks=[("99", "1")], at=clock.now)
    assert feed.on_order_book(second) is FeedOutcome.THROTTLED
    assert top(paper.order_book(venue="paper", symbol=SYMBOL)) == (Decimal("99"), Decimal("100"))
    clock.advance(seconds=0.6)
    assert feed.on_order_book(second) is FeedOutcome.APPLIED
    assert top(paper.order_book(venue="paper", symbol=SYMBOL)) == (Decimal("98"), Decimal("99"))


# --- candles ----------------------------------------------------------------------------------


def test_a_source_candle_fills_a_resting_limit_it_traded_through_and_installs_the_model_book(
    feed: PaperMarketFeed, paper: PaperExchange, account: UUID, clock: ManualClock
):
    bar_open = clock.now
    clock.advance(seconds=20)
    through = paper.place_order(account_id=account, request=limit(OrderSide.BUY, "0.1", "95"))
    below = paper.place_order(account_id=account, request=limit(OrderSide.BUY, "0.1", "90"))
    clock.now = bar_open + MINUTE + timedelta(seconds=3)  # the bar closed 3 s ago

    event = closed_bar("binance", bar_open, low=94.0, high=101.0, close=100.0, volume=10.0)
    assert feed.on_candle_closed(event) is FeedOutcome.APPLIED

    assert status(paper, account, through) is OrderStatus.FILLED
    assert status(paper, account, below) is OrderStatus.OPEN
    [fill] = paper.my_trades(account_id=account)
    assert (fill.price, fill.amount) == (Decimal("95"), Decimal("0.1"))
    book = paper.order_book(venue="paper", symbol=SYMBOL)
    [market] = [m for m in paper.markets(venue="paper") if m.symbol == SYMBOL]
    model = book_from_candle(
        market,
        Candle(bar_open, 99.0, 101.0, 94.0, 100.0, 10.0),
        paper.book_model,
        at=bar_open + MINUTE,
    )
    assert book == model
    assert book.timestamp == bar_open + MINUTE
    assert top(book) == (Decimal("99.95"), Decimal("100.05"))


def test_history_and_bars_not_newer_than_the_last_one_change_nothing(
    feed: PaperMarketFeed, paper: PaperExchange, account: UUID, clock: ManualClock
):
    resting = paper.place_order(account_id=account, request=limit(OrderSide.BUY, "0.1", "95"))
    # A bulk import of yesterday's bars publishes one event per stored bar: none is news.
    day_ago = clock.now - timedelta(days=1)
    history = [closed_bar("binance", day_ago + i * MINUTE, low=1.0) for i in range(60)]
    assert {feed.on_candle_closed(e) for e in history} == {FeedOutcome.STALE_BAR}
    assert paper.order_book(venue="paper", symbol=SYMBOL).bids == ()
    assert status(paper, account, resting) is OrderStatus.OPEN

    clock.advance(seconds=5)
    latest = closed_bar("binance", NOW - 2 * MINUTE, low=96.0, close=100.0)
    assert feed.on_candle_closed(latest) is FeedOutcome.APPLIED
    book = paper.order_book(venue="paper", symbol=SYMBOL)

    # Within the max age but older than (or the same as) the last bar applied.
    older = closed_bar("binance", NOW - 3 * MINUTE, low=1.0, close=50.0)
    assert feed.on_candle_closed(older) is FeedOutcome.NOT_NEWER
    assert feed.on_candle_closed(latest) is FeedOutcome.NOT_NEWER
    # A restarted process forgets the last bar; the stored book's timestamp still says it.
    restarted = PaperMarketFeed(paper=paper, clock=clock, config=CONFIG)
    assert restarted.on_candle_closed(latest) is FeedOutcome.NOT_NEWER
    assert paper.order_book(venue="paper", symbol=SYMBOL) == book
    assert status(paper, account, resting) is OrderStatus.OPEN


def test_series_the_paper_venue_does_not_simulate_or_without_volume_are_ignored(
    feed: PaperMarketFeed, paper: PaperExchange, clock: ManualClock
):
    bar = clock.now - MINUTE
    assert feed.on_candle_closed(closed_bar("binance", bar, timeframe="5m")) is (
        FeedOutcome.NOT_SIMULATED
    )
    mark = closed_bar("binance", bar).model_copy(update={"price_type": "mark"})
    assert feed.on_candle_closed(mark) is FeedOutcome.NOT_SIMULATED
    assert feed.on_candle_closed(closed_bar("okx", bar)) is FeedOutcome.NOT_A_SOURCE
    assert feed.on_candle_closed(closed_bar("binance", bar, volume=None)) is FeedOutcome.EMPTY
    assert paper.order_book(venue="paper", symbol=SYMBOL).bids == ()


# --- preference -------------------------------------------------------------------------------


def test_a_less_preferred_source_is_ignored_while_the_preferred_is_fresh_then_takes_over(
    feed: PaperMarketFeed, paper: PaperExchange, clock: ManualClock
):
    def book_of(venue: str, bid: str) -> OrderBookUpdated:
        ask = str(Decimal(bid) + 1)
        return source_book(venue, bids=[(bid, "1")], asks=[(ask, "1")], at=clock.now)

    assert feed.on_order_book(book_of("gateio", "200")) is FeedOutcome.APPLIED  # alone: taken
    assert feed.on_order_book(book_of("binance", "100")) is FeedOutcome.APPLIED  # preferred
    clock.advance(seconds=30)
    assert feed.on_order_book(book_of("gateio", "201")) is FeedOutcome.OUTRANKED
    assert top(paper.order_book(venue="paper", symbol=SYMBOL))[0] == Decimal("100")

    # Binance's stream stops; once it is stale (120 s since its last book) Gate.io takes over.
    clock.now += CONFIG.source_stale_after - timedelta(seconds=30)
    assert feed.on_order_book(book_of("gateio", "202")) is FeedOutcome.OUTRANKED
    clock.advance(seconds=1)
    assert feed.on_order_book(book_of("gateio", "203")) is FeedOutcome.APPLIED
    assert top(paper.order_book(venue="paper", symbol=SYMBOL))[0] == Decimal("203")
    # Binance is back: preferred again at once, and Gate.io is ignored.
    assert feed.on_order_book(book_of("binance", "104")) is FeedOutcome.APPLIED
    assert feed.on_order_book(book_of("gateio", "205")) is FeedOutcome.OUTRANKED
    assert top(paper.order_book(venue="paper", symbol=SYMBOL))[0] == Decimal("104")


def test_candles_of_a_less_preferred_source_wait_until_the_preferred_one_is_stale(
    feed: PaperMarketFeed, paper: PaperExchange, clock: ManualClock
):
    clock.advance(seconds=2)
    assert feed.on_candle_closed(closed_bar("binance", NOW - MINUTE)) is FeedOutcome.APPLIED
    clock.advance(minutes=1)
    demo = closed_bar("demo", NOW, close=500.0)
    assert feed.on_candle_closed(demo) is FeedOutcome.OUTRANKED
    assert top(paper.order_book(venue="paper", symbol=SYMBOL))[1] == Decimal("100.05")
    clock.advance(minutes=1, seconds=1)  # binance's last bar was applied 121 s ago
    later_demo = closed_bar("demo", NOW + MINUTE, close=500.0)
    assert feed.on_candle_closed(later_demo) is FeedOutcome.APPLIED
    assert top(paper.order_book(venue="paper", symbol=SYMBOL))[1] == Decimal("500.25")


def test_a_live_book_suppresses_candle_rebuilds_until_it_goes_quiet(
    feed: PaperMarketFeed, paper: PaperExchange, clock: ManualClock
):
    live = source_book("gateio", bids=[("99", "1")], asks=[("99.1", "1")], at=clock.now)
    assert feed.on_order_book(live) is FeedOutcome.APPLIED
    clock.advance(seconds=10)
    # Binance is preferred, but its candle is only a model: Gate.io's live book stays.
    candle = closed_bar("binance", clock.now - MINUTE - timedelta(seconds=5), close=120.0)
    assert feed.on_candle_closed(candle) is FeedOutcome.LIVE_BOOK
    assert top(paper.order_book(venue="paper", symbol=SYMBOL)) == (Decimal("99"), Decimal("99.1"))

    clock.now += CONFIG.live_book_window  # no live book for over a minute
    fresh = closed_bar("binance", clock.now - MINUTE - timedelta(seconds=5), close=120.0)
    assert feed.on_candle_closed(fresh) is FeedOutcome.APPLIED
    assert top(paper.order_book(venue="paper", symbol=SYMBOL)) == (
        Decimal("119.94"),
        Decimal("120.06"),
    )


# --- seeding on demand ------------------------------------------------------------------------


@pytest.fixture
def demo_data() -> None:
    """What ``./run serve`` stores offline: the synthetic sample, venue ``demo``."""
    call_command("load_demo_data", "--offline", stdout=io.StringIO())


def test_seeding_from_stored_demo_candles_lets_a_market_order_fill_at_once(
    demo_data: None, paper: PaperExchange, account: UUID, clock: ManualClock
):
    gateway = ExchangeGateway(
        paper=paper, paper_feed=PaperMarketFeed(paper=paper, clock=clock, config=CONFIG)
    )
    ack = gateway.place_order(
        account_id=account,
        request=OrderRequest(
            symbol=SYMBOL, side=OrderSide.BUY, type=OrderType.MARKET, amount=Decimal("0.01")
        ),
    )
    assert ack.status is OrderStatus.FILLED

    latest = market_data_api().candles(venue="demo", symbol=SYMBOL, timeframe="1m", limit=1)
    close = Decimal(str(latest.close[-1]))
    fills = gateway.my_trades(account_id=account)
    assert sum(f.amount for f in fills) == Decimal("0.01")
    assert all(close < f.price < close * Decimal("1.002") for f in fills)  # the model's asks
    # The seeded book is as old as the stored bar it was built from, and says so.
    book = gateway.order_book(venue="paper", symbol=SYMBOL)
    closed_at = datetime.fromtimestamp(latest.open_time[-1] / 1000 + 60, tz=NOW.tzinfo)
    assert book.timestamp == closed_at
    assert gateway.ticker(venue="paper", symbol="ETH/USDT").bid is not None  # seeded too


def test_without_stored_data_paper_calls_behave_as_before_and_the_store_is_asked_once_a_minute(
    paper: PaperExchange, account: UUID, clock: ManualClock
):
    gateway = ExchangeGateway(
        paper=paper, paper_feed=PaperMarketFeed(paper=paper, clock=clock, config=CONFIG)
    )

    def store_queries(call: Any) -> int:
        with CaptureQueriesContext(connection) as captured:
            call()
        return sum("data_series" in q["sql"] or "data_candle" in q["sql"] for q in captured)

    assert store_queries(lambda: gateway.order_book(venue="paper", symbol=SYMBOL)) > 0
    market = OrderRequest(
        symbol=SYMBOL, side=OrderSide.BUY, type=OrderType.MARKET, amount=Decimal("0.01")
    )
    for _ in range(3):
        assert store_queries(lambda: gateway.ticker(venue="paper", symbol=SYMBOL)) == 0
        with pytest.raises(InvalidOrder, match="no order book"):
            gateway.place_order(account_id=account, request=market)
    assert gateway.order_book(venue="paper", symbol=SYMBOL).bids == ()

    clock.now += CONFIG.seed_retry
    assert store_queries(lambda: gateway.order_book(venue="paper", symbol=SYMBOL)) > 0


def test_a_book_with_levels_is_never_reseeded_and_errors_never_reach_the_caller(
    demo_data: None, paper: PaperExchange, clock: ManualClock, settings: Any
):
    feed = PaperMarketFeed(paper=paper, clock=clock, config=CONFIG)
    live = source_book("binance", bids=[("10", "1")], asks=[("11", "1")], at=clock.now)
    assert feed.on_order_book(live) is FeedOutcome.APPLIED
    assert feed.ensure_book(venue="paper", symbol=SYMBOL) is FeedOutcome.HAS_BOOK
    assert top(paper.order_book(venue="paper", symbol=SYMBOL)) == (Decimal("10"), Decimal("11"))
    assert feed.ensure_book(venue="binance", symbol=SYMBOL) is FeedOutcome.NOT_A_SOURCE

    # A broken setting is logged; the event is dropped, nothing is raised into the bus.
    settings.EXCHANGE_PAPER_TIMEFRAME = "1M"
    process = PaperMarketFeed(paper=paper, clock=clock)
    assert process.on_candle_closed(closed_bar("binance", clock.now - MINUTE)) is (
        FeedOutcome.FAILED
    )
    event = closed_bar("binance", timezone.now() - MINUTE)
    publish(event)
    drain()
    assert OutboxMessage.objects.get(event_id=event.id).state == "delivered"
