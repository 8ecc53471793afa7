"""``ExchangeGateway``: the in-process implementation of ``ExchangeApi``.

Market data names a venue: ``paper`` is served by the paper exchange, ``binance``/``gateio``/
``htx`` by ccxt (public endpoints, one client per venue, made on first use). Account calls name
an account: paper accounts are served by the paper exchange; live accounts by a ccxt client
signing with the account's credentials (read from core's secrets, ``credentials.py``), one per
account, rebuilt when the credentials change. Every ccxt client is resilient
(``venues.VenueFactory``): shared rate limits, breaker, retries, failover, request log.

Before a paper order, ticker or book on the ``paper`` venue, the paper market feed seeds an
empty paper book from stored candles (``paper/market_feed.py``, ``ensure_book``).

Live orders go through the ledger (``orders/ledger.py``): the intent is committed before the
create request, the answer (or its absence) after; every lookup, listing and cancel answer is
merged in too. The ledger publishes ``OrderUpdated`` when an order's state changes.
"""

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from threading import Lock
from uuid import UUID

from domains.exchange.adapters.ccxt_gateway import VenueCredentials
from domains.exchange.api import (
    AccountBalances,
    AuthFailed,
    CancelResult,
    Candle,
    DuplicateOrder,
    ExchangeFailure,
    Fill,
    MarketInfo,
    OrderAck,
    OrderBook,
    OrderRequest,
    PublicTrade,
    Ticker,
    TradingHalted,
    UnknownAccount,
    UnknownVenue,
    Venue,
    VenueRateLimited,
    VenueStatus,
    VenueUnavailable,
)
from domains.exchange.services.accounts import AccountRef, account_get
from domains.exchange.services.credentials import CredentialStore
from domains.exchange.services.live import LiveVenue
from domains.exchange.services.orders import ledger
from domains.exchange.services.paper.market_feed import PaperMarketFeed
from domains.exchange.services.paper.service import PaperExchange
from domains.exchange.services.venues import VenueFactory
from domains.trading.api import kill_switch_api
from dsta.kernel.errors import InvalidInput

logger = logging.getLogger(__name__)

MAX_DEPTH = 5000
MAX_CANDLES = 5000
MAX_TRADES = 1000  # the smallest venue maximum (Binance aggTrades, Gate spot/trades: 1000)
DEFAULT_TRADES = 100


class ExchangeGateway:
    """Routes each ``ExchangeApi`` call to the paper exchange or to a venue through ccxt."""

    def __init__(
        self,
        *,
        paper: PaperExchange | None = None,
        live_venue: Callable[[str], LiveVenue] | None = None,
        venues: VenueFactory | None = None,
        credentials: CredentialStore | None = None,
        paper_feed: PaperMarketFeed | None = None,
    ) -> None:
        """``venues`` builds the ccxt clients (tests point its transport at a fake venue);
        ``live_venue`` replaces it for the public clients only. ``paper_feed`` seeds empty
        paper books (default: a feed of this gateway's paper exchange)."""
        self.paper = paper or PaperExchange()
        self.paper_feed = paper_feed or PaperMarketFeed(paper=self.paper)
        self.venues = venues or VenueFactory()
        self.credentials = credentials or CredentialStore()
        self._live_venue = live_venue or self.venues.public
        self._venues: dict[str, LiveVenue] = {}
        self._accounts: dict[UUID, tuple[VenueCredentials, LiveVenue]] = {}
        self._lock = Lock()

    # --- market data --------------------------------------------------------------------------

    def markets(self, *, venue: str) -> list[MarketInfo]:
        if _venue(venue) is Venue.PAPER:
            return self.paper.markets(venue=venue)
        return self._live(venue).markets()

    def ticker(self, *, venue: str, symbol: str) -> Ticker:
        if _venue(venue) is Venue.PAPER:
            self.paper_feed.ensure_book(venue=venue, symbol=symbol)
            return self.paper.ticker(venue=venue, symbol=symbol)
        return self._live(venue).ticker(symbol)

    def order_book(self, *, venue: str, symbol: str, depth: int | None = None) -> OrderBook:
        _check_range("depth", depth, MAX_DEPTH)
        if _venue(venue) is Venue.PAPER:
            self.paper_feed.ensure_book(venue=venue, symbol=symbol)
            return self.paper.order_book(venue=venue, symbol=symbol, depth=depth)
        return self._live(venue).order_book(symbol, depth)

    def ohlcv(
        self,
        *,
        venue: str,
        symbol: str,
        timeframe: str,
        since: datetime | None = None,
        limit: int | None = None,
    ) -> list[Candle]:
        """Candles from the venue. The paper venue keeps no candle history: it answers an
        empty list (history lives in the data domain)."""
        _check_range("limit", limit, MAX_CANDLES)
        if _venue(venue) is Venue.PAPER:
            self.paper.order_book(venue=venue, symbol=symbol, depth=1)  # unknown_symbol check
            return []
        return self._live(venue).ohlcv(symbol, timeframe, since, limit)

    def trades(self, *, venue: str, symbol: str, limit: int | None = None) -> list[PublicTrade]:
        """The latest public trades, oldest first; on the paper venue, its fills (anonymous)."""
        _check_range("limit", limit, MAX_TRADES)
        count = limit if limit is not None else DEFAULT_TRADES
        if _venue(venue) is Venue.PAPER:
            return self.paper.trades(venue=venue, symbol=symbol, limit=count)
        return self._live(venue).trades(symbol, count)

    # --- accounts -----------------------------------------------------------------------------

    def balances(self, *, account_id: UUID) -> AccountBalances:
        with self._account(account_id) as live:
            if live is None:
                return self.paper.balances(account_id=account_id)
            return live.balances(account_id)

    def place_order(self, *, account_id: UUID, request: OrderRequest) -> OrderAck:
        with self._account_ref(account_id) as (ref, live):
            _refuse_while_halted(account_id)
            if live is None:
                self.paper_feed.ensure_book(venue=ref.venue, symbol=request.symbol)
                return self.paper.place_order(account_id=account_id, request=request)
            return _place_live(live, account_id, request)

    def get_order(
        self,
        *,
        account_id: UUID,
        symbol: str,
        client_order_id: str,
        venue_order_id: str | None = None,
    ) -> OrderAck:
        with self._account(account_id) as live:
            if live is None:
                return self.paper.get_order(
                    account_id=account_id, symbol=symbol, client_order_id=client_order_id
                )
            return _recorded(
                live.get_order(account_id, symbol, client_order_id, venue_order_id=venue_order_id)
            )

    def cancel_order(self, *, account_id: UUID, symbol: str, client_order_id: str) -> OrderAck:
        with self._account(account_id) as live:
            if live is None:
                return self.paper.cancel_order(
                    account_id=account_id, symbol=symbol, client_order_id=client_order_id
                )
            return _recorded(live.cancel_order(account_id, symbol, client_order_id))

    def cancel_orders(
        self,
        *,
        account_id: UUID,
        symbol: str | None = None,
        client_order_ids: list[str] | None = None,
    ) -> CancelResult:
        with self._account(account_id) as live:
            if live is None:
                return self.paper.cancel_orders(
                    account_id=account_id, symbol=symbol, client_order_ids=client_order_ids
                )
            result = live.cancel_orders(account_id, symbol, client_order_ids)
            for ack in result.canceled:
                _recorded(ack)
            return result

    def open_orders(self, *, account_id: UUID, symbol: str | None = None) -> list[OrderAck]:
        with self._account(account_id) as live:
            if live is None:
                return self.paper.open_orders(account_id=account_id, symbol=symbol)
            return [_recorded(ack) for ack in live.open_orders(account_id, symbol)]

    def my_trades(
        self,
        *,
        account_id: UUID,
        symbol: str | None = None,
        since: datetime | None = None,
        limit: int | None = None,
    ) -> list[Fill]:
        _check_range("limit", limit, MAX_CANDLES)
        with self._account(account_id) as live:
            if live is None:
                return self.paper.my_trades(
                    account_id=account_id, symbol=symbol, since=since, limit=limit
                )
            return live.my_trades(account_id, symbol, since, limit)

    def order_fills(self, *, account_id: UUID, symbol: str, venue_order_id: str) -> list[Fill]:
        with self._account(account_id) as live:
            if live is None:
                return self.paper.order_fills(
                    account_id=account_id, symbol=symbol, venue_order_id=venue_order_id
                )
            return live.order_fills(account_id, symbol, venue_order_id)

    # --- health -------------------------------------------------------------------------------

    def venue_status(self, *, venue: str) -> VenueStatus:
        if _venue(venue) is Venue.PAPER:
            return VenueStatus(venue=venue, enabled=True, state="up", breaker="closed")
        return self.venues.runtime.venue(venue).status()

    # --- helpers ------------------------------------------------------------------------------

    def _live(self, venue: str) -> LiveVenue:
        with self._lock:
            if venue not in self._venues:
                self._venues[venue] = self._live_venue(venue)
            return self._venues[venue]

    @contextmanager
    def _account(self, account_id: UUID) -> Iterator[LiveVenue | None]:
        """The live venue client of a live account, or None for a paper account; a venue's
        refusal of the credentials drops them from the cache (they may have been rotated)."""
        with self._account_ref(account_id) as (_, live):
            yield live

    @contextmanager
    def _account_ref(self, account_id: UUID) -> Iterator[tuple[AccountRef, LiveVenue | None]]:
        """``_account`` with the account's reference beside its client."""
        ref = account_get(account_id)
        if ref is None:
            raise UnknownAccount(
                f"no exchange account {account_id}", details={"account_id": str(account_id)}
            )
        if ref.kind == "paper":
            yield ref, None
            return
        try:
            yield ref, self._live_account(ref)
        except AuthFailed:
            if ref.owner_id is not None:
                self.credentials.forget(owner_id=ref.owner_id, key=ref.secret_key)
            raise

    def _live_account(self, ref: AccountRef) -> LiveVenue:
        if not ref.enabled or ref.owner_id is None:
            raise AuthFailed(
                f"live account {ref.id} is disabled", details={"account_id": str(ref.id)}
            )
        credentials = self.credentials.get(owner_id=ref.owner_id, key=ref.secret_key)
        with self._lock:
            cached = self._accounts.get(ref.id)
            if cached is not None and cached[0] == credentials:
                return cached[1]
        venue = self.venues.for_account(ref.venue, account_id=ref.id, credentials=credentials)
        with self._lock:
            self._accounts[ref.id] = (credentials, venue)
        return venue


def _place_live(live: LiveVenue, account_id: UUID, request: OrderRequest) -> OrderAck:
    """Place through the ledger: the intent is committed right before the create request
    (after our own checks, so an order we refuse leaves no trace), then the answer, a refusal
    or an unknown outcome is recorded."""
    sent: list[str] = []

    def record_intent(prepared: OrderRequest) -> None:
        assert prepared.client_order_id is not None  # LiveVenue fills it in
        ledger.record_intent(
            account_id=account_id, request=prepared, client_order_id=prepared.client_order_id
        )
        sent.append(prepared.client_order_id)

    try:
        ack = live.place_order(account_id, request, before_send=record_intent)
    except BaseException as error:
        if sent:
            _record_failed_placement(account_id, sent[0], error)
        raise
    try:
        ledger.record_ack(ack)
    except Exception:
        # The order is on the venue: the caller must get its answer. The row stays
        # "submitting" and the reconciler resolves it.
        logger.exception(
            "placed order not recorded in the ledger",
            extra={"client_order_id": ack.client_order_id, "account_id": str(account_id)},
        )
    return ack


def _record_failed_placement(account_id: UUID, client_order_id: str, error: BaseException) -> None:
    """What a placement's error says about the order: unknown (look it up later) or refused."""
    if not isinstance(error, ExchangeFailure):
        # An error of ours mid-call (or an interrupt): the request may have left.
        ledger.record_unknown(
            account_id=account_id, client_order_id=client_order_id, reason=repr(error)[:200]
        )
        return
    details = error.details if isinstance(error.details, dict) else {}
    reason = f"{error.code}: {error.message}"
    if isinstance(error, VenueUnavailable | VenueRateLimited) and "outcome" not in details:
        # Breaker open, venue switched off, our own limiter: the request never left.
        ledger.record_refusal(
            account_id=account_id, client_order_id=client_order_id, reason=f"not sent: {reason}"
        )
    elif not isinstance(error, VenueUnavailable | VenueRateLimited | DuplicateOrder):
        ledger.record_refusal(account_id=account_id, client_order_id=client_order_id, reason=reason)
    else:
        # outcome "unknown" (the lookups could not reach the venue), "not_placed" (lookups
        # found nothing, but venues lag after a create) or a duplicate the venue cannot show
        # us: only a later lookup can tell.
        ledger.record_unknown(account_id=account_id, client_order_id=client_order_id, reason=reason)


def _recorded(ack: OrderAck) -> OrderAck:
    """Merge a venue's answer about a live order into the ledger (which publishes
    ``OrderUpdated`` if it changed the order) and pass it on."""
    ledger.record_ack(ack)
    return ack


def _refuse_while_halted(account_id: UUID) -> None:
    """No new order while the kill switch is on (it fails closed: an unreadable switch halts
    too); nothing is recorded or sent."""
    if kill_switch_api().halted():
        raise TradingHalted(
            "trading is halted: the kill switch (trading.kill_switch) is on",
            details={"account_id": str(account_id), "config_key": "trading.kill_switch"},
        )


def _venue(venue: str) -> Venue:
    try:
        return Venue(venue)
    except ValueError:
        raise UnknownVenue(
            f"unknown venue {venue!r}",
            details={"venue": venue, "supported": [v.value for v in Venue]},
        ) from None


def _check_range(name: str, value: int | None, maximum: int) -> None:
    if value is not None and not (1 <= value <= maximum):
        raise InvalidInput(
            f"{name} must be between 1 and {maximum}", details={"field": name, "value": value}
        )
