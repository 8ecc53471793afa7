"""Reads of the exchange domain's tables, returned as api DTOs (never model instances)."""

from datetime import datetime
from uuid import UUID

from domains.exchange.api import (
    AccountBalances,
    Balance,
    Fill,
    Liquidity,
    MarketInfo,
    OrderAck,
    OrderNotFound,
    OrderSide,
    OrderStatus,
    OrderType,
    PublicTrade,
    TimeInForce,
)
from domains.exchange.models import PaperAccount, PaperBalance, PaperFill, PaperMarket, PaperOrder
from domains.exchange.services.paper.catalogue import PAPER_MARKETS
from domains.exchange.services.paper.store import WORKING_STATUSES, market_from_json


def paper_order_ack(row: PaperOrder, *, venue: str) -> OrderAck:
    """The DTO of a paper order row."""
    return OrderAck(
        account_id=row.account_id,
        venue=venue,
        symbol=row.symbol,
        client_order_id=row.client_order_id,
        venue_order_id=row.venue_order_id,
        side=OrderSide(row.side),
        type=OrderType(row.type),
        status=OrderStatus(row.status),
        amount=row.amount,
        filled=row.filled,
        price=row.price,
        stop_price=row.stop_price,
        average_price=row.cost / row.filled if row.filled else None,
        fee=row.fee,
        fee_currency=row.fee_currency,
        time_in_force=TimeInForce(row.time_in_force),
        post_only=row.post_only,
        reduce_only=False,
        created_at=row.created_at,
        updated_at=row.updated_at,
        reason=row.reason,
    )


def paper_fill(row: PaperFill, *, venue: str, client_order_id: str, venue_order_id: str) -> Fill:
    return Fill(
        fill_id=row.fill_id,
        account_id=row.account_id,
        venue=venue,
        symbol=row.symbol,
        client_order_id=client_order_id,
        venue_order_id=venue_order_id,
        side=OrderSide(row.side),
        price=row.price,
        amount=row.amount,
        fee=row.fee,
        fee_currency=row.fee_currency,
        liquidity=Liquidity(row.liquidity),
        timestamp=row.filled_at,
    )


def paper_print(venue: str, fill: Fill) -> PublicTrade:
    """A paper fill as the paper venue's public trade: its counterparty is the modelled book,
    so every fill is one print, the aggressor being the taker (a resting maker order was hit by
    the other side). No account is named."""
    if fill.liquidity is Liquidity.MAKER:
        aggressor = OrderSide.SELL if fill.side is OrderSide.BUY else OrderSide.BUY
    else:
        aggressor = fill.side
    return PublicTrade(
        venue=venue,
        symbol=fill.symbol,
        trade_id=fill.fill_id,
        price=fill.price,
        amount=fill.amount,
        side=aggressor,
        timestamp=fill.timestamp,
    )


def paper_tape(*, venue: str, symbol: str, limit: int) -> list[PublicTrade]:
    """The latest ``limit`` prints of ``symbol`` on the paper ``venue`` (the fills of every
    account there), oldest first."""
    rows = PaperFill.objects.filter(account__venue=venue, symbol=symbol).select_related("order")
    latest = list(rows.order_by("-filled_at", "-id")[:limit])
    return [
        paper_print(
            venue,
            paper_fill(
                row,
                venue=venue,
                client_order_id=row.order.client_order_id,
                venue_order_id=row.order.venue_order_id,
            ),
        )
        for row in reversed(latest)
    ]


def paper_order_row(*, account_id: UUID, client_order_id: str) -> PaperOrder:
    try:
        return PaperOrder.objects.select_related("account").get(
            account_id=account_id, client_order_id=client_order_id
        )
    except PaperOrder.DoesNotExist:
        raise OrderNotFound(
            f"no order {client_order_id!r} on account {account_id}",
            details={"client_order_id": client_order_id},
        ) from None


def paper_orders_open(*, account: PaperAccount, symbol: str | None = None) -> list[OrderAck]:
    rows = PaperOrder.objects.filter(account=account, status__in=WORKING_STATUSES)
    if symbol is not None:
        rows = rows.filter(symbol=symbol)
    return [paper_order_ack(row, venue=account.venue) for row in rows.order_by("created_at", "id")]


def paper_fills(
    *,
    account: PaperAccount,
    symbol: str | None = None,
    since: datetime | None = None,
    limit: int | None = None,
    venue_order_id: str | None = None,
) -> list[Fill]:
    rows = PaperFill.objects.filter(account=account).select_related("order")
    if symbol is not None:
        rows = rows.filter(symbol=symbol)
    if venue_order_id is not None:
        rows = rows.filter(order__venue_order_id=venue_order_id)
    if since is not None:
        rows = rows.filter(filled_at__gte=since)
    rows = rows.order_by("filled_at", "id")
    if limit is not None:
        rows = rows[:limit]
    return [
        paper_fill(
            row,
            venue=account.venue,
            client_order_id=row.order.client_order_id,
            venue_order_id=row.order.venue_order_id,
        )
        for row in rows
    ]


def paper_balances(*, account: PaperAccount, at: datetime) -> AccountBalances:
    rows = PaperBalance.objects.filter(account=account).order_by("asset")
    return AccountBalances(
        account_id=account.pk,
        venue=account.venue,
        timestamp=at,
        balances=tuple(Balance(asset=r.asset, free=r.free, locked=r.locked) for r in rows),
    )


def paper_markets(*, venue: str) -> list[MarketInfo]:
    """The built-in catalogue (``paper`` venue) and every market registered for ``venue``."""
    markets = dict(PAPER_MARKETS) if venue == "paper" else {}
    for row in PaperMarket.objects.filter(venue=venue):
        markets[row.symbol] = market_from_json(row.rules)
    return [markets[symbol] for symbol in sorted(markets)]
