"""``ExchangeGateway``: the in-process implementation of ``ExchangeApi``.

Market data names a venue: ``paper`` is served by the paper exchange, ``binance``/``gateio``/
``htx`` by ccxt (public endpoints, one client per venue, made on first use). Account calls name
an account: paper accounts are served by the paper exchange; live accounts (credentials from
core's secrets) are not wired yet and answer ``unknown_account``.
"""

from collections.abc import Callable
from datetime import datetime
from threading import Lock
from uuid import UUID

from domains.exchange.adapters.ccxt_gateway import CcxtVenue, new_exchange
from domains.exchange.api import (
    AccountBalances,
    CancelResult,
    Candle,
    Fill,
    MarketInfo,
    OrderAck,
    OrderBook,
    OrderRequest,
    Ticker,
    UnknownAccount,
    UnknownVenue,
    Venue,
)
from domains.exchange.models import PaperAccount
from domains.exchange.services.live import LiveVenue
from domains.exchange.services.paper.service import PaperExchange
from dsta.kernel.errors import InvalidInput

MAX_DEPTH = 5000
MAX_CANDLES = 5000


def _public_venue(venue: str) -> LiveVenue:
    return LiveVenue(CcxtVenue(venue, new_exchange(venue)))


class ExchangeGateway:
    """Routes each ``ExchangeApi`` call to the paper exchange or to a venue through ccxt."""

    def __init__(
        self,
        *,
        paper: PaperExchange | None = None,
        live_venue: Callable[[str], LiveVenue] = _public_venue,
    ) -> None:
        self.paper = paper or PaperExchange()
        self._live_venue = live_venue
        self._venues: dict[str, LiveVenue] = {}
        self._lock = Lock()

    # --- market data --------------------------------------------------------------------------

    def markets(self, *, venue: str) -> list[MarketInfo]:
        if _venue(venue) is Venue.PAPER:
            return self.paper.markets(venue=venue)
        return self._live(venue).markets()

    def ticker(self, *, venue: str, symbol: str) -> Ticker:
        if _venue(venue) is Venue.PAPER:
            return self.paper.ticker(venue=venue, symbol=symbol)
        return self._live(venue).ticker(symbol)

    def order_book(self, *, venue: str, symbol: str, depth: int | None = None) -> OrderBook:
        _check_range("depth", depth, MAX_DEPTH)
        if _venue(venue) is Venue.PAPER:
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

    # --- accounts -----------------------------------------------------------------------------

    def balances(self, *, account_id: UUID) -> AccountBalances:
        self._paper_account(account_id)
        return self.paper.balances(account_id=account_id)

    def place_order(self, *, account_id: UUID, request: OrderRequest) -> OrderAck:
        self._paper_account(account_id)
        return self.paper.place_order(account_id=account_id, request=request)

    def get_order(self, *, account_id: UUID, symbol: str, client_order_id: str) -> OrderAck:
        self._paper_account(account_id)
        return self.paper.get_order(
            account_id=account_id, symbol=symbol, client_order_id=client_order_id
        )

    def cancel_order(self, *, account_id: UUID, symbol: str, client_order_id: str) -> OrderAck:
        self._paper_account(account_id)
        return self.paper.cancel_order(
            account_id=account_id, symbol=symbol, client_order_id=client_order_id
        )

    def cancel_orders(
        self,
        *,
        account_id: UUID,
        symbol: str | None = None,
        client_order_ids: list[str] | None = None,
    ) -> CancelResult:
        self._paper_account(account_id)
        return self.paper.cancel_orders(
            account_id=account_id, symbol=symbol, client_order_ids=client_order_ids
        )

    def open_orders(self, *, account_id: UUID, symbol: str | None = None) -> list[OrderAck]:
        self._paper_account(account_id)
        return self.paper.open_orders(account_id=account_id, symbol=symbol)

    def my_trades(
        self,
        *,
        account_id: UUID,
        symbol: str | None = None,
        since: datetime | None = None,
        limit: int | None = None,
    ) -> list[Fill]:
        self._paper_account(account_id)
        return self.paper.my_trades(account_id=account_id, symbol=symbol, since=since, limit=limit)

    # --- helpers ------------------------------------------------------------------------------

    def _live(self, venue: str) -> LiveVenue:
        with self._lock:
            if venue not in self._venues:
                self._venues[venue] = self._live_venue(venue)
            return self._venues[venue]

    @staticmethod
    def _paper_account(account_id: UUID) -> None:
        if not PaperAccount.objects.filter(pk=account_id).exists():
            raise UnknownAccount(
                f"no exchange account {account_id}", details={"account_id": str(account_id)}
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
