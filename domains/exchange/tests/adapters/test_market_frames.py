"""Each venue's reader on frames written from its docs (the shapes the market streams act on;
the streams themselves are exercised end to end in ``tests/resilience/``)."""

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from domains.exchange.adapters.gate_frames import GateSubscribe, read_gate
from domains.exchange.adapters.htx_frames import read_htx, snapshot_request
from domains.exchange.adapters.market_frames import (
    BestQuote,
    DepthSnapshot,
    DepthUpdate,
    Heartbeat,
    Malformed,
    Refused,
    SnapshotRefused,
    StreamItem,
    Subscribed,
    TradePrint,
    Trades,
    read_binance,
)


@pytest.mark.parametrize(
    ("frame", "item"),
    [
        ({"result": None, "id": 1}, Subscribed("request 1")),
        # "Error Messages": the bare form, and the wrapped form the server sends.
        ({"code": 2, "msg": "Invalid request: unknown variant", "id": 1},
         Refused("request 1", "2: Invalid request: unknown variant")),
        ({"error": {"code": 2, "msg": "Invalid request"}, "id": 3},
         Refused("request 3", "2: Invalid request")),
        ({"u": 400, "s": "BTCUSDT", "b": "1.5", "B": "3", "a": "1.6", "A": "2"},
         BestQuote("BTCUSDT", Decimal("1.5"), Decimal("1.6"))),
        ({"u": 400, "s": "BTCUSDT", "b": "?", "B": "3", "a": "1.6", "A": "2"},
         Malformed("best bid/ask of BTCUSDT is not a number: '?'/'1.6'")),
        # "Trade Streams": m = the buyer is the maker, so the seller hit the bid.
        ({"e": "trade", "E": 1672515782136, "s": "BNBBTC", "t": 12345, "p": "0.001",
          "q": "100", "T": 1672515782136, "m": True, "M": True},
         Trades("BNBBTC", (TradePrint("12345", Decimal("0.001"), Decimal("100"), "sell",
                                      datetime(2022, 12, 31, 19, 43, 2, 136000, UTC)),))),
        ({"e": "trade", "s": "BTCUSDT", "t": 1, "p": "1", "q": "1", "T": 0, "m": False},
         Trades("BTCUSDT", (TradePrint("1", Decimal(1), Decimal(1), "buy",
                                       datetime(1970, 1, 1, tzinfo=UTC)),))),
        ({"e": "trade", "s": "BTCUSDT"},
         Malformed("trade event of BTCUSDT with a trade that is not one")),
        ({"e": "trade", "s": "BTCUSDT", "t": 1, "p": "NaN", "q": "1", "T": 0, "m": False},
         Malformed("trade event of BTCUSDT with a trade that is not one")),
        ({"e": "aggTrade", "s": "BTCUSDT"}, None),
        ([1, 2], None),
    ],
)  # fmt: skip
def test_binance_frames(frame: Any, item: StreamItem | None) -> None:
    assert read_binance(frame) == item


def test_binance_depth_updates_keep_the_raw_event_for_the_book_rule() -> None:
    event = {"e": "depthUpdate", "s": "btcusdt", "U": 1, "u": 2, "b": [], "a": []}
    assert read_binance({"stream": "btcusdt@depth", "data": event}) == DepthUpdate("BTCUSDT", event)


@pytest.mark.parametrize(
    ("frame", "item"),
    [
        ({"time": 1545404023, "channel": "spot.pong", "event": "", "error": None, "result": None},
         Heartbeat()),
        ({"time": 1, "channel": "spot.book_ticker", "event": "subscribe",
          "payload": ["BTC_USDT"], "error": None, "result": {"status": "success"}},
         Subscribed("spot.book_ticker BTC_USDT")),
        ({"time": 1, "channel": "spot.trades", "event": "subscribe",
          "error": {"code": 2, "message": "unknown currency pair GIBBERISH_USD"}, "result": None},
         Refused("spot.trades", "code 2: unknown currency pair GIBBERISH_USD")),
        ({"time": 1, "channel": "spot.ping", "error": {"code": 3, "message": "Server error"}},
         Refused("spot.ping", "code 3: Server error")),
        ({"time": 1, "channel": "spot.book_ticker", "event": "unsubscribe",
          "payload": ["BTC_USDT"], "result": {"status": "success"}}, None),
        ({"time": 1, "channel": "spot.trades", "event": "update", "result": {"id": 1}},
         Malformed("spot.trades update without a result of a pair")),
        ({"time": 1, "channel": "spot.trades", "event": "update",
          "result": {"id": 7, "create_time": 1606292218, "side": "buy",
                     "currency_pair": "BTC_USDT", "amount": "1", "price": "2"}},
         Trades("BTC_USDT", (TradePrint("7", Decimal(1 * 2), Decimal(1), "buy",
                                        datetime(2020, 11, 25, 8, 16, 58, tzinfo=UTC)),))),
        ({"time": 1, "channel": "spot.trades", "event": "update",
          "result": {"id": 7, "create_time": 1, "side": "up", "currency_pair": "BTC_USDT",
                     "amount": "1", "price": "2"}},
         Malformed("spot.trades of BTC_USDT with a trade that is not one")),
        ({"time": 1, "channel": "spot.book_ticker", "event": "update",
          "result": {"t": 1, "u": 2, "s": "BTC_USDT", "b": "19177.79", "a": "19179.38"}},
         BestQuote("BTC_USDT", Decimal("19177.79"), Decimal("19179.38"))),
    ],
)  # fmt: skip
def test_gate_frames(frame: Any, item: StreamItem | None) -> None:
    assert read_gate(frame) == item


def test_gate_requests_carry_seconds_and_counting_ids() -> None:
    frames = GateSubscribe(clock=lambda: 1611541000.7)
    assert frames(["spot.order_book_update BTC_USDT 100ms", "spot.book_ticker BTC_USDT"]) == [
        {
            "time": 1611541000,
            "id": 1,
            "channel": "spot.order_book_update",
            "event": "subscribe",
            "payload": ["BTC_USDT", "100ms"],
        },
        {
            "time": 1611541000,
            "id": 2,
            "channel": "spot.book_ticker",
            "event": "subscribe",
            "payload": ["BTC_USDT"],
        },
    ]
    assert frames.ping() == {"time": 1611541000, "channel": "spot.ping"}


@pytest.mark.parametrize(
    ("frame", "item"),
    [
        ({"ping": 1492420473027}, Heartbeat(reply={"pong": 1492420473027})),
        ({"action": "ping", "data": {"ts": 1645108204665}},
         Heartbeat(reply={"action": "pong", "data": {"ts": 1645108204665}})),
        ({"id": "market.btcusdt.bbo", "status": "ok", "subbed": "market.btcusdt.bbo", "ts": 1},
         Subscribed("market.btcusdt.bbo")),
        ({"id": "market.nope.bbo", "status": "error", "err-code": "bad-request",
          "err-msg": "invalid topic market.nope.bbo", "ts": 1},
         Refused("market.nope.bbo", "bad-request: invalid topic market.nope.bbo")),
        ({"id": "req market.btcusdt.mbp.150", "status": "error", "err-code": "bad-request",
          "err-msg": "invalid", "ts": 1},
         SnapshotRefused("btcusdt", "bad-request: invalid")),
        ({"id": "req market.btcusdt.mbp.150", "rep": "market.btcusdt.mbp.150", "status": "ok",
          "data": {"seqNum": 100020142010, "bids": [[618.37, 71.594]], "asks": []}},
         DepthSnapshot("btcusdt", 100020142010, [[618.37, 71.594]], [])),
        ({"id": "x", "rep": "market.btcusdt.mbp.150", "status": "ok", "data": {"bids": []}},
         Malformed("market.btcusdt.mbp.150: no integer 'seqNum' in the update: None")),
        ({"ch": "market.btcusdt.bbo", "ts": 1,
          "tick": {"seqId": 1, "ask": 16829.51, "bid": 16829.5, "symbol": "btcusdt"}},
         BestQuote("btcusdt", Decimal("16829.5"), Decimal("16829.51"))),
        ({"ch": "market.btcusdt.bbo", "ts": 1}, Malformed("market.btcusdt.bbo without a tick")),
        ({"ch": "market.btcusdt.trade.detail", "ts": 1, "tick": {}},
         Malformed("market.btcusdt.trade.detail without a list of trades")),
        ({"ch": "market.btcusdt.trade.detail", "ts": 1, "tick": {"data": [
            {"tradeId": 5, "ts": 0, "amount": 0.25, "price": 100.5, "direction": "sell"}]}},
         Trades("btcusdt", (TradePrint("5", Decimal("100.5"), Decimal("0.25"), "sell",
                                       datetime(1970, 1, 1, tzinfo=UTC)),))),
        ({"ch": "market.btcusdt.trade.detail", "ts": 1, "tick": {"data": ["x"]}},
         Malformed("market.btcusdt.trade.detail of btcusdt with a trade that is not one")),
        ({"id": "1578090234088", "type": "welcome"}, None),
    ],
)  # fmt: skip
def test_htx_frames(frame: Any, item: StreamItem | None) -> None:
    assert read_htx(frame) == item


def test_htx_depth_update_and_snapshot_request() -> None:
    tick = {"seqNum": 100020146795, "prevSeqNum": 100020146794, "bids": [], "asks": []}
    frame = {"ch": "market.btcusdt.mbp.150", "ts": 1573199608679, "tick": tick}
    assert read_htx(frame) == DepthUpdate("btcusdt", tick)
    assert snapshot_request("btcusdt") == {
        "req": "market.btcusdt.mbp.150",
        "id": "req market.btcusdt.mbp.150",
    }
