"""A user's orders and fills on one venue, paper and live, newest first, as lists of DTOs."""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from heapq import merge
from uuid import UUID

from domains.exchange.fields import plain
from domains.exchange.models import LiveFill, LiveOrder, PaperFill, PaperOrder

MAX_OFFSET = 10_000  # deeper pages would read too many rows of both tables


@dataclass(frozen=True)
class OrderRecord:
    """One order as the ledger (live) or the paper exchange holds it. ``status`` is None for
    a live order the venue has not told us about yet; ``outcome`` is the ledger's view of a
    live order (``submitting``, ``acknowledged``, ``unknown``, ``not_found``, ``refused``) and
    None for a paper order."""

    kind: str  # "paper" or "live"
    account_id: UUID
    venue: str
    symbol: str
    client_order_id: str
    venue_order_id: str | None
    side: str
    type: str
    status: str | None
    outcome: str | None
    amount: Decimal
    filled: Decimal
    price: Decimal | None
    stop_price: Decimal | None
    average_price: Decimal | None
    fee: Decimal
    fee_currency: str | None
    time_in_force: str
    post_only: bool
    reduce_only: bool
    reason: str
    created_at: datetime
    updated_at: datetime

    @property
    def remaining(self) -> Decimal:
        return self.amount - self.filled


def orders_of_owner(
    *,
    owner_id: int,
    venue: str,
    account_ids: list[UUID] | None = None,
    status: str | None = None,
    symbol: str | None = None,
    outcome: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[OrderRecord]:
    """The owner's orders on ``venue`` (of ``account_ids`` when given), newest first."""
    papers = PaperOrder.objects.filter(account__owner_id=owner_id, account__venue=venue)
    lives = LiveOrder.objects.filter(account__owner_id=owner_id, venue=venue)
    if account_ids is not None:
        papers = papers.filter(account_id__in=account_ids)
        lives = lives.filter(account_id__in=account_ids)
    if status is not None:
        papers, lives = papers.filter(status=status), lives.filter(status=status)
    if symbol is not None:
        papers, lives = papers.filter(symbol=symbol), lives.filter(symbol=symbol)
    if outcome is not None:
        papers, lives = papers.none(), lives.filter(outcome=outcome)
    window = min(offset, MAX_OFFSET) + limit
    paper_rows = (_paper(row, venue) for row in papers.order_by("-created_at", "-id")[:window])
    live_rows = (_live(row) for row in lives.order_by("-created_at", "-id")[:window])
    newest_first = merge(paper_rows, live_rows, key=lambda r: r.created_at, reverse=True)
    return list(newest_first)[offset : offset + limit]


def _paper(row: PaperOrder, venue: str) -> OrderRecord:
    return OrderRecord(
        kind="paper",
        account_id=row.account_id,
        venue=venue,
        symbol=row.symbol,
        client_order_id=row.client_order_id,
        venue_order_id=row.venue_order_id,
        side=row.side,
        type=row.type,
        status=row.status,
        outcome=None,
        amount=row.amount,
        filled=row.filled,
        price=row.price,
        stop_price=row.stop_price,
        average_price=row.cost / row.filled if row.filled else None,
        fee=row.fee,
        fee_currency=row.fee_currency or None,
        time_in_force=row.time_in_force,
        post_only=row.post_only,
        reduce_only=False,
        reason=row.reason,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _live(row: LiveOrder) -> OrderRecord:
    return OrderRecord(
        kind="live",
        account_id=row.account_id,
        venue=row.venue,
        symbol=row.symbol,
        client_order_id=row.client_order_id,
        venue_order_id=row.venue_order_id or None,
        side=row.side,
        type=row.type,
        status=row.status or None,
        outcome=row.outcome,
        amount=row.amount,
        filled=row.filled,
        price=row.price,
        stop_price=row.stop_price,
        average_price=row.average_price,
        fee=row.fee,
        fee_currency=row.fee_currency or None,
        time_in_force=row.time_in_force,
        post_only=row.post_only,
        reduce_only=row.reduce_only,
        reason=row.reason,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


@dataclass(frozen=True)
class FillRecord:
    """One fill as the ledger (live) or the paper exchange holds it."""

    kind: str  # "paper" or "live"
    fill_id: str
    account_id: UUID
    venue: str
    symbol: str
    client_order_id: str | None
    venue_order_id: str | None
    side: str
    price: Decimal
    amount: Decimal
    fee: Decimal
    fee_currency: str | None
    liquidity: str | None
    filled_at: datetime

    @property
    def notional(self) -> Decimal:
        return plain(self.price * self.amount)


def fills_of_owner(
    *,
    owner_id: int,
    venue: str,
    account_ids: list[UUID] | None = None,
    symbol: str | None = None,
    client_order_id: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[FillRecord]:
    """The owner's fills on ``venue`` (of ``account_ids`` when given), newest first."""
    papers = PaperFill.objects.filter(account__owner_id=owner_id, account__venue=venue)
    lives = LiveFill.objects.filter(account__owner_id=owner_id, venue=venue)
    if account_ids is not None:
        papers = papers.filter(account_id__in=account_ids)
        lives = lives.filter(account_id__in=account_ids)
    if symbol is not None:
        papers, lives = papers.filter(symbol=symbol), lives.filter(symbol=symbol)
    if client_order_id is not None:
        papers = papers.filter(order__client_order_id=client_order_id)
        lives = lives.filter(client_order_id=client_order_id)
    window = min(offset, MAX_OFFSET) + limit
    paper_rows = (
        _paper_fill(row, venue)
        for row in papers.select_related("order").order_by("-filled_at", "-id")[:window]
    )
    live_rows = (_live_fill(row) for row in lives.order_by("-filled_at", "-id")[:window])
    newest_first = merge(paper_rows, live_rows, key=lambda r: r.filled_at, reverse=True)
    return list(newest_first)[offset : offset + limit]


def _paper_fill(row: PaperFill, venue: str) -> FillRecord:
    return FillRecord(
        kind="paper",
        fill_id=row.fill_id,
        account_id=row.account_id,
        venue=venue,
        symbol=row.symbol,
        client_order_id=row.order.client_order_id,
        venue_order_id=row.order.venue_order_id,
        side=row.side,
        price=row.price,
        amount=row.amount,
        fee=row.fee,
        fee_currency=row.fee_currency or None,
        liquidity=row.liquidity or None,
        filled_at=row.filled_at,
    )


def _live_fill(row: LiveFill) -> FillRecord:
    return FillRecord(
        kind="live",
        fill_id=row.fill_id,
        account_id=row.account_id,
        venue=row.venue,
        symbol=row.symbol,
        client_order_id=row.client_order_id or None,
        venue_order_id=row.venue_order_id or None,
        side=row.side,
        price=row.price,
        amount=row.amount,
        fee=row.fee,
        fee_currency=row.fee_currency or None,
        liquidity=row.liquidity or None,
        filled_at=row.filled_at,
    )
