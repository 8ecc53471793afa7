"""The live order ledger: the one place where a live order's state and fills change.

Following shared/design/EXCHANGES.md ("commit the order intent with its id before the call ...
dedupe fills by (venue, trade id)") and nautilus' in-flight orders:

- ``record_intent`` commits the order, ``outcome = submitting``, before the create request
  leaves (the gateway calls it once our own checks passed, right before the send).
- ``record_ack`` merges a venue's view of an order (placement answer, lookup, cancel answer,
  open-orders listing, stream update) into the row. The merge is monotonic, so answers may
  come from any thread, late, twice or out of order: the status only moves up the ranks
  (``pending_trigger < open < partially_filled < final``; a final status never changes),
  ``filled`` never decreases (fee and average price follow the largest ``filled``), ids and
  a reason are filled in once, the newest venue ``updated_at`` is kept. So an older answer
  never overwrites a newer one, judged by how far along it is rather than by its timestamp
  (venues stamp some answers coarsely or not at all: ccxt then gives the creation time).
  ``OrderUpdated`` is published (durable, in the same transaction) exactly when the state
  changed. An order we never placed (from the venue's UI, say) gets a row of its own.
- ``record_fill`` records a fill once (see ``LiveFill`` for the key) and publishes
  ``OrderFilled`` with the account's owner exactly then. Venues whose order answers carry no
  running fee (Binance and HTX order events) leave the order's fee to its fills: when an
  order's recorded fills sum to more fee, in one currency, than the order says, the order takes
  that sum (and ``OrderUpdated`` says so). Fees in several currencies stay on the fills only.
- ``record_unknown`` marks a placement whose outcome could not be learnt; the reconciler
  (``reconciler.py``) looks it up later.

One exception to "a final status sticks": ``rejected`` with ``outcome = not_found`` is our own
inference (the reconciler never found the order), not the venue's word. A venue answer about
that order later replaces it. A ``refused`` order (the venue said no, or it was never sent)
ignores later answers: its client order id may be reused once on venues that allow it.
"""

import logging
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from uuid import UUID

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from domains.exchange.api import (
    DuplicateOrder,
    Fill,
    OrderAck,
    OrderRequest,
    OrderStatus,
    UnknownAccount,
)
from domains.exchange.events import OrderFilled, OrderUpdated
from domains.exchange.fields import plain
from domains.exchange.models import LiveAccount, LiveFill, LiveOrder, LiveOrderOutcome
from dsta.kernel.bus import publish

logger = logging.getLogger(__name__)

Outcome = LiveOrderOutcome
UNRESOLVED = (Outcome.SUBMITTING.value, Outcome.UNKNOWN.value)
WORKING = (
    OrderStatus.PENDING_TRIGGER.value,
    OrderStatus.OPEN.value,
    OrderStatus.PARTIALLY_FILLED.value,
)
_RANK = {
    "": 0,
    OrderStatus.PENDING_TRIGGER.value: 1,
    OrderStatus.OPEN.value: 2,
    OrderStatus.PARTIALLY_FILLED.value: 3,
}
_FINAL_RANK = 4
_REASON_MAX = 200
_STEP = Decimal(1).scaleb(-18)  # the storage precision of ExactDecimalField


def rank(status: str) -> int:
    """How far along an order with ``status`` is; every final status ranks highest."""
    return _RANK.get(status, _FINAL_RANK)


@dataclass(frozen=True)
class OrderState:
    """The mutable part of a live order, as the venue reports it."""

    status: str  # "" before the venue said anything
    filled: Decimal
    average_price: Decimal | None
    fee: Decimal
    fee_currency: str
    venue_order_id: str
    reason: str
    venue_updated_at: datetime | None

    def same_as(self, other: "OrderState") -> bool:
        """Equal in everything but ``venue_updated_at`` (a newer timestamp alone is no news)."""
        return _key(self) == _key(other)


def _key(state: OrderState) -> tuple[object, ...]:
    return (
        state.status,
        state.filled,
        state.average_price,
        state.fee,
        state.fee_currency,
        state.venue_order_id,
        state.reason,
    )


def merge(current: OrderState, incoming: OrderState) -> OrderState:
    """``current`` updated with ``incoming`` without ever going back (see the module
    docstring). Older or partial answers change nothing: a cancel answer that omits the fills
    (HTX answers a cancel with the order id only) leaves ``filled`` as it was."""
    status = incoming.status if rank(incoming.status) > rank(current.status) else current.status
    filled, average, fee, fee_currency = (
        current.filled,
        current.average_price,
        current.fee,
        current.fee_currency,
    )
    if incoming.filled > current.filled:
        filled = incoming.filled
        # The average of fewer fills does not stand for more (HTX's pushes carry none): unknown
        # until an answer about these fills brings it (the equal-filled branch below).
        average = incoming.average_price
        if incoming.fee > 0:
            fee, fee_currency = incoming.fee, incoming.fee_currency
    elif incoming.filled == current.filled:
        if average is None:
            average = incoming.average_price
        # Fees are cumulative: of two answers about the same fills, the larger fee (in the
        # same currency) is the later one; a venue that omits the fee reports 0.
        if incoming.fee > 0 and (
            fee == 0 or (incoming.fee > fee and incoming.fee_currency == fee_currency)
        ):
            fee, fee_currency = incoming.fee, incoming.fee_currency
    reason = current.reason
    if not reason and incoming.reason and status == incoming.status:
        reason = incoming.reason[:_REASON_MAX]
    updated = current.venue_updated_at
    if incoming.venue_updated_at is not None and (
        updated is None or incoming.venue_updated_at > updated
    ):
        updated = incoming.venue_updated_at
    return OrderState(
        status=status,
        filled=filled,
        average_price=average,
        fee=fee,
        fee_currency=fee_currency,
        venue_order_id=current.venue_order_id or incoming.venue_order_id,
        reason=reason,
        venue_updated_at=updated,
    )


# --- the public functions (the user-data streams call these too) ------------------------------


def record_intent(*, account_id: UUID, request: OrderRequest, client_order_id: str) -> None:
    """Commit a live order about to be sent (``outcome = submitting``), in its own transaction,
    before the create request. An order with that client order id on the account already
    raises ``DuplicateOrder``: fetch that one instead of sending another."""
    account = _account(account_id)
    # durable=True: committed before the request leaves. Inside a caller's transaction this
    # would be a savepoint that a later rollback loses, leaving a sent order with no intent,
    # so Django refuses it (RuntimeError): live orders are placed outside transactions.
    try:
        with transaction.atomic(durable=True):
            LiveOrder.objects.create(
                account=account,
                venue=account.venue,
                symbol=request.symbol,
                client_order_id=client_order_id,
                side=request.side.value,
                type=request.type.value,
                time_in_force=request.time_in_force.value,
                post_only=request.post_only,
                reduce_only=request.reduce_only,
                amount=_exact(request.amount),
                price=_exact_or_none(request.price),
                stop_price=_exact_or_none(request.stop_price),
                outcome=Outcome.SUBMITTING,
            )
    except IntegrityError:
        raise DuplicateOrder(
            f"an order {client_order_id!r} exists already on account {account_id}: "
            "fetch it instead of resending",
            details={"client_order_id": client_order_id, "account_id": str(account_id)},
        ) from None


def record_ack(ack: OrderAck) -> bool:
    """Merge the venue's view of an order into the ledger; True when its state changed (and
    ``OrderUpdated`` was published)."""
    account = _account(ack.account_id)
    for attempt in range(2):
        try:
            with transaction.atomic():
                return _record_ack(account, ack)
        except IntegrityError:
            # Another thread created the same order between our lookup and insert: merge
            # into its row now.
            if attempt:
                raise
    raise AssertionError("unreachable")


def record_fill(fill: Fill) -> bool:
    """Record one fill of a live order; True when it was new (and ``OrderFilled`` was
    published), False for a fill seen before."""
    account = _account(fill.account_id)
    with transaction.atomic():
        order = _order_of_fill(account, fill)
        client_order_id = fill.client_order_id or (order.client_order_id if order else "")
        try:
            with transaction.atomic():
                LiveFill.objects.create(
                    account=account,
                    order=order,
                    venue=account.venue,
                    symbol=fill.symbol,
                    fill_id=fill.fill_id,
                    client_order_id=client_order_id,
                    venue_order_id=fill.venue_order_id or "",
                    side=fill.side.value,
                    price=_exact(fill.price),
                    amount=_exact(fill.amount),
                    fee=_exact(fill.fee),
                    fee_currency=fill.fee_currency or "",
                    liquidity=fill.liquidity.value if fill.liquidity else "",
                    filled_at=fill.timestamp,
                )
        except IntegrityError:
            return False
        if order is not None:
            _fee_from_fills(order.pk)
        publish(
            OrderFilled(
                fill_id=fill.fill_id,
                account_id=account.pk,
                owner_id=account.owner_id,
                venue=account.venue,
                symbol=fill.symbol,
                client_order_id=client_order_id or None,
                venue_order_id=fill.venue_order_id,
                side=fill.side.value,
                price=_exact(fill.price),
                amount=_exact(fill.amount),
                fee=_exact(fill.fee),
                fee_currency=fill.fee_currency,
                liquidity=fill.liquidity.value if fill.liquidity else None,
                filled_at=fill.timestamp,
            )
        )
    return True


def record_unknown(*, account_id: UUID, client_order_id: str, reason: str) -> None:
    """The placement of an order got no usable answer: mark it for the reconciler. An order
    the venue has told us about meanwhile (a stream was faster) is left as it is."""
    updated = LiveOrder.objects.filter(
        account_id=account_id, client_order_id=client_order_id, outcome=Outcome.SUBMITTING
    ).update(outcome=Outcome.UNKNOWN, reason=reason[:_REASON_MAX], updated_at=timezone.now())
    if (
        not updated
        and not LiveOrder.objects.filter(
            account_id=account_id, client_order_id=client_order_id
        ).exists()
    ):
        logger.error(
            "unknown outcome for an order the ledger never saw",
            extra={"account_id": str(account_id), "client_order_id": client_order_id},
        )


# --- what the gateway and the reconciler conclude themselves --------------------------------


def record_refusal(*, account_id: UUID, client_order_id: str, reason: str) -> bool:
    """The placement ended without an order: the venue refused it (invalid order, funds,
    credentials) or it was never sent (breaker open, venue switched off). The intent becomes
    ``rejected`` with the reason; True (and ``OrderUpdated``) if it was still submitting."""
    return _conclude(
        Q(account_id=account_id, client_order_id=client_order_id, outcome=Outcome.SUBMITTING),
        outcome=Outcome.REFUSED,
        reason=reason,
    )


def record_not_found(*, order_id: UUID, reason: str) -> bool:
    """The reconciler's verdict: the venue never had this order. ``rejected`` with the reason
    and ``OrderUpdated``; False when the order was resolved meanwhile."""
    return _conclude(
        Q(pk=order_id, outcome__in=UNRESOLVED, status=""), outcome=Outcome.NOT_FOUND, reason=reason
    )


# --- internals --------------------------------------------------------------------------------


def _account(account_id: UUID) -> LiveAccount:
    account = LiveAccount.objects.filter(pk=account_id).first()
    if account is None:
        raise UnknownAccount(
            f"no live account {account_id}", details={"account_id": str(account_id)}
        )
    return account


def _exact(value: Decimal) -> Decimal:
    """``value`` as the ledger stores it (18 decimals, no padding), so that comparing what we
    hold with a fresh answer is not fooled by a different scale."""
    return plain(value.quantize(_STEP)) if value.is_finite() else value


def _exact_or_none(value: Decimal | None) -> Decimal | None:
    return None if value is None else _exact(value)


def _state_of(row: LiveOrder) -> OrderState:
    if row.outcome == Outcome.NOT_FOUND:
        # Our own inference: whatever the venue says about the order replaces it.
        status, reason = "", ""
    else:
        status, reason = row.status, row.reason
    return OrderState(
        status=status,
        filled=row.filled,
        average_price=row.average_price,
        fee=row.fee,
        fee_currency=row.fee_currency,
        venue_order_id=row.venue_order_id,
        reason=reason,
        venue_updated_at=row.venue_updated_at,
    )


def _state_of_ack(ack: OrderAck) -> OrderState:
    return OrderState(
        status=ack.status.value,
        filled=_exact(ack.filled),
        average_price=_exact_or_none(ack.average_price),
        fee=_exact(ack.fee),
        fee_currency=ack.fee_currency or "",
        venue_order_id=ack.venue_order_id or "",
        reason=ack.reason[:_REASON_MAX],
        venue_updated_at=ack.updated_at,
    )


def _row_for_ack(account: LiveAccount, ack: OrderAck) -> LiveOrder | None:
    rows = LiveOrder.objects.select_for_update().filter(account=account)
    venue_order_id = ack.venue_order_id or ""
    if ack.client_order_id:
        row = rows.filter(client_order_id=ack.client_order_id).first()
        if row is None or not (row.venue_order_id and venue_order_id):
            return row
        if row.venue_order_id == venue_order_id:
            return row
        # The same client id on another order: reused once the first one ended (Binance) or
        # a venue's generic label (Gate's "web" orders). Find that order by the venue's id.
    if not venue_order_id:
        return None
    return rows.filter(symbol=ack.symbol, venue_order_id=venue_order_id).first()


def _record_ack(account: LiveAccount, ack: OrderAck) -> bool:
    row = _row_for_ack(account, ack)
    incoming = _state_of_ack(ack)
    if row is None:
        row = _new_row(account, ack, incoming)
        if row is None:
            return False
        if _attach_fills(row):
            _raise_fee_to_fills(row)
        publish(_order_updated(row))
        return True
    if row.outcome == Outcome.REFUSED:
        logger.warning(
            "venue answer for an order it refused (client order id reused?) ignored",
            extra={"client_order_id": row.client_order_id, "venue_order_id": ack.venue_order_id},
        )
        return False
    before = _state_of(row)
    after = _fee_at_least_fills(row, merge(before, incoming))
    outcome_changed = row.outcome != Outcome.ACKNOWLEDGED
    # Our "never placed" verdict went out stamped now; the venue's correction must not look
    # older to a consumer that keeps the latest ``updated_at``.
    not_before = timezone.now() if row.outcome == Outcome.NOT_FOUND else None
    changed = outcome_changed or not after.same_as(_row_state(row))
    if not changed and after.venue_updated_at == row.venue_updated_at:
        return False
    gained_venue_id = not row.venue_order_id and bool(after.venue_order_id)
    row.status = after.status
    row.filled = after.filled
    row.average_price = after.average_price
    row.fee = after.fee
    row.fee_currency = after.fee_currency
    row.venue_order_id = after.venue_order_id
    row.reason = after.reason
    row.venue_updated_at = after.venue_updated_at
    row.outcome = Outcome.ACKNOWLEDGED
    if row.venue_created_at is None:
        row.venue_created_at = ack.created_at
    row.save()
    if gained_venue_id and _attach_fills(row):
        changed = _raise_fee_to_fills(row) or changed
    if changed:
        publish(_order_updated(row, not_before=not_before))
    return changed


def _row_state(row: LiveOrder) -> OrderState:
    """The row as stored (``_state_of`` without the not-found exception)."""
    return OrderState(
        status=row.status,
        filled=row.filled,
        average_price=row.average_price,
        fee=row.fee,
        fee_currency=row.fee_currency,
        venue_order_id=row.venue_order_id,
        reason=row.reason,
        venue_updated_at=row.venue_updated_at,
    )


def _new_row(account: LiveAccount, ack: OrderAck, state: OrderState) -> LiveOrder | None:
    """A row for an order the ledger did not know (placed outside DSTA)."""
    client_order_id = ack.client_order_id
    if (
        not client_order_id
        or LiveOrder.objects.filter(account=account, client_order_id=client_order_id).exists()
    ):
        if not state.venue_order_id:
            logger.warning("venue answer without an order id ignored", extra={"symbol": ack.symbol})
            return None
        # "~" is in no venue's client order id alphabet: this key cannot meet a real one.
        client_order_id = f"~{state.venue_order_id}"[:64]
    with transaction.atomic():
        return LiveOrder.objects.create(
            account=account,
            venue=account.venue,
            symbol=ack.symbol,
            client_order_id=client_order_id,
            venue_order_id=state.venue_order_id,
            side=ack.side.value,
            type=ack.type.value,
            time_in_force=ack.time_in_force.value,
            post_only=ack.post_only,
            reduce_only=ack.reduce_only,
            amount=_exact(ack.amount),
            price=_exact_or_none(ack.price),
            stop_price=_exact_or_none(ack.stop_price),
            status=state.status,
            filled=state.filled,
            average_price=state.average_price,
            fee=state.fee,
            fee_currency=state.fee_currency,
            reason=state.reason,
            outcome=Outcome.ACKNOWLEDGED,
            venue_created_at=ack.created_at,
            venue_updated_at=state.venue_updated_at,
        )


def _order_of_fill(account: LiveAccount, fill: Fill) -> LiveOrder | None:
    rows = LiveOrder.objects.filter(account=account)
    if fill.venue_order_id:
        row = rows.filter(symbol=fill.symbol, venue_order_id=fill.venue_order_id).first()
        if row is not None:
            return row
    if fill.client_order_id:
        row = rows.filter(client_order_id=fill.client_order_id).first()
        if row is not None and (
            not row.venue_order_id
            or not fill.venue_order_id
            or row.venue_order_id == fill.venue_order_id
        ):
            return row
    return None


def _attach_fills(row: LiveOrder) -> int:
    """Fills that arrived before their order (streams are not ordered) join it now; how many."""
    match = Q(client_order_id=row.client_order_id)
    if row.venue_order_id:
        match |= Q(venue_order_id=row.venue_order_id)
    return LiveFill.objects.filter(
        match, account_id=row.account_id, symbol=row.symbol, order=None
    ).update(order=row, client_order_id=row.client_order_id)


def _raise_fee_to_fills(row: LiveOrder) -> bool:
    """Save the order's fee raised to its recorded fills' sum (``_fee_at_least_fills``); True
    when it changed. The caller announces the order."""
    state = _state_of(row)
    after = _fee_at_least_fills(row, state)
    if after.fee == state.fee and after.fee_currency == state.fee_currency:
        return False
    row.fee, row.fee_currency = after.fee, after.fee_currency
    row.save(update_fields=["fee", "fee_currency"])
    return True


def _fee_from_fills(order_id: UUID) -> None:
    """After a new fill: raise its order's fee to the fills' sum and announce the order."""
    row = LiveOrder.objects.select_for_update().get(pk=order_id)
    if _raise_fee_to_fills(row):
        publish(_order_updated(row))


def _fee_at_least_fills(row: LiveOrder, state: OrderState) -> OrderState:
    """``state`` with its fee raised to the sum of the order's recorded fills' fees when they
    are in one currency (the order's, if it names one) and sum to more: order answers that
    carry no running fee (Binance, HTX) leave the total to the fills."""
    fees: dict[str, Decimal] = {}
    for currency, fee in row.fills.values_list("fee_currency", "fee"):
        fees[currency] = fees.get(currency, Decimal(0)) + fee
    if len(fees) != 1:
        return state
    [(currency, total)] = fees.items()
    if not currency or total <= state.fee or state.fee_currency not in ("", currency):
        return state
    return replace(state, fee=total, fee_currency=currency)


def _conclude(match: Q, *, outcome: str, reason: str) -> bool:
    with transaction.atomic():
        row = LiveOrder.objects.select_for_update().filter(match).first()
        if row is None:
            return False
        row.status = OrderStatus.REJECTED.value
        row.outcome = outcome
        row.reason = reason[:_REASON_MAX]
        row.save()
        publish(_order_updated(row))
    return True


def _order_updated(row: LiveOrder, *, not_before: datetime | None = None) -> OrderUpdated:
    updated_at = row.venue_updated_at or timezone.now()
    if not_before is not None and updated_at < not_before:
        updated_at = not_before
    return OrderUpdated(
        account_id=row.account_id,
        venue=row.venue,
        symbol=row.symbol,
        client_order_id=row.client_order_id,
        venue_order_id=row.venue_order_id or None,
        side=row.side,
        type=row.type,
        status=row.status,
        amount=row.amount,
        filled=row.filled,
        price=row.price,
        average_price=row.average_price,
        fee=row.fee,
        fee_currency=row.fee_currency or None,
        reason=row.reason,
        updated_at=updated_at,
    )
