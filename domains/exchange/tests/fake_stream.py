"""A local websocket server posing as a venue's stream endpoint, scripted per connection.

Each connection runs the next script (the last one repeats): a list of steps,

- ``("subscribed",)``: wait for the client's SUBSCRIBE and answer ``{"result": null, "id": n}``
  (Binance's documented reply);
- ``("send", frame)``: a JSON frame; ``("raw", text)``: any text (malformed JSON);
- ``("drop",)``: cut the TCP connection without a close frame (the client sees 1006);
- ``("silence",)``: send nothing more and keep the connection open (a stale stream);
- ``("close",)``: a clean close.

Every frame the client sends is recorded per connection.
"""

import json
from typing import Any

from websockets.asyncio.server import Server, ServerConnection, serve

Step = tuple[Any, ...]


class FakeStreamServer:
    def __init__(self, scripts: list[list[Step]]) -> None:
        self.scripts = scripts
        self.received: list[list[Any]] = []  # per connection, the client's frames (parsed)
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
        script = self.scripts[min(index, len(self.scripts) - 1)]
        for step in script:
            kind = step[0]
            if kind == "subscribed":
                frame = json.loads(await connection.recv())
                received.append(frame)
                await connection.send(json.dumps({"result": None, "id": frame.get("id")}))
            elif kind == "send":
                await connection.send(json.dumps(step[1]))
            elif kind == "raw":
                await connection.send(step[1])
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
