"""The paper exchange's matching engine: pure logic, no Django, no I/O, no sleeps.

Rules (documented for users in docs/domains/exchange.md, "Paper exchange"):

* An order reaches the simulated venue ``latency`` after placement (``active_at``); until then
  it is accepted (funds locked) but not matched. Orders arrive whenever the engine is next
  called (place, cancel, a new book or candle) at or after their time: time comes from the
  injected clock, so tests move time instead of sleeping.
* On arrival an order takes liquidity from the opposite side of the book as a **taker**, level
  by level (one fill per level), at the level's price worsened by ``slippage_bps`` (never past
  its limit price). Fills consume the book until the next snapshot replaces it.
* What is left of a limit order rests on the book as a **maker**. When a new book crosses it
  (asks at or below a resting buy, bids at or above a resting sell) it fills at its own price
  for the size that crossed; a candle fills it when the bar traded strictly through its price,
  up to the bar's volume.
* Market orders and IOC fill what they can and expire the rest; FOK fills entirely or expires
  untouched; post-only is rejected when it would take; stop-limit waits (funds locked) until
  the market reaches ``stop_price`` (book mid, or the candle's high/low), then acts as a limit.
* Funds are locked at placement: the base amount for a sell; for a buy ``amount * price``
  plus the highest fee rate, or for a market buy the book-walk estimate plus a buffer. Each
  fill moves locked funds, each fee is charged once per fill in the quote currency, and the
  unused lock is released when the order ends (filled, cancelled, expired, rejected).
"""

from collections.abc import Callable, Iterable
from datetime import datetime
from decimal import Decimal
from uuid import UUID, uuid4

from domains.exchange.api import (
    Candle,
    DuplicateOrder,
    ExchangeFailure,
    Fill,
    InsufficientFunds,
    InvalidOrder,
    Liquidity,
    MarketInfo,
    MarketType,
    OrderBook,
    OrderNotFound,
    OrderRequest,
    OrderSide,
    OrderStatus,
    OrderType,
    TimeInForce,
    UnknownAccount,
    UnknownSymbol,
    new_client_order_id,
    validate_client_order_id,
)
from domains.exchange.services.paper.book import Level, PaperBook
from domains.exchange.services.paper.state import (
    BPS,
    ZERO,
    EngineResult,
    PaperAccountState,
    PaperOrderState,
)
from domains.exchange.services.paper.synthetic import SyntheticBookModel, book_from_candle
from domains.exchange.services.precision import (
    prepare_order,
    price_ceiling,
    price_floor,
    round_amount,
)


def _uuid_hex() -> str:
    return uuid4().hex


class PaperEngine:
    """Order books, accounts and orders of one simulated venue, matched in memory."""

    def __init__(
        self,
        *,
        venue: str,
        markets: Iterable[MarketInfo],
        clock: Callable[[], datetime],
        new_id: Callable[[], str] = _uuid_hex,
    ) -> None:
        self.venue = venue
        self.clock = clock
        self.new_id = new_id
        self.markets: dict[str, MarketInfo] = {m.symbol: m for m in markets}
        self.accounts: dict[UUID, PaperAccountState] = {}
        self.orders: dict[str, PaperOrderState] = {}
        # Orders not yet final, so matching never scans the finished ones.
        self._working: dict[str, PaperOrderState] = {}
        self.books: dict[str, PaperBook] = {}
        self._by_client_id: dict[tuple[UUID, str], str] = {}
        # Changes made by a call that then refused (arrivals before a refused placement):
        # reported with the next call's result, so no fill is ever lost to the caller.
        self._carried = EngineResult()

    # --- loading state --------------------------------------------------------------------

    def add_market(self, market: MarketInfo) -> None:
        self.markets[market.symbol] = market

    def add_account(self, account: PaperAccountState) -> None:
        self.accounts[account.account_id] = account

    def add_order(self, order: PaperOrderState) -> None:
        """Load an existing order (the service restores working orders from the database)."""
        self.orders[order.venue_order_id] = order
        if not order.status.is_final:
            self._working[order.venue_order_id] = order
        self._by_client_id[(order.account_id, order.client_order_id)] = order.venue_order_id

    def install_book(self, book: OrderBook) -> None:
        """Set the book of a symbol without matching (restoring saved state)."""
        self.books[book.symbol] = PaperBook.from_snapshot(book)

    # --- queries --------------------------------------------------------------------------

    def order(self, *, account_id: UUID, client_order_id: str) -> PaperOrderState:
        """The order of ``account_id`` with ``client_order_id``; raises ``OrderNotFound``."""
        venue_order_id = self._by_client_id.get((account_id, client_order_id))
        if venue_order_id is None:
            raise OrderNotFound(
                f"no order {client_order_id!r} on account {account_id}",
                details={"client_order_id": client_order_id},
            )
        return self.orders[venue_order_id]

    def working_orders(self, symbol: str | None = None) -> list[PaperOrderState]:
        """Orders not yet final, oldest first."""
        return [o for o in self._working.values() if symbol is None or o.symbol == symbol]

    # --- commands -------------------------------------------------------------------------

    def place(
        self, *, account_id: UUID, request: OrderRequest
    ) -> tuple[PaperOrderState, EngineResult]:
        """Validate, round, lock funds and accept an order; match it now when latency is zero.

        Raises, leaving the order book untouched: ``UnknownAccount``, ``UnknownSymbol``,
        ``InvalidOrder``/``BelowMinimum``, ``DuplicateOrder``, ``InsufficientFunds`` (orders
        whose latency passed still arrive first; their changes come with the next result).
        """
        result = self.advance()
        try:
            order = self._place(account_id, request, result)
        except ExchangeFailure:
            self._carried.extend(result)
            raise
        return order, result

    def _place(
        self, account_id: UUID, request: OrderRequest, result: EngineResult
    ) -> PaperOrderState:
        account = self._account(account_id)
        market = self._market(request.symbol)
        if market.market_type is not MarketType.SPOT:
            raise InvalidOrder(
                "the paper exchange simulates spot markets only",
                details={"symbol": market.symbol, "market_type": market.market_type.value},
            )
        if request.reduce_only:
            raise InvalidOrder(
                "reduce_only applies to derivative positions; spot has none",
                details={"field": "reduce_only"},
            )
        client_order_id = validate_client_order_id(
            self.venue, request.client_order_id or new_client_order_id(self.venue)
        )
        if (account_id, client_order_id) in self._by_client_id:
            raise DuplicateOrder(
                f"order {client_order_id!r} exists already on account {account_id}",
                details={"client_order_id": client_order_id},
            )
        book = self.books.get(market.symbol)
        reference = self._reference_price(book, request.side)
        if request.type is OrderType.MARKET and reference is None:
            raise InvalidOrder(
                f"no order book for {market.symbol} on the paper exchange yet: "
                "a market order cannot be priced",
                details={"symbol": market.symbol},
            )
        prepared = prepare_order(market, request, reference_price=reference)
        reserve_asset, reserve = self._reservation(account, market, prepared, book)
        free = account.balance(reserve_asset).free
        if reserve > free:
            raise InsufficientFunds(
                f"{reserve} {reserve_asset} needed, {free} free",
                details={"asset": reserve_asset, "required": str(reserve), "free": str(free)},
            )
        account.lock(reserve_asset, reserve)
        now = self.clock()
        order = PaperOrderState(
            venue_order_id=self.new_id(),
            account_id=account_id,
            client_order_id=client_order_id,
            symbol=market.symbol,
            side=prepared.side,
            type=prepared.type,
            time_in_force=prepared.time_in_force,
            amount=prepared.amount,
            price=prepared.price,
            stop_price=prepared.stop_price,
            post_only=prepared.post_only,
            reduce_only=False,
            status=OrderStatus.OPEN,
            created_at=now,
            updated_at=now,
            active_at=now + account.config.latency,
            reserve_asset=reserve_asset,
            reserved=reserve,
            fee_currency=market.quote,
        )
        if prepared.type is OrderType.STOP_LIMIT:
            order.status = OrderStatus.PENDING_TRIGGER
        self.add_order(order)
        result.touch(order)
        if order.active_at <= now:
            self._arrive(order, result)
        return order

    def cancel(
        self, *, account_id: UUID, client_order_id: str
    ) -> tuple[PaperOrderState, EngineResult]:
        """Cancel a working order and release its locked funds; a final order is left as is."""
        result = self.advance()
        try:
            order = self.order(account_id=account_id, client_order_id=client_order_id)
        except ExchangeFailure:
            self._carried.extend(result)
            raise
        if not order.status.is_final:
            self._finish(order, OrderStatus.CANCELED, "canceled by the account", result)
        return order, result

    def advance(self, until: datetime | None = None) -> EngineResult:
        """Let every order whose latency has passed by ``until`` (default: now) arrive at the
        venue, in arrival order."""
        result, self._carried = self._carried, EngineResult()
        now = self.clock() if until is None else min(until, self.clock())
        due = [o for o in self._working.values() if not o.arrived and o.active_at <= now]
        for order in sorted(due, key=lambda o: o.active_at):
            if not order.status.is_final:
                self._arrive(order, result)
        return result

    def set_book(self, book: OrderBook) -> EngineResult:
        """A new market snapshot: replace the book, fire stops, fill resting orders it crosses."""
        market = self._market(book.symbol)
        # Orders that reached the venue before this snapshot was taken met the previous book.
        result = self.advance(until=book.timestamp)
        paper_book = PaperBook.from_snapshot(book)
        self.books[market.symbol] = paper_book
        mid = paper_book.mid
        if mid is not None:
            self._trigger(self._stops_reached(market, high=mid, low=mid), result)
        self._match_resting(market, result)
        result.extend(self.advance())
        return result

    def apply_candle(
        self,
        *,
        symbol: str,
        candle: Candle,
        model: SyntheticBookModel | None = None,
        at: datetime | None = None,
    ) -> EngineResult:
        """A closed bar (``at``: when it closed, default now): fire stops on its range, fill
        resting orders it traded through, then install the model book around its close (see
        ``synthetic``) and match resting orders against it."""
        market = self._market(symbol)
        at = at or self.clock()
        result = self.advance(until=at)
        high = Decimal(str(candle.high))
        low = Decimal(str(candle.low))
        # Stops the bar reached are taken out before the trade-through fills (they were not
        # resting) and meet the bar's closing book.
        reached = self._stops_reached(market, high=high, low=low)
        for order in reached:
            order.triggered = True
        self._trade_through(
            market, high=high, low=low, volume=Decimal(str(candle.volume)), result=result
        )
        book = book_from_candle(market, candle, model or SyntheticBookModel(), at=at)
        self.books[market.symbol] = PaperBook.from_snapshot(book)
        self._trigger(reached, result)
        self._match_resting(market, result)
        result.extend(self.advance())
        return result

    # --- placement helpers ----------------------------------------------------------------

    def _account(self, account_id: UUID) -> PaperAccountState:
        try:
            return self.accounts[account_id]
        except KeyError:
            raise UnknownAccount(
                f"no paper account {account_id}", details={"account_id": str(account_id)}
            ) from None

    def _market(self, symbol: str) -> MarketInfo:
        try:
            return self.markets[symbol]
        except KeyError:
            raise UnknownSymbol(
                f"{self.venue} lists no market {symbol!r}",
                details={"venue": self.venue, "symbol": symbol},
            ) from None

    @staticmethod
    def _reference_price(book: PaperBook | None, side: OrderSide) -> Decimal | None:
        if book is None:
            return None
        return book.best_ask if side is OrderSide.BUY else book.best_bid

    def _reservation(
        self,
        account: PaperAccountState,
        market: MarketInfo,
        request: OrderRequest,
        book: PaperBook | None,
    ) -> tuple[str, Decimal]:
        """The asset and amount to lock for ``request``."""
        if request.side is OrderSide.SELL:
            return market.base, request.amount
        config = account.config
        if request.price is not None:
            return market.quote, request.amount * request.price * (1 + config.max_fee)
        # Market buy: what walking today's book would cost, plus headroom for a moving book.
        assert book is not None  # place() refuses a market order without a book
        cost, remaining = ZERO, request.amount
        for level in book.asks:
            take = min(remaining, level.amount)
            cost += take * self._taker_price(
                market, config.slippage_bps, OrderSide.BUY, level.price, None
            )
            remaining -= take
            if remaining <= 0:
                break
        if remaining > 0 and book.asks:
            cost += remaining * book.asks[-1].price  # unfillable part, priced at the last level
        return market.quote, cost * (1 + config.taker_fee) * (
            1 + config.market_buy_buffer_bps / BPS
        )

    # --- matching ---------------------------------------------------------------------------

    def _arrive(self, order: PaperOrderState, result: EngineResult) -> None:
        order.arrived = True
        result.touch(order)
        if order.type is OrderType.STOP_LIMIT and not order.triggered:
            book = self.books.get(order.symbol)
            mid = book.mid if book else None
            if mid is None or not self._stop_reached(order, high=mid, low=mid):
                return  # stays pending_trigger
            order.triggered = True
            order.status = OrderStatus.OPEN
        self._execute_incoming(order, result)

    def _execute_incoming(self, order: PaperOrderState, result: EngineResult) -> None:
        """An order just became active: take what crosses, then rest, expire or finish."""
        market = self.markets[order.symbol]
        book = self.books.get(order.symbol)
        levels = book.opposite(order.side) if book else []
        if order.post_only:
            if levels and self._crosses(order, levels[0].price):
                self._finish(order, OrderStatus.REJECTED, "post_only_would_cross", result)
            else:
                self._set_status(order, result)
            return
        plan = self._walk(order, market, levels)
        if order.time_in_force is TimeInForce.FOK and sum(a for _, a in plan) < order.remaining:
            self._finish(order, OrderStatus.EXPIRED, "fok_not_fillable", result)
            return
        for price, amount in plan:
            self._fill(order, market, price, amount, Liquidity.TAKER, result)
            if book is not None:
                book.consume(levels, amount)
        if order.remaining <= 0:
            self._finish(order, OrderStatus.FILLED, "", result)
        elif order.type is OrderType.MARKET or order.time_in_force in (
            TimeInForce.IOC,
            TimeInForce.FOK,
        ):
            self._finish(order, OrderStatus.EXPIRED, "no_liquidity_for_remainder", result)
        else:
            self._set_status(order, result)

    def _walk(
        self, order: PaperOrderState, market: MarketInfo, levels: list[Level]
    ) -> list[tuple[Decimal, Decimal]]:
        """The taker fills ``order`` would get from ``levels`` now: (price, amount) pairs."""
        config = self.accounts[order.account_id].config
        plan: list[tuple[Decimal, Decimal]] = []
        remaining, reserve = order.remaining, order.reserved
        for level in levels:
            if remaining <= 0 or (
                order.price is not None and not self._crosses(order, level.price)
            ):
                break
            price = self._taker_price(
                market, config.slippage_bps, order.side, level.price, order.price
            )
            amount = min(remaining, level.amount)
            if order.side is OrderSide.BUY:
                amount = self._affordable(market, amount, price, config.taker_fee, reserve)
                reserve -= amount * price * (1 + config.taker_fee)
            if amount <= 0:
                break
            plan.append((price, amount))
            remaining -= amount
        return plan

    @staticmethod
    def _affordable(
        market: MarketInfo, amount: Decimal, price: Decimal, fee_rate: Decimal, reserve: Decimal
    ) -> Decimal:
        """``amount``, cut to what ``reserve`` pays for at ``price`` including the fee."""
        unit_cost = price * (1 + fee_rate)
        if amount * unit_cost <= reserve:
            return amount
        amount = round_amount(market, reserve / unit_cost)
        while amount > 0 and amount * unit_cost > reserve:  # guard the division's rounding
            amount -= market.amount_step
        return max(amount, ZERO)

    @staticmethod
    def _taker_price(
        market: MarketInfo,
        slippage_bps: Decimal,
        side: OrderSide,
        level_price: Decimal,
        limit: Decimal | None,
    ) -> Decimal:
        """The level's price worsened by slippage, on the tick, never past the limit."""
        if slippage_bps == 0:
            return level_price
        if side is OrderSide.BUY:
            price = price_ceiling(market, level_price * (1 + slippage_bps / BPS))
            return min(price, limit) if limit is not None else price
        price = price_floor(market, level_price * (1 - slippage_bps / BPS))
        return max(price, limit) if limit is not None else price

    @staticmethod
    def _crosses(order: PaperOrderState, price: Decimal) -> bool:
        """Whether a counterparty at ``price`` satisfies ``order``'s limit."""
        assert order.price is not None
        return price <= order.price if order.side is OrderSide.BUY else price >= order.price

    def _match_resting(self, market: MarketInfo, result: EngineResult) -> None:
        """Fill resting orders the current book crosses, best price then oldest first."""
        book = self.books[market.symbol]
        for side in (OrderSide.BUY, OrderSide.SELL):
            levels = book.opposite(side)
            for order in self._resting(market.symbol, side):
                while order.remaining > 0 and levels and self._crosses(order, levels[0].price):
                    amount = min(order.remaining, levels[0].amount)
                    assert order.price is not None
                    self._fill(order, market, order.price, amount, Liquidity.MAKER, result)
                    book.consume(levels, amount)
                if order.remaining <= 0:
                    self._finish(order, OrderStatus.FILLED, "", result)

    def _trade_through(
        self,
        market: MarketInfo,
        *,
        high: Decimal,
        low: Decimal,
        volume: Decimal,
        result: EngineResult,
    ) -> None:
        """Fill resting orders a bar traded strictly through, sharing the bar's volume."""
        for side in (OrderSide.BUY, OrderSide.SELL):
            for order in self._resting(market.symbol, side):
                assert order.price is not None
                through = low < order.price if side is OrderSide.BUY else high > order.price
                if not through or volume <= 0:
                    continue
                amount = min(order.remaining, volume)
                self._fill(order, market, order.price, amount, Liquidity.MAKER, result)
                volume -= amount
                if order.remaining <= 0:
                    self._finish(order, OrderStatus.FILLED, "", result)

    def _resting(self, symbol: str, side: OrderSide) -> list[PaperOrderState]:
        """Resting orders of one side in price-time priority."""
        orders = [
            o for o in self._working.values() if o.symbol == symbol and o.side is side and o.resting
        ]
        sign = -1 if side is OrderSide.BUY else 1
        return sorted(orders, key=lambda o: (sign * (o.price or ZERO), o.created_at))

    def _stops_reached(
        self, market: MarketInfo, *, high: Decimal, low: Decimal
    ) -> list[PaperOrderState]:
        """Pending stop-limit orders of ``market`` whose stop lies in [low, high], oldest first."""
        reached = [
            o
            for o in self._working.values()
            if o.symbol == market.symbol
            and o.arrived
            and o.status is OrderStatus.PENDING_TRIGGER
            and self._stop_reached(o, high=high, low=low)
        ]
        return sorted(reached, key=lambda o: o.created_at)

    def _trigger(self, orders: list[PaperOrderState], result: EngineResult) -> None:
        """Turn reached stops into limit orders that meet the current book as takers."""
        for order in orders:
            order.triggered = True
            order.status = OrderStatus.OPEN
            result.touch(order)
            self._execute_incoming(order, result)

    @staticmethod
    def _stop_reached(order: PaperOrderState, *, high: Decimal, low: Decimal) -> bool:
        assert order.stop_price is not None
        # A buy stop fires when the market rises to it, a sell stop when it falls to it.
        return high >= order.stop_price if order.side is OrderSide.BUY else low <= order.stop_price

    # --- bookkeeping ----------------------------------------------------------------------

    def _fill(
        self,
        order: PaperOrderState,
        market: MarketInfo,
        price: Decimal,
        amount: Decimal,
        liquidity: Liquidity,
        result: EngineResult,
    ) -> None:
        """Book one fill: move funds, charge its fee once, record it on the order."""
        account = self.accounts[order.account_id]
        config = account.config
        rate = config.maker_fee if liquidity is Liquidity.MAKER else config.taker_fee
        cost = price * amount
        fee = cost * rate
        quote, base = account.balance(market.quote), account.balance(market.base)
        if order.side is OrderSide.BUY:
            spent = cost + fee
            quote.locked -= spent
            order.reserved -= spent
            base.free += amount
        else:
            base.locked -= amount
            order.reserved -= amount
            quote.free += cost - fee
        order.filled += amount
        order.cost += cost
        order.fee += fee
        order.updated_at = self.clock()
        order.status = OrderStatus.PARTIALLY_FILLED
        result.touch(order)
        result.fills.append(
            Fill(
                fill_id=self.new_id(),
                account_id=order.account_id,
                venue=self.venue,
                symbol=order.symbol,
                client_order_id=order.client_order_id,
                venue_order_id=order.venue_order_id,
                side=order.side,
                price=price,
                amount=amount,
                fee=fee,
                fee_currency=market.quote,
                liquidity=liquidity,
                timestamp=order.updated_at,
            )
        )

    def _set_status(self, order: PaperOrderState, result: EngineResult) -> None:
        order.status = OrderStatus.PARTIALLY_FILLED if order.filled > 0 else OrderStatus.OPEN
        order.updated_at = self.clock()
        result.touch(order)

    def _finish(
        self, order: PaperOrderState, status: OrderStatus, reason: str, result: EngineResult
    ) -> None:
        """End the order and release whatever it still has locked."""
        if order.reserved:
            self.accounts[order.account_id].release(order.reserve_asset, order.reserved)
            order.reserved = ZERO
        order.status = status
        order.reason = reason
        order.updated_at = self.clock()
        self._working.pop(order.venue_order_id, None)
        result.touch(order)
