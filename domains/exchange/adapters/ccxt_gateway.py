"""Binance, Gate.io and HTX through ccxt (sync REST), speaking the api's DTOs and errors.

Each venue differs in a few places that this module names in one ``VenueProfile``: the ccxt
class, how to look an order up and cancel it by our client order id, and whether a market buy
is sized in the quote currency (ccxt then needs a price to turn our base amount into a cost).

Rounding and minimum checks happen above, in ``services.live``, before ``send_order`` is called.
Every ccxt exception leaves this module as one of our error types. With a ``ClockSync``
(``ccxt_clock``), a call the venue refuses for its timestamp is sent once more after the
venue's clock offset was measured again.
"""

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol, TypeVar
from uuid import UUID

import ccxt

from domains.exchange.adapters import ccxt_parse as parse
from domains.exchange.adapters.ccxt_clock import ClockSync, ClockUnsupported
from domains.exchange.adapters.ccxt_errors import normalise, redact
from domains.exchange.api import (
    AccountBalances,
    CancelFailure,
    CancelResult,
    Candle,
    ClockSkew,
    ExchangeFailure,
    Fill,
    InvalidOrder,
    MarketInfo,
    OrderAck,
    OrderBook,
    OrderRequest,
    OrderSide,
    OrderType,
    PublicTrade,
    Ticker,
    TimeInForce,
    UnknownSymbol,
    UnknownVenue,
)

R = TypeVar("R")


@dataclass(frozen=True)
class VenueProfile:
    """What differs between venues once ccxt has unified the rest."""

    ccxt_id: str
    # Gate and HTX size a spot market buy in the quote currency: ccxt multiplies our base
    # amount by the price we pass. Binance takes a base ``quantity`` (a price would turn it
    # into ``quoteOrderQty``), so we pass none there.
    market_buy_needs_price: bool
    # Gate stores our id as ``text`` with a "t-" prefix ccxt adds; we strip it on the way back.
    client_id_prefix: str = ""
    # Gate cancels by "order id or text": the prefixed text goes in the id argument.
    cancel_by_id_argument: bool = False
    # HTX's cancel (``submitcancel``/``submitCancelClientOrder``) only accepts the request:
    # "the actual result of the cancellation request needs to be checked by order status"
    # (spot API docs). ccxt answers "canceled" all the same, though the order may fill before
    # the cancel takes effect; the order is looked up after the request instead.
    cancel_is_request: bool = False

    def lookup(self, client_order_id: str) -> tuple[str | None, dict[str, Any]]:
        """(id, params) for ccxt's ``fetch_order`` by our client order id."""
        return None, {"clientOrderId": client_order_id}

    def cancel(self, client_order_id: str) -> tuple[str | None, dict[str, Any]]:
        """(id, params) for ccxt's ``cancel_order`` by our client order id."""
        if self.cancel_by_id_argument:
            return self.client_id_prefix + client_order_id, {}
        return None, {"clientOrderId": client_order_id}


PROFILES: dict[str, VenueProfile] = {
    "binance": VenueProfile(ccxt_id="binance", market_buy_needs_price=False),
    "gateio": VenueProfile(
        ccxt_id="gate",
        market_buy_needs_price=True,
        client_id_prefix="t-",
        cancel_by_id_argument=True,
    ),
    "htx": VenueProfile(ccxt_id="htx", market_buy_needs_price=True, cancel_is_request=True),
}


@dataclass(frozen=True)
class VenueCredentials:
    api_key: str
    secret: str
    password: str | None = None  # some venues' API passphrase

    def __repr__(self) -> str:  # never print a secret
        return f"VenueCredentials(api_key={self.api_key[:4]}…)"


def profile_of(venue: str) -> VenueProfile:
    try:
        return PROFILES[venue]
    except KeyError:
        raise UnknownVenue(
            f"no ccxt venue {venue!r}", details={"venue": venue, "supported": sorted(PROFILES)}
        ) from None


def new_exchange(
    venue: str,
    *,
    credentials: VenueCredentials | None = None,
    config: Mapping[str, Any] | None = None,
) -> ccxt.Exchange:
    """A ccxt exchange for ``venue``. ``config`` is passed to ccxt (e.g. ``session``,
    ``enableRateLimit``, ``timeout``)."""
    settings: dict[str, Any] = {"enableRateLimit": True, "timeout": 10_000}
    if credentials is not None:
        settings.update(apiKey=credentials.api_key, secret=credentials.secret)
        if credentials.password:
            settings["password"] = credentials.password
    settings.update(config or {})
    exchange: ccxt.Exchange = getattr(ccxt, profile_of(venue).ccxt_id)(settings)
    # Binance refuses fetch_open_orders without a symbol unless told we accept its cost.
    exchange.options["warnOnFetchOpenOrdersWithoutSymbol"] = False
    return exchange


_MARKET_KEYS_DEFAULT_NONE = (
    "settle",
    "settleId",
    "linear",
    "inverse",
    "subType",
    "contractSize",
    "expiry",
    "expiryDatetime",
    "strike",
    "optionType",
    "index",
)


def offline_markets(path: Path, *, precision_as_decimal_places: bool = False) -> dict[str, Any]:
    """ccxt market metadata from a JSON file ``{symbol: market}`` (e.g. ccxt's static test
    fixtures), for ``exchange.set_markets``. ``precision_as_decimal_places`` converts an older
    file's decimal places ``n`` into the tick ``10**-n`` ccxt 4's tick-size venues expect;
    market keys such a file lacks are added as None."""
    markets: dict[str, Any] = json.loads(path.read_text())
    for market in markets.values():
        # Older files lack keys newer ccxt reads unconditionally (market["inverse"]).
        for key in _MARKET_KEYS_DEFAULT_NONE:
            market.setdefault(key, None)
    if precision_as_decimal_places:
        for market in markets.values():
            precision = market.get("precision") or {}
            for key in ("amount", "price", "base", "quote"):
                places = precision.get(key)
                if isinstance(places, int) or (isinstance(places, float) and places.is_integer()):
                    precision[key] = float(Decimal(1).scaleb(-int(places)))
    return markets


class CcxtVenue:
    """One venue (and, for account calls, one credential) through ccxt."""

    def __init__(
        self,
        venue: str,
        exchange: ccxt.Exchange,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        clock_sync: ClockSync | None = None,
    ) -> None:
        """``clock_sync`` keeps ccxt's signing on the venue's clock (``VenueFactory`` always
        gives one); without it a timestamp refusal is reported as ``ClockSkew`` at once."""
        self.venue = venue
        self.profile = profile_of(venue)
        self.exchange = exchange
        self.clock = clock
        self.clock_sync = clock_sync

    # --- errors -----------------------------------------------------------------------------

    def _call(self, operation: Callable[[], R]) -> R:
        """``operation`` (one ccxt call); every ccxt exception leaves as one of our errors.

        A ``ClockSkew`` refusal is answered by measuring the venue's clock again and calling
        once more: the venue refused the first request before processing it (even an order:
        no duplicate is possible). A second refusal, or a failed measurement, is raised as
        ``ClockSkew`` with the offset in its details.
        """
        sync = self.clock_sync
        if sync is None:
            return self._normalised(operation)
        sync.prepare()
        sent_at = sync.now()
        try:
            return self._normalised(operation)
        except ClockSkew as refused:
            try:
                offset = sync.resync(newer_than=sent_at)
            except (ClockUnsupported, ccxt.BaseError, ExchangeFailure) as error:
                raise _skew(refused, offset=None, resync_error=error) from error
        try:
            return self._normalised(operation)
        except ClockSkew as refused_again:
            raise _skew(refused_again, offset=offset, resync_error=None) from refused_again

    def _normalised(self, operation: Callable[[], R]) -> R:
        try:
            return operation()
        except ExchangeFailure:
            raise
        except ccxt.BaseError as error:
            headers = getattr(self.exchange, "last_response_headers", None) or {}
            raise normalise(error, venue=self.venue, response_headers=headers) from error

    # --- market data --------------------------------------------------------------------------

    def load_markets(self) -> dict[str, Any]:
        markets: dict[str, Any] = self._call(self.exchange.load_markets)
        return markets

    def markets(self) -> list[MarketInfo]:
        """Every spot/swap/future/option market of the venue, sorted by symbol."""
        loaded = self.load_markets()
        infos = (
            parse.market_info(self.venue, market, self.exchange.precisionMode)
            for market in loaded.values()
        )
        return sorted((m for m in infos if m is not None), key=lambda m: m.symbol)

    def market(self, symbol: str) -> MarketInfo:
        """The rules of ``symbol``; ``UnknownSymbol`` when the venue does not list it."""
        loaded = self.load_markets()
        raw = loaded.get(symbol)
        info = parse.market_info(self.venue, raw, self.exchange.precisionMode) if raw else None
        if info is None:
            raise UnknownSymbol(
                f"{self.venue} lists no market {symbol!r}",
                details={"venue": self.venue, "symbol": symbol},
            )
        return info

    def ticker(self, symbol: str) -> Ticker:
        self.market(symbol)
        raw = self._call(lambda: self.exchange.fetch_ticker(symbol))
        return parse.ticker(self.venue, raw, self.clock)

    def order_book(self, symbol: str, depth: int | None = None) -> OrderBook:
        self.market(symbol)
        raw = self._call(lambda: self.exchange.fetch_order_book(symbol, depth))
        return parse.order_book(self.venue, symbol, raw, self.clock)

    def ohlcv(
        self, symbol: str, timeframe: str, since: datetime | None, limit: int | None
    ) -> list[Candle]:
        self.market(symbol)
        since_ms = int(since.timestamp() * 1000) if since is not None else None
        rows = self._call(lambda: self.exchange.fetch_ohlcv(symbol, timeframe, since_ms, limit))
        return parse.candles(rows)

    def trades(self, symbol: str, limit: int | None) -> list[PublicTrade]:
        """The latest public trades, oldest first: Binance ``GET /api/v3/aggTrades``, Gate
        ``GET /api/v4/spot/trades``, HTX ``GET /market/history/trade``."""
        self.market(symbol)
        rows = self._call(lambda: self.exchange.fetch_trades(symbol, None, limit))
        trades = [parse.public_trade(self.venue, raw, self.clock) for raw in rows]
        return sorted(trades, key=lambda trade: trade.timestamp)  # stable: venue order kept

    # --- account ------------------------------------------------------------------------------

    def balances(self, account_id: UUID) -> AccountBalances:
        raw = self._call(self.exchange.fetch_balance)
        return parse.balances(account_id, self.venue, raw, self.clock)

    def send_order(
        self,
        account_id: UUID,
        request: OrderRequest,
        *,
        client_order_id: str,
        reference_price: Decimal | None = None,
    ) -> OrderAck:
        """Send one order, already rounded and checked (``services.live``), carrying our
        client order id. ``reference_price`` prices a market buy on venues that size it in
        the quote currency.

        On ``VenueUnavailable`` the outcome is unknown: look the order up with
        :meth:`get_order` by the same client order id before deciding to send it again.
        """
        price = request.price
        if request.type is OrderType.MARKET:
            price = None
            if request.side is OrderSide.BUY and self.profile.market_buy_needs_price:
                if reference_price is None:
                    raise InvalidOrder(
                        f"a market buy on {self.venue} needs a reference price",
                        details={"symbol": request.symbol},
                    )
                price = reference_price
        params = self._order_params(request, client_order_id)
        raw = self._call(
            lambda: self.exchange.create_order(
                request.symbol,
                "market" if request.type is OrderType.MARKET else "limit",
                request.side.value,
                float(request.amount),
                float(price) if price is not None else None,
                params,
            )
        )
        ack = self._ack(account_id, raw, client_order_id)
        # Venues answer a placement with little (HTX: the id only): fill in what we sent.
        return _complete(ack, request, client_order_id)

    def get_order(
        self,
        account_id: UUID,
        symbol: str,
        client_order_id: str,
        *,
        venue_order_id: str | None = None,
    ) -> OrderAck:
        self.market(symbol)
        order_id, params = (
            (venue_order_id, {}) if venue_order_id else self.profile.lookup(client_order_id)
        )
        raw = self._call(lambda: self.exchange.fetch_order(order_id, symbol, params))
        return self._ack(account_id, raw, client_order_id)

    def cancel_order(self, account_id: UUID, symbol: str, client_order_id: str) -> OrderAck:
        self.market(symbol)
        order_id, params = self.profile.cancel(client_order_id)
        raw = self._call(lambda: self.exchange.cancel_order(order_id, symbol, params))
        if self.profile.cancel_is_request:
            # The order as it is now: cancelled, still cancelling (open), or filled meanwhile.
            return self.get_order(account_id, symbol, client_order_id)
        return self._ack(account_id, raw, client_order_id)

    def cancel_orders(
        self, account_id: UUID, symbol: str | None, client_order_ids: list[str] | None
    ) -> CancelResult:
        """Cancel each listed order (or each open one), reporting failures per order."""
        return cancel_each(self, account_id, symbol, client_order_ids)

    def open_orders(self, account_id: UUID, symbol: str | None) -> list[OrderAck]:
        if symbol is not None:
            self.market(symbol)
        rows = self._call(lambda: self.exchange.fetch_open_orders(symbol))
        return [self._ack(account_id, raw, None) for raw in rows]

    def my_trades(
        self, account_id: UUID, symbol: str | None, since: datetime | None, limit: int | None
    ) -> list[Fill]:
        if symbol is not None:
            self.market(symbol)
        since_ms = int(since.timestamp() * 1000) if since is not None else None
        rows = self._call(lambda: self.exchange.fetch_my_trades(symbol, since_ms, limit))
        return [
            parse.fill(account_id=account_id, venue=self.venue, raw=raw, now=self.clock)
            for raw in rows
        ]

    def order_fills(self, account_id: UUID, symbol: str, venue_order_id: str) -> list[Fill]:
        """ccxt's ``fetch_order_trades``: Binance ``GET /api/v3/myTrades?orderId=``, Gate
        ``GET /spot/my_trades?order_id=``, HTX ``GET /v1/order/orders/{id}/matchresults``."""
        self.market(symbol)
        rows = self._call(lambda: self.exchange.fetch_order_trades(venue_order_id, symbol))
        return [
            parse.fill(account_id=account_id, venue=self.venue, raw=raw, now=self.clock)
            for raw in rows
        ]

    # --- helpers ------------------------------------------------------------------------------

    @staticmethod
    def _order_params(request: OrderRequest, client_order_id: str) -> dict[str, Any]:
        params: dict[str, Any] = {"clientOrderId": client_order_id}
        if request.post_only:
            params["postOnly"] = True
        elif request.time_in_force in (TimeInForce.IOC, TimeInForce.FOK):
            params["timeInForce"] = request.time_in_force.value
        if request.type is OrderType.STOP_LIMIT:
            assert request.stop_price is not None
            params["triggerPrice"] = float(request.stop_price)
        if request.reduce_only:
            params["reduceOnly"] = True
        return params

    def _ack(
        self, account_id: UUID, raw: Mapping[str, Any], client_order_id: str | None
    ) -> OrderAck:
        return parse.order_ack(
            account_id=account_id,
            venue=self.venue,
            raw=raw,
            client_order_id=client_order_id,
            now=self.clock,
            strip_prefix=self.profile.client_id_prefix,
        )


def _skew(
    refusal: ClockSkew, *, offset: int | None, resync_error: BaseException | None
) -> ClockSkew:
    """The refusal that ends a call, saying what the resync found."""
    details = dict(refusal.details) if isinstance(refusal.details, dict) else {}
    venue = details.get("venue", "the venue")
    if resync_error is None:
        details["clock_offset_ms"] = offset
        what = (
            f"{venue} still refuses our request timestamps after measuring its clock again "
            f"(our clock is {offset:+d} ms off its own)"
        )
    else:
        details["resync_error"] = redact(f"{type(resync_error).__name__}: {resync_error}")[:300]
        what = f"{venue} refuses our request timestamps and its clock could not be measured"
    return ClockSkew(
        f"{what}; nothing was processed. Check this host's clock (NTP). {refusal.message}"[:800],
        details=details,
    )


def _complete(ack: OrderAck, request: OrderRequest, client_order_id: str) -> OrderAck:
    return replace(
        ack,
        symbol=ack.symbol or request.symbol,
        client_order_id=ack.client_order_id or client_order_id,
        side=request.side,
        type=request.type,
        amount=ack.amount or request.amount,
        price=ack.price if ack.price is not None else request.price,
        stop_price=ack.stop_price if ack.stop_price is not None else request.stop_price,
        time_in_force=request.time_in_force,
        post_only=request.post_only,
        reduce_only=request.reduce_only,
    )


class _Cancels(Protocol):
    venue: str

    def open_orders(self, account_id: UUID, symbol: str | None) -> list[OrderAck]: ...

    def cancel_order(self, account_id: UUID, symbol: str, client_order_id: str) -> OrderAck: ...


def cancel_each(
    venue: _Cancels, account_id: UUID, symbol: str | None, client_order_ids: list[str] | None
) -> CancelResult:
    """Batch cancel as one order at a time through ``venue`` (none of our venues has an atomic
    batch by client order id): the listed orders, or every open one; failures per order."""
    if client_order_ids is None:
        targets = [(o.symbol, o.client_order_id) for o in venue.open_orders(account_id, symbol)]
    else:
        if symbol is None:
            raise InvalidOrder(
                f"{venue.venue} needs the symbol to cancel by client order id",
                details={"field": "symbol"},
            )
        targets = [(symbol, cid) for cid in client_order_ids]
    canceled: list[OrderAck] = []
    failed: list[CancelFailure] = []
    for target_symbol, client_order_id in targets:
        try:
            canceled.append(venue.cancel_order(account_id, target_symbol, client_order_id))
        except ExchangeFailure as error:
            failed.append(CancelFailure(client_order_id, error.code, error.message))
    return CancelResult(canceled=tuple(canceled), failed=tuple(failed))
