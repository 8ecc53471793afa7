"""The private-stream dialects, frame by frame: signatures against the venues' documented
examples (or an independent implementation where the docs give none), frames written from the
venues' docs turned into order states and fills, refusals, and malformed input never raising.
"""

import gzip
import hashlib
import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from uuid import uuid4

import ccxt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domains.exchange.adapters.ccxt_gateway import VenueCredentials
from domains.exchange.adapters.user_streams import (
    BinanceUserStream,
    GateUserStream,
    HtxUserStream,
    MarketIndex,
    binance,
    gateio,
    htx,
)
from domains.exchange.api import (
    Fill,
    Liquidity,
    OrderAck,
    OrderSide,
    OrderStatus,
    OrderType,
    TimeInForce,
)
from domains.exchange.tests.factories import btc_usdt
from domains.exchange.tests.fake_user_stream import (
    GATE_ORDER,
    GATE_TRADE,
    HTX_CANCELLATION,
    HTX_CLEARING,
    HTX_CREATION,
    HTX_TRADE,
    binance_event,
    binance_trade,
    execution_report,
    gate_update,
    htx_push,
)

ACCOUNT = uuid4()
# Binance's documented example key pair ("SIGNED request example (HMAC)").
DOC_KEY = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"
DOC_SECRET = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
CREDENTIALS = VenueCredentials(api_key="key-1", secret="secret-1")


def index(venue: str, venue_symbol: str) -> MarketIndex:
    return MarketIndex([btc_usdt(venue, venue_symbol=venue_symbol)])


def binance_dialect(clock: float = 1_700_000_000.0) -> BinanceUserStream:
    return BinanceUserStream(
        account_id=ACCOUNT, markets=index("binance", "BTCUSDT").get, clock=lambda: clock
    )


def gate_dialect(clock: float = 1_700_000_000.0) -> GateUserStream:
    return GateUserStream(
        account_id=ACCOUNT, markets=index("gateio", "BTC_USDT").get, clock=lambda: clock
    )


def htx_dialect(clock: float = 1_567_361_776.0) -> HtxUserStream:
    return HtxUserStream(
        account_id=ACCOUNT, markets=index("htx", "btcusdt").get, clock=lambda: clock
    )


def ms(value: int) -> datetime:
    return datetime.fromtimestamp(value / 1000, UTC)


# --- Binance -------------------------------------------------------------------------------------


def test_binance_signature_matches_the_documented_hmac_example():
    # "SIGNED request example (HMAC)": order.place's parameters, signed.
    params = {
        "symbol": "BTCUSDT",
        "side": "SELL",
        "type": "LIMIT",
        "timeInForce": "GTC",
        "quantity": "0.01000000",
        "price": "52000.00",
        "newOrderRespType": "ACK",
        "recvWindow": 100,
        "timestamp": 1645423376532,
        "apiKey": DOC_KEY,
    }
    assert (
        binance.sign(DOC_SECRET, params)
        == "cc15477742bd704c29492d96c7ead9414dfd8e0ec4a00f947bb5bb454ddbd08a"
    )


def test_binance_subscribes_with_a_signature_of_the_api_key_and_timestamp():
    request = binance_dialect(clock=1747385641.636).handshake(
        VenueCredentials(api_key=DOC_KEY, secret=DOC_SECRET), binance.BINANCE_WS_API_URL
    )
    assert len(request) == 1
    frame = request[0]
    assert frame["method"] == "userDataStream.subscribe.signature"
    assert set(frame["params"]) == {"apiKey", "timestamp", "signature"}
    assert (frame["params"]["apiKey"], frame["params"]["timestamp"]) == (DOC_KEY, 1747385641636)
    independent = ccxt.Exchange.hmac(
        f"apiKey={DOC_KEY}&timestamp=1747385641636".encode(), DOC_SECRET.encode(), hashlib.sha256
    )
    assert frame["params"]["signature"] == independent


def test_binance_subscription_answers_confirm_or_refuse():
    dialect = binance_dialect()
    dialect.handshake(CREDENTIALS, binance.BINANCE_WS_API_URL)
    ok = dialect.read({"id": "sub-1", "status": 200, "result": {"subscriptionId": 0}})
    assert (ok.confirmed, ok.refusal, dialect.subscription_id) == (1, None, 0)
    bad_key = dialect.read(
        {
            "id": "sub-2",
            "status": 401,
            "error": {"code": -2015, "msg": "Invalid API-key, IP, or permissions for action."},
        }
    )
    assert bad_key.refusal is not None
    assert bad_key.refusal.auth
    assert bad_key.refusal.code == "-2015"
    late = dialect.read(
        {
            "id": "sub-3",
            "status": 400,
            "error": {"code": -1021, "msg": "Timestamp for this request is outside of the "},
        }
    )
    assert late.refusal is not None
    assert not late.refusal.auth
    pong = dialect.read({"id": "ping-4", "status": 200, "result": {}})
    assert (pong.confirmed, pong.refusal, pong.updates) == (0, None, [])


def test_binance_new_order_is_an_open_order_state_without_a_fill():
    reading = binance_dialect().read(binance_event(execution_report()))
    assert reading.skipped == []
    [ack] = reading.updates
    assert isinstance(ack, OrderAck)
    assert (ack.account_id, ack.venue, ack.symbol) == (ACCOUNT, "binance", "BTC/USDT")
    assert (ack.client_order_id, ack.venue_order_id) == ("dsta0001", "4293153")
    assert (ack.side, ack.type, ack.status) == (OrderSide.BUY, OrderType.LIMIT, OrderStatus.OPEN)
    assert (ack.amount, ack.filled, ack.price) == (Decimal("0.01"), 0, Decimal("60000.00"))
    assert ack.average_price is None
    assert ack.stop_price is None
    assert (ack.created_at, ack.updated_at) == (ms(1499405658657), ms(1499405658657))


def test_binance_trade_gives_the_order_state_and_one_fill_with_its_commission():
    frame = binance_event(
        binance_trade(77, "0.00400000", "59999.00", "0.00400000", "239.99600000", m=False)
    )
    ack, fill = binance_dialect().read(frame).updates
    assert isinstance(ack, OrderAck)
    assert isinstance(fill, Fill)
    assert (ack.status, ack.filled) == (OrderStatus.PARTIALLY_FILLED, Decimal("0.004"))
    assert ack.average_price == Decimal("239.996") / Decimal("0.004")
    assert ack.fee == 0  # an executionReport has no cumulative fee: the ledger sums the fills
    assert fill == Fill(
        fill_id="77",
        account_id=ACCOUNT,
        venue="binance",
        symbol="BTC/USDT",
        client_order_id="dsta0001",
        venue_order_id="4293153",
        side=OrderSide.BUY,
        price=Decimal("59999.00"),
        amount=Decimal("0.004"),
        fee=Decimal("0.0000075"),
        fee_currency="BNB",
        liquidity=Liquidity.TAKER,
        timestamp=ms(1499405658777),
    )


def test_binance_cancel_names_our_order_in_the_original_client_id():
    report = execution_report(x="CANCELED", X="CANCELED", c="cancelReq42", C="dsta0001")
    [ack] = binance_dialect().read(binance_event(report)).updates
    assert isinstance(ack, OrderAck)
    assert (ack.client_order_id, ack.status) == ("dsta0001", OrderStatus.CANCELED)


def test_binance_order_kinds_statuses_and_reasons():
    dialect = binance_dialect()
    maker = dialect.read(binance_event(execution_report(o="LIMIT_MAKER"))).updates[0]
    assert isinstance(maker, OrderAck)
    assert (maker.post_only, maker.time_in_force) == (True, TimeInForce.PO)
    stop = dialect.read(
        binance_event(execution_report(o="STOP_LOSS_LIMIT", P="59000.00", w=False))
    ).updates[0]
    assert isinstance(stop, OrderAck)
    assert (stop.type, stop.status, stop.stop_price) == (
        OrderType.STOP_LIMIT,
        OrderStatus.PENDING_TRIGGER,
        Decimal("59000.00"),
    )
    expired = dialect.read(
        binance_event(execution_report(o="MARKET", f="GTC", x="EXPIRED", X="EXPIRED", p="0"))
    ).updates[0]
    assert isinstance(expired, OrderAck)
    assert (expired.status, expired.reason, expired.price) == (
        OrderStatus.EXPIRED,
        "expired",
        None,
    )
    rejected = dialect.read(
        binance_event(execution_report(x="REJECTED", X="REJECTED", r="INSUFFICIENT_BALANCES"))
    ).updates[0]
    assert isinstance(rejected, OrderAck)
    assert (rejected.status, rejected.reason) == (OrderStatus.REJECTED, "INSUFFICIENT_BALANCES")


def test_binance_stream_end_asks_for_a_new_subscription():
    # "Event Stream Terminated" (WebSocket API form) and the listenKey streams' expiry.
    dialect = binance_dialect()
    ended = dialect.read({"subscriptionId": 0, "event": {"e": "eventStreamTerminated", "E": 1}})
    assert ended.ended == "eventStreamTerminated"
    expired = dialect.read({"e": "listenKeyExpired", "E": 1, "listenKey": "OfYGbUzi3Pra"})
    assert expired.ended == "listenKeyExpired"


def test_binance_skips_unknown_symbols_malformed_reports_and_unused_events():
    dialect = binance_dialect()
    unknown = dialect.read(binance_event(execution_report(s="ETHBTC")))
    assert (unknown.updates, unknown.unknown_symbols) == ([], {"ETHBTC"})
    bad = dialect.read(binance_event(execution_report(q="lots")))
    assert bad.updates == []
    assert "malformed" in bad.skipped[0]
    no_trade_id = dialect.read(binance_event(binance_trade(77, "1", "1", "1", "1", t=-1)))
    assert no_trade_id.updates == []
    assert no_trade_id.skipped
    balance = dialect.read(binance_event({"e": "outboundAccountPosition", "E": 1, "B": []}))
    assert (balance.updates, balance.skipped) == ([], [])
    for junk in ([1, 2], "text", {"hello": "world"}, {"event": "x"}):
        reading = dialect.read(junk)
        assert reading.updates == []
        assert reading.skipped


# --- Gate.io ------------------------------------------------------------------------------------


def test_gate_signature_is_hmac_sha512_of_channel_event_and_time():
    frames = gate_dialect(clock=1611541000.9).handshake(CREDENTIALS, gateio.GATE_WS_URL)
    assert [f["channel"] for f in frames] == ["spot.orders", "spot.usertrades"]
    for frame in frames:
        assert (frame["event"], frame["time"], frame["payload"]) == (
            "subscribe",
            1611541000,
            ["!all"],
        )
        independent = ccxt.Exchange.hmac(
            f"channel={frame['channel']}&event=subscribe&time=1611541000".encode(),
            b"secret-1",
            hashlib.sha512,
            "hex",
        )
        assert frame["auth"] == {"method": "api_key", "KEY": "key-1", "SIGN": independent}


def test_gate_subscription_answers_confirm_or_refuse():
    dialect = gate_dialect()
    ok = dialect.read(
        {
            "time": 1611541000,
            "channel": "spot.orders",
            "event": "subscribe",
            "error": None,
            "result": {"status": "success"},
        }
    )
    assert (ok.confirmed, ok.refusal) == (1, None)
    refused = dialect.read(
        {
            "time": 1647276473,
            "channel": "spot.orders",
            "event": "subscribe",
            "error": {"code": 4, "message": '{"label":"INVALID_KEY"}'},
            "result": None,
        }
    )
    assert refused.refusal is not None
    assert refused.refusal.auth
    other = dialect.read(
        {
            "channel": "spot.usertrades",
            "event": "subscribe",
            "error": {"code": 2, "message": "unknown currency pair"},
        }
    )
    assert other.refusal is not None
    assert not other.refusal.auth
    pong = dialect.read({"time": 1, "channel": "spot.pong", "event": "", "error": None})
    assert (pong.confirmed, pong.refusal, pong.skipped) == (0, None, [])
    assert dialect.keepalive() == {"time": 1700000000, "channel": "spot.ping"}


def test_gate_order_put_is_an_open_order_with_our_id_without_the_prefix():
    [ack] = gate_dialect().read(gate_update("spot.orders", GATE_ORDER)).updates
    assert isinstance(ack, OrderAck)
    assert (ack.venue, ack.symbol, ack.client_order_id, ack.venue_order_id) == (
        "gateio",
        "BTC/USDT",
        "testtext",
        "399123456",
    )
    assert (ack.side, ack.type, ack.status) == (OrderSide.SELL, OrderType.LIMIT, OrderStatus.OPEN)
    assert (ack.amount, ack.filled, ack.price) == (
        Decimal("0.0001"),
        Decimal(0),
        Decimal("26253.3"),
    )
    assert ack.created_at == ms(1694655225315)


def test_gate_order_updates_and_finishes():
    dialect = gate_dialect()
    partial = {
        **GATE_ORDER,
        "event": "update",
        "left": "0.00004",
        "avg_deal_price": "26253.3",
        "fee": "0.0000001",
    }
    filled = {**partial, "event": "finish", "left": "0", "finish_as": "filled", "fee": "0.0002"}
    cancelled = {**partial, "event": "finish", "finish_as": "cancelled"}
    would_take = {**GATE_ORDER, "event": "finish", "finish_as": "poc", "time_in_force": "poc"}
    states = dialect.read(
        gate_update("spot.orders", partial, filled, cancelled, would_take)
    ).updates
    assert all(isinstance(s, OrderAck) for s in states)
    acks = [s for s in states if isinstance(s, OrderAck)]
    assert [(a.status, a.filled) for a in acks] == [
        (OrderStatus.PARTIALLY_FILLED, Decimal("0.00006")),
        (OrderStatus.FILLED, Decimal("0.0001")),
        (OrderStatus.CANCELED, Decimal("0.00006")),
        (OrderStatus.REJECTED, Decimal(0)),
    ]
    assert (acks[1].fee, acks[1].fee_currency, acks[1].average_price) == (
        Decimal("0.0002"),
        "USDT",
        Decimal("26253.3"),
    )
    assert (acks[3].reason, acks[3].post_only) == ("post_only_would_cross", True)


def test_gate_market_buy_is_sized_in_base_from_what_it_bought():
    market_buy = {
        **GATE_ORDER,
        "type": "market",
        "side": "buy",
        "amount": "100",  # quote: USDT
        "price": "0",
        "time_in_force": "ioc",
        "left": "0",
        "filled_total": "100",
        "avg_deal_price": "25000",
        "event": "finish",
        "finish_as": "filled",
    }
    [ack] = gate_dialect().read(gate_update("spot.orders", market_buy)).updates
    assert isinstance(ack, OrderAck)
    assert (ack.type, ack.amount, ack.filled, ack.price) == (
        OrderType.MARKET,
        Decimal("0.004"),
        Decimal("0.004"),
        None,
    )


def test_gate_user_trade_is_a_fill_with_its_fee():
    [fill] = gate_dialect().read(gate_update("spot.usertrades", GATE_TRADE)).updates
    assert fill == Fill(
        fill_id="5736713",
        account_id=ACCOUNT,
        venue="gateio",
        symbol="BTC/USDT",
        client_order_id="apiv4",
        venue_order_id="30784428",
        side=OrderSide.SELL,
        price=Decimal("10000.00000000"),
        amount=Decimal("1.00000000"),
        fee=Decimal("0.002"),
        fee_currency="USDT",  # not in the example: a sell's fee is in the quote received
        liquidity=Liquidity.TAKER,
        timestamp=datetime.fromtimestamp(1605176741.123456, UTC),
    )
    ours = {**GATE_TRADE, "text": "t-dsta42", "fee_currency": "BTC", "side": "buy"}
    [mine] = gate_dialect().read(gate_update("spot.usertrades", ours)).updates
    assert isinstance(mine, Fill)
    assert (mine.client_order_id, mine.fee_currency) == ("dsta42", "BTC")
    in_gt = {**GATE_TRADE, "fee": "0", "gt_fee": "0.03"}
    [paid_in_gt] = gate_dialect().read(gate_update("spot.usertrades", in_gt)).updates
    assert isinstance(paid_in_gt, Fill)
    assert (paid_in_gt.fee, paid_in_gt.fee_currency) == (Decimal("0.03"), "GT")


def test_gate_skips_items_it_cannot_read_but_keeps_the_rest():
    reading = gate_dialect().read(
        gate_update(
            "spot.usertrades",
            {**GATE_TRADE, "currency_pair": "DOGE_USDT"},
            {**GATE_TRADE, "amount": None},
            "not an object",
            GATE_TRADE,
        )
    )
    assert [type(u).__name__ for u in reading.updates] == ["Fill"]
    assert reading.unknown_symbols == {"DOGE_USDT"}
    assert len(reading.skipped) == 3


# --- HTX ------------------------------------------------------------------------------------------


def test_htx_presigned_text_follows_the_documented_example():
    # "Signature Method": the documented pre-signed text of GET /v1/order/orders.
    presigned = htx.presigned_text(
        host="api.huobi.pro",
        path="/v1/order/orders",
        params={
            "AccessKeyId": "e2xxxxxx-99xxxxxx-84xxxxxx-7xxxx",
            "SignatureMethod": "HmacSHA256",
            "SignatureVersion": "2",
            "Timestamp": "2017-05-11T15:19:30",
            "order-id": "1234567890",
        },
    )
    assert presigned == (
        "GET\napi.huobi.pro\n/v1/order/orders\n"
        "AccessKeyId=e2xxxxxx-99xxxxxx-84xxxxxx-7xxxx&SignatureMethod=HmacSHA256"
        "&SignatureVersion=2&Timestamp=2017-05-11T15%3A19%3A30&order-id=1234567890"
    )


def test_htx_auth_request_is_signed_with_version_2_1_for_the_v2_path():
    # The documented request's shape: timestamp 2019-09-01T18:16:16 (the dialect's clock).
    [frame] = htx_dialect().handshake(CREDENTIALS, htx.HTX_WS_URL)
    assert (frame["action"], frame["ch"]) == ("req", "auth")
    params = frame["params"]
    assert {k: v for k, v in params.items() if k != "signature"} == {
        "authType": "api",
        "accessKey": "key-1",
        "signatureMethod": "HmacSHA256",
        "signatureVersion": "2.1",
        "timestamp": "2019-09-01T18:16:16",
    }
    presigned = (
        "GET\napi.huobi.pro\n/ws/v2\naccessKey=key-1&signatureMethod=HmacSHA256"
        "&signatureVersion=2.1&timestamp=2019-09-01T18%3A16%3A16"
    )
    independent = ccxt.Exchange.hmac(presigned.encode(), b"secret-1", hashlib.sha256, "base64")
    assert params["signature"] == independent


def test_htx_answers_pings_and_subscribes_once_authenticated():
    dialect = htx_dialect()
    ping = dialect.read({"action": "ping", "data": {"ts": 1575537778295}})
    assert ping.replies == [{"action": "pong", "data": {"ts": 1575537778295}}]
    auth = dialect.read({"action": "req", "code": 200, "ch": "auth", "data": {}})
    assert auth.confirmed == 1
    assert auth.replies == [
        {"action": "sub", "ch": "orders#*"},
        {"action": "sub", "ch": "trade.clearing#*#0"},
    ]
    sub = dialect.read({"action": "sub", "code": 200, "ch": "orders#*", "data": {}})
    assert (sub.confirmed, sub.replies) == (1, [])
    refused = dialect.read({"action": "req", "code": 2002, "ch": "auth", "message": "auth.fail"})
    assert refused.refusal is not None
    assert refused.refusal.auth
    throttled = dialect.read(
        {"action": "sub", "code": 4000, "ch": "orders#*", "message": "too.many.request"}
    )
    assert throttled.refusal is not None
    assert not throttled.refusal.auth


def test_htx_order_events_give_the_order_state():
    dialect = htx_dialect()
    created, traded, cancelled = (
        dialect.read(htx_push("orders#btcusdt", data)).updates[0]
        for data in (HTX_CREATION, HTX_TRADE, HTX_CANCELLATION)
    )
    assert isinstance(created, OrderAck)
    assert isinstance(traded, OrderAck)
    assert isinstance(cancelled, OrderAck)
    assert (created.client_order_id, created.venue_order_id, created.status) == (
        "abc123",
        "27163533",
        OrderStatus.OPEN,
    )
    assert (created.side, created.type, created.amount, created.price) == (
        OrderSide.SELL,
        OrderType.LIMIT,
        Decimal(2),
        Decimal(77),
    )
    assert (traded.status, traded.filled, traded.updated_at) == (
        OrderStatus.FILLED,
        Decimal(2),
        ms(1583854188883),
    )
    assert (cancelled.status, cancelled.filled, cancelled.updated_at) == (
        OrderStatus.CANCELED,
        0,
        ms(1583853475406),
    )
    maker = dialect.read(htx_push("orders#*", {**HTX_CREATION, "type": "buy-limit-maker"}))
    [post_only] = maker.updates
    assert isinstance(post_only, OrderAck)
    assert post_only.post_only


def test_htx_events_without_the_order_state_ask_for_a_reconcile():
    dialect = htx_dialect()
    market_buy = dialect.read(
        htx_push("orders#btcusdt", {**HTX_CREATION, "type": "buy-market", "orderValue": "100"})
    )
    trigger_failed = dialect.read(
        htx_push(
            "orders#btcusdt",
            {
                "orderSide": "buy",
                "lastActTime": 1583853365586,
                "clientOrderId": "abc123",
                "orderStatus": "rejected",
                "symbol": "btcusdt",
                "eventType": "trigger",
                "errCode": 2002,
                "errMessage": "invalid.client.order.id (NT)",
            },
        )
    )
    for reading in (market_buy, trigger_failed):
        assert reading.updates == []
        assert reading.needs_reconcile


def test_htx_clearing_trade_is_a_fill_with_its_fee():
    [fill] = htx_dialect().read(htx_push("trade.clearing#btcusdt#0", HTX_CLEARING)).updates
    assert fill == Fill(
        fill_id="919219323232",
        account_id=ACCOUNT,
        venue="htx",
        symbol="BTC/USDT",
        client_order_id="a001",
        venue_order_id="99998888",
        side=OrderSide.BUY,
        price=Decimal("9999.99"),
        amount=Decimal("0.96"),
        fee=Decimal("19.88"),
        fee_currency="BTC",
        liquidity=Liquidity.TAKER,
        timestamp=ms(998787897878),
    )


def test_htx_reads_plain_and_gzip_frames():
    dialect = htx_dialect()
    ping = {"action": "ping", "data": {"ts": 1}}
    assert dialect.decode(json.dumps(ping)) == ping
    assert dialect.decode(gzip.compress(json.dumps(ping).encode())) == ping
    with pytest.raises(ValueError, match="not gzip"):
        dialect.decode(b"\x00not gzip")


# --- whatever arrives, reading never raises ----------------------------------------------------

FIELD_NAMES = sorted(
    set(execution_report())
    | set(GATE_ORDER)
    | set(GATE_TRADE)
    | set(HTX_TRADE)
    | set(HTX_CLEARING)
    | {"event", "channel", "action", "ch", "data", "result", "status", "id", "error", "code"}
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**63), 2**63),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(
        [
            "",
            "0",
            "-1",
            "1e999",
            "NaN",
            "abc",
            "BTCUSDT",
            "BTC_USDT",
            "btcusdt",
            "TRADE",
            "FILLED",
            "executionReport",
            "spot.orders",
            "spot.usertrades",
            "update",
            "finish",
            "push",
            "orders#btcusdt",
            "trade.clearing#btcusdt#0",
            "trade",
            "buy-limit",
            "sell-market",
            "buy",
            "SELL",
            "filled",
            "1694655225315",
            "t-x",
        ]
    ),
)
frames = st.recursive(
    st.dictionaries(st.sampled_from(FIELD_NAMES), scalars, max_size=12),
    lambda children: st.one_of(
        st.lists(children, max_size=3),
        st.dictionaries(st.sampled_from(FIELD_NAMES), children, max_size=4),
    ),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None)
@given(frame=st.one_of(frames, scalars, st.lists(frames, max_size=3)))
def test_no_frame_makes_a_dialect_raise(frame: Any):
    for dialect in (binance_dialect(), gate_dialect(), htx_dialect()):
        reading = dialect.read(frame)
        for update in reading.updates:
            assert update.account_id == ACCOUNT
            assert update.symbol == "BTC/USDT"


def mutated(base: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    """``base`` with some fields replaced by anything and some removed."""
    return st.tuples(
        st.dictionaries(st.sampled_from(sorted(base)), scalars, max_size=6),
        st.sets(st.sampled_from(sorted(base)), max_size=4),
    ).map(lambda c: {k: v for k, v in {**base, **c[0]}.items() if k not in c[1]})


@settings(max_examples=300, deadline=None)
@given(
    report=mutated(execution_report()),
    order=mutated(GATE_ORDER),
    trade=mutated(GATE_TRADE),
    htx_order=mutated(HTX_TRADE),
    clearing=mutated(HTX_CLEARING),
)
def test_documented_frames_with_broken_fields_are_read_or_skipped_never_raised(
    report: dict[str, Any],
    order: dict[str, Any],
    trade: dict[str, Any],
    htx_order: dict[str, Any],
    clearing: dict[str, Any],
):
    readings = [
        binance_dialect().read(binance_event(report)),
        gate_dialect().read(gate_update("spot.orders", order)),
        gate_dialect().read(gate_update("spot.usertrades", trade)),
        htx_dialect().read(htx_push("orders#btcusdt", htx_order)),
        htx_dialect().read(htx_push("trade.clearing#btcusdt#0", clearing)),
    ]
    for reading in readings:
        # Each item is either read or accounted for as skipped (or needs a lookup).
        assert reading.updates or reading.skipped or reading.needs_reconcile
        for update in reading.updates:
            assert update.amount.is_finite()
            if isinstance(update, OrderAck):
                assert update.filled.is_finite()
