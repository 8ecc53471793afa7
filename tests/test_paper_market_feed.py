"""End to end across two domains: a bar the data domain's live path stores moves the paper venue.

The data domain's ``LiveCandles`` is fed trade ticks of Binance BTC/USDT; the bar they close is
stored and ``CandleClosed`` is published (durable). The relay hands it to the exchange app's
paper-feed handler, which fills the resting paper order the bar traded through and installs the
model book around its close. Nothing is faked: real database, the in-process bus, the handlers
the apps registered.
"""

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from domains.data.services.live import LiveCandles
from domains.exchange.api import OrderRequest, OrderSide, OrderStatus, OrderType
from domains.exchange.services.paper.market_feed import PaperMarketFeed, paper_market_feed
from dsta.kernel.bus import drain
from dsta.kernel.market import SeriesKey

pytestmark = pytest.mark.django_db

MINUTE_MS = 60_000


@pytest.fixture
def feed() -> Iterator[PaperMarketFeed]:
    """The exchange app's feed, as fresh as a new process's."""
    feed = paper_market_feed()
    feed.reset()
    yield feed
    feed.reset()


def test_a_bar_stored_by_the_live_path_moves_the_paper_book_and_fills_a_resting_order(
    feed: PaperMarketFeed,
) -> None:
    paper = feed.paper
    account = paper.create_account(name="e2e", balances={"USDT": Decimal("10000")})
    resting = paper.place_order(
        account_id=account,
        request=OrderRequest(
            symbol="BTC/USDT",
            side=OrderSide.BUY,
            type=OrderType.LIMIT,
            amount=Decimal("0.01"),
            price=Decimal("60000"),
        ),
    )
    series = SeriesKey.of("binance", "spot", "BTC/USDT", "trades", "1m")
    live = LiveCandles(on_price_only_close=lambda _: None, series_source=lambda: [series])
    now_ms = int(datetime.now(UTC).timestamp() * 1000)
    bar = now_ms - now_ms % MINUTE_MS - MINUTE_MS  # the bar that closed last, on the grid

    def trade(price: float, ts_ms: int) -> int:
        return live.on_price(
            venue="binance", symbol="BTC/USDT", price=price, ts_ms=ts_ms, amount=2.0
        )

    trade(60500.0, bar - 1_000)  # the builder starts mid-bar: that bar is never stored
    assert trade(60500.0, bar) == 1  # closes the partial bar: not stored
    trade(59900.0, bar + 20_000)  # trades through the resting buy at 60 000
    trade(60400.0, bar + 40_000)
    assert trade(60450.0, bar + MINUTE_MS) == 1  # closes the whole bar: stored, announced
    assert paper.order_book(venue="paper", symbol="BTC/USDT").bids == ()  # not yet relayed
    drain()

    order = paper.get_order(
        account_id=account, symbol="BTC/USDT", client_order_id=resting.client_order_id
    )
    assert order.status is OrderStatus.FILLED
    [fill] = paper.my_trades(account_id=account)
    assert (fill.price, fill.amount) == (Decimal("60000"), Decimal("0.01"))
    book = paper.order_book(venue="paper", symbol="BTC/USDT")
    assert book.timestamp == datetime.fromtimestamp((bar + MINUTE_MS) / 1000, tz=UTC)
    assert book.bids[0].price == Decimal("60369.80")  # close 60 400 less half the 10 bps spread
    assert book.asks[0].price == Decimal("60430.20")
    assert book.asks[0].amount == Decimal("0.06")  # 1 % of the bar's 6 BTC traded
