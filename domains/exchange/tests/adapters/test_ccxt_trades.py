"""A market's public trades on the wire, for all three venues: ccxt's recorded ``fetchTrades``
responses are served by the fake venue; the request goes out to the venue's public trade list
and our ``PublicTrade`` values equal the ones ccxt parsed when it recorded them."""

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from domains.exchange.api import OrderSide, UnknownSymbol
from domains.exchange.tests.adapters.conftest import Rig

# (path, params) each venue is asked with: Binance "Compressed/Aggregate trades list",
# Gate "Retrieve market trades", HTX "Get the Most Recent Trades" (size is HTX's limit).
TRADE_REQUESTS = {
    "binance": ("/api/v3/aggTrades", {"symbol": "BTCUSDT", "limit": "1"}),
    "gateio": ("/api/v4/spot/trades", {"currency_pair": "BTC_USDT", "limit": "1"}),
    "htx": ("/market/history/trade", {"symbol": "btcusdt", "size": "1"}),
}


def recorded_trades(rig: Rig) -> dict[str, Any]:
    [recorded] = [r for r in rig.responses_for("fetchTrades") if r["input"][0] == "BTC/USDT"]
    return recorded


def test_public_trades_are_asked_for_and_parsed_as_ccxt_recorded_them(rig: Rig):
    recorded = recorded_trades(rig)
    _, _, limit = recorded["input"]
    rig.fake.respond(recorded["httpResponse"])

    trades = rig.live.trades("BTC/USDT", limit)

    sent = rig.fake.last()
    path, params = TRADE_REQUESTS[rig.venue]
    assert (sent.method, sent.path, sent.query) == ("GET", path, params)
    expected = [
        (
            str(p["id"]),
            Decimal(str(p["price"])),
            Decimal(str(p["amount"])),
            OrderSide(p["side"]),
            datetime.fromtimestamp(p["timestamp"] / 1000, UTC),
        )
        for p in recorded["parsedResponse"]
    ]
    assert [(t.trade_id, t.price, t.amount, t.side, t.timestamp) for t in trades] == expected
    assert all((t.venue, t.symbol) == (rig.venue, "BTC/USDT") for t in trades)


def test_htx_answers_its_whole_batch_and_the_latest_come_oldest_first(htx_rig: Rig):
    # HTX answers batches of prints (newest batch first, newest print first within one);
    # the recorded answer holds more than one print.
    recorded = recorded_trades(htx_rig)
    prints = [p for batch in recorded["httpResponse"]["data"] for p in batch["data"]]
    htx_rig.fake.respond(recorded["httpResponse"])

    trades = htx_rig.live.trades("BTC/USDT", 100)

    assert htx_rig.fake.last().query == {"symbol": "btcusdt", "size": "100"}
    assert sorted(t.trade_id for t in trades) == sorted(str(p["trade-id"]) for p in prints)
    assert len(trades) == len(prints) > 1
    times = [t.timestamp for t in trades]
    assert times == sorted(times)
    # Prices exactly as the venue wrote them (no float on the way).
    by_id = {str(p["trade-id"]): p for p in prints}
    assert all(t.price == Decimal(by_id[t.trade_id]["price"]) for t in trades)
    assert all(t.side is OrderSide(by_id[t.trade_id]["direction"]) for t in trades)


def test_an_unknown_symbol_is_refused_before_any_request(rig: Rig):
    with pytest.raises(UnknownSymbol):
        rig.live.trades("NOPE/USDT", 10)
    assert rig.fake.requests == []
