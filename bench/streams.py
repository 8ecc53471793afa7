"""Venue depth-stream throughput: updates/s kept in a local book, beside a baseline.

Run: ``.venv/bin/python bench/streams.py [--updates 20000] [--levels 1000] [--changes 10]
[--rounds 3]``

A Binance-shaped book is synced from a ``--levels``-a-side snapshot, then fed ``--updates``
``depthUpdate`` frames as JSON text, each changing ``--changes`` levels near the top (a third
removals, the rest new quantities). What is measured, best of ``--rounds``:

1. **Stream path**: ``json.loads`` -> ``read_binance`` -> ``binance_delta`` ->
   ``SequencedBook.on_delta`` (sequence check, Decimal parse, level update) and the top-50 book
   the stream publishes after every update (``OrderBook`` of ``BookLevel``s; publishing itself,
   the bus, is not included).
2. **Baseline**: ``json.loads`` and the same level changes applied to two dicts with ``Decimal``
   keys: the least any keeper of a local book does per frame, with no sequence check and no
   published top of book.
3. **Reference**: the baseline plus a top 50 by sorting each side after every update (what
   ``SequencedBook`` did before it kept its prices sorted).
"""

import argparse
import asyncio
import json
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from domains.exchange.adapters.binance_depth import binance_delta  # noqa: E402
from domains.exchange.adapters.market_frames import DepthUpdate, read_binance  # noqa: E402
from domains.exchange.adapters.sequenced_book import SequencedBook  # noqa: E402
from domains.exchange.api import BookLevel, OrderBook  # noqa: E402

MID = 60_000.0
TICK = 0.01


def snapshot(levels: int) -> OrderBook:
    from datetime import UTC, datetime

    return OrderBook(
        venue="binance",
        symbol="BTC/USDT",
        timestamp=datetime.now(UTC),
        bids=tuple(
            BookLevel(Decimal(f"{MID - (i + 1) * TICK:.2f}"), Decimal("1.5")) for i in range(levels)
        ),
        asks=tuple(
            BookLevel(Decimal(f"{MID + (i + 1) * TICK:.2f}"), Decimal("1.5")) for i in range(levels)
        ),
        sequence=1000,
    )


def frames(count: int, changes: int) -> list[str]:
    out = []
    for n in range(count):
        bids: list[list[str]] = []
        asks: list[list[str]] = []
        for k in range(changes):
            offset = (n * 7 + k * 13) % 60 + 1
            quantity = "0" if k % 3 == 0 else f"{0.1 + (n + k) % 17 / 10:.1f}"
            side = bids if k % 2 == 0 else asks
            price = MID - offset * TICK if side is bids else MID + offset * TICK
            side.append([f"{price:.2f}", quantity])
        update = 1001 + n
        out.append(
            json.dumps(
                {"e": "depthUpdate", "E": 0, "s": "BTCUSDT", "U": update, "u": update,
                 "b": bids, "a": asks}
            )
        )  # fmt: skip
    return out


async def _nothing(_book: OrderBook) -> None:
    return None


def stream_path(texts: list[str], levels: int) -> float:
    book_snapshot = snapshot(levels)

    async def take() -> OrderBook:
        return book_snapshot

    book = SequencedBook(
        venue="binance", symbol="BTC/USDT", rule=binance_delta, snapshot=take, on_book=_nothing
    )

    async def run() -> float:
        await book.on_delta(binance_delta(_first()))
        started = time.perf_counter()
        for text in texts:
            item = read_binance(json.loads(text))
            assert isinstance(item, DepthUpdate)
            await book.on_delta(binance_delta(item.event))
        return time.perf_counter() - started

    def _first() -> dict[str, Any]:
        # An update straddling the snapshot's id syncs the book (untimed).
        return {"e": "depthUpdate", "s": "BTCUSDT", "U": 1000, "u": 1000, "b": [], "a": []}

    elapsed = asyncio.run(run())
    assert book.synced, "the benchmark stream must sync"
    assert book.gaps == 0, "the benchmark stream must not gap"
    return elapsed


def baseline(texts: list[str], levels: int, *, sort_top: bool = False) -> float:
    book = snapshot(levels)
    bids = {level.price: level.amount for level in book.bids}
    asks = {level.price: level.amount for level in book.asks}
    started = time.perf_counter()
    for text in texts:
        event = json.loads(text)
        for side, rows in ((bids, event["b"]), (asks, event["a"])):
            for price_text, amount_text in rows:
                price, amount = Decimal(price_text), Decimal(amount_text)
                if amount:
                    side[price] = amount
                else:
                    side.pop(price, None)
        if sort_top:
            sorted(bids.items(), reverse=True)[:50]
            sorted(asks.items())[:50]
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--updates", type=int, default=20_000)
    parser.add_argument("--levels", type=int, default=1000)
    parser.add_argument("--changes", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    texts = frames(args.updates, args.changes)
    ours, base, sorting = [], [], []
    for _ in range(args.rounds):
        base.append(baseline(texts, args.levels))
        sorting.append(baseline(texts, args.levels, sort_top=True))
        ours.append(stream_path(texts, args.levels))
    ours_rate, base_rate = args.updates / min(ours), args.updates / min(base)
    sort_rate = args.updates / min(sorting)
    print(
        f"depth updates ({args.levels} levels a side, {args.changes} changes each), "
        f"best of {args.rounds}:"
    )
    print(f"  stream path (sequence check + top-50 book): {ours_rate:>12,.0f} updates/s")
    print(f"  baseline (json + dict updates)           : {base_rate:>12,.0f} updates/s")
    print(f"  ratio stream/baseline                    : {ours_rate / base_rate:>12.3f}")
    print(f"  reference: baseline + sort for the top 50: {sort_rate:>12,.0f} updates/s")


if __name__ == "__main__":
    main()
