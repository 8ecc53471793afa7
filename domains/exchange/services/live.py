"""Orders on a real venue: our rules first (precision, minimums, client order id), then ccxt.

Nothing is sent when the order breaks a market rule: ``BelowMinimum``/``InvalidOrder`` are
raised before the order request. A market order is priced from the venue's ticker (best ask for
a buy, best bid for a sell) for the notional check, and that price sizes a market buy on venues
that take it in the quote currency.

With a ``VenueGuard`` (the gateway always gives one) every call passes the venue's breaker;
reads and cancels are retried where safe, and a placement whose outcome is unknown is looked up
by its client order id before it is ever sent again (``resilience/guard.py``).
"""

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from typing import TypeVar
from uuid import UUID

from domains.exchange.adapters.ccxt_gateway import CcxtVenue, cancel_each
from domains.exchange.api import (
    AccountBalances,
    CancelResult,
    Candle,
    Fill,
    InvalidOrder,
    MarketInfo,
    MarketType,
    OrderAck,
    OrderBook,
    OrderNotFound,
    OrderRequest,
    OrderSide,
    OrderType,
    PublicTrade,
    Ticker,
    new_client_order_id,
    validate_client_order_id,
)
from domains.exchange.services.precision import check_limits, prepare_order
from domains.exchange.services.resilience.guard import VenueGuard

T = TypeVar("T")


class LiveVenue:
    """One real venue (and, for account calls, one credential)."""

    def __init__(self, adapter: CcxtVenue, guard: VenueGuard | None = None) -> None:
        self.adapter = adapter
        self.venue = adapter.venue
        self.guard = guard

    def _read(self, call: Callable[[], T]) -> T:
        return self.guard.read(call) if self.guard is not None else call()

    def markets(self) -> list[MarketInfo]:
        return self._read(self.adapter.markets)

    def market(self, symbol: str) -> MarketInfo:
        return self._read(lambda: self.adapter.market(symbol))

    def ticker(self, symbol: str) -> Ticker:
        return self._read(lambda: self.adapter.ticker(symbol))

    def order_book(self, symbol: str, depth: int | None) -> OrderBook:
        return self._read(lambda: self.adapter.order_book(symbol, depth))

    def ohlcv(
        self, symbol: str, timeframe: str, since: datetime | None, limit: int | None
    ) -> list[Candle]:
        return self._read(lambda: self.adapter.ohlcv(symbol, timeframe, since, limit))

    def trades(self, symbol: str, limit: int | None) -> list[PublicTrade]:
        return self._read(lambda: self.adapter.trades(symbol, limit))

    def balances(self, account_id: UUID) -> AccountBalances:
        return self._read(lambda: self.adapter.balances(account_id))

    def place_order(
        self,
        account_id: UUID,
        request: OrderRequest,
        *,
        before_send: Callable[[OrderRequest], None] | None = None,
    ) -> OrderAck:
        """Round to the market's precision, refuse what breaks its limits, then send.

        ``before_send`` gets the order exactly as it will be sent (rounded, with its client
        order id) once every check passed, before the create request: the gateway commits
        the order intent to the ledger there."""
        market = self.market(request.symbol)
        if request.reduce_only and market.market_type is MarketType.SPOT:
            raise InvalidOrder(
                "reduce_only applies to derivative positions; spot has none",
                details={"field": "reduce_only"},
            )
        client_order_id = validate_client_order_id(
            self.venue, request.client_order_id or new_client_order_id(self.venue)
        )
        prepared = replace(prepare_order(market, request), client_order_id=client_order_id)
        reference: Decimal | None = None
        if prepared.type is OrderType.MARKET:
            reference = self._reference_price(prepared.symbol, prepared.side)
            check_limits(market, amount=prepared.amount, price=reference)

        def send() -> OrderAck:
            return self.adapter.send_order(
                account_id, prepared, client_order_id=client_order_id, reference_price=reference
            )

        if before_send is not None:
            before_send(prepared)
        if self.guard is None:
            return send()
        return self.guard.place(
            send,
            lambda: self.adapter.get_order(account_id, prepared.symbol, client_order_id),
            client_order_id=client_order_id,
        )

    def get_order(
        self,
        account_id: UUID,
        symbol: str,
        client_order_id: str,
        *,
        venue_order_id: str | None = None,
    ) -> OrderAck:
        return self._read(
            lambda: self.adapter.get_order(
                account_id, symbol, client_order_id, venue_order_id=venue_order_id
            )
        )

    def cancel_order(self, account_id: UUID, symbol: str, client_order_id: str) -> OrderAck:
        """Cancel (idempotent, so retried like a read). A venue that no longer knows the order
        as open answers "not found": the order is fetched to learn its final state."""
        if self.guard is None:
            return self.adapter.cancel_order(account_id, symbol, client_order_id)
        try:
            return self._read(
                lambda: self.adapter.cancel_order(account_id, symbol, client_order_id)
            )
        except OrderNotFound:
            return self.get_order(account_id, symbol, client_order_id)

    def cancel_orders(
        self, account_id: UUID, symbol: str | None, client_order_ids: list[str] | None
    ) -> CancelResult:
        if self.guard is None:
            return self.adapter.cancel_orders(account_id, symbol, client_order_ids)
        # One guarded cancel per order, so each passes the limiter and the breaker.
        return cancel_each(self, account_id, symbol, client_order_ids)

    def open_orders(self, account_id: UUID, symbol: str | None) -> list[OrderAck]:
        return self._read(lambda: self.adapter.open_orders(account_id, symbol))

    def my_trades(
        self, account_id: UUID, symbol: str | None, since: datetime | None, limit: int | None
    ) -> list[Fill]:
        return self._read(lambda: self.adapter.my_trades(account_id, symbol, since, limit))

    def order_fills(self, account_id: UUID, symbol: str, venue_order_id: str) -> list[Fill]:
        return self._read(lambda: self.adapter.order_fills(account_id, symbol, venue_order_id))

    def _reference_price(self, symbol: str, side: OrderSide) -> Decimal:
        quote = self.ticker(symbol)
        price = (quote.ask if side is OrderSide.BUY else quote.bid) or quote.last
        if price is None:
            raise InvalidOrder(
                f"{self.venue} gave no price for {symbol}: a market order cannot be checked",
                details={"symbol": symbol},
            )
        return price
