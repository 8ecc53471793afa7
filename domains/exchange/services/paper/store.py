"""Load the paper engine's state from the database and write back what an engine call changed.

One engine is built per operation on one (venue, symbol), inside the caller's transaction:
the market row is locked first (one matcher per market at a time), then the balances of the
accounts involved, in account-id order (no lock cycles between markets).
"""

from collections.abc import Callable, Iterable
from dataclasses import asdict
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from domains.exchange.api import (
    BookLevel,
    MarketInfo,
    MarketType,
    OrderBook,
    OrderSide,
    OrderStatus,
    OrderType,
    PrecisionMode,
    TimeInForce,
    UnknownAccount,
    UnknownSymbol,
)
from domains.exchange.models import (
    PaperAccount,
    PaperBalance,
    PaperFill,
    PaperMarket,
    PaperOrder,
)
from domains.exchange.services.paper.catalogue import PAPER_MARKETS
from domains.exchange.services.paper.engine import PaperEngine
from domains.exchange.services.paper.state import (
    AssetBalance,
    EngineResult,
    PaperAccountState,
    PaperConfig,
    PaperOrderState,
)

WORKING_STATUSES = (
    OrderStatus.PENDING_TRIGGER.value,
    OrderStatus.OPEN.value,
    OrderStatus.PARTIALLY_FILLED.value,
)


# --- market rules ----------------------------------------------------------------------------


def market_to_json(market: MarketInfo) -> dict[str, Any]:
    return {k: (str(v) if isinstance(v, Decimal) else v) for k, v in asdict(market).items()}


def market_from_json(rules: dict[str, Any]) -> MarketInfo:
    def optional(name: str) -> Decimal | None:
        value = rules.get(name)
        return None if value is None else Decimal(value)

    return MarketInfo(
        venue=rules["venue"],
        symbol=rules["symbol"],
        venue_symbol=rules["venue_symbol"],
        base=rules["base"],
        quote=rules["quote"],
        market_type=MarketType(rules["market_type"]),
        active=bool(rules["active"]),
        precision_mode=PrecisionMode(rules["precision_mode"]),
        amount_precision=Decimal(rules["amount_precision"]),
        price_precision=Decimal(rules["price_precision"]),
        min_amount=optional("min_amount"),
        max_amount=optional("max_amount"),
        min_price=optional("min_price"),
        max_price=optional("max_price"),
        min_notional=optional("min_notional"),
        max_notional=optional("max_notional"),
        maker_fee=optional("maker_fee"),
        taker_fee=optional("taker_fee"),
    )


def market_row(venue: str, symbol: str, *, lock: bool) -> PaperMarket:
    """The market row, created from the built-in catalogue for the ``paper`` venue."""
    rows = PaperMarket.objects.select_for_update() if lock else PaperMarket.objects
    try:
        return rows.get(venue=venue, symbol=symbol)
    except PaperMarket.DoesNotExist:
        catalogue_market = PAPER_MARKETS.get(symbol) if venue == "paper" else None
        if catalogue_market is None:
            raise UnknownSymbol(
                f"the paper exchange has no market {symbol!r} on {venue}",
                details={"venue": venue, "symbol": symbol},
            ) from None
    row, _ = PaperMarket.objects.get_or_create(
        venue=venue, symbol=symbol, defaults={"rules": market_to_json(catalogue_market)}
    )
    return rows.get(pk=row.pk) if lock else row


# --- books -----------------------------------------------------------------------------------


def _levels_to_json(levels: Iterable[BookLevel]) -> list[list[str]]:
    return [[str(level.price), str(level.amount)] for level in levels]


def _levels_from_json(levels: list[list[str]]) -> tuple[BookLevel, ...]:
    return tuple(BookLevel(Decimal(p), Decimal(a)) for p, a in levels)


def book_of(row: PaperMarket) -> OrderBook | None:
    if row.book_timestamp is None:
        return None
    return OrderBook(
        venue=row.venue,
        symbol=row.symbol,
        timestamp=row.book_timestamp,
        bids=_levels_from_json(row.book_bids),
        asks=_levels_from_json(row.book_asks),
        sequence=row.book_sequence,
    )


def save_book(row: PaperMarket, book: OrderBook) -> None:
    row.book_bids = _levels_to_json(book.bids)
    row.book_asks = _levels_to_json(book.asks)
    row.book_timestamp = book.timestamp
    row.book_sequence = book.sequence
    row.save(
        update_fields=["book_bids", "book_asks", "book_timestamp", "book_sequence", "updated_at"]
    )


# --- accounts and orders ---------------------------------------------------------------------


def config_of(account: PaperAccount) -> PaperConfig:
    return PaperConfig(
        maker_fee=account.maker_fee,
        taker_fee=account.taker_fee,
        latency=timedelta(milliseconds=account.latency_ms),
        slippage_bps=account.slippage_bps,
        market_buy_buffer_bps=account.market_buy_buffer_bps,
    )


def account_row(account_id: UUID) -> PaperAccount:
    try:
        return PaperAccount.objects.get(pk=account_id)
    except (PaperAccount.DoesNotExist, ValueError):
        raise UnknownAccount(
            f"no exchange account {account_id}", details={"account_id": str(account_id)}
        ) from None


def _order_state(row: PaperOrder) -> PaperOrderState:
    return PaperOrderState(
        venue_order_id=row.venue_order_id,
        account_id=row.account_id,
        client_order_id=row.client_order_id,
        symbol=row.symbol,
        side=OrderSide(row.side),
        type=OrderType(row.type),
        time_in_force=TimeInForce(row.time_in_force),
        amount=row.amount,
        price=row.price,
        stop_price=row.stop_price,
        post_only=row.post_only,
        reduce_only=False,
        status=OrderStatus(row.status),
        created_at=row.created_at,
        updated_at=row.updated_at,
        active_at=row.active_at,
        reserve_asset=row.reserve_asset,
        reserved=row.reserved,
        fee_currency=row.fee_currency,
        filled=row.filled,
        cost=row.cost,
        fee=row.fee,
        arrived=row.arrived,
        triggered=row.triggered,
        reason=row.reason,
    )


class LoadedMarket:
    """An engine holding one market's book, its working orders and their accounts' balances."""

    def __init__(
        self,
        *,
        venue: str,
        symbol: str,
        clock: Callable[[], datetime],
        new_id: Callable[[], str],
        extra_account_ids: Iterable[UUID] = (),
    ) -> None:
        self.row = market_row(venue, symbol, lock=True)
        self.market = market_from_json(self.row.rules)
        self.engine = PaperEngine(venue=venue, markets=[self.market], clock=clock, new_id=new_id)
        book = book_of(self.row)
        if book is not None:
            self.engine.install_book(book)
        orders = list(
            PaperOrder.objects.filter(
                account__venue=venue, symbol=symbol, status__in=WORKING_STATUSES
            ).order_by("created_at", "id")
        )
        account_ids = sorted({o.account_id for o in orders} | set(extra_account_ids), key=str)
        accounts = {a.pk: a for a in PaperAccount.objects.filter(pk__in=account_ids)}
        balances = PaperBalance.objects.select_for_update().filter(account_id__in=account_ids)
        states = {
            pk: PaperAccountState(account_id=pk, config=config_of(a)) for pk, a in accounts.items()
        }
        self._loaded_balances: dict[tuple[UUID, str], PaperBalance] = {}
        for balance in balances.order_by("account_id", "asset"):
            states[balance.account_id].balances[balance.asset] = AssetBalance(
                free=balance.free, locked=balance.locked
            )
            self._loaded_balances[(balance.account_id, balance.asset)] = balance
        for state in states.values():
            self.engine.add_account(state)
        self._order_pks: dict[str, int] = {}
        for row in orders:
            self.engine.add_order(_order_state(row))
            self._order_pks[row.venue_order_id] = row.pk
        self._book_snapshot = book

    def save(self, result: EngineResult) -> None:
        """Write every balance, order, fill and the book the engine call changed."""
        self._save_balances()
        self._save_orders(result.orders)
        self._save_fills(result)
        book = self.engine.books.get(self.market.symbol)
        if book is not None:
            snapshot = book.snapshot(self.row.venue)
            if snapshot != self._book_snapshot:
                save_book(self.row, snapshot)

    def _save_balances(self) -> None:
        for state in self.engine.accounts.values():
            for asset, balance in state.balances.items():
                row = self._loaded_balances.get((state.account_id, asset))
                if row is None:
                    if balance.free == 0 and balance.locked == 0:
                        continue
                    PaperBalance.objects.create(
                        account_id=state.account_id,
                        asset=asset,
                        free=balance.free,
                        locked=balance.locked,
                    )
                elif (row.free, row.locked) != (balance.free, balance.locked):
                    row.free, row.locked = balance.free, balance.locked
                    row.save(update_fields=["free", "locked"])

    def _save_orders(self, orders: list[PaperOrderState]) -> None:
        for order in orders:
            values = {
                "account_id": order.account_id,
                "client_order_id": order.client_order_id,
                "symbol": order.symbol,
                "side": order.side.value,
                "type": order.type.value,
                "time_in_force": order.time_in_force.value,
                "amount": order.amount,
                "price": order.price,
                "stop_price": order.stop_price,
                "post_only": order.post_only,
                "status": order.status.value,
                "filled": order.filled,
                "cost": order.cost,
                "fee": order.fee,
                "fee_currency": order.fee_currency,
                "reserve_asset": order.reserve_asset,
                "reserved": order.reserved,
                "arrived": order.arrived,
                "triggered": order.triggered,
                "reason": order.reason,
                "created_at": order.created_at,
                "updated_at": order.updated_at,
                "active_at": order.active_at,
            }
            pk = self._order_pks.get(order.venue_order_id)
            if pk is None:
                row = PaperOrder.objects.create(venue_order_id=order.venue_order_id, **values)
                self._order_pks[order.venue_order_id] = row.pk
            else:
                PaperOrder.objects.filter(pk=pk).update(**values)

    def _save_fills(self, result: EngineResult) -> None:
        PaperFill.objects.bulk_create(
            PaperFill(
                fill_id=fill.fill_id,
                order_id=self._order_pks[fill.venue_order_id or ""],
                account_id=fill.account_id,
                symbol=fill.symbol,
                side=fill.side.value,
                price=fill.price,
                amount=fill.amount,
                fee=fill.fee,
                fee_currency=fill.fee_currency or "",
                liquidity=fill.liquidity.value if fill.liquidity else "",
                filled_at=fill.timestamp,
            )
            for fill in result.fills
        )
