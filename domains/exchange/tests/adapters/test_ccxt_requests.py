"""What goes on the wire, for all three venues, checked at the HTTP transport.

First the harness itself: ccxt's recorded createOrder requests replayed through our transport
must come out as recorded. Then our own path: ``LiveVenue.place_order`` (rounding, minimums,
our client order id) produces the recorded request shape with our id in the venue's field, and
lookups/cancels go out by that id. Responses are recorded ones where ccxt's extracts have them;
the others are written from the venue's documented shapes (marked where used).
"""

import json
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from domains.exchange.api import (
    BelowMinimum,
    InvalidOrder,
    OrderRequest,
    OrderSide,
    OrderStatus,
    OrderType,
    TimeInForce,
    UnknownSymbol,
)
from domains.exchange.tests.adapters.conftest import Rig
from domains.exchange.tests.fake_venue import RecordedRequest

BINANCE_ORDER = {  # shape of ccxt's recorded Binance createOrder response, for our order
    "symbol": "LTCUSDT",
    "orderId": "9780331417",
    "orderListId": "-1",
    "clientOrderId": "{cid}",
    "transactTime": "1737635557417",
    "price": "55.32000000",
    "origQty": "1.42300000",
    "executedQty": "0.00000000",
    "cummulativeQuoteQty": "0.00000000",
    "status": "NEW",
    "timeInForce": "GTC",
    "type": "LIMIT",
    "side": "BUY",
    "workingTime": "1737635557417",
    "fills": [],
}
GATE_ORDER = {  # shape of ccxt's recorded Gate spot order (fetchClosedOrders), for our order
    "id": "497245022561",
    "text": "t-{cid}",
    "create_time": "1706382263",
    "update_time": "1706382263",
    "create_time_ms": "1706382263841",
    "update_time_ms": "1706382263841",
    "status": "open",
    "currency_pair": "LTC_USDT",
    "type": "limit",
    "account": "spot",
    "side": "buy",
    "amount": "0.1",
    "price": "50",
    "time_in_force": "gtc",
    "left": "0.1",
    "fill_price": "0",
    "filled_total": "0",
    "fee": "0",
    "fee_currency": "LTC",
}
HTX_PLACED = {"status": "ok", "data": "356501383558845"}  # HTX docs: the new order's id


def fill(template: dict[str, Any], cid: str) -> dict[str, Any]:
    return json.loads(json.dumps(template).replace("{cid}", cid))


def wire_fields(rig: Rig, request: RecordedRequest) -> dict[str, Any]:
    """The request's parameters as ccxt's static tests compare them: query + body."""
    fields: dict[str, Any] = dict(request.query)
    if request.body:
        if rig.recorded_requests.get("outputType") == "json":
            fields.update(request.json)
        else:
            fields.update(request.form)
    return fields


def recorded_fields(rig: Rig, entry: dict[str, Any]) -> dict[str, Any]:
    fields: dict[str, Any] = dict(parse_qsl(urlsplit(entry["url"]).query, keep_blank_values=True))
    output = entry.get("output")
    if output:
        if rig.recorded_requests.get("outputType") == "json":
            fields.update(json.loads(output))
        else:
            fields.update(dict(parse_qsl(output, keep_blank_values=True)))
    return fields


def without(fields: dict[str, Any], keys: list[str]) -> dict[str, Any]:
    return {k: v for k, v in fields.items() if k not in keys}


def placement_response(rig: Rig, cid: str) -> dict[str, Any]:
    return {
        "binance": lambda: fill(BINANCE_ORDER, cid),
        "gateio": lambda: fill(GATE_ORDER, cid),
        "htx": lambda: HTX_PLACED,
    }[rig.venue]()


# --- the harness: ccxt's recorded requests come out as recorded --------------------------------


def test_recorded_spot_create_order_requests_replay_through_the_transport(rig: Rig):
    skip = rig.recorded_requests.get("skipKeys", [])
    markets = rig.exchange.markets
    replayed = 0
    for entry in rig.requests_for("createOrder"):
        symbol, *_ = entry["input"]
        if symbol not in markets or markets[symbol]["type"] != "spot":
            continue
        if any(isinstance(arg, dict) and arg.get("marginMode") for arg in entry["input"]):
            continue  # margin accounts are not ours
        rig.fake.respond(placement_response(rig, "x"))
        rig.exchange.create_order(*entry["input"])
        sent = rig.fake.last()
        recorded_url = urlsplit(entry["url"])
        # Some entries were recorded against Binance's testnet: same paths, another host.
        if "testnet" not in recorded_url.netloc:
            assert sent.host == recorded_url.netloc, entry["description"]
        assert sent.path == recorded_url.path, entry["description"]
        assert without(wire_fields(rig, sent), skip) == without(
            recorded_fields(rig, entry), skip
        ), entry["description"]
        replayed += 1
    assert replayed >= {"binance": 5, "gateio": 4, "htx": 5}[rig.venue]


# --- our placement path -------------------------------------------------------------------------

# (our request, the recorded ccxt fixture it must match, expected client id field on the wire)
OUR_ORDERS = {
    "binance": (
        OrderRequest(
            symbol="LTC/USDT",
            side=OrderSide.BUY,
            type=OrderType.LIMIT,
            amount=Decimal("1.4234234234"),
            price=Decimal("55.324242343"),
        ),
        "spot order with weird price/amount",
        {"quantity": "1.423", "price": "55.32"},
    ),
    "gateio": (
        OrderRequest(
            symbol="LTC/USDT",
            side=OrderSide.BUY,
            type=OrderType.LIMIT,
            amount=Decimal("0.1"),
            price=Decimal(50),
        ),
        "Spot limit buy order",
        {},
    ),
    "htx": (
        OrderRequest(
            symbol="LTC/USDT",
            side=OrderSide.BUY,
            type=OrderType.LIMIT,
            amount=Decimal("0.2"),
            price=Decimal(50),
            time_in_force=TimeInForce.FOK,
        ),
        "Spot limit buy with FOK",
        {},
    ),
}
CLIENT_ID_FIELD = {"binance": "newClientOrderId", "gateio": "text", "htx": "client-order-id"}
ORDER_PATH = {
    "binance": ("POST", "api.binance.com", "/api/v3/order"),
    "gateio": ("POST", "api.gateio.ws", "/api/v4/spot/orders"),
    "htx": ("POST", "api.huobi.pro", "/v1/order/orders/place"),
}


def test_our_order_goes_out_in_the_venue_shape_with_our_client_order_id(rig: Rig):
    request, fixture, overrides = OUR_ORDERS[rig.venue]
    [entry] = [e for e in rig.requests_for("createOrder") if e["description"] == fixture]
    cid = f"dsta{rig.venue}0001"
    rig.fake.respond(placement_response(rig, cid))

    ack = rig.live.place_order(
        account_id=rig.account_id,
        request=OrderRequest(**{**request.__dict__, "client_order_id": cid}),
    )

    sent = rig.fake.last()
    assert (sent.method, sent.host, sent.path) == ORDER_PATH[rig.venue]
    skip = rig.recorded_requests.get("skipKeys", [])
    expected = {**without(recorded_fields(rig, entry), skip), **overrides}
    assert without(wire_fields(rig, sent), skip) == expected
    # Our id, in the venue's own field (Gate: with the "t-" prefix ccxt adds).
    prefix = "t-" if rig.venue == "gateio" else ""
    assert wire_fields(rig, sent)[CLIENT_ID_FIELD[rig.venue]] == prefix + cid
    assert ack.client_order_id == cid
    assert ack.status is OrderStatus.OPEN
    assert (
        ack.venue_order_id
        == {"binance": "9780331417", "gateio": "497245022561", "htx": "356501383558845"}[rig.venue]
    )


def test_generated_client_order_ids_fit_each_venue(rig: Rig):
    request, _, _ = OUR_ORDERS[rig.venue]
    rig.fake.respond(placement_response(rig, "placeholder"))
    ack = rig.live.place_order(account_id=rig.account_id, request=request)
    sent_id = str(wire_fields(rig, rig.fake.last())[CLIENT_ID_FIELD[rig.venue]]).removeprefix("t-")
    assert sent_id.startswith("dsta")
    assert len(sent_id) <= {"binance": 32, "gateio": 28, "htx": 64}[rig.venue]
    assert ack.client_order_id in (sent_id, "placeholder")


def test_htx_market_buy_is_sized_in_quote_from_the_ticker(htx_rig: Rig):
    rig = htx_rig
    ticker = {  # HTX's documented /market/detail/merged shape, for ltcusdt
        "ch": "market.ltcusdt.detail.merged",
        "status": "ok",
        "ts": 1710328245889,
        "tick": {
            "id": 1,
            "close": 49.9,
            "bid": [49.9, 3.0],
            "ask": [50.0, 2.0],
            "amount": 1,
            "vol": 1,
        },
    }
    rig.fake.respond(ticker)
    rig.fake.respond(HTX_PLACED)
    rig.live.place_order(
        account_id=rig.account_id,
        request=OrderRequest(
            symbol="LTC/USDT", side=OrderSide.BUY, type=OrderType.MARKET, amount=Decimal("0.21")
        ),
    )
    ticker_request, order_request = rig.fake.requests
    assert (ticker_request.path, ticker_request.query["symbol"]) == (
        "/market/detail/merged",
        "ltcusdt",
    )
    # Recorded "Spot market buy": 0.21 LTC at 50 -> amount "10.5" USDT, type buy-market.
    fields = wire_fields(rig, order_request)
    assert (fields["type"], fields["amount"], fields["symbol"]) == ("buy-market", "10.5", "ltcusdt")


def test_htx_stop_limit_carries_the_trigger_as_recorded(htx_rig: Rig):
    rig = htx_rig
    [entry] = [
        e
        for e in rig.requests_for("createOrder")
        if e["description"] == "Spot limit buy with triggerPrice"
    ]
    rig.fake.respond(HTX_PLACED)
    rig.live.place_order(
        account_id=rig.account_id,
        request=OrderRequest(
            symbol="LTC/USDT",
            side=OrderSide.BUY,
            type=OrderType.STOP_LIMIT,
            amount=Decimal("0.2"),
            price=Decimal(50),
            stop_price=Decimal(100),
        ),
    )
    skip = rig.recorded_requests["skipKeys"]
    assert without(wire_fields(rig, rig.fake.last()), skip) == without(
        recorded_fields(rig, entry), skip
    )


# --- lookups and cancels by our client order id ---------------------------------------------------

LOOKUP = {
    "binance": ("GET", "/api/v3/order", "origClientOrderId"),
    "gateio": ("GET", "/api/v4/spot/orders/t-{cid}", None),
    "htx": ("GET", "/v1/order/orders/getClientOrder", "clientOrderId"),
}
CANCEL = {
    "binance": ("DELETE", "/api/v3/order", "origClientOrderId"),
    "gateio": ("DELETE", "/api/v4/spot/orders/t-{cid}", None),
    "htx": ("POST", "/v1/order/orders/submitCancelClientOrder", "client-order-id"),
}


def order_response(rig: Rig, cid: str, status: str) -> dict[str, Any]:
    if rig.venue == "binance":  # recorded fetchOrder response (a filled LTCUSDT market order)
        recorded = rig.responses_for("fetchOrder")[0]["httpResponse"]
        return {**recorded, "clientOrderId": cid, "status": status.upper()}
    if rig.venue == "gateio":
        gate_status = {"filled": "closed", "canceled": "cancelled"}[status]
        return {
            **fill(GATE_ORDER, cid),
            "status": gate_status,
            "left": "0" if status == "filled" else "0.1",
        }
    recorded = rig.responses_for("fetchOrder")[0]["httpResponse"]  # recorded HTX order
    state = {"filled": "filled", "canceled": "canceled"}[status]
    return {**recorded, "data": {**recorded["data"], "client-order-id": cid, "state": state}}


def test_orders_are_looked_up_by_our_client_order_id(rig: Rig):
    cid = "dsta0123456789abcdef"
    rig.fake.respond(order_response(rig, cid, "filled"))
    ack = rig.live.get_order(account_id=rig.account_id, symbol="LTC/USDT", client_order_id=cid)
    method, path, field = LOOKUP[rig.venue]
    sent = rig.fake.last()
    assert (sent.method, sent.path) == (method, path.format(cid=cid))
    if field:
        assert wire_fields(rig, sent)[field] == cid
    assert ack.client_order_id == cid
    assert ack.status is OrderStatus.FILLED
    # Binance's and HTX's recorded orders are filled market orders; Gate's is our 0.1 LTC.
    assert ack.filled == Decimal({"binance": "0.1", "gateio": "0.1", "htx": "0.2"}[rig.venue])


def test_orders_are_cancelled_by_our_client_order_id(rig: Rig):
    cid = "dsta0123456789abcdef"
    if rig.venue == "htx":
        rig.fake.respond({"status": "ok", "data": 10})  # HTX docs: cancel-by-client-id answer
    rig.fake.respond(order_response(rig, cid, "canceled"))
    sent_before = len(rig.fake.requests)
    ack = rig.live.cancel_order(account_id=rig.account_id, symbol="LTC/USDT", client_order_id=cid)
    method, path, field = CANCEL[rig.venue]
    sent = rig.fake.requests[sent_before]
    assert (sent.method, sent.path) == (method, path.format(cid=cid))
    if field:
        assert wire_fields(rig, sent)[field] == cid
    assert ack.client_order_id == cid
    assert ack.status is OrderStatus.CANCELED


def test_htx_reports_the_order_as_it_is_after_a_cancel_request_not_as_cancelled(htx_rig: Rig):
    # HTX's submitCancelClientOrder only accepts the request ("the actual result of the
    # cancellation request needs to be checked by order status"; data 10: cancelling), and
    # ccxt calls any accepted request "canceled". The order may fill meanwhile: reporting it
    # cancelled would make the ledger record a filled order as cancelled for good.
    rig, cid = htx_rig, "dsta0123456789abcdef"
    rig.fake.respond({"status": "ok", "data": 10})
    rig.fake.respond(order_response(rig, cid, "filled"))

    ack = rig.live.cancel_order(account_id=rig.account_id, symbol="LTC/USDT", client_order_id=cid)

    assert ack.status is OrderStatus.FILLED
    assert ack.filled == Decimal("0.2")
    method, path, _ = LOOKUP["htx"]
    assert (rig.fake.last().method, rig.fake.last().path) == (method, path)


# --- refused before any request -----------------------------------------------------------------


def test_orders_below_the_venue_minimum_never_reach_it(rig: Rig):
    tiny = OrderRequest(
        symbol="BTC/USDT",
        side=OrderSide.BUY,
        type=OrderType.LIMIT,
        amount=Decimal("0.00002"),
        price=Decimal(30_000),
    )
    with pytest.raises(BelowMinimum) as refused:
        rig.live.place_order(account_id=rig.account_id, request=tiny)
    assert refused.value.details["limit"] == "min_notional"
    dust = OrderRequest(
        symbol="BTC/USDT",
        side=OrderSide.SELL,
        type=OrderType.LIMIT,
        amount=Decimal("0.0000001"),
        price=Decimal(30_000),
    )
    with pytest.raises(BelowMinimum):
        rig.live.place_order(account_id=rig.account_id, request=dust)
    with pytest.raises(UnknownSymbol):
        rig.live.place_order(
            account_id=rig.account_id,
            request=OrderRequest(**{**tiny.__dict__, "symbol": "NOPE/USDT"}),
        )
    with pytest.raises(InvalidOrder):
        rig.live.place_order(
            account_id=rig.account_id,
            request=OrderRequest(**{**tiny.__dict__, "reduce_only": True}),
        )
    assert rig.fake.requests == []


ORDER_TRADES = {  # ccxt's fetchOrderTrades on each venue: (method, path, order id field)
    "binance": ("GET", "/api/v3/myTrades", "orderId"),
    "gateio": ("GET", "/api/v4/spot/my_trades", "order_id"),
    "htx": ("GET", "/v1/order/orders/{oid}/matchresults", None),
}


def test_an_orders_fills_are_asked_for_by_the_venues_order_id(rig: Rig):
    # The venues answer an order's trades in their trade-list shape: ccxt's recorded spot
    # fetchMyTrades responses stand in for them.
    [recorded] = [r for r in rig.responses_for("fetchMyTrades") if r["input"][0] == "LTC/USDT"]
    rig.fake.respond(recorded["httpResponse"])
    fills = rig.live.order_fills(rig.account_id, "LTC/USDT", "9780331417")
    method, path, field = ORDER_TRADES[rig.venue]
    sent = rig.fake.last()
    assert (sent.method, sent.path) == (method, path.format(oid="9780331417"))
    if field:
        assert wire_fields(rig, sent)[field] == "9780331417"
        assert "startTime" not in sent.query  # no time window
    assert len(fills) == len(recorded["parsedResponse"])
    parsed = recorded["parsedResponse"][0]
    assert any(f.fill_id == str(parsed["id"]) for f in fills)
    assert all(f.symbol == "LTC/USDT" and f.account_id == rig.account_id for f in fills)
