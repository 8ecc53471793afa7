"""Paper exchange throughput and rate-limiter decisions/s, each beside a baseline.

Run: ``.venv/bin/python bench/exchange.py [--orders 20000] [--books 5000] [--decisions 20000]
[--rounds 3] [--redis redis://127.0.0.1:6379/0]``

The matching engine is measured in memory (no database), on BTC/USDT with Binance's rules,
a 20-level book a side and one account. Each figure is the best of ``--rounds`` rounds,
baseline and engine alternating. What is measured:

1. Orders/s: ``PaperEngine.place`` of a repeating round of three orders — a resting limit buy
   below the book, a crossing limit buy that takes one level and rests the rest, a market sell
   walking two levels — plus the two cancels that end the resting ones (timed too, counted as
   no orders), with the book refreshed (untimed) after each round so liquidity never runs
   out. Rounding, limit checks, fund locking, fills and fees are all in. Baseline: a bare loop
   appending one tuple per order to a list.
2. Book updates/s: ``PaperEngine.set_book`` of a fresh 20-level snapshot with 50 resting orders
   on the book that the update does not cross (so every update installs the book, checks stops
   and scans the resting orders). Baseline: a dict update of the same 40 price levels.
3. Rate-limiter decisions/s against Redis: ``RedisLimiter.acquire`` (the GCRA Lua script, one
   round trip) charging one bucket (a venue's weight) and two (weight + the credential's order
   count, as a new Binance order does), on buckets large enough that every request is admitted
   (a refusal costs the same round trip). Baseline: a bare Redis ``INCR`` round trip on the same
   connection. Beside them the in-process ``LocalLimiter`` (the fallback), baseline a dict
   read-and-write under a lock. Skipped with a note when Redis is not reachable.
"""

import argparse
import os
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import count
from pathlib import Path
from uuid import uuid4

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from domains.exchange.api import (  # noqa: E402 (after the path setup)
    BookLevel,
    MarketInfo,
    MarketType,
    OrderBook,
    OrderRequest,
    OrderSide,
    OrderType,
    PrecisionMode,
)
from domains.exchange.services.paper.engine import PaperEngine  # noqa: E402
from domains.exchange.services.paper.state import (  # noqa: E402
    AssetBalance,
    PaperAccountState,
    PaperConfig,
)
from domains.exchange.services.resilience.ratelimit import (  # noqa: E402
    Bucket,
    Charge,
    LocalLimiter,
    RedisLimiter,
)

MARKET = MarketInfo(
    venue="paper",
    symbol="BTC/USDT",
    venue_symbol="BTCUSDT",
    base="BTC",
    quote="USDT",
    market_type=MarketType.SPOT,
    active=True,
    precision_mode=PrecisionMode.TICK_SIZE,
    amount_precision=Decimal("0.00001"),
    price_precision=Decimal("0.01"),
    min_amount=Decimal("0.00001"),
    min_notional=Decimal(5),
)
LEVELS = 20


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2024, 1, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.now += timedelta(microseconds=1)
        return self.now


def snapshot(clock: Clock, mid: int = 60_000) -> OrderBook:
    return OrderBook(
        venue="paper",
        symbol="BTC/USDT",
        timestamp=clock.now,
        bids=tuple(BookLevel(Decimal(mid - 1 - i), Decimal(1)) for i in range(LEVELS)),
        asks=tuple(BookLevel(Decimal(mid + 1 + i), Decimal(1)) for i in range(LEVELS)),
    )


def new_engine() -> tuple[PaperEngine, Clock, object]:
    clock = Clock()
    ids = count()
    engine = PaperEngine(
        venue="paper", markets=[MARKET], clock=clock, new_id=lambda: str(next(ids))
    )
    account_id = uuid4()
    engine.add_account(
        PaperAccountState(
            account_id=account_id,
            config=PaperConfig(),
            balances={
                "USDT": AssetBalance(free=Decimal(10) ** 12),
                "BTC": AssetBalance(free=Decimal(10) ** 9),
            },
        )
    )
    engine.set_book(snapshot(clock))
    return engine, clock, account_id


def _timed(work: Callable[[], object]) -> float:
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def bench_orders(n: int) -> float:
    engine, clock, account_id = new_engine()
    resting = OrderRequest(
        symbol="BTC/USDT",
        side=OrderSide.BUY,
        type=OrderType.LIMIT,
        amount=Decimal("0.01"),
        price=Decimal(50_000),
    )
    crossing = OrderRequest(
        symbol="BTC/USDT",
        side=OrderSide.BUY,
        type=OrderType.LIMIT,
        amount=Decimal("1.2"),
        price=Decimal(60_001),
    )
    market_sell = OrderRequest(
        symbol="BTC/USDT", side=OrderSide.SELL, type=OrderType.MARKET, amount=Decimal("1.5")
    )
    book = snapshot(clock)
    placed = 0
    elapsed = 0.0
    while placed < n:
        start = time.perf_counter()
        first, _ = engine.place(account_id=account_id, request=resting)  # type: ignore[arg-type]
        second, _ = engine.place(account_id=account_id, request=crossing)  # type: ignore[arg-type]
        engine.place(account_id=account_id, request=market_sell)  # type: ignore[arg-type]
        engine.cancel(account_id=account_id, client_order_id=first.client_order_id)  # type: ignore[arg-type]
        engine.cancel(account_id=account_id, client_order_id=second.client_order_id)  # type: ignore[arg-type]
        elapsed += time.perf_counter() - start
        placed += 3
        engine.set_book(book)  # untimed: fresh liquidity for the next round
    return placed / elapsed


def bench_orders_baseline(n: int) -> float:
    def loop() -> None:
        orders: list[tuple[str, str, Decimal, Decimal]] = []
        for i in range(n):
            orders.append(("BTC/USDT", "buy", Decimal("0.01"), Decimal(i)))

    return n / _timed(loop)


def bench_books(n: int) -> float:
    engine, clock, account_id = new_engine()
    for i in range(50):
        engine.place(
            account_id=account_id,  # type: ignore[arg-type]
            request=OrderRequest(
                symbol="BTC/USDT",
                side=OrderSide.BUY,
                type=OrderType.LIMIT,
                amount=Decimal("0.01"),
                price=Decimal(50_000 + i),
            ),
        )
    books = [snapshot(clock, mid=60_000 + (i % 7)) for i in range(n)]
    return n / _timed(lambda: [engine.set_book(book) for book in books])


def bench_books_baseline(n: int) -> float:
    updates = [
        {
            Decimal(60_000 + (i % 7) + side * (1 + j)): Decimal("0.5")
            for side in (-1, 1)
            for j in range(LEVELS)
        }
        for i in range(n)
    ]

    def loop() -> None:
        levels: dict[Decimal, Decimal] = {}
        for update in updates:
            levels.update(update)

    return n / _timed(loop)


# Big enough that nothing is refused during a run: we time decisions, not waiting.
WEIGHT = Bucket("bench:binance:request_weight", limit=1e12, period=60)
ORDERS = Bucket("bench:binance:cred:1:orders", limit=1e12, period=10)


def bench_redis_limiter(client: object, n: int, charges: list[Charge]) -> float:
    limiter = RedisLimiter(client, namespace=f"bench-{uuid4().hex}")  # type: ignore[arg-type]
    limiter.acquire(charges)  # load the script once, outside the timing
    return n / _timed(lambda: [limiter.acquire(charges) for _ in range(n)])


def bench_redis_incr(client: object, n: int) -> float:
    key = f"bench-{uuid4().hex}:counter"
    incr = client.incr  # type: ignore[attr-defined]
    elapsed = _timed(lambda: [incr(key) for _ in range(n)])
    client.delete(key)  # type: ignore[attr-defined]
    return n / elapsed


def bench_local_limiter(n: int) -> float:
    limiter = LocalLimiter()
    charges = [Charge(WEIGHT, 1.0)]
    return n / _timed(lambda: [limiter.acquire(charges) for _ in range(n)])


def bench_local_baseline(n: int) -> float:
    state: dict[str, float] = {}
    lock = threading.Lock()

    def loop() -> None:
        for _ in range(n):
            with lock:
                state["k"] = max(state.get("k", 0.0), time.time()) + 0.001

    return n / _timed(loop)


def redis_client(url: str) -> object | None:
    try:
        import redis

        client = redis.Redis.from_url(url, socket_connect_timeout=1)
        client.ping()
    except Exception as error:  # a missing server is a note, not a crash
        print(f"(Redis at {url} not reachable: {type(error).__name__}; limiter rows skipped)")
        return None
    return client


def paired(
    rounds: int, measure: Callable[[], float], baseline: Callable[[], float]
) -> tuple[float, float]:
    """Best of ``rounds`` for each, the two alternating so that load from elsewhere on the
    machine falls on both alike."""
    measured, based = [], []
    for _ in range(rounds):
        based.append(baseline())
        measured.append(measure())
    return max(measured), max(based)


def best_of(rounds: int, measure: Callable[[], float]) -> float:
    return max(measure() for _ in range(rounds))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--orders", type=int, default=20_000, help="Orders per round.")
    parser.add_argument("--books", type=int, default=5_000, help="Book updates per round.")
    parser.add_argument("--decisions", type=int, default=20_000, help="Limiter decisions.")
    parser.add_argument("--rounds", type=int, default=3, help="Rounds per measure (best kept).")
    parser.add_argument(
        "--redis", default=os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
    )
    args = parser.parse_args()

    rows = []
    orders = best_of(args.rounds, lambda: bench_orders(args.orders))
    orders_base = best_of(args.rounds, lambda: bench_orders_baseline(args.orders))
    rows.append(("paper orders/s (engine)", orders, "list.append of a tuple", orders_base))
    books = best_of(args.rounds, lambda: bench_books(args.books))
    books_base = best_of(args.rounds, lambda: bench_books_baseline(args.books))
    rows.append(("paper book updates/s (engine)", books, "dict.update of 40 levels", books_base))
    client = redis_client(args.redis)
    if client is not None:
        n = args.decisions
        rounds = max(args.rounds, 5)  # a shared machine: more rounds, alternating
        one, incr_one = paired(
            rounds,
            lambda: bench_redis_limiter(client, n, [Charge(WEIGHT, 5.0)]),
            lambda: bench_redis_incr(client, n),
        )
        two, incr_two = paired(
            rounds,
            lambda: bench_redis_limiter(client, n, [Charge(WEIGHT, 1.0), Charge(ORDERS, 1.0)]),
            lambda: bench_redis_incr(client, n),
        )
        rows.append(("redis limiter decisions/s, 1 bucket", one, "redis INCR round trip", incr_one))
        rows.append(
            ("redis limiter decisions/s, 2 buckets", two, "redis INCR round trip", incr_two)
        )
    local, local_base = paired(
        args.rounds,
        lambda: bench_local_limiter(args.decisions),
        lambda: bench_local_baseline(args.decisions),
    )
    rows.append(("local limiter decisions/s", local, "dict write under a lock", local_base))

    print(f"{'measure':38} {'per second':>12}   {'baseline':26} {'per second':>12}   ratio")
    for name, value, base_name, base in rows:
        print(f"{name:38} {value:12,.0f}   {base_name:26} {base:12,.0f}   {value / base:6.3f}")


if __name__ == "__main__":
    main()
