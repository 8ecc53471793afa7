"""A venue websocket that stays up: reconnect with backoff, resubscribe, heartbeat timeout.

- **Heartbeat.** The ``websockets`` library answers the venue's pings (Binance pings every 20 s
  and drops a client that does not pong within a minute) and pings the venue itself
  (``ping_interval``/``ping_timeout``). Beyond that, a connection that delivers no frame for
  ``idle_timeout`` seconds is treated as dead: a market-data stream that goes quiet is stale.
- **Reconnect.** Any drop (closed, reset, timed out, refused) is followed by a new connection
  after an exponential backoff with full jitter; a connection that delivered frames resets the
  backoff. Every subscription is sent again on each new connection.
- **Frames.** Each frame is decoded by ``decode`` (JSON text by default; HTX sends gzip-compressed
  JSON, see ``gzip_json``) and goes to ``on_message``; a frame that does not decode is counted
  and skipped (``on_malformed``), never fatal.
- **Replies.** ``send`` writes a frame on the live connection: application-level pongs (HTX,
  Gate.io), keepalives and late subscriptions go through it.
- **Status.** ``on_status(up, reason)`` reports each connection going up or down.

Time goes through ``sleep`` (tests pass one that returns at once) except the idle timeout,
which is the event loop's.
"""

import asyncio
import gzip
import json
import logging
import random
import zlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import websockets
from websockets.exceptions import InvalidHandshake, InvalidURI, WebSocketException

logger = logging.getLogger(__name__)

Subscribe = Callable[[list[str]], list[Any]]  # subscriptions -> frames to send on connect
Decode = Callable[[str | bytes], Any]  # a frame -> the message; ValueError when malformed


def text_json(raw: str | bytes) -> Any:
    """A JSON text frame (Binance, Gate.io)."""
    return json.loads(raw.decode() if isinstance(raw, bytes) else raw)


def gzip_json(raw: str | bytes) -> Any:
    """A gzip-compressed JSON binary frame (HTX); a text frame is read as plain JSON."""
    if isinstance(raw, str):
        return json.loads(raw)
    try:
        return json.loads(gzip.decompress(raw))
    except (OSError, EOFError, zlib.error) as error:
        raise ValueError(f"not gzip: {error}") from error


class NotConnected(Exception):
    """``send`` was called while no connection is up."""


@dataclass(frozen=True)
class StreamSettings:
    idle_timeout: float = 60.0  # seconds without a frame before the connection counts as dead
    open_timeout: float = 10.0
    ping_interval: float | None = 20.0
    ping_timeout: float | None = 20.0
    base_delay: float = 0.5  # reconnect backoff: uniform(0, min(max_delay, base * 2**n))
    max_delay: float = 30.0
    max_attempts: int | None = None  # consecutive failed connections before giving up


@dataclass
class StreamStats:
    connections: int = 0
    drops: int = 0
    messages: int = 0
    malformed: int = 0


class StreamStale(Exception):
    """No frame within the idle timeout."""


class StreamGaveUp(Exception):
    """``max_attempts`` consecutive connections failed."""


async def _nothing(*args: Any) -> None:
    return None


class ReconnectingStream:
    def __init__(
        self,
        url: str,
        *,
        subscriptions: list[str],
        subscribe: Subscribe,
        on_message: Callable[[Any], Awaitable[None]],
        on_status: Callable[[bool, str], Awaitable[None]] = _nothing,
        on_malformed: Callable[[str], Awaitable[None]] = _nothing,
        on_connect: Callable[[], Awaitable[None]] = _nothing,
        decode: Decode = text_json,
        settings: StreamSettings | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.url = url
        self.subscriptions = list(subscriptions)
        self.subscribe = subscribe
        self.on_message = on_message
        self.on_status = on_status
        self.on_malformed = on_malformed
        self.on_connect = on_connect
        self.decode = decode
        self.settings = settings or StreamSettings()
        self.sleep = sleep
        self.rng = rng or random.Random()  # noqa: S311 (jitter, not cryptography)
        self.stats = StreamStats()
        self.delays: list[float] = []
        self._stopped = asyncio.Event()
        self._connection: Any = None
        self._closing: set[asyncio.Task[None]] = set()
        self._drop_reason: str | None = None

    def stop(self) -> None:
        """End ``run``: close the connection (or cut the backoff short). Call it on the loop."""
        self._stopped.set()
        if self._connection is not None:
            task = asyncio.ensure_future(self._connection.close())
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)

    def reconnect(self, reason: str) -> None:
        """Close the current connection (a request on it was refused, a subscription must be
        redone): ``run`` reports it down with ``reason`` and reconnects after its backoff."""
        connection = self._connection
        if connection is None or self.stopped:
            return
        self._drop_reason = reason
        task = asyncio.ensure_future(connection.close())
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    async def send(self, frame: Any) -> None:
        """Write ``frame`` (a str, or JSON-encoded) on the current connection."""
        connection = self._connection
        if connection is None:
            raise NotConnected(f"no connection to {self.url}")
        await connection.send(frame if isinstance(frame, str) else json.dumps(frame))

    @property
    def connected(self) -> bool:
        return self._connection is not None

    @property
    def stopped(self) -> bool:
        return self._stopped.is_set()

    async def run(self) -> None:
        """Connect, read, and reconnect until :meth:`stop` (or ``max_attempts`` failures)."""
        failures = 0
        while not self.stopped:
            delivered = False
            reason = "stopped"
            try:
                delivered = await self._session()
            except (OSError, TimeoutError, StreamStale, WebSocketException) as error:
                reason = self._drop_reason or _describe(error)
            finally:
                self._connection = None
                self._drop_reason = None
            if self.stopped:
                break
            self.stats.drops += 1
            await self.on_status(False, reason)
            failures = 0 if delivered else failures + 1
            if self.settings.max_attempts is not None and failures >= self.settings.max_attempts:
                raise StreamGaveUp(f"{failures} connections to {self.url} failed: {reason}")
            ceiling = min(self.settings.max_delay, self.settings.base_delay * 2**failures)
            delay = self.rng.uniform(0, ceiling)
            self.delays.append(delay)
            await self._pause(delay)

    async def _session(self) -> bool:
        """One connection's life; True when it delivered at least one frame."""
        delivered = False
        async with websockets.connect(
            self.url,
            open_timeout=self.settings.open_timeout,
            ping_interval=self.settings.ping_interval,
            ping_timeout=self.settings.ping_timeout,
            close_timeout=1,
            max_size=2**22,
        ) as connection:
            self._connection = connection
            self.stats.connections += 1
            await self.on_connect()
            for frame in self.subscribe(self.subscriptions):
                await connection.send(frame if isinstance(frame, str) else json.dumps(frame))
            await self.on_status(True, "connected")
            while not self.stopped:
                try:
                    raw = await asyncio.wait_for(connection.recv(), self.settings.idle_timeout)
                except websockets.ConnectionClosedOK:
                    if self.stopped:
                        break
                    raise
                except TimeoutError:
                    raise StreamStale(
                        f"no frame for {self.settings.idle_timeout:g}s: stale"
                    ) from None
                delivered = True
                try:
                    message = self.decode(raw)
                except ValueError:  # json.JSONDecodeError and UnicodeDecodeError included
                    self.stats.malformed += 1
                    logger.warning("venue stream: malformed frame skipped", extra={"url": self.url})
                    await self.on_malformed(_preview(raw))
                    continue
                self.stats.messages += 1
                await self.on_message(message)
        self._connection = None
        return delivered

    async def _pause(self, delay: float) -> None:
        sleeper = asyncio.ensure_future(self.sleep(delay))
        stopper = asyncio.ensure_future(self._stopped.wait())
        _done, pending = await asyncio.wait({sleeper, stopper}, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()


def _preview(raw: str | bytes) -> str:
    return raw[:200] if isinstance(raw, str) else repr(raw[:100])


def _describe(error: BaseException) -> str:
    if isinstance(error, StreamStale):
        return str(error)
    if isinstance(error, InvalidURI | InvalidHandshake):
        return f"handshake failed: {error}"
    return f"{type(error).__name__}: {error}"[:300]
