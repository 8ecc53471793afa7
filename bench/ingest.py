"""Candle ingest and read throughput on PostgreSQL, beside its baselines.

    .venv/bin/python bench/ingest.py [--rows 1000000] [--server postgres://...]

Creates a temporary database on the server, migrates it, and measures with the same rows:

write  candles_upsert of new candles (checks + binary COPY into the table)    the project's path
       candles_upsert again over the same range (nothing changes)              idempotent re-ingest
       candles_upsert of new candles inside the stored range (staging + ON CONFLICT)
       psql \\copy from CSV (subprocess psql)                                  the practical limit
       Django bulk_create of Candle instances                                  the naive path
read   candles_arrays over the whole range (COPY TO binary -> numpy)           the project's path
       raw psycopg COPY TO of the same query, bytes only                       the floor

Each write goes to its own series so nothing conflicts. The database is dropped at the end.
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlparse, urlunparse

import numpy as np
import pandas as pd
import psycopg

ROOT = Path(__file__).resolve().parents[1]
T0 = 1_577_836_800_000  # 2020-01-01T00:00:00Z
KEY_COLUMNS = ["venue", "market_type", "symbol", "price_type", "timeframe"]
VALUE_COLUMNS = ["open", "high", "low", "close", "volume", "quote_volume", "trades"]


def make_candles(rows: int, seed: int = 7) -> pd.DataFrame:
    """A random-walk 1m series that passes every check."""
    rng = np.random.default_rng(seed)
    close = 30_000 * np.exp(np.cumsum(rng.normal(0, 5e-4, rows)))
    open_ = np.r_[30_000.0, close[:-1]]
    high = np.maximum(open_, close) * (1 + np.abs(rng.normal(0, 2e-4, rows)))
    low = np.minimum(open_, close) * (1 - np.abs(rng.normal(0, 2e-4, rows)))
    volume = rng.uniform(0, 50, rows)
    return pd.DataFrame(
        {
            "open_time": T0 + 60_000 * np.arange(rows, dtype=np.int64),
            "open": open_,
            "high": high,
            "low": low,
            "close": close,
            "volume": volume,
            "quote_volume": volume * close,
            "trades": rng.integers(0, 2_000, rows).astype(np.float64),
        }
    )


def timed(action: Callable[[], Any]) -> tuple[float, Any]:
    began = time.perf_counter()
    result = action()
    return time.perf_counter() - began, result


def with_database(url: str, name: str) -> str:
    parts = urlparse(url)
    return urlunparse(parts._replace(path="/" + name))


def psql_copy(url: str, csv_path: Path) -> None:
    columns = ", ".join(KEY_COLUMNS + ["open_time"] + [f'"{c}"' for c in VALUE_COLUMNS])
    command = f"\\copy data_candle ({columns}) FROM '{csv_path}' WITH (FORMAT csv)"
    subprocess.run(["psql", url, "-v", "ON_ERROR_STOP=1", "-q", "-c", command], check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument(
        "--server",
        default=os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres"),
        help="a PostgreSQL URL whose user may create databases",
    )
    args = parser.parse_args()
    if shutil.which("psql") is None:
        sys.exit("psql is not on PATH (needed for the \\copy baseline)")

    name = f"dsta_bench_{os.getpid()}"
    with psycopg.connect(args.server, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = with_database(args.server, name)
    try:
        run(url, args.rows)
    finally:
        from django.db import connections

        connections.close_all()
        with psycopg.connect(args.server, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def run(url: str, rows: int) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dsta.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from domains.data.models import Candle
    from domains.data.selectors import candles_arrays, candles_frame
    from domains.data.services.store import candles_upsert
    from dsta.kernel.market import SeriesKey

    call_command("migrate", verbosity=0)
    frame = make_candles(rows)
    now_ms = T0 + (rows + 10) * 60_000

    def key(symbol: str) -> SeriesKey:
        return SeriesKey.of("binance", "spot", symbol, "trades", "1m")

    with connection.cursor() as cursor:
        cursor.execute("SELECT version()")  # and fail early when the server is unreachable
        server = cursor.fetchone()[0].split(" on ")[0]
    print(f"{rows:,} 1m candles; {server}; {os.cpu_count()} CPUs")

    def empty_table() -> None:
        """Every write starts from an empty table and a checkpoint, so none pays for another."""
        with connection.cursor() as cursor:
            cursor.execute("TRUNCATE data_candle, data_series CASCADE")
            cursor.execute("CHECKPOINT")

    results: dict[str, float] = {}
    ours = key("BTC/USDT")
    empty_table()
    seconds, outcome = timed(lambda: candles_upsert(series=ours, frame=frame, now_ms=now_ms))
    assert outcome.inserted == rows, outcome
    results["candles_upsert (new rows)"] = seconds
    seconds, outcome = timed(lambda: candles_upsert(series=ours, frame=frame, now_ms=now_ms))
    assert outcome.unchanged == rows, outcome
    results["candles_upsert (same rows again)"] = seconds

    # Reads while the table holds exactly this series.
    seconds, arrays = timed(lambda: candles_arrays(series=ours))
    assert arrays["open_time"].shape == (rows,)
    np.testing.assert_array_equal(arrays["close"], frame["close"].to_numpy())
    reads = {"candles_arrays -> numpy": seconds}
    seconds, _ = timed(lambda: candles_frame(series=ours))
    reads["candles_frame -> pandas"] = seconds
    raw = psycopg.connect(url)

    def raw_copy() -> int:
        query = (
            "COPY (SELECT open_time, open, high, low, close, coalesce(volume, 'NaN'), "
            "coalesce(quote_volume, 'NaN'), coalesce(trades::float8, 'NaN') FROM data_candle "
            "WHERE venue = 'binance' AND market_type = 'spot' AND symbol = 'BTC/USDT' "
            "AND price_type = 'trades' AND timeframe = '1m' ORDER BY open_time) "
            "TO STDOUT (FORMAT BINARY)"
        )
        size = 0
        with raw.cursor() as cursor, cursor.copy(query) as copy:
            for block in copy:
                size += len(block)
        return size

    seconds, _ = timed(raw_copy)
    raw.close()
    reads["raw psycopg COPY TO (bytes)"] = seconds

    # New rows inside the stored range go through staging + ON CONFLICT instead of the append.
    empty_table()
    inside = key("XRP/USDT")
    candles_upsert(series=inside, frame=frame.iloc[[0, -1]], now_ms=now_ms)
    seconds, outcome = timed(lambda: candles_upsert(series=inside, frame=frame, now_ms=now_ms))
    assert outcome.inserted == rows - 2, outcome
    results["candles_upsert (new, in range)"] = seconds

    with tempfile.TemporaryDirectory() as folder:
        csv_path = Path(folder) / "candles.csv"
        baseline = key("ETH/USDT").as_dict()
        frame.assign(**baseline).astype({"trades": "Int64"})[
            [*KEY_COLUMNS, "open_time", *VALUE_COLUMNS]
        ].to_csv(csv_path, header=False, index=False, float_format="%.17g")
        empty_table()
        connection.close()  # psql needs no competing open transaction
        seconds, _ = timed(lambda: psql_copy(url, csv_path))
    results["psql \\copy (CSV)"] = seconds

    naive = key("SOL/USDT").as_dict()

    def bulk_create() -> None:
        records = frame.to_dict("records")
        Candle.objects.bulk_create(
            (Candle(**naive, **{k: v for k, v in record.items()}) for record in records),
            batch_size=5_000,
        )

    empty_table()
    seconds, _ = timed(bulk_create)
    results["Django bulk_create"] = seconds

    print("\nwrite                               seconds     candles/s   vs \\copy")
    copy_seconds = results["psql \\copy (CSV)"]
    for label, seconds in results.items():
        ratio = seconds / copy_seconds
        print(f"  {label:32} {seconds:8.2f} {rows / seconds:13,.0f}   {ratio:5.2f}x")
    print("\nread (whole range)                  seconds     candles/s   vs raw")
    for label, seconds in reads.items():
        ratio = seconds / reads["raw psycopg COPY TO (bytes)"]
        print(f"  {label:32} {seconds:8.2f} {rows / seconds:13,.0f}   {ratio:5.2f}x")


if __name__ == "__main__":
    main()
