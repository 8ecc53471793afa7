"""The paper engine's state: per-account configuration and balances, orders, and results."""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from uuid import UUID

from domains.exchange.api import (
    AccountBalances,
    Balance,
    Fill,
    OrderAck,
    OrderSide,
    OrderStatus,
    OrderType,
    TimeInForce,
)
from dsta.kernel.errors import InvalidInput

BPS = Decimal(10_000)
ZERO = Decimal(0)


@dataclass(frozen=True)
class PaperConfig:
    """How one paper account is treated: fee rates, order latency, taker slippage.

    ``market_buy_buffer_bps`` is the headroom locked for a market buy above its cost estimated
    from the book at placement (the book may move before the order arrives); a market buy never
    spends more than it locked.
    """

    maker_fee: Decimal = Decimal("0.001")
    taker_fee: Decimal = Decimal("0.001")
    latency: timedelta = timedelta(0)
    slippage_bps: Decimal = ZERO
    market_buy_buffer_bps: Decimal = Decimal(100)

    def __post_init__(self) -> None:
        for name in ("maker_fee", "taker_fee"):
            rate = getattr(self, name)
            if not (ZERO <= rate < Decimal("0.1")):
                raise InvalidInput(f"{name} must be in [0, 0.1)", details={"field": name})
        if self.latency < timedelta(0):
            raise InvalidInput("latency must not be negative", details={"field": "latency"})
        for name in ("slippage_bps", "market_buy_buffer_bps"):
            if not (ZERO <= getattr(self, name) < BPS):
                raise InvalidInput(f"{name} must be in [0, 10000)", details={"field": name})

    @property
    def max_fee(self) -> Decimal:
        return max(self.maker_fee, self.taker_fee)


@dataclass
class AssetBalance:
    free: Decimal = ZERO
    locked: Decimal = ZERO


@dataclass
class PaperAccountState:
    """A paper account as the engine sees it: its config and a balance per asset."""

    account_id: UUID
    config: PaperConfig
    balances: dict[str, AssetBalance] = field(default_factory=dict)

    def balance(self, asset: str) -> AssetBalance:
        """The balance of ``asset``, created empty on first use."""
        return self.balances.setdefault(asset, AssetBalance())

    def lock(self, asset: str, amount: Decimal) -> None:
        balance = self.balance(asset)
        balance.free -= amount
        balance.locked += amount

    def release(self, asset: str, amount: Decimal) -> None:
        balance = self.balance(asset)
        balance.locked -= amount
        balance.free += amount

    def to_dto(self, *, venue: str, at: datetime) -> AccountBalances:
        return AccountBalances(
            account_id=self.account_id,
            venue=venue,
            timestamp=at,
            balances=tuple(
                Balance(asset=asset, free=bal.free, locked=bal.locked)
                for asset, bal in sorted(self.balances.items())
            ),
        )


_WORKING = frozenset({OrderStatus.OPEN, OrderStatus.PARTIALLY_FILLED})


@dataclass
class PaperOrderState:
    """One order inside the engine, with the funds it still holds locked (``reserved``)."""

    venue_order_id: str
    account_id: UUID
    client_order_id: str
    symbol: str
    side: OrderSide
    type: OrderType
    time_in_force: TimeInForce
    amount: Decimal
    price: Decimal | None
    stop_price: Decimal | None
    post_only: bool
    reduce_only: bool
    status: OrderStatus
    created_at: datetime
    updated_at: datetime
    active_at: datetime  # when it reaches the simulated venue (created_at + latency)
    reserve_asset: str  # quote for a buy, base for a sell
    reserved: Decimal
    fee_currency: str
    filled: Decimal = ZERO
    cost: Decimal = ZERO  # sum of price * amount over the fills
    fee: Decimal = ZERO
    arrived: bool = False
    triggered: bool = False
    reason: str = ""

    @property
    def remaining(self) -> Decimal:
        return self.amount - self.filled

    @property
    def resting(self) -> bool:
        """Arrived, triggered when it is a stop, and waiting on the book for a counterparty."""
        return self.arrived and self.status in _WORKING

    @property
    def average_price(self) -> Decimal | None:
        return self.cost / self.filled if self.filled else None

    def to_ack(self, *, venue: str) -> OrderAck:
        return OrderAck(
            account_id=self.account_id,
            venue=venue,
            symbol=self.symbol,
            client_order_id=self.client_order_id,
            venue_order_id=self.venue_order_id,
            side=self.side,
            type=self.type,
            status=self.status,
            amount=self.amount,
            filled=self.filled,
            price=self.price,
            stop_price=self.stop_price,
            average_price=self.average_price,
            fee=self.fee,
            fee_currency=self.fee_currency,
            time_in_force=self.time_in_force,
            post_only=self.post_only,
            reduce_only=self.reduce_only,
            created_at=self.created_at,
            updated_at=self.updated_at,
            reason=self.reason,
        )


@dataclass
class EngineResult:
    """What one engine call changed: orders (each once, in first-change order) and new fills."""

    orders: list[PaperOrderState] = field(default_factory=list)
    fills: list[Fill] = field(default_factory=list)
    _seen: set[str] = field(default_factory=set, repr=False)

    def touch(self, order: PaperOrderState) -> None:
        if order.venue_order_id not in self._seen:
            self._seen.add(order.venue_order_id)
            self.orders.append(order)

    def extend(self, other: "EngineResult") -> None:
        for order in other.orders:
            self.touch(order)
        self.fills.extend(other.fills)
