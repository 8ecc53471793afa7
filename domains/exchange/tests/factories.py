"""Test data for the exchange domain: markets, books and a paper engine on a manual clock."""

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import count
from uuid import UUID, uuid4

from domains.exchange.api import (
    BookLevel,
    MarketInfo,
    MarketType,
    OrderBook,
    PrecisionMode,
)
from domains.exchange.services.paper.engine import PaperEngine
from domains.exchange.services.paper.state import AssetBalance, PaperAccountState, PaperConfig

T0 = datetime(2024, 1, 1, tzinfo=UTC)


def btc_usdt(venue: str = "paper", **overrides: object) -> MarketInfo:
    """BTC/USDT with Binance's real spot rules: lot 0.00001, tick 0.01, min notional 5."""
    values: dict[str, object] = {
        "venue": venue,
        "symbol": "BTC/USDT",
        "venue_symbol": "BTCUSDT",
        "base": "BTC",
        "quote": "USDT",
        "market_type": MarketType.SPOT,
        "active": True,
        "precision_mode": PrecisionMode.TICK_SIZE,
        "amount_precision": Decimal("0.00001"),
        "price_precision": Decimal("0.01"),
        "min_amount": Decimal("0.00001"),
        "max_amount": Decimal("9000"),
        "min_notional": Decimal("5"),
    }
    values.update(overrides)
    return MarketInfo(**values)  # type: ignore[arg-type]


def book(
    bids: list[tuple[str, str]],
    asks: list[tuple[str, str]],
    *,
    symbol: str = "BTC/USDT",
    at: datetime = T0,
) -> OrderBook:
    return OrderBook(
        venue="paper",
        symbol=symbol,
        timestamp=at,
        bids=tuple(BookLevel(Decimal(p), Decimal(a)) for p, a in bids),
        asks=tuple(BookLevel(Decimal(p), Decimal(a)) for p, a in asks),
    )


@dataclass
class ManualClock:
    """A clock tests move by hand: no sleeps."""

    now: datetime = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class EngineHarness:
    engine: PaperEngine
    clock: ManualClock
    account_id: UUID
    ids: "count[int]" = field(default_factory=lambda: count(1))

    def balance(self, asset: str) -> AssetBalance:
        return self.engine.accounts[self.account_id].balance(asset)


def harness(
    *,
    balances: dict[str, str] | None = None,
    config: PaperConfig | None = None,
    markets: list[MarketInfo] | None = None,
) -> EngineHarness:
    """A paper engine with one account (10 000 USDT and 1 BTC unless told) on a manual clock."""
    clock = ManualClock()
    ids = count(1)
    engine = PaperEngine(
        venue="paper",
        markets=markets or [btc_usdt()],
        clock=clock,
        new_id=lambda: f"p{next(ids)}",
    )
    account_id = uuid4()
    start = balances if balances is not None else {"USDT": "10000", "BTC": "1"}
    engine.add_account(
        PaperAccountState(
            account_id=account_id,
            config=config or PaperConfig(),
            balances={asset: AssetBalance(free=Decimal(v)) for asset, v in start.items()},
        )
    )
    return EngineHarness(engine=engine, clock=clock, account_id=account_id)
