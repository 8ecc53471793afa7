"""The paper exchange as a service: the engine loaded from and saved to the database.

Every command runs in one transaction: lock the market row, load the engine, run it, write back
balances, orders, fills and the book, and publish ``OrderUpdated``/``OrderFilled`` through the
bus outbox in that same transaction (delivered only once it commits). Market-data feeds also
publish the transient ``OrderBookUpdated``/``TickerUpdated``.
"""

from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import TypeVar
from uuid import UUID, uuid4

from django.db import IntegrityError, transaction
from django.utils import timezone

from domains.exchange.api import (
    AccountBalances,
    CancelFailure,
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
    UnknownSymbol,
)
from domains.exchange.events import (
    OrderBookUpdated,
    OrderFilled,
    OrderUpdated,
    TickerUpdated,
    TradeExecuted,
)
from domains.exchange.models import PaperAccount, PaperBalance, PaperMarket, PaperOrder
from domains.exchange.selectors import (
    paper_balances,
    paper_fills,
    paper_markets,
    paper_order_ack,
    paper_order_row,
    paper_orders_open,
    paper_print,
    paper_tape,
)
from domains.exchange.services.paper.engine import PaperEngine
from domains.exchange.services.paper.state import EngineResult, PaperConfig, PaperOrderState
from domains.exchange.services.paper.store import (
    WORKING_STATUSES,
    LoadedMarket,
    account_row,
    book_of,
    market_row,
    market_to_json,
)
from domains.exchange.services.paper.synthetic import SyntheticBookModel
from dsta.kernel.bus import publish
from dsta.kernel.errors import InvalidInput

T = TypeVar("T")
ASSET_CODE_MAX = 20


def _uuid_hex() -> str:
    return uuid4().hex


class PaperExchange:
    """Paper accounts, their orders and the simulated markets they trade on."""

    def __init__(
        self,
        *,
        clock: Callable[[], datetime] = timezone.now,
        new_id: Callable[[], str] = _uuid_hex,
        book_model: SyntheticBookModel | None = None,
    ) -> None:
        self.clock = clock
        self.new_id = new_id
        self.book_model = book_model or SyntheticBookModel()

    # --- accounts and markets -------------------------------------------------------------

    def create_account(
        self,
        *,
        name: str,
        balances: Mapping[str, Decimal],
        owner_id: int | None = None,
        venue: str = "paper",
        config: PaperConfig | None = None,
    ) -> UUID:
        """Open a paper account with its starting balances (fixed from then on)."""
        config = config or PaperConfig()
        if not name.strip():
            raise InvalidInput("a paper account needs a name", details={"field": "name"})
        for asset, amount in balances.items():
            if not asset or len(asset) > ASSET_CODE_MAX or not asset.isalnum():
                raise InvalidInput(f"bad asset code {asset!r}", details={"field": "balances"})
            if not isinstance(amount, Decimal) or not amount.is_finite() or amount < 0:
                raise InvalidInput(
                    f"starting balance of {asset} must be a non-negative decimal",
                    details={"field": "balances", "asset": asset},
                )
        latency_ms = int(config.latency.total_seconds() * 1000)
        with transaction.atomic():
            account = PaperAccount.objects.create(
                name=name.strip(),
                owner_id=owner_id,
                venue=venue,
                starting_balances={asset: str(amount) for asset, amount in balances.items()},
                maker_fee=config.maker_fee,
                taker_fee=config.taker_fee,
                latency_ms=latency_ms,
                slippage_bps=config.slippage_bps,
                market_buy_buffer_bps=config.market_buy_buffer_bps,
            )
            PaperBalance.objects.bulk_create(
                PaperBalance(account=account, asset=asset, free=amount)
                for asset, amount in balances.items()
                if amount > 0
            )
        return account.pk

    def add_market(self, market: MarketInfo) -> None:
        """Register (or update the rules of) a market the paper exchange simulates."""
        PaperMarket.objects.update_or_create(
            venue=market.venue, symbol=market.symbol, defaults={"rules": market_to_json(market)}
        )

    def markets(self, *, venue: str) -> list[MarketInfo]:
        return paper_markets(venue=venue)

    # --- market data ----------------------------------------------------------------------

    def feed_book(self, *, book: OrderBook) -> list[Fill]:
        """A new book snapshot for a simulated market: match it, persist it, announce it."""
        fills = self._run(
            venue=book.venue,
            symbol=book.symbol,
            operation=lambda engine: _with_fills(engine.set_book(book)),
            feeding=True,
        )
        self._publish_market_data(book)
        return fills

    def feed_candle(
        self,
        *,
        venue: str,
        symbol: str,
        candle: Candle,
        model: SyntheticBookModel | None = None,
        at: datetime | None = None,
    ) -> list[Fill]:
        """A closed candle for a market with no recorded book: fills resting orders it traded
        through and installs the synthetic book built from it (see ``synthetic``)."""
        book_model = model or self.book_model
        fills = self._run(
            venue=venue,
            symbol=symbol,
            operation=lambda engine: _with_fills(
                engine.apply_candle(symbol=symbol, candle=candle, model=book_model, at=at)
            ),
            feeding=True,
        )
        self._publish_market_data(self.order_book(venue=venue, symbol=symbol))
        return fills

    def order_book(self, *, venue: str, symbol: str, depth: int | None = None) -> OrderBook:
        """The book the paper exchange is matching against (empty before any feed)."""
        row = market_row(venue, symbol, lock=False)
        book = book_of(row) or OrderBook(
            venue=venue, symbol=symbol, timestamp=self.clock(), bids=(), asks=()
        )
        if depth is not None:
            if depth < 1:
                raise InvalidInput("depth must be at least 1", details={"field": "depth"})
            book = OrderBook(
                venue=book.venue,
                symbol=book.symbol,
                timestamp=book.timestamp,
                bids=book.bids[:depth],
                asks=book.asks[:depth],
                sequence=book.sequence,
            )
        return book

    def ticker(self, *, venue: str, symbol: str) -> Ticker:
        """Best bid/ask of the current book; ``last`` is the price of the venue's latest print
        on ``symbol`` (its latest fill, whoever's), the mid while it has none."""
        book = self.order_book(venue=venue, symbol=symbol, depth=1)
        bid = book.bids[0] if book.bids else None
        ask = book.asks[0] if book.asks else None
        latest = paper_tape(venue=venue, symbol=symbol, limit=1)
        if latest:
            last: Decimal | None = latest[0].price
        else:
            last = (bid.price + ask.price) / 2 if bid and ask else None
        return Ticker(
            venue=venue,
            symbol=symbol,
            timestamp=book.timestamp,
            bid=bid.price if bid else None,
            ask=ask.price if ask else None,
            bid_amount=bid.amount if bid else None,
            ask_amount=ask.amount if ask else None,
            last=last,
        )

    def trades(self, *, venue: str, symbol: str, limit: int) -> list[PublicTrade]:
        """The venue's latest ``limit`` prints of ``symbol``, oldest first: each fill of any
        account is one anonymous print (see ``paper_print``)."""
        if limit < 1:
            raise InvalidInput("limit must be at least 1", details={"field": "limit"})
        market_row(venue, symbol, lock=False)  # unknown_symbol
        return paper_tape(venue=venue, symbol=symbol, limit=limit)

    # --- account commands -----------------------------------------------------------------

    def place_order(self, *, account_id: UUID, request: OrderRequest) -> OrderAck:
        """Place an order on a paper account (see ``PaperEngine.place`` for the rules)."""
        account = account_row(account_id)
        if (
            request.client_order_id
            and PaperOrder.objects.filter(
                account=account, client_order_id=request.client_order_id
            ).exists()
        ):
            raise DuplicateOrder(
                f"order {request.client_order_id!r} exists already on account {account_id}",
                details={"client_order_id": request.client_order_id},
            )
        try:
            order = self._run(
                venue=account.venue,
                symbol=request.symbol,
                account_ids=(account.pk,),
                operation=lambda engine: engine.place(account_id=account.pk, request=request),
            )
        except IntegrityError:
            # A concurrent placement with the same client order id won the race.
            raise DuplicateOrder(
                f"order {request.client_order_id!r} exists already on account {account_id}",
                details={"client_order_id": request.client_order_id},
            ) from None
        return order.to_ack(venue=account.venue)

    def cancel_order(self, *, account_id: UUID, symbol: str, client_order_id: str) -> OrderAck:
        """Cancel an order and release its locked funds; a final order is returned unchanged."""
        account = account_row(account_id)
        row = paper_order_row(account_id=account.pk, client_order_id=client_order_id)
        self._check_symbol(row, symbol)
        if row.status not in WORKING_STATUSES:
            return paper_order_ack(row, venue=account.venue)
        order = self._run(
            venue=account.venue,
            symbol=row.symbol,
            account_ids=(account.pk,),
            operation=lambda engine: engine.cancel(
                account_id=account.pk, client_order_id=client_order_id
            ),
        )
        return order.to_ack(venue=account.venue)

    def cancel_orders(
        self,
        *,
        account_id: UUID,
        symbol: str | None = None,
        client_order_ids: list[str] | None = None,
    ) -> CancelResult:
        """Cancel the listed orders, or every working order (of ``symbol``)."""
        account = account_row(account_id)
        if client_order_ids is None:
            targets = [
                (a.symbol, a.client_order_id)
                for a in self.open_orders(account_id=account.pk, symbol=symbol)
            ]
        else:
            targets = [(symbol or "", cid) for cid in client_order_ids]
        canceled, failed = [], []
        for target_symbol, client_order_id in targets:
            try:
                ack = self.cancel_order(
                    account_id=account.pk,
                    symbol=target_symbol or self._symbol_of(account.pk, client_order_id),
                    client_order_id=client_order_id,
                )
            except ExchangeFailure as exc:
                failed.append(CancelFailure(client_order_id, exc.code, exc.message))
            else:
                canceled.append(ack)
        return CancelResult(canceled=tuple(canceled), failed=tuple(failed))

    # --- account reads --------------------------------------------------------------------

    def get_order(self, *, account_id: UUID, symbol: str, client_order_id: str) -> OrderAck:
        """The order's state; an order whose latency has passed arrives first."""
        account = account_row(account_id)
        row = paper_order_row(account_id=account.pk, client_order_id=client_order_id)
        self._check_symbol(row, symbol)
        if not row.arrived and row.status in WORKING_STATUSES and row.active_at <= self.clock():
            order = self._run(
                venue=account.venue,
                symbol=row.symbol,
                operation=lambda engine: (
                    engine.order(account_id=account.pk, client_order_id=client_order_id),
                    engine.advance(),
                ),
            )
            return order.to_ack(venue=account.venue)
        return paper_order_ack(row, venue=account.venue)

    def open_orders(self, *, account_id: UUID, symbol: str | None = None) -> list[OrderAck]:
        return paper_orders_open(account=account_row(account_id), symbol=symbol)

    def my_trades(
        self,
        *,
        account_id: UUID,
        symbol: str | None = None,
        since: datetime | None = None,
        limit: int | None = None,
    ) -> list[Fill]:
        if limit is not None and limit < 1:
            raise InvalidInput("limit must be at least 1", details={"field": "limit"})
        return paper_fills(account=account_row(account_id), symbol=symbol, since=since, limit=limit)

    def order_fills(self, *, account_id: UUID, symbol: str, venue_order_id: str) -> list[Fill]:
        return paper_fills(
            account=account_row(account_id), symbol=symbol, venue_order_id=venue_order_id
        )

    def balances(self, *, account_id: UUID) -> AccountBalances:
        return paper_balances(account=account_row(account_id), at=self.clock())

    # --- plumbing -------------------------------------------------------------------------

    def _run(
        self,
        *,
        venue: str,
        symbol: str,
        operation: Callable[[PaperEngine], tuple[T, EngineResult]],
        account_ids: tuple[UUID, ...] = (),
        feeding: bool = False,
    ) -> T:
        with transaction.atomic():
            loaded = LoadedMarket(
                venue=venue,
                symbol=symbol,
                clock=self.clock,
                new_id=self.new_id,
                extra_account_ids=account_ids,
            )
            value, result = operation(loaded.engine)
            loaded.save(result)
            self._publish_order_events(venue, result)
        if result.fills and not feeding:
            # Fills took liquidity: the book the venue shows changed too (a feed publishes its
            # own new book).
            self._publish_market_data(self.order_book(venue=venue, symbol=symbol))
        return value

    @staticmethod
    def _check_symbol(row: PaperOrder, symbol: str) -> None:
        if symbol and symbol != row.symbol:
            raise UnknownSymbol(
                f"order {row.client_order_id!r} is on {row.symbol}, not {symbol}",
                details={"symbol": symbol, "order_symbol": row.symbol},
            )

    @staticmethod
    def _symbol_of(account_id: UUID, client_order_id: str) -> str:
        return paper_order_row(account_id=account_id, client_order_id=client_order_id).symbol

    @staticmethod
    def _publish_order_events(venue: str, result: EngineResult) -> None:
        for order in result.orders:
            publish(_order_updated(venue, order))
        owners: dict[UUID, int | None] = {}
        for fill in result.fills:
            if fill.account_id not in owners:
                owners[fill.account_id] = (
                    PaperAccount.objects.filter(pk=fill.account_id)
                    .values_list("owner_id", flat=True)
                    .first()
                )
            publish(
                OrderFilled(
                    fill_id=fill.fill_id,
                    account_id=fill.account_id,
                    owner_id=owners[fill.account_id],
                    venue=venue,
                    symbol=fill.symbol,
                    client_order_id=fill.client_order_id,
                    venue_order_id=fill.venue_order_id,
                    side=fill.side.value,
                    price=fill.price,
                    amount=fill.amount,
                    fee=fill.fee,
                    fee_currency=fill.fee_currency,
                    liquidity=fill.liquidity.value if fill.liquidity else None,
                    filled_at=fill.timestamp,
                    occurred_at=fill.timestamp,
                )
            )
            publish(_tape_trade(venue, fill))

    @staticmethod
    def _publish_market_data(book: OrderBook) -> None:
        publish(
            OrderBookUpdated(
                venue=book.venue,
                symbol=book.symbol,
                bids=[(lv.price, lv.amount) for lv in book.bids[:50]],
                asks=[(lv.price, lv.amount) for lv in book.asks[:50]],
                sequence=book.sequence,
                occurred_at=book.timestamp,
            )
        )
        publish(
            TickerUpdated(
                venue=book.venue,
                symbol=book.symbol,
                bid=book.bids[0].price if book.bids else None,
                ask=book.asks[0].price if book.asks else None,
                occurred_at=book.timestamp,
            )
        )


def _with_fills(result: EngineResult) -> tuple[list[Fill], EngineResult]:
    return result.fills, result


def _order_updated(venue: str, order: PaperOrderState) -> OrderUpdated:
    return OrderUpdated(
        account_id=order.account_id,
        venue=venue,
        symbol=order.symbol,
        client_order_id=order.client_order_id,
        venue_order_id=order.venue_order_id,
        side=order.side.value,
        type=order.type.value,
        status=order.status.value,
        amount=order.amount,
        filled=order.filled,
        price=order.price,
        average_price=order.average_price,
        fee=order.fee,
        fee_currency=order.fee_currency,
        reason=order.reason,
        updated_at=order.updated_at,
        occurred_at=order.updated_at,
    )


def _tape_trade(venue: str, fill: Fill) -> TradeExecuted:
    """A paper fill as the paper venue's public trade (``paper_print``), on the bus."""
    trade = paper_print(venue, fill)
    return TradeExecuted(
        venue=venue,
        symbol=trade.symbol,
        trade_id=trade.trade_id,
        price=trade.price,
        amount=trade.amount,
        side=trade.side.value if trade.side is not None else None,
        traded_at=trade.timestamp,
        occurred_at=trade.timestamp,
    )
