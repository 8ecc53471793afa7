"""Events the exchange domain publishes, the same for a real venue and the paper exchange.

Pure contracts: pydantic payloads, no Django. No ``from __future__ import annotations``: the
bus reads these annotations at runtime. Order events are durable (outbox); market-data events
are transient (fast path, at most once).
"""

from datetime import datetime
from decimal import Decimal
from typing import ClassVar
from uuid import UUID

from pydantic import Field

from dsta.kernel.bus import Event


class OrderUpdated(Event):
    """An order's state changed on a venue: accepted, triggered, partly filled, filled,
    cancelled, expired or rejected. Carries the full state after the change, so a consumer
    can keep the latest one (order by ``updated_at``)."""

    name: ClassVar[str] = "dsta.exchange.order.updated.v1"
    minor: ClassVar[int] = 0

    account_id: UUID = Field(description="The exchange account the order belongs to.")
    venue: str = Field(description="binance, gateio, htx or paper.")
    symbol: str = Field(description="ccxt unified symbol, e.g. 'BTC/USDT'.")
    client_order_id: str = Field(description="Our id of the order (the idempotency key).")
    venue_order_id: str | None = Field(description="The venue's id of the order.")
    side: str = Field(description="buy or sell.")
    type: str = Field(description="market, limit or stop_limit.")
    status: str = Field(
        description="pending_trigger, open, partially_filled, filled, canceled, expired, rejected."
    )
    amount: Decimal = Field(description="Ordered amount in the base currency.")
    filled: Decimal = Field(description="Amount filled so far.")
    price: Decimal | None = Field(description="Limit price, none for a market order.")
    average_price: Decimal | None = Field(description="Average fill price, none before a fill.")
    fee: Decimal = Field(description="Fees charged so far, in fee_currency.")
    fee_currency: str | None = Field(description="Currency of the fee (the quote currency).")
    reason: str = Field(default="", description="Why it was rejected/expired/cancelled.")
    updated_at: datetime = Field(description="When the venue changed the order.")


class OrderFilled(Event):
    """One fill of an order: ``amount`` at ``price``, its fee charged exactly once.

    A venue may report a fill more than once: deduplicate by (``account_id``, ``symbol``,
    ``side``, ``fill_id``). Venues number trades per market, and both sides of a trade between
    two accounts (or a self-trade) carry the same id, so ``fill_id`` alone is not unique.
    """

    name: ClassVar[str] = "dsta.exchange.order.filled.v1"
    minor: ClassVar[int] = 1  # 1: owner_id added

    fill_id: str = Field(description="The venue's trade id of this fill.")
    account_id: UUID = Field(description="The exchange account the order belongs to.")
    owner_id: int | None = Field(
        default=None, description="The user owning the account (core's user id), when known."
    )
    venue: str = Field(description="binance, gateio, htx or paper.")
    symbol: str = Field(description="ccxt unified symbol, e.g. 'BTC/USDT'.")
    client_order_id: str | None = Field(description="Our id of the order, when known.")
    venue_order_id: str | None = Field(description="The venue's id of the order.")
    side: str = Field(description="buy or sell.")
    price: Decimal = Field(description="Execution price.")
    amount: Decimal = Field(description="Executed amount in the base currency.")
    fee: Decimal = Field(description="Fee of this fill.")
    fee_currency: str | None = Field(description="Currency of the fee.")
    liquidity: str | None = Field(description="maker or taker, when the venue says.")
    filled_at: datetime = Field(description="When the fill happened on the venue.")


class TickerUpdated(Event):
    """Best bid/ask and last price of a market changed (transient: at most once)."""

    name: ClassVar[str] = "dsta.exchange.ticker.updated.v1"
    minor: ClassVar[int] = 0
    durable: ClassVar[bool] = False

    venue: str = Field(description="binance, gateio, htx or paper.")
    symbol: str = Field(description="ccxt unified symbol.")
    bid: Decimal | None = Field(default=None, description="Best bid.")
    ask: Decimal | None = Field(default=None, description="Best ask.")
    last: Decimal | None = Field(default=None, description="Last trade price.")


class TradeExecuted(Event):
    """One trade on a market's public tape (transient: at most once). ``side`` is the
    aggressor's (the taker's) side, as venues report it."""

    name: ClassVar[str] = "dsta.exchange.trade.executed.v1"
    minor: ClassVar[int] = 0
    durable: ClassVar[bool] = False

    venue: str = Field(description="binance, gateio, htx or paper.")
    symbol: str = Field(description="ccxt unified symbol.")
    trade_id: str = Field(description="The venue's id of the trade.")
    price: Decimal = Field(description="Execution price.")
    amount: Decimal = Field(description="Executed amount in the base currency.")
    side: str | None = Field(description="The aggressor's side (buy or sell), when known.")
    traded_at: datetime = Field(description="When the trade happened on the venue.")


class OrderBookUpdated(Event):
    """A new order-book snapshot of a market (transient). Levels are ``[price, amount]``,
    bids best first, asks best first, at most the depth the publisher chose."""

    name: ClassVar[str] = "dsta.exchange.orderbook.updated.v1"
    minor: ClassVar[int] = 0
    durable: ClassVar[bool] = False

    venue: str = Field(description="binance, gateio, htx or paper.")
    symbol: str = Field(description="ccxt unified symbol.")
    bids: list[tuple[Decimal, Decimal]] = Field(description="[price, amount], best first.")
    asks: list[tuple[Decimal, Decimal]] = Field(description="[price, amount], best first.")
    sequence: int | None = Field(default=None, description="The venue's update id, if any.")


class VenueStatusChanged(Event):
    """A venue's connection changed: its circuit breaker opened, went half-open (one probe) or
    closed again, or one of its streams connected or dropped. Durable: alerting and the
    dashboard must not miss an outage."""

    name: ClassVar[str] = "dsta.exchange.venue.status_changed.v1"
    minor: ClassVar[int] = 0

    venue: str = Field(description="binance, gateio, htx or paper.")
    component: str = Field(description="'breaker' (REST) or 'websocket'.")
    status: str = Field(description="breaker: open, half_open or closed; websocket: up or down.")
    previous: str | None = Field(default=None, description="The status before the change.")
    reason: str = Field(default="", description="Why it changed (last error, probe result).")
    changed_at: datetime = Field(description="When the change happened.")
