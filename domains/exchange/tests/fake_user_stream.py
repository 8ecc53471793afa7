"""A local websocket server posing as a venue's private (user-data) endpoint.

Like the venue, it checks each authentication or subscription request's signature with the
account's secret (its own implementation, written from the venue's docs, not ours) and refuses
a wrong one with the venue's error; it answers pings and keepalives. Each connection then runs
the next script (the last one repeats):

- ``("handshake",)``: wait until the client's handshake was answered (accepted or refused);
- ``("send", frame)``: a JSON text frame (or a function making it when the step runs);
  ``("gzip", frame)``: gzip-compressed JSON (binary);
  ``("raw", text)``: any text (malformed JSON);
- ``("wait", predicate)``: wait until ``predicate(received)`` holds for this connection's
  client frames (a pong, a keepalive);
- ``("drop",)``: cut the TCP connection; ``("close",)``: a clean close; ``("silence",)``: stay
  open sending nothing.

Docs followed: Binance "WebSocket API → Request security (SIGNED request example (HMAC))",
"User Data Stream requests" and "Error codes" (-1021, -1022, -2015); Gate.io "Spot WebSocket v4
→ Authentication", "Server Response", "Error" (code 4), "Application ping pong"; HTX "Websocket
Asset and Order v2 → Authentication" (signature version 2.1, code 2002 ``auth.fail``,
``invalid.auth.state`` for a ``sub`` before authentication) and its ping/pong heartbeat.
"""

import asyncio
import base64
import gzip
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from websockets.asyncio.server import Server, ServerConnection, serve

Step = tuple[Any, ...]
PATHS = {"binance": "/ws-api/v3", "gateio": "/ws/v4/", "htx": "/ws/v2"}
HANDSHAKE_STEPS = {"binance": 1, "gateio": 2, "htx": 3}


@dataclass
class Connection:
    venue: str
    host: str
    path: str
    received: list[Any] = field(default_factory=list)
    confirmed: int = 0
    authenticated: bool = False  # HTX: the ``auth`` request succeeded
    refused: list[Any] = field(default_factory=list)  # the error answers sent
    subscription_ids: list[int] = field(default_factory=list)
    answered: asyncio.Event = field(default_factory=asyncio.Event)

    def handshake_done(self) -> None:
        self.confirmed += 1
        if self.confirmed % HANDSHAKE_STEPS[self.venue] == 0:
            self.answered.set()

    def refuse(self, answer: Any) -> None:
        self.refused.append(answer)
        self.answered.set()


class FakePrivateVenue:
    def __init__(
        self,
        venue: str,
        scripts: list[list[Step]],
        *,
        api_key: str,
        secret: str,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.venue = venue
        self.scripts = scripts
        self.api_key = api_key
        self.secret = secret
        self.clock = clock
        self.connections: list[Connection] = []
        self.server: Server | None = None
        self.port = 0
        self._next_subscription = 0

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}{PATHS[self.venue]}"

    @property
    def received(self) -> list[list[Any]]:
        return [c.received for c in self.connections]

    async def __aenter__(self) -> "FakePrivateVenue":
        self.server = await serve(self._handle, "127.0.0.1", 0)
        self.port = next(iter(self.server.sockets)).getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()

    # --- one connection -----------------------------------------------------------------------

    async def _handle(self, connection: ServerConnection) -> None:
        request = connection.request
        assert request is not None
        host = request.headers.get("Host", "").rsplit(":", 1)[0]
        state = Connection(venue=self.venue, host=host, path=request.path)
        index = len(self.connections)
        self.connections.append(state)
        script = self.scripts[min(index, len(self.scripts) - 1)]
        reader = asyncio.ensure_future(self._read(connection, state))
        try:
            for step in script:
                if not await self._step(connection, state, step):
                    return
            await connection.wait_closed()
        finally:
            reader.cancel()

    async def _step(self, connection: ServerConnection, state: Connection, step: Step) -> bool:
        kind = step[0]
        if kind == "handshake":
            await asyncio.wait_for(state.answered.wait(), 5)
            state.answered.clear()
        elif kind == "send":
            frame = step[1]() if callable(step[1]) else step[1]  # a frame made when it is sent
            await connection.send(json.dumps(frame))
        elif kind == "gzip":
            await connection.send(gzip.compress(json.dumps(step[1]).encode()))
        elif kind == "raw":
            await connection.send(step[1])
        elif kind == "wait":
            predicate = step[1]
            deadline = asyncio.get_running_loop().time() + 5
            while not predicate(state.received):
                if asyncio.get_running_loop().time() > deadline:
                    raise AssertionError(f"fake venue: {predicate} never held")
                await asyncio.sleep(0.002)
        elif kind == "drop":
            connection.transport.abort()
            return False
        elif kind == "close":
            await connection.close()
            return False
        elif kind == "silence":
            await connection.wait_closed()
            return False
        else:
            raise AssertionError(f"unknown step {kind!r}")
        return True

    async def _read(self, connection: ServerConnection, state: Connection) -> None:
        async for raw in connection:
            frame = json.loads(raw)
            state.received.append(frame)
            for answer in getattr(self, f"_answer_{self.venue}")(frame, state):
                await connection.send(json.dumps(answer))

    # --- Binance WebSocket API ----------------------------------------------------------------

    def _answer_binance(self, frame: dict[str, Any], state: Connection) -> list[Any]:
        request_id = frame.get("id")
        method = frame.get("method")
        if method == "ping":
            return [{"id": request_id, "status": 200, "result": {}}]
        if method != "userDataStream.subscribe.signature":
            return [_binance_error(request_id, 400, -1100, f"unknown method {method}")]
        params = dict(frame.get("params") or {})
        signature = params.pop("signature", "")
        if params.get("apiKey") != self.api_key:
            answer = _binance_error(
                request_id, 401, -2015, "Invalid API-key, IP, or permissions for action."
            )
            state.refuse(answer)
            return [answer]
        # Request security: "apiKey=...&timestamp=..." sorted by name, HMAC-SHA-256, hex.
        payload = "&".join(f"{key}={params[key]}" for key in sorted(params))
        expected = hmac.new(self.secret.encode(), payload.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, str(signature).lower()):
            answer = _binance_error(
                request_id, 400, -1022, "Signature for this request is not valid."
            )
            state.refuse(answer)
            return [answer]
        window = float(params.get("recvWindow", 5000))
        if abs(self.clock() * 1000 - float(params["timestamp"])) > window:
            answer = _binance_error(
                request_id, 400, -1021, "Timestamp for this request is outside of the recvWindow."
            )
            state.refuse(answer)
            return [answer]
        subscription = self._next_subscription
        self._next_subscription += 1
        state.subscription_ids.append(subscription)
        state.handshake_done()
        return [{"id": request_id, "status": 200, "result": {"subscriptionId": subscription}}]

    # --- Gate.io Spot WebSocket v4 ------------------------------------------------------------

    def _answer_gateio(self, frame: dict[str, Any], state: Connection) -> list[Any]:
        channel = frame.get("channel")
        now = int(self.clock())
        if channel == "spot.ping":
            return [
                {"time": now, "channel": "spot.pong", "event": "", "error": None, "result": None}
            ]
        event = frame.get("event")
        answer: dict[str, Any] = {
            "time": now,
            "time_ms": now * 1000,
            "id": frame.get("id"),
            "channel": channel,
            "event": event,
            "payload": frame.get("payload"),
        }
        auth = frame.get("auth") or {}
        request_time = frame.get("time")
        message = f"channel={channel}&event={event}&time={request_time}"
        expected = hmac.new(self.secret.encode(), message.encode(), hashlib.sha512).hexdigest()
        if (
            auth.get("method") != "api_key"
            or auth.get("KEY") != self.api_key
            or not hmac.compare_digest(expected, str(auth.get("SIGN", "")))
            or not isinstance(request_time, int)
            or abs(now - request_time) > 60
        ):
            answer.update(
                error={
                    "code": 4,
                    "message": '{"label":"INVALID_SIGNATURE","message":"Signature mismatch"}',
                },
                result={"status": "fail"},
            )
            state.refuse(answer)
            return [answer]
        answer.update(error=None, result={"status": "success"})
        state.handshake_done()
        return [answer]

    # --- HTX v2 -------------------------------------------------------------------------------

    def _answer_htx(self, frame: dict[str, Any], state: Connection) -> list[Any]:
        action = frame.get("action")
        channel = frame.get("ch")
        if action == "pong":
            return []
        if action == "req" and channel == "auth":
            params = dict(frame.get("params") or {})
            signature = params.pop("signature", "")
            params.pop("authType", None)
            query = "&".join(f"{key}={quote(str(params[key]), safe='')}" for key in sorted(params))
            presigned = f"GET\n{state.host}\n{state.path}\n{query}"
            digest = hmac.new(self.secret.encode(), presigned.encode(), hashlib.sha256).digest()
            stamp = datetime.strptime(str(params.get("timestamp")), "%Y-%m-%dT%H:%M:%S")
            skew = abs(self.clock() - stamp.replace(tzinfo=UTC).timestamp())
            if (
                params.get("accessKey") != self.api_key
                or params.get("signatureVersion") != "2.1"
                or signature != base64.b64encode(digest).decode()
                or skew > 300
            ):
                answer = {"action": "req", "code": 2002, "ch": "auth", "message": "auth.fail"}
                state.refuse(answer)
                return [answer]
            state.authenticated = True
            state.handshake_done()
            return [{"action": "req", "code": 200, "ch": "auth", "data": {}}]
        if action == "sub":
            if not state.authenticated:
                answer = {
                    "action": "sub",
                    "code": 2002,
                    "ch": channel,
                    "message": "invalid.auth.state",
                }
                state.refuse(answer)
                return [answer]
            state.handshake_done()
            return [{"action": "sub", "code": 200, "ch": channel, "data": {}}]
        return [{"action": action, "code": 2001, "ch": channel, "message": "invalid.action"}]


def _binance_error(request_id: Any, status: int, code: int, message: str) -> dict[str, Any]:
    return {"id": request_id, "status": status, "error": {"code": code, "msg": message}}


# --- frames as the venues' docs show them ------------------------------------------------------


def binance_event(event: dict[str, Any], subscription_id: int = 0) -> dict[str, Any]:
    """A user-data event as the WebSocket API wraps it ("User Data Streams")."""
    return {"subscriptionId": subscription_id, "event": event}


def execution_report(**fields: Any) -> dict[str, Any]:
    """An ``executionReport`` ("User Data Streams → Order Update"), a new BTCUSDT limit buy
    unless told otherwise."""
    report: dict[str, Any] = {
        "e": "executionReport",
        "E": 1499405658658,
        "s": "BTCUSDT",
        "c": "dsta0001",
        "S": "BUY",
        "o": "LIMIT",
        "f": "GTC",
        "q": "0.01000000",
        "p": "60000.00",
        "P": "0.00000000",
        "F": "0.00000000",
        "g": -1,
        "C": "",
        "x": "NEW",
        "X": "NEW",
        "r": "NONE",
        "i": 4293153,
        "l": "0.00000000",
        "z": "0.00000000",
        "L": "0.00000000",
        "n": "0",
        "N": None,
        "T": 1499405658657,
        "t": -1,
        "I": 8641984,
        "w": True,
        "m": False,
        "M": False,
        "O": 1499405658657,
        "Z": "0.00000000",
        "Y": "0.00000000",
        "Q": "0.00000000",
        "W": 1499405658657,
        "V": "NONE",
    }
    report.update(fields)
    return report


def binance_trade(
    trade_id: int, qty: str, price: str, cumulative: str, quote: str, **fields: Any
) -> dict[str, Any]:
    """A TRADE execution of the order of :func:`execution_report`."""
    status = "FILLED" if cumulative == "0.01000000" else "PARTIALLY_FILLED"
    values = {
        "x": "TRADE",
        "X": status,
        "t": trade_id,
        "l": qty,
        "L": price,
        "z": cumulative,
        "Z": quote,
        "n": "0.00000750",
        "N": "BNB",
        "m": True,
        "T": 1499405658700 + trade_id,
    }
    values.update(fields)
    return execution_report(**values)


# "Orders Channel → Server Notification" example.
GATE_ORDER = {
    "id": "399123456",
    "text": "t-testtext",
    "create_time": "1694655225",
    "update_time": "1694655225",
    "currency_pair": "BTC_USDT",
    "type": "limit",
    "account": "spot",
    "side": "sell",
    "amount": "0.0001",
    "price": "26253.3",
    "time_in_force": "gtc",
    "left": "0.0001",
    "filled_total": "0",
    "avg_deal_price": "0",
    "fee": "0",
    "fee_currency": "USDT",
    "point_fee": "0",
    "gt_fee": "0",
    "rebated_fee": "0",
    "rebated_fee_currency": "USDT",
    "create_time_ms": "1694655225315",
    "update_time_ms": "1694655225315",
    "user": 3497082,
    "event": "put",
    "stp_id": 0,
    "stp_act": "-",
    "finish_as": "open",
    "biz_info": "-",
    "amend_text": "-",
}
# "User Trades Channel → Server Notification" example.
GATE_TRADE = {
    "id": 5736713,
    "user_id": 1000001,
    "order_id": "30784428",
    "currency_pair": "BTC_USDT",
    "create_time": 1605176741,
    "create_time_ms": "1605176741123.456",
    "side": "sell",
    "amount": "1.00000000",
    "role": "taker",
    "price": "10000.00000000",
    "fee": "0.00200000000000",
    "point_fee": "0",
    "gt_fee": "0",
    "text": "apiv4",
    "id_market": 5736713,
}


def gate_update(channel: str, *items: Any) -> dict[str, Any]:
    return {
        "time": 1694655225,
        "time_ms": 1694655225315,
        "channel": channel,
        "event": "update",
        "result": list(items),
    }


def htx_push(channel: str, data: dict[str, Any]) -> dict[str, Any]:
    return {"action": "push", "ch": channel, "data": data}


# "Subscribe Order Updates" examples (creation, trade, cancellation).
HTX_CREATION = {
    "orderSize": "2.000000000000000000",
    "orderCreateTime": 1583853365586,
    "accountId": 992701,
    "orderPrice": "77.000000000000000000",
    "type": "sell-limit",
    "orderId": 27163533,
    "clientOrderId": "abc123",
    "orderSource": "spot-api",
    "orderStatus": "submitted",
    "symbol": "btcusdt",
    "eventType": "creation",
}
HTX_TRADE = {
    "tradePrice": "76.000000000000000000",
    "tradeVolume": "1.013157894736842100",
    "tradeId": 301,
    "tradeTime": 1583854188883,
    "aggressor": True,
    "remainAmt": "0.000000000000000400000000000000000000",
    "execAmt": "2",
    "orderId": 27163536,
    "type": "sell-limit",
    "clientOrderId": "abc123",
    "orderSource": "spot-api",
    "orderPrice": "15000",
    "orderSize": "0.01",
    "orderStatus": "filled",
    "symbol": "btcusdt",
    "eventType": "trade",
}
HTX_CANCELLATION = {
    "lastActTime": 1583853475406,
    "remainAmt": "2.000000000000000000",
    "execAmt": "0",
    "orderId": 27163533,
    "type": "sell-limit",
    "clientOrderId": "abc123",
    "orderSource": "spot-api",
    "orderPrice": "77.000000000000000000",
    "orderSize": "2.000000000000000000",
    "orderStatus": "canceled",
    "symbol": "btcusdt",
    "eventType": "cancellation",
}
# "Trade Details after Clearing" example.
HTX_CLEARING = {
    "eventType": "trade",
    "symbol": "btcusdt",
    "orderId": 99998888,
    "tradePrice": "9999.99",
    "tradeVolume": "0.96",
    "orderSide": "buy",
    "aggressor": True,
    "tradeId": 919219323232,
    "tradeTime": 998787897878,
    "transactFee": "19.88",
    "feeDeduct ": "0",
    "feeDeductType": "",
    "feeCurrency": "btc",
    "accountId": 9912791,
    "source": "spot-api",
    "orderPrice": "10000",
    "orderSize": "1",
    "clientOrderId": "a001",
    "orderCreateTime": 998787897878,
    "orderStatus": "partial-filled",
}
