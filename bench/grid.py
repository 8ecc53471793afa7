"""A 1,000-combination SMA-crossover grid on 1,000,000 one-minute bars, with 1 and 2 workers.

    .venv/bin/python bench/grid.py [--bars 1000000] [--combos 1000] [--workers 1 2]
                                   [--mode processes|service|both] [--chunk 25]

The bars are a synthetic random walk (fixed seed 42). The grid is fast x slow, every
combination valid (fast < slow), 0.1 % fees, next-open fills, the vectorised engine path.

Modes (say which when you quote a number):

processes  ``multiprocessing`` (fork) pools of 1 and 2 processes evaluating chunks of the grid
           with ``evaluate_one``, the exact per-combination function the optimisation's chunk
           workers run (engine + metrics + period returns for PBO). No database, no broker:
           the parallel speed-up of the computation itself.
service    the real fan-out: candles stored in a temporary SQLite database, ``optimize_start``
           queues the parent job, chunk messages go to dramatiq's in-process broker, and a
           worker with 1 and then 2 *threads* runs them (the embedded mode of ``serve``).
           Threads share one interpreter: the compiled engine loops release the GIL
           (``nogil=True``), the Python around each evaluation does not, so threads get
           somewhat less than processes; production runs ``manage.py run_worker`` processes
           (Redis/RabbitMQ broker), which scale like the processes mode.
"""

import argparse
import atexit
import multiprocessing
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
T0 = 1_577_836_800_000  # 2020-01-01T00:00:00Z
SEED = 42

_BARS: Any = None  # set before the pool forks, so every process shares the pages


def make_prices(bars: int, seed: int = SEED) -> dict[str, np.ndarray]:
    """A random-walk 1m OHLCV series that passes every candle check."""
    rng = np.random.default_rng(seed)
    close = 30_000 * np.exp(np.cumsum(rng.normal(0, 5e-4, bars)))
    open_ = np.r_[30_000.0, close[:-1]]
    return {
        "open_time": T0 + 60_000 * np.arange(bars, dtype=np.int64),
        "open": open_,
        "high": np.maximum(open_, close) * (1 + np.abs(rng.normal(0, 2e-4, bars))),
        "low": np.minimum(open_, close) * (1 - np.abs(rng.normal(0, 2e-4, bars))),
        "close": close,
        "volume": rng.uniform(0, 50, bars),
    }


def make_grid(combos: int) -> dict[str, list[int]]:
    """fast x slow with about ``combos`` combinations, all with fast < slow."""
    fast_count = max(1, round((combos / 40) ** 0.5 * 5))
    slow_count = max(1, combos // fast_count)
    fast = [5 + 2 * i for i in range(fast_count)]
    slow = [fast[-1] + 10 + 10 * i for i in range(slow_count)]
    return {"fast": fast, "slow": slow}


def _chunk(combos: list[dict[str, Any]]) -> list[Any]:
    from domains.data.services.backtests.evaluation import evaluate_one
    from dsta.quant import EngineConfig, Fees, get_strategy

    cls = get_strategy("sma_crossover")
    config = EngineConfig(fees=Fees(0.001, 0.001))
    return [
        evaluate_one(cls, _BARS, combo, config, style="vectorised")[0]["metrics"]["sharpe"]
        for combo in combos
    ]


def run_processes(prices: dict[str, np.ndarray], grid: dict[str, list[int]], workers: list[int],
                  chunk: int) -> dict[int, float]:  # fmt: skip
    global _BARS
    from dsta.quant import Bars

    _BARS = Bars.from_arrays(
        prices["open_time"], prices["open"], prices["high"], prices["low"], prices["close"],
        prices["volume"], symbols=("BTC/USDT",), timeframe="1m",
    )  # fmt: skip
    combos = [{"fast": f, "slow": s} for f in grid["fast"] for s in grid["slow"]]
    chunks = [combos[i : i + chunk] for i in range(0, len(combos), chunk)]
    _chunk(combos[:1])  # compile / load the numba cache before timing
    times: dict[int, float] = {}
    reference = None
    context = multiprocessing.get_context("fork")
    for n in workers:
        started = time.perf_counter()
        with context.Pool(n) as pool:
            sharpes = [s for part in pool.map(_chunk, chunks, chunksize=1) for s in part]
        times[n] = time.perf_counter() - started
        if reference is None:
            reference = sharpes
        assert np.allclose(sharpes, reference, equal_nan=True), "workers disagree"
        print(f"  processes={n}: {times[n]:7.2f} s  ({len(combos) / times[n]:6.1f} combos/s)")
    return times


def _django(database: str) -> None:
    os.environ["DATABASE_URL"] = f"sqlite:///{database}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dsta.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def run_service(prices: dict[str, np.ndarray], grid: dict[str, list[int]], workers: list[int],
                chunk: int) -> dict[int, float]:  # fmt: skip
    folder = tempfile.mkdtemp(prefix="dsta-grid-")
    # The database (about 100 MB for a million candles) goes when the process exits.
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    _django(str(Path(folder) / "bench.sqlite3"))
    import dramatiq
    import pandas as pd

    from domains.data import tasks
    from domains.data.models import Optimization
    from domains.data.services.backtests.optimize import optimize_start, search_request
    from domains.data.services.store import candles_upsert
    from dsta.kernel.jobs.api import build_broker, get_job, start_worker
    from dsta.kernel.market import SeriesKey

    key = SeriesKey.of("binance", "spot", "BTC/USDT", "trades", "1m")
    started = time.perf_counter()
    candles_upsert(series=key, frame=pd.DataFrame(prices), now_ms=T0 + 10**13)
    print(f"  stored {len(prices['close']):,} candles in {time.perf_counter() - started:.1f} s")
    actors: list[dramatiq.Actor[Any, Any]] = [
        tasks.backtest_optimize,
        tasks.backtest_optimize_chunk,
    ]
    times: dict[int, float] = {}
    reference = None
    for n in workers:
        broker = build_broker("inprocess")
        for actor in actors:
            actor.broker = broker
            broker.declare_actor(actor)
        running = start_worker(broker, threads=n, worker_timeout_ms=50)
        request = search_request(
            strategy="sma_crossover",
            series=key.as_dict(),
            space=grid,
            chunk_size=chunk,
            config={"fees": {"maker": 0.001, "taker": 0.001}},
            style="vectorised",
        )
        began = time.perf_counter()
        study = optimize_start(request=request, owner_id=None)
        broker.join(tasks.BACKTEST_QUEUE, timeout=3_600_000)
        running.join()
        times[n] = time.perf_counter() - began
        running.stop()
        assert study.job_id is not None
        info = get_job(study.job_id)
        assert info.status.value == "succeeded", info.error
        best = Optimization.objects.get(pk=study.pk).best_params
        reference = reference or best
        assert best == reference, "workers disagree"
        combos = len(grid["fast"]) * len(grid["slow"])
        print(f"  threads={n}: {times[n]:7.2f} s  ({combos / times[n]:6.1f} combos/s)  "
              f"best {best}")  # fmt: skip
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bars", type=int, default=1_000_000)
    parser.add_argument("--combos", type=int, default=1_000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--mode", choices=["processes", "service", "both"], default="processes")
    parser.add_argument("--chunk", type=int, default=25, help="combinations per chunk")
    args = parser.parse_args()
    prices = make_prices(args.bars)
    grid = make_grid(args.combos)
    combos = len(grid["fast"]) * len(grid["slow"])
    print(
        f"grid: {len(grid['fast'])} fast x {len(grid['slow'])} slow = {combos} combinations on "
        f"{args.bars:,} 1m bars (seed {SEED}), chunks of {args.chunk}; {os.cpu_count()} CPUs"
    )
    modes = ["processes", "service"] if args.mode == "both" else [args.mode]
    for mode in modes:
        print(f"{mode}:")
        runner = run_processes if mode == "processes" else run_service
        times = runner(prices, grid, args.workers, args.chunk)
        if 1 in times:
            for n, seconds in sorted(times.items()):
                if n != 1:
                    print(f"  speed-up with {n}: {times[1] / seconds:.2f}x")


if __name__ == "__main__":
    main()
