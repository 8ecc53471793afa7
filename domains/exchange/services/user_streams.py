"""Live accounts' private (user-data) streams: order updates and fills as they happen.

One ``AccountStream`` per enabled live account keeps a ``ReconnectingStream`` to its venue's
private endpoint (Binance's WebSocket API, Gate.io's v4 spot channels, HTX's v2 asset-and-order
stream; the frames are read by ``adapters/user_streams``). Each connection:

1. reads the account's credentials through the ``CredentialStore`` (core's secrets, cached
   60 s: a rotated key is used from the next connection on);
2. authenticates and subscribes (signed at that moment, on the venue's clock: our clock less
   the offset the venue's REST clients measured, ``adapters/ccxt_clock.py``), answers the
   venue's pings and sends the venue's keepalive where it has one;
3. once the venue confirmed every subscription, runs ``reconcile_account`` in a worker thread:
   what happened while we were not subscribed (before the first connection, during a drop)
   is recovered from REST; what arrives meanwhile on the stream is merged by the ledger,
   which takes answers in any order;
4. feeds every order state to ``ledger.record_ack`` and every fill to ``ledger.record_fill``
   (idempotent: a duplicate frame, or a fill seen by both the stream and the reconciler, is
   recorded once and ``OrderFilled`` published once).

Connections going up or down go to the venue's health and out as a durable
``VenueStatusChanged`` (like the market stream). A venue that refuses the credentials stops the
stream: its status says ``auth_failed``, the cached credentials are dropped (as the gateway
does) and ``run`` raises ``AuthFailed``. Any other refusal (a clock off by more than the
venue's window, a rate limit) reconnects with backoff; a timestamp refusal (Binance -1021)
measures the venue's clock again first (``resync_clock``). A frame that cannot be read, an unknown
symbol or an unknown account is logged and skipped; an unknown symbol also reloads the markets
(at most every 5 minutes) and reconciles.

``AccountStreamSupervisor`` runs one stream per enabled live account, polls the database for
accounts added, disabled or re-keyed, and restarts a stream that ended (an auth failure
included: the user may fix the secret) after ``retry_after``.
"""

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any
from uuid import UUID

from asgiref.sync import sync_to_async
from django.db import DatabaseError, close_old_connections, connections
from websockets.exceptions import WebSocketException

from domains.exchange.adapters.ccxt_gateway import VenueCredentials
from domains.exchange.adapters.user_streams import DIALECTS, MarketIndex, Reading, Refusal
from domains.exchange.adapters.ws_client import NotConnected, ReconnectingStream, StreamSettings
from domains.exchange.api import AuthFailed, ExchangeApi, Fill, MarketInfo, OrderAck
from domains.exchange.services.accounts import AccountRef, live_accounts_enabled
from domains.exchange.services.credentials import CredentialStore
from domains.exchange.services.live import LiveVenue
from domains.exchange.services.orders import ledger
from domains.exchange.services.orders.reconciler import (
    ReconcileReport,
    ReconcileSettings,
    reconcile_account,
)
from domains.exchange.services.resilience.runtime import VenueRuntime
from domains.exchange.services.venues import VenueFactory
from dsta.kernel.errors import DstaError, InvalidInput

logger = logging.getLogger(__name__)

# A private stream is quiet while nothing trades: the venue's pings (HTX) or our keepalive
# (Binance, Gate.io) give the idle timeout a frame at least every 30 s.
PRIVATE_STREAM_SETTINGS = StreamSettings(idle_timeout=90.0)
MARKETS_REFRESH_AFTER = 300.0
RETRY_EMPTY = 30.0  # seconds between attempts while no market list was ever loaded
STOP_CHECK_SECONDS = 0.5  # how often the serve background loop looks at its stop event
# Accounts of one venue refused together (a clock jump) measure its clock once.
RESYNC_REUSE_SECONDS = 10.0

_DEFAULT: Any = object()


def _as_request(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run ``function`` as Django runs a request: broken or expired database connections
    closed before and after. A stream lives for days; the database may restart under it."""
    close_old_connections()
    try:
        return function(*args, **kwargs)
    finally:
        close_old_connections()


def _in_pool_thread(function: Callable[..., Any], *args: Any) -> Any:
    """Run ``function`` in a pool thread that may outlive the stream: every database
    connection it opened is closed afterwards (a test database can then be dropped)."""
    try:
        return function(*args)
    finally:
        connections.close_all()


@dataclass(frozen=True)
class LedgerSink:
    """Where a stream's order states and fills go (the live order ledger)."""

    record_ack: Callable[[OrderAck], bool]
    record_fill: Callable[[Fill], bool]


def ledger_sink() -> LedgerSink:
    return LedgerSink(record_ack=ledger.record_ack, record_fill=ledger.record_fill)


def reconcile_after_connect(account_id: UUID, *, api: ExchangeApi | None = None) -> ReconcileReport:
    """The reconciler, asking the venue about *every* working order of the account (not only
    those unheard of for ``recheck``): any of them may have filled while we were away."""
    settings = replace(ReconcileSettings.from_settings(), recheck=timedelta(0))
    return reconcile_account(account_id, api=api, settings=settings)


class MarketDirectory:
    """The spot markets of one venue by the venue's id, loaded through ``load`` (the venue's
    ``LiveVenue.markets``) in a worker thread, again when an unknown id shows up (at most every
    ``refresh_after`` seconds). Shared by the streams of every account on the venue."""

    def __init__(
        self,
        load: Callable[[], list[MarketInfo]],
        *,
        refresh_after: float = MARKETS_REFRESH_AFTER,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._load = load
        self.refresh_after = refresh_after
        self.clock = clock
        self._index = MarketIndex()
        self._tried_at: float | None = None
        self._lock = asyncio.Lock()

    def get(self, venue_id: object) -> MarketInfo | None:
        return self._index.get(venue_id)

    @property
    def loaded(self) -> bool:
        return len(self._index) > 0

    async def ensure(self) -> None:
        """Load the markets unless they are loaded."""
        if not self.loaded:
            await self.refresh()

    async def refresh(self) -> bool:
        """Reload, unless a load was tried within ``refresh_after``; True when reloaded."""
        async with self._lock:
            now = self.clock()
            # Until a first load succeeded, try again sooner: every frame is unreadable meanwhile.
            wait = self.refresh_after if self.loaded else min(self.refresh_after, RETRY_EMPTY)
            if self._tried_at is not None and now - self._tried_at < wait:
                return False
            self._tried_at = now
            try:
                markets = await sync_to_async(_in_pool_thread, thread_sensitive=False)(self._load)
            except DstaError as error:
                logger.warning("user stream: markets not loaded: %s", error.message)
                return False
            self._index = MarketIndex(markets)
            return True


@dataclass
class AccountStreamStats:
    acks: int = 0  # order states handed to the ledger
    fills: int = 0
    changes: int = 0  # of those, how many the ledger said were new
    skipped: int = 0  # frames or items dropped (malformed, unknown symbol, unused)
    ledger_errors: int = 0
    reconciles: int = 0
    resubscribes: int = 0  # subscriptions the venue ended and we renewed on the connection
    refusals: list[Refusal] = field(default_factory=list)


class AccountStream:
    """The private stream of one live account."""

    def __init__(
        self,
        account: AccountRef,
        *,
        markets: MarketDirectory,
        runtime: VenueRuntime,
        credentials: CredentialStore | None = None,
        sink: LedgerSink | None = None,
        reconcile: Callable[[UUID], object] | None = None,
        url: str | None = None,
        settings: StreamSettings | None = None,
        keepalive_interval: float | None = _DEFAULT,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.time,
        resync_clock: Callable[[], object] | None = None,
    ) -> None:
        """``clock``: our wall clock; handshakes are signed on the venue's (``clock`` less the
        venue's measured offset). ``resync_clock`` measures that offset again (blocking: run
        in a worker thread) after the venue refused a handshake's timestamp."""
        if account.kind != "live" or account.venue not in DIALECTS:
            raise InvalidInput(
                f"account {account.id} is not a live account on a venue with a user stream",
                details={"account_id": str(account.id), "venue": account.venue},
            )
        self.account = account
        self.markets = markets
        self.runtime = runtime
        self.credentials = credentials or CredentialStore()
        self.sink = sink or ledger_sink()
        self.reconcile = reconcile or reconcile_after_connect
        self.clock = clock
        self.resync_clock = resync_clock
        self.dialect = DIALECTS[account.venue](
            account_id=account.id, markets=markets.get, clock=self._venue_clock
        )
        self.url = url or self.dialect.default_url
        self.keepalive_interval = (
            self.dialect.keepalive_interval
            if keepalive_interval is _DEFAULT
            else keepalive_interval
        )
        self.stats = AccountStreamStats()
        self.state = "idle"
        self.stream = ReconnectingStream(
            self.url,
            subscriptions=[],
            subscribe=self._handshake,
            on_message=self._message,
            on_status=self._status,
            on_connect=self._connected,
            decode=self.dialect.decode,
            settings=settings or PRIVATE_STREAM_SETTINGS,
            sleep=sleep,
        )
        self._credentials: VenueCredentials | None = None
        self._pending = 0  # handshake confirmations still expected on this connection
        self._auth_error: AuthFailed | None = None
        self._reconcile_task: asyncio.Future[None] | None = None
        self._reconcile_again = False

    # --- lifecycle ----------------------------------------------------------------------------

    async def run(self) -> None:
        """Stream until :meth:`stop`; raises ``AuthFailed`` when the venue (or the secrets
        store) refuses the account's credentials."""
        self._auth_error = None
        self.state = "connecting"
        keepalive = asyncio.ensure_future(self._keepalive()) if self.keepalive_interval else None
        try:
            await self.stream.run()
        except AuthFailed as error:  # from the credentials store, on connecting
            await self._auth_failed(error)
        finally:
            if keepalive is not None:
                keepalive.cancel()
            if self._reconcile_task is not None:
                await asyncio.gather(self._reconcile_task, return_exceptions=True)
            # The thread that ran our database calls keeps its connection otherwise.
            await sync_to_async(connections.close_all)()
        if self._auth_error is not None:
            raise self._auth_error
        self.state = "stopped"

    def stop(self) -> None:
        """End :meth:`run` (call it on the stream's event loop)."""
        self.stream.stop()

    # --- connection -----------------------------------------------------------------------------

    async def _connected(self) -> None:
        self._credentials = await sync_to_async(_as_request)(
            self.credentials.get, owner_id=self._owner(), key=self.account.secret_key
        )
        await self.markets.ensure()

    def _venue_clock(self) -> float:
        """Now on the venue's clock, as far as its REST clients measured it (ours until then):
        the same correction ccxt applies to every signed REST request."""
        offset_ms = self.runtime.clock_offset.reading().offset_ms
        return self.clock() - (offset_ms or 0) / 1000

    def _handshake(self, _subscriptions: list[str]) -> list[Any]:
        assert self._credentials is not None  # read in _connected, just before
        self._pending = self.dialect.handshake_steps
        self.state = "subscribing"
        return self.dialect.handshake(self._credentials, self.url)

    async def _status(self, up: bool, reason: str) -> None:
        if not up:
            self.state = f"down: {reason}"
        await self._report(up, reason)

    async def _report(self, up: bool, reason: str) -> None:
        # A durable event: its outbox row is database work, off the event loop. A database
        # that cannot take it loses the event (logged), never the stream and its orders.
        try:
            await sync_to_async(_as_request)(
                self.runtime.websocket_changed,
                up=up,
                reason=f"account {self.account.name} ({self.account.id}): {reason}",
            )
        except DatabaseError:
            logger.exception(
                "user stream: websocket status not recorded",
                extra={"account_id": str(self.account.id), "up": up},
            )

    async def _keepalive(self) -> None:
        assert self.keepalive_interval
        while not self.stream.stopped:
            await asyncio.sleep(self.keepalive_interval)
            frame = self.dialect.keepalive()
            if frame is None or not self.stream.connected:
                continue
            try:
                await self.stream.send(frame)
            except (NotConnected, WebSocketException):
                continue  # the connection is going: the stream reconnects by itself

    # --- frames -------------------------------------------------------------------------------

    async def _message(self, message: Any) -> None:
        reading = self.dialect.read(message)
        self._log_skipped(reading)
        for reply in reading.replies:
            await self._send(reply)
        if reading.refusal is not None:
            await self._refused(reading.refusal)
            return
        if reading.confirmed:
            self._pending -= reading.confirmed
            if self._pending == 0:
                self.state = "streaming"
                self._schedule_reconcile("subscribed")
        if reading.ended is not None:
            logger.info(
                "user stream: %s ended the subscription (%s): subscribing again",
                self.account.venue,
                reading.ended,
                extra={"account_id": str(self.account.id)},
            )
            self.stats.resubscribes += 1
            for frame in self._handshake([]):
                await self._send(frame)
        for update in reading.updates:
            await self._record(update)
        if reading.unknown_symbols and await self.markets.refresh():
            self._schedule_reconcile("new markets")
        if reading.needs_reconcile:
            self._schedule_reconcile("an event without the order's state")

    async def _send(self, frame: Any) -> None:
        # A connection that dropped meanwhile: the next one does its handshake again.
        with contextlib.suppress(NotConnected, WebSocketException):
            await self.stream.send(frame)

    async def _record(self, update: OrderAck | Fill) -> None:
        if isinstance(update, OrderAck):
            self.stats.acks += 1
            record: Callable[[Any], bool] = self.sink.record_ack
        else:
            self.stats.fills += 1
            record = self.sink.record_fill
        try:
            changed = await sync_to_async(_as_request)(record, update)
        except DstaError as error:  # unknown account (deleted meanwhile), ...
            self.stats.ledger_errors += 1
            logger.warning(
                "user stream: ledger refused an update: %s",
                error.message,
                extra={"account_id": str(self.account.id), "code": error.code},
            )
            return
        except Exception:
            # The database failed us: keep streaming, and let the reconciler recover it.
            self.stats.ledger_errors += 1
            logger.exception(
                "user stream: ledger write failed", extra={"account_id": str(self.account.id)}
            )
            self._schedule_reconcile("a ledger write failed")
            return
        if changed:
            self.stats.changes += 1

    def _log_skipped(self, reading: Reading) -> None:
        for why in reading.skipped:
            self.stats.skipped += 1
            logger.warning(
                "user stream: %s frame skipped: %s",
                self.account.venue,
                why,
                extra={"account_id": str(self.account.id)},
            )

    async def _refused(self, refusal: Refusal) -> None:
        self.stats.refusals.append(refusal)
        detail = f"{refusal.code} {refusal.message}".strip()
        if refusal.auth:
            await self._auth_failed(
                AuthFailed(
                    f"{self.account.venue} refused the credentials of account "
                    f"{self.account.id}: {detail}",
                    details={
                        "account_id": str(self.account.id),
                        "venue": self.account.venue,
                        "code": refusal.code,
                    },
                )
            )
            self.stream.stop()
            return
        logger.warning(
            "user stream: %s refused a request: %s; reconnecting",
            self.account.venue,
            detail,
            extra={"account_id": str(self.account.id)},
        )
        if refusal.clock and self.resync_clock is not None:
            # Signing again on the same clock would be refused again, on every reconnect.
            try:
                await sync_to_async(_in_pool_thread, thread_sensitive=False)(self.resync_clock)
            except Exception as error:  # the venue's time call failed: the backoff goes on
                logger.warning(
                    "user stream: %s clock not measured: %s",
                    self.account.venue,
                    error,
                    extra={"account_id": str(self.account.id)},
                )
        self.stream.reconnect(f"refused: {detail}")

    async def _auth_failed(self, error: AuthFailed) -> None:
        self._auth_error = error
        self.state = f"auth_failed: {error.message}"
        if self.account.owner_id is not None:
            self.credentials.forget(owner_id=self.account.owner_id, key=self.account.secret_key)
        logger.error(
            "user stream stopped: %s", error.message, extra={"account_id": str(self.account.id)}
        )
        await self._report(False, f"auth_failed: {error.message}")

    # --- reconciliation -----------------------------------------------------------------------

    def _schedule_reconcile(self, reason: str) -> None:
        """Reconcile the account in a worker thread; requests made while one runs coalesce
        into one more run after it."""
        if self._reconcile_task is not None and not self._reconcile_task.done():
            self._reconcile_again = True
            return
        self._reconcile_task = asyncio.ensure_future(self._reconcile_runs(reason))

    async def _reconcile_runs(self, reason: str) -> None:
        while True:
            self._reconcile_again = False
            self.stats.reconciles += 1
            try:
                report = await sync_to_async(_in_pool_thread, thread_sensitive=False)(
                    self.reconcile, self.account.id
                )
            except Exception:  # venue down, reconciler missing...: the next connection retries
                logger.exception(
                    "user stream: reconcile failed (%s)",
                    reason,
                    extra={"account_id": str(self.account.id)},
                )
            else:
                logger.info(
                    "user stream: reconciled after %s: %s",
                    reason,
                    report,
                    extra={"account_id": str(self.account.id)},
                )
            if not self._reconcile_again:
                return
            reason = "more changes while reconciling"

    def _owner(self) -> int:
        if self.account.owner_id is None or not self.account.enabled:
            raise AuthFailed(
                f"live account {self.account.id} is disabled",
                details={"account_id": str(self.account.id)},
            )
        return self.account.owner_id


class AccountStreams:
    """Builds the ``AccountStream`` of an account, sharing one credential store, one market
    directory per venue and this process's resilience runtime between them."""

    def __init__(
        self,
        *,
        venues: VenueFactory | None = None,
        credentials: CredentialStore | None = None,
        **options: Any,
    ) -> None:
        self.venues = venues or VenueFactory()
        self.credentials = credentials or CredentialStore()
        self.options = options
        self._markets: dict[str, MarketDirectory] = {}
        self._public: dict[str, LiveVenue] = {}

    def public(self, venue: str) -> LiveVenue:
        """The venue's public REST client (markets, and the clock measurement)."""
        if venue not in self._public:
            self._public[venue] = self.venues.public(venue)
        return self._public[venue]

    def markets(self, venue: str) -> MarketDirectory:
        if venue not in self._markets:
            self._markets[venue] = MarketDirectory(self.public(venue).markets)
        return self._markets[venue]

    def resync_clock(self, venue: str) -> None:
        """Measure ``venue``'s clock again (its time call; one a few seconds old is reused)."""
        sync = self.public(venue).adapter.clock_sync
        if sync is not None:
            sync.resync(newer_than=sync.now() - RESYNC_REUSE_SECONDS)

    def __call__(self, account: AccountRef) -> AccountStream:
        options: dict[str, Any] = {
            "resync_clock": lambda: self.resync_clock(account.venue),
            **self.options,
        }
        return AccountStream(
            account,
            markets=self.markets(account.venue),
            runtime=self.venues.runtime.venue(account.venue),
            credentials=self.credentials,
            **options,
        )


@dataclass
class Supervised:
    account: AccountRef
    stream: AccountStream
    task: "asyncio.Task[None]"
    ended_at: float | None = None
    error: str = ""


class AccountStreamSupervisor:
    """One stream per enabled live account, following the database (see the module docs)."""

    def __init__(
        self,
        *,
        build: Callable[[AccountRef], AccountStream] | None = None,
        accounts: Callable[[], list[AccountRef]] = live_accounts_enabled,
        poll_interval: float = 30.0,
        retry_after: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.build = build or AccountStreams()
        self.accounts = accounts
        self.poll_interval = poll_interval
        self.retry_after = retry_after
        self.clock = clock
        self.running: dict[UUID, Supervised] = {}
        self._stopped = asyncio.Event()

    async def run(self) -> None:
        """Sync with the database every ``poll_interval`` seconds until :meth:`stop`."""
        try:
            while not self._stopped.is_set():
                await self.sync()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopped.wait(), self.poll_interval)
        finally:
            await self.stop_all()
            await sync_to_async(connections.close_all)()

    def stop(self) -> None:
        self._stopped.set()

    async def sync(self) -> None:
        """Start streams for new accounts, stop those of accounts disabled, removed or given
        another secret (restarted), restart streams that ended ``retry_after`` ago."""
        listed = await sync_to_async(_as_request)(self.accounts)
        accounts = {ref.id: ref for ref in listed}
        for account_id, current in list(self.running.items()):
            ref = accounts.get(account_id)
            if ref is None or _identity(ref) != _identity(current.account):
                await self._end(account_id, "disabled or removed" if ref is None else "changed")
        now = self.clock()
        for account_id, ref in accounts.items():
            supervised = self.running.get(account_id)
            if supervised is None:
                await self._start(ref)
            elif supervised.task.done():
                if supervised.ended_at is None:
                    supervised.ended_at = now
                if now - supervised.ended_at >= self.retry_after:
                    logger.info(
                        "user stream supervisor: restarting %s (ended: %s)",
                        account_id,
                        supervised.error or "stopped",
                    )
                    await self._start(ref)

    async def stop_all(self) -> None:
        for account_id in list(self.running):
            await self._end(account_id, "supervisor stopped")

    async def _start(self, account: AccountRef) -> None:
        try:
            # Off the loop: building reads the database (the venue's settings, its runtime),
            # which Django refuses from an event loop.
            stream = await sync_to_async(_as_request)(self.build, account)
        except DstaError as error:
            logger.error("user stream supervisor: %s not started: %s", account.id, error.message)
            return
        except Exception:  # the next poll tries again; the other accounts' streams go on
            logger.exception("user stream supervisor: %s not started", account.id)
            return
        task = asyncio.ensure_future(stream.run())
        supervised = Supervised(account=account, stream=stream, task=task)
        task.add_done_callback(lambda done: self._ended(supervised, done))
        self.running[account.id] = supervised
        logger.info("user stream supervisor: started %s (%s)", account.id, account.venue)

    def _ended(self, supervised: Supervised, task: "asyncio.Task[None]") -> None:
        supervised.ended_at = self.clock()
        if task.cancelled():
            supervised.error = "cancelled"
            return
        error = task.exception()
        if error is not None:
            supervised.error = str(error)
            logger.error(
                "user stream of %s ended: %s (retried in %ss)",
                supervised.account.id,
                error,
                self.retry_after,
            )

    async def _end(self, account_id: UUID, why: str) -> None:
        supervised = self.running.pop(account_id)
        supervised.stream.stop()
        await asyncio.gather(supervised.task, return_exceptions=True)
        logger.info("user stream supervisor: stopped %s (%s)", account_id, why)


def _identity(ref: AccountRef) -> tuple[object, ...]:
    """What a running stream depends on: a change restarts it."""
    return (ref.venue, ref.owner_id, ref.secret_key, ref.enabled)


def run_account_streams(stop: threading.Event, *, poll_interval: float = 30.0) -> None:
    """The supervisor as a background loop of ``manage.py serve``: every enabled live
    account's stream, until ``stop`` is set (see ``dsta.kernel.jobs.background``)."""
    supervisor = AccountStreamSupervisor(poll_interval=poll_interval)

    async def main() -> None:
        running = asyncio.ensure_future(supervisor.run())
        # The event belongs to the whole process: watch it, never set it from here.
        while not stop.is_set() and not running.done():
            await asyncio.sleep(STOP_CHECK_SECONDS)
        supervisor.stop()
        await running

    asyncio.run(main())
