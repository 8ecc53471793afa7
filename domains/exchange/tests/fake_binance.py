"""A stateful Binance spot REST venue for the fault-injection tests (a ``FakeVenue`` handler).

Written from Binance's spot API docs ("General API Information", "LIMITS", the endpoints'
request weights and error codes), independently of ccxt:

- **Request weight** per endpoint (table below), counted per IP per calendar minute as Binance
  does; every answer carries ``X-MBX-USED-WEIGHT-1M``; a request that would exceed the limit
  gets HTTP 429 with ``Retry-After`` (seconds to the next minute) and code -1003.
- **Orders** by client order id (``newClientOrderId``): a new order is recorded once; a
  second one with the id of an open order is refused with -2010 "Duplicate order sent.";
  ``GET /api/v3/order?origClientOrderId=`` answers -2013 "Order does not exist." for an
  unknown id; ``DELETE`` answers -2011 "Unknown order sent.". ``fill(...)`` executes part or
  all of an order (its ``executedQty``, ``cummulativeQuoteQty`` and status follow);
  ``GET /api/v3/openOrders`` lists the NEW and PARTIALLY_FILLED ones and
  ``GET /api/v3/myTrades`` ("Account trade list": ``symbol`` required, ``startTime``/
  ``endTime``/``orderId``/``fromId`` filters, ``limit`` default 500, max 1000, oldest first)
  the trades.
- **Faults** scripted per endpoint (``fail(...)``): a 5xx before the order is recorded, the
  documented 503 "execution status unknown" *after* it is recorded, a read timeout after it
  is recorded, malformed JSON.
- **Its own clock** ("General API Information", "Timing security"): ``GET /api/v3/time``
  answers ``{"serverTime": ms}`` from the wall clock plus ``skew`` seconds, and a signed
  request (one carrying ``signature``) is processed only when
  ``timestamp < serverTime + 1000 and serverTime - timestamp <= recvWindow`` (default 5000);
  otherwise HTTP 400 with -1021, before anything else happens. ``time_skew`` makes the time
  endpoint disagree with the clock that checks (a clock resync cannot help).

The request-weight clock is the injected ``clock`` (simulated); the timing checks use the wall
clock, as ccxt stamps its requests with it.
"""

import json
import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from domains.exchange.tests.fake_venue import FAULT_HEADER, READ_TIMEOUT, RecordedRequest, Scripted

WEIGHT_WINDOW = 60.0  # Binance's REQUEST_WEIGHT interval: 1 MINUTE


def request_weight(method: str, path: str, query: dict[str, str]) -> int:
    """An endpoint's request weight, from Binance's spot REST API docs."""
    has_symbol = "symbol" in query or "symbols" in query
    if path == "/api/v3/depth":
        limit = int(query.get("limit", 100))
        return 5 if limit <= 100 else 25 if limit <= 500 else 50 if limit <= 1000 else 250
    table: dict[tuple[str, str], int] = {
        ("GET", "/api/v3/ping"): 1,
        ("GET", "/api/v3/time"): 1,
        ("GET", "/api/v3/exchangeInfo"): 20,
        ("GET", "/api/v3/ticker/24hr"): 2 if has_symbol else 80,
        ("GET", "/api/v3/ticker/bookTicker"): 2 if has_symbol else 4,
        ("GET", "/api/v3/ticker/price"): 2 if has_symbol else 4,
        ("GET", "/api/v3/klines"): 2,
        ("POST", "/api/v3/order"): 1,
        ("GET", "/api/v3/order"): 4,
        ("DELETE", "/api/v3/order"): 1,
        ("GET", "/api/v3/openOrders"): 6 if has_symbol else 80,
        ("GET", "/api/v3/account"): 20,
        ("GET", "/api/v3/myTrades"): 20,
        ("POST", "/api/v3/userDataStream"): 2,
        ("PUT", "/api/v3/userDataStream"): 2,
        ("DELETE", "/api/v3/userDataStream"): 2,
    }
    return table.get((method, path), 1)


@dataclass
class Fault:
    """What to do to the next request of one endpoint."""

    kind: str  # "status" | "status_after" | "read_timeout_after" | "malformed"
    status: int = 503
    body: str = ""
    headers: dict[str, str] | None = None


# Binance's documented answer to a request whose fate the matching engine did not report.
UNKNOWN_EXECUTION = {
    "code": -1007,
    "msg": "Timeout waiting for response from backend server. Send status unknown; "
    "execution status unknown.",
}


class BinanceSim:
    """``FakeVenue(handler=BinanceSim(clock))``: see the module docstring."""

    def __init__(
        self,
        clock: Callable[[], float],
        *,
        weight_limit: int = 6000,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.clock = clock
        self.weight_limit = weight_limit
        self.wall = wall
        self.skew = 0.0  # seconds the venue's clock is ahead of the wall clock
        self.time_skew: float | None = None  # what GET /api/v3/time adds instead, when set
        self.rejected_1021 = 0
        self.orders: dict[str, dict[str, Any]] = {}  # by client order id
        # Client ids the venue no longer finds orders by (as Gate.io forgets an ended order's
        # text after a minute); the order is still found by its orderId.
        self.forgotten_client_ids: set[str] = set()
        self.order_posts: list[str] = []  # client order id of every POST that reached us
        self.trades: list[dict[str, Any]] = []  # the account's trades, oldest first
        self.weights: list[tuple[float, int]] = []  # (arrival, weight) of admitted requests
        self.rejected_429 = 0
        self.book: dict[str, Any] = {
            "lastUpdateId": 1000,
            "bids": [["60000.00", "1.5"], ["59999.00", "2"]],
            "asks": [["60001.00", "1"], ["60002.00", "3"]],
        }
        # lastUpdateId of each depth snapshot served in turn (the last repeats); empty: the book's.
        self.depth_ids: list[int] = []
        self.depth_served = 0
        self.listen_key = "pqia91ma19a5s61cv6a81va65sdf19v8a65a1a5s61cv6a81va65sdf19v8a65a1"
        self._faults: dict[tuple[str, str], deque[Fault]] = {}
        self._ids = 9780331400
        self._trade_ids = 4100000
        self._lock = threading.Lock()

    # --- scripting --------------------------------------------------------------------------

    def fail(self, method: str, path: str, *faults: Fault) -> None:
        """Apply ``faults`` to the next requests of ``method path``, one each."""
        self._faults.setdefault((method, path), deque()).extend(faults)

    def fill(
        self,
        client_order_id: str,
        quantity: str,
        price: str | None = None,
        *,
        maker: bool = True,
        commission: str = "0",
        commission_asset: str = "USDT",
    ) -> dict[str, Any]:
        """Execute ``quantity`` of an order at ``price`` (its limit price by default): one
        trade, and the order's executed quantity, quote total and status updated."""
        with self._lock:
            order = self.orders[client_order_id]
            at = int(self.clock() * 1000)
            price = price or order["price"]
            executed = Decimal(order["executedQty"]) + Decimal(quantity)
            if executed > Decimal(order["origQty"]):
                raise ValueError("fill beyond the order's quantity")
            quote = Decimal(quantity) * Decimal(price)
            order["executedQty"] = str(executed)
            order["cummulativeQuoteQty"] = str(Decimal(order["cummulativeQuoteQty"]) + quote)
            order["status"] = (
                "FILLED" if executed == Decimal(order["origQty"]) else "PARTIALLY_FILLED"
            )
            order["updateTime"] = at
            self._trade_ids += 1
            trade = {
                "symbol": order["symbol"],
                "id": self._trade_ids,
                "orderId": order["orderId"],
                "orderListId": -1,
                "price": price,
                "qty": quantity,
                "quoteQty": str(quote),
                "commission": commission,
                "commissionAsset": commission_asset,
                "time": at,
                "isBuyer": order["side"] == "BUY",
                "isMaker": maker,
                "isBestMatch": True,
            }
            self.trades.append(trade)
            return trade

    def used_weight(self, at: float) -> int:
        """Weight used in the calendar minute holding ``at`` (what Binance reports)."""
        minute = math.floor(at / WEIGHT_WINDOW)
        return sum(w for t, w in self.weights if math.floor(t / WEIGHT_WINDOW) == minute)

    def server_time_ms(self) -> int:
        """The venue's clock: the wall clock plus ``skew``."""
        return int((self.wall() + self.skew) * 1000)

    def max_sliding_weight(self, window: float = WEIGHT_WINDOW) -> int:
        """The most weight admitted in any window of ``window`` seconds (ending at a request)."""
        best = 0
        for end, _ in self.weights:
            best = max(best, sum(w for t, w in self.weights if end - window < t <= end))
        return best

    # --- serving ----------------------------------------------------------------------------

    def __call__(self, request: RecordedRequest) -> Scripted | None:
        with self._lock:
            return self._serve(request)

    def _serve(self, request: RecordedRequest) -> Scripted:
        now = request.at
        params = {**request.query, **request.form} if request.body else dict(request.query)
        weight = request_weight(request.method, request.path, params)
        used = self.used_weight(now)
        if used + weight > self.weight_limit:
            self.rejected_429 += 1
            next_minute = (math.floor(now / WEIGHT_WINDOW) + 1) * WEIGHT_WINDOW
            retry_after = max(1, math.ceil(next_minute - now))
            return self._answer(
                429,
                {
                    "code": -1003,
                    "msg": "Too much request weight used; current limit is "
                    f"{self.weight_limit} request weight per 1 MINUTE.",
                },
                now,
                {"Retry-After": str(retry_after)},
            )
        self.weights.append((now, weight))
        refused = self._timing_refusal(params, now)
        if refused is not None:
            return refused
        fault = self._next_fault(request)
        if fault is not None and fault.kind == "status":
            return self._answer(fault.status, fault.body or UNKNOWN_EXECUTION, now, fault.headers)
        if fault is not None and fault.kind == "malformed":
            return Scripted(200, fault.body or '{"symbol": "BTCUSDT", "lastPrice": ', {})
        answer = self._route(request, params, now)
        if fault is not None and fault.kind == "status_after":
            return self._answer(fault.status, fault.body or UNKNOWN_EXECUTION, now, fault.headers)
        if fault is not None and fault.kind == "read_timeout_after":
            answer.headers[FAULT_HEADER] = READ_TIMEOUT
        return answer

    def _timing_refusal(self, params: dict[str, str], now: float) -> Scripted | None:
        """Binance's "Timing security" check of a signed request, or None when it passes."""
        if "signature" not in params:
            return None
        server_time = self.server_time_ms()
        timestamp = int(params.get("timestamp", "0"))
        recv_window = int(params.get("recvWindow", "5000"))
        if timestamp >= server_time + 1000:
            message = "Timestamp for this request was 1000ms ahead of the server's time."
        elif server_time - timestamp > recv_window:
            message = "Timestamp for this request is outside of the recvWindow."
        else:
            return None
        self.rejected_1021 += 1
        return self._answer(400, {"code": -1021, "msg": message}, now)

    def _next_fault(self, request: RecordedRequest) -> Fault | None:
        queue = self._faults.get((request.method, request.path))
        return queue.popleft() if queue else None

    def _answer(
        self, status: int, body: Any, now: float, headers: dict[str, str] | None = None
    ) -> Scripted:
        text = body if isinstance(body, str) else json.dumps(body)
        all_headers = {"X-MBX-USED-WEIGHT-1M": str(self.used_weight(now)), **(headers or {})}
        return Scripted(status, text, all_headers)

    def _route(self, request: RecordedRequest, params: dict[str, str], now: float) -> Scripted:
        key = (request.method, request.path)
        if key == ("POST", "/api/v3/order"):
            return self._new_order(params, now)
        if key == ("GET", "/api/v3/order"):
            order = self._order_of(params)
            if order is None:
                return self._answer(400, {"code": -2013, "msg": "Order does not exist."}, now)
            return self._answer(200, order, now)
        if key == ("DELETE", "/api/v3/order"):
            order = self.orders.get(params.get("origClientOrderId", ""))
            if order is None or order["status"] not in ("NEW", "PARTIALLY_FILLED"):
                return self._answer(400, {"code": -2011, "msg": "Unknown order sent."}, now)
            order["status"] = "CANCELED"
            return self._answer(200, order, now)
        if key == ("GET", "/api/v3/depth"):
            book = dict(self.book)
            if self.depth_ids:
                book["lastUpdateId"] = self.depth_ids[
                    min(self.depth_served, len(self.depth_ids) - 1)
                ]
            self.depth_served += 1
            return self._answer(200, book, now)
        if key == ("GET", "/api/v3/time"):
            served = self.skew if self.time_skew is None else self.time_skew
            return self._answer(200, {"serverTime": int((self.wall() + served) * 1000)}, now)
        if key == ("GET", "/api/v3/ticker/24hr"):
            return self._answer(200, self._ticker(params.get("symbol", "BTCUSDT"), now), now)
        if key == ("GET", "/api/v3/openOrders"):
            symbol = params.get("symbol")
            listed = [
                order
                for order in self.orders.values()
                if order["status"] in ("NEW", "PARTIALLY_FILLED")
                and symbol in (None, order["symbol"])
            ]
            return self._answer(200, listed, now)
        if key == ("GET", "/api/v3/myTrades"):
            return self._my_trades(params, now)
        if key == ("GET", "/api/v3/account"):
            return self._answer(200, self._account(now), now)
        if key == ("POST", "/api/v3/userDataStream"):
            return self._answer(200, {"listenKey": self.listen_key}, now)
        if key in (("PUT", "/api/v3/userDataStream"), ("DELETE", "/api/v3/userDataStream")):
            return self._answer(200, {}, now)
        return self._answer(404, {"code": -1, "msg": f"fake: no route {key}"}, now)

    def _order_of(self, params: dict[str, str]) -> dict[str, Any] | None:
        """``GET /api/v3/order`` takes ``orderId`` or ``origClientOrderId`` (docs "Query order")."""
        if "orderId" in params:
            return next(
                (o for o in self.orders.values() if str(o["orderId"]) == params["orderId"]), None
            )
        client_order_id = params.get("origClientOrderId", "")
        if client_order_id in self.forgotten_client_ids:
            return None
        return self.orders.get(client_order_id)

    def _my_trades(self, params: dict[str, str], now: float) -> Scripted:
        if "symbol" not in params:
            return self._answer(
                400, {"code": -1102, "msg": "Mandatory parameter 'symbol' was not sent."}, now
            )
        limit = min(int(params.get("limit", 500)), 1000)
        trades = [t for t in self.trades if t["symbol"] == params["symbol"]]
        for name, keep in (
            ("startTime", lambda t, v: t["time"] >= v),
            ("endTime", lambda t, v: t["time"] <= v),
            ("orderId", lambda t, v: t["orderId"] == v),
            ("fromId", lambda t, v: t["id"] >= v),
        ):
            if name in params:
                value = int(params[name])
                trades = [t for t in trades if keep(t, value)]
        return self._answer(200, trades[:limit], now)

    def _new_order(self, params: dict[str, str], now: float) -> Scripted:
        client_order_id = params.get("newClientOrderId", "")
        self.order_posts.append(client_order_id)
        existing = self.orders.get(client_order_id)
        if existing is not None and existing["status"] == "NEW":
            return self._answer(400, {"code": -2010, "msg": "Duplicate order sent."}, now)
        self._ids += 1
        millis = int(now * 1000)
        order = {
            "symbol": params.get("symbol", ""),
            "orderId": self._ids,
            "orderListId": -1,
            "clientOrderId": client_order_id,
            "transactTime": millis,
            "time": millis,
            "updateTime": millis,
            "price": params.get("price", "0.00000000"),
            "origQty": params.get("quantity", "0"),
            "executedQty": "0.00000000",
            "cummulativeQuoteQty": "0.00000000",
            "status": "NEW",
            "timeInForce": params.get("timeInForce", "GTC"),
            "type": params.get("type", "LIMIT"),
            "side": params.get("side", "BUY"),
            "workingTime": millis,
            "isWorking": True,
            "origQuoteOrderQty": "0.00000000",
            "fills": [],
            "selfTradePreventionMode": "EXPIRE_MAKER",
        }
        self.orders[client_order_id] = order
        return self._answer(200, order, now)

    def _ticker(self, symbol: str, now: float) -> dict[str, Any]:
        bid, ask = self.book["bids"][0], self.book["asks"][0]
        mid = (Decimal(bid[0]) + Decimal(ask[0])) / 2
        return {
            "symbol": symbol,
            "priceChange": "0",
            "priceChangePercent": "0",
            "weightedAvgPrice": str(mid),
            "lastPrice": str(mid),
            "lastQty": "0.1",
            "bidPrice": bid[0],
            "bidQty": bid[1],
            "askPrice": ask[0],
            "askQty": ask[1],
            "openPrice": str(mid),
            "highPrice": ask[0],
            "lowPrice": bid[0],
            "volume": "100",
            "quoteVolume": str(mid * 100),
            "openTime": int(now * 1000) - 86_400_000,
            "closeTime": int(now * 1000),
            "firstId": 1,
            "lastId": 2,
            "count": 2,
        }

    def _account(self, now: float) -> dict[str, Any]:
        return {
            "makerCommission": 10,
            "takerCommission": 10,
            "canTrade": True,
            "canWithdraw": True,
            "canDeposit": True,
            "updateTime": int(now * 1000),
            "accountType": "SPOT",
            "balances": [
                {"asset": "BTC", "free": "1.00000000", "locked": "0.00000000"},
                {"asset": "USDT", "free": "10000.00000000", "locked": "0.00000000"},
            ],
            "permissions": ["SPOT"],
        }
