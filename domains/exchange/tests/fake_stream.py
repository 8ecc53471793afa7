"""A local websocket server posing as a venue's stream endpoint, scripted per connection.

Each connection runs the next script (the last one repeats): a list of steps,

- ``("subscribed",)`` / ``("subscribed", n)`` / ``("subscribed", n, answer)``: wait for the
  client's next ``n`` subscribe frames and answer each as the venue does (the dialect's
  ``ack``; ``answer(frame)`` instead, e.g. a refusal);
- ``("send", frame)``: a frame, encoded as the venue does (JSON text; HTX: gzip binary);
  ``("raw", text_or_bytes)``: anything, as is (malformed frames);
- ``("ping", ts)``: HTX's heartbeat ``{"ping": ts}``; then wait for ``{"pong": ts}`` and, as
  HTX does with a client that does not answer, cut the connection when it does not come;
- ``("reply", match, respond)``: wait for a client frame with ``match(frame)`` true and send
  ``respond(frame)`` (HTX's answer to a ``req``);
- ``("wait", seconds)``: pause;
- ``("drop",)``: cut the TCP connection without a close frame (the client sees 1006);
- ``("silence",)``: send nothing more and keep the connection open (a stale stream);
- ``("close",)``: a clean close.

Every frame the client sends is recorded per connection (parsed JSON, else as received), in
arrival order, whatever step is running.
"""

import asyncio
import functools
import gzip
import json
import operator
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed

Step = tuple[Any, ...]


@dataclass(frozen=True)
class Dialect:
    """How one venue frames its side of the conversation."""

    is_subscribe: Callable[[Any], bool]
    ack: Callable[[Any], Any]
    encode: Callable[[Any], str | bytes] = json.dumps


# Binance: {"method": "SUBSCRIBE", ...} -> {"result": null, "id": n} ("Live Subscribing").
BINANCE = Dialect(
    is_subscribe=lambda frame: isinstance(frame, dict) and frame.get("method") == "SUBSCRIBE",
    ack=lambda frame: {"result": None, "id": frame.get("id")},
)


def gate_ack(frame: dict[str, Any]) -> dict[str, Any]:
    """Gate's answer to a subscribe (Spot WebSocket v4, "Server response")."""
    now = time.time()
    return {
        "time": int(now),
        "time_ms": int(now * 1000),
        "id": frame.get("id"),
        "conn_id": "d7de96c024f2a5b2",
        "trace_id": "e6fd9bdd617fcdb80d0762ffa33e71f6",
        "channel": frame.get("channel"),
        "event": "subscribe",
        "payload": frame.get("payload"),
        "error": None,
        "result": {"status": "success"},
    }


GATE = Dialect(
    is_subscribe=lambda frame: isinstance(frame, dict) and frame.get("event") == "subscribe",
    ack=gate_ack,
)


def gzip_frame(frame: Any) -> bytes:
    """HTX sends every frame as gzip-compressed JSON in a binary frame."""
    return gzip.compress(json.dumps(frame).encode())


# HTX: {"sub": topic, "id": id} -> {"id", "status": "ok", "subbed": topic, "ts"}.
HTX = Dialect(
    is_subscribe=lambda frame: isinstance(frame, dict) and "sub" in frame,
    ack=lambda frame: {
        "id": frame.get("id"),
        "status": "ok",
        "subbed": frame.get("sub"),
        "ts": 1489474081631,
    },
    encode=gzip_frame,
)


class _Inbox:
    """The client's frames on one connection; steps wait for unclaimed ones that match."""

    def __init__(self, received: list[Any]) -> None:
        self.received = received
        self.claimed: set[int] = set()
        self.arrived = asyncio.Condition()

    async def add(self, frame: Any) -> None:
        async with self.arrived:
            self.received.append(frame)
            self.arrived.notify_all()

    async def take(self, match: Callable[[Any], bool], timeout: float) -> Any:
        """The first unclaimed frame with ``match``; TimeoutError when none comes."""

        def found() -> int | None:
            for index, frame in enumerate(self.received):
                if index not in self.claimed and match(frame):
                    return index
            return None

        async with self.arrived:
            await asyncio.wait_for(self.arrived.wait_for(lambda: found() is not None), timeout)
            index = found()
            assert index is not None
            self.claimed.add(index)
            return self.received[index]


class FakeStreamServer:
    def __init__(
        self,
        scripts: list[list[Step]],
        *,
        dialect: Dialect = BINANCE,
        pong_timeout: float = 2.0,
        wait_timeout: float = 5.0,
    ) -> None:
        self.scripts = scripts
        self.dialect = dialect
        self.pong_timeout = pong_timeout
        self.wait_timeout = wait_timeout
        self.received: list[list[Any]] = []  # per connection, the client's frames (parsed)
        self.missed_pongs: list[Any] = []  # pings the client did not answer
        self.server: Server | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    async def __aenter__(self) -> "FakeStreamServer":
        self.server = await serve(self._handle, "127.0.0.1", 0)
        self.port = next(iter(self.server.sockets)).getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()

    async def _handle(self, connection: ServerConnection) -> None:
        index = len(self.received)
        received: list[Any] = []
        self.received.append(received)
        inbox = _Inbox(received)
        reader = asyncio.create_task(self._read(connection, inbox))
        try:
            await self._play(connection, inbox, self.scripts[min(index, len(self.scripts) - 1)])
        except ConnectionClosed:
            pass
        finally:
            reader.cancel()

    async def _read(self, connection: ServerConnection, inbox: _Inbox) -> None:
        try:
            async for raw in connection:
                try:
                    frame = json.loads(raw)
                except ValueError:
                    frame = raw
                await inbox.add(frame)
        except ConnectionClosed:
            return

    async def _play(self, connection: ServerConnection, inbox: _Inbox, script: list[Step]) -> None:
        encode = self.dialect.encode
        for step in script:
            kind = step[0]
            if kind == "subscribed":
                count = step[1] if len(step) > 1 else 1
                answer = step[2] if len(step) > 2 else self.dialect.ack
                for _ in range(count):
                    frame = await inbox.take(self.dialect.is_subscribe, self.wait_timeout)
                    await connection.send(encode(answer(frame)))
            elif kind == "send":
                await connection.send(encode(step[1]))
            elif kind == "raw":
                await connection.send(step[1])
            elif kind == "ping":
                ts = step[1]
                await connection.send(encode({"ping": ts}))
                try:
                    await inbox.take(
                        functools.partial(operator.eq, {"pong": ts}), self.pong_timeout
                    )
                except TimeoutError:
                    self.missed_pongs.append(ts)
                    connection.transport.abort()  # HTX drops a client that does not pong
                    return
            elif kind == "reply":
                frame = await inbox.take(step[1], self.wait_timeout)
                await connection.send(encode(step[2](frame)))
            elif kind == "wait":
                await asyncio.sleep(step[1])
            elif kind == "drop":
                connection.transport.abort()
                return
            elif kind == "silence":
                await connection.wait_closed()  # open, sending nothing, until the client goes
                return
            elif kind == "close":
                await connection.close()
                return
        await connection.wait_closed()


def depth_event(symbol: str, first: int, last: int, bids: Any = (), asks: Any = ()) -> dict:
    """A ``depthUpdate`` frame as Binance's docs show it."""
    return {
        "e": "depthUpdate",
        "E": 1672515782136,
        "s": symbol,
        "U": first,
        "u": last,
        "b": [list(level) for level in bids],
        "a": [list(level) for level in asks],
    }


def book_ticker(symbol: str, update: int, bid: str, ask: str) -> dict:
    """A ``<symbol>@bookTicker`` frame as Binance's docs show it (it has no "e")."""
    return {"u": update, "s": symbol, "b": bid, "B": "31.21", "a": ask, "A": "40.66"}


def gate_depth(
    pair: str, first: int, last: int, bids: Any = (), asks: Any = (), *, full: bool = False
) -> dict:
    """A ``spot.order_book_update`` push as Gate's docs show it ("Changed order book levels";
    ``full`` only when true)."""
    result: dict[str, Any] = {
        "t": 1606294781123,
        "l": "100",
        "e": "depthUpdate",
        "E": 1606294781,
        "s": pair,
        "U": first,
        "u": last,
        "b": [list(level) for level in bids],
        "a": [list(level) for level in asks],
    }
    if full:
        result["full"] = True
    return {
        "time": 1606294781,
        "time_ms": 1606294781236,
        "channel": "spot.order_book_update",
        "event": "update",
        "result": result,
    }


def gate_book_ticker(pair: str, update: int, bid: str, ask: str) -> dict:
    """A ``spot.book_ticker`` push as Gate's docs show it ("Best bid or ask price")."""
    return {
        "time": 1606293275,
        "time_ms": 1606293275723,
        "channel": "spot.book_ticker",
        "event": "update",
        "result": {
            "t": 1606293275123,
            "u": update,
            "s": pair,
            "b": bid,
            "B": "0.0003341504",
            "a": ask,
            "A": "0.09",
        },
    }


def htx_depth(symbol: str, previous: int, sequence: int, bids: Any = (), asks: Any = ()) -> dict:
    """A ``market.$symbol.mbp.150`` push as HTX's docs show it (numbers, not strings)."""
    return {
        "ch": f"market.{symbol}.mbp.150",
        "ts": 1573199608679,
        "tick": {
            "seqNum": sequence,
            "prevSeqNum": previous,
            "bids": [list(level) for level in bids],
            "asks": [list(level) for level in asks],
        },
    }


def htx_image(request: dict[str, Any], sequence: int, bids: Any, asks: Any) -> dict:
    """HTX's answer to ``{"req": "market.$symbol.mbp.150", "id": ...}`` (the refresh image)."""
    return {
        "id": request.get("id"),
        "rep": request.get("req"),
        "status": "ok",
        "ts": 1573199608679,
        "data": {
            "seqNum": sequence,
            "bids": [list(level) for level in bids],
            "asks": [list(level) for level in asks],
        },
    }


def htx_bbo(symbol: str, bid: float, ask: float) -> dict:
    """A ``market.$symbol.bbo`` push as HTX's docs show it."""
    return {
        "ch": f"market.{symbol}.bbo",
        "ts": 1671941599613,
        "tick": {
            "seqId": 161499562790,
            "ask": ask,
            "askSize": 0.707776,
            "bid": bid,
            "bidSize": 1.685945,
            "quoteTime": 1671941599612,
            "symbol": symbol,
        },
    }
