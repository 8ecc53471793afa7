"""Bus throughput: in-process dispatch and the PostgreSQL outbox relay, each beside a baseline.

Run: ``.venv/bin/python bench/bus.py [--events 5000] [--dispatch 200000]``

It creates a temporary PostgreSQL database (server from ``BENCH_POSTGRES_URL``, default
``postgres://postgres@127.0.0.1:5432/postgres``), migrates the bus app into it, measures, and
drops it. Each figure is the best of ``--rounds`` rounds, baseline and bus alternating, since
commit latency drifts with whatever else the server is doing. What is measured:

1. In-process dispatch: ``publish()`` of pre-built transient events to one subscribed no-op
   handler, against a bare loop calling the same handler directly.
2. Outbox end to end on PostgreSQL, in-process transport, one subscriber (so one inbox
   receipt per event): publish N durable events, then relay them all (``drain``). The time
   covers both phases. Two shapes, each against a plain psycopg INSERT loop writing the same
   number of rows of the same shape into a table without indexes beyond its primary key:
   a. one transaction per event (autocommit publish / one commit per INSERT),
   b. all N events in one transaction (one commit for all INSERTs).
   c. for reference: one transaction per event with the default delivery right after commit
      (``BUS_DELIVER_ON_COMMIT``), i.e. what a request that publishes pays in embedded mode.
"""

import argparse
import os
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import ClassVar
from urllib.parse import urlparse, urlunparse

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

SERVER_URL = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")
BENCH_DB = f"dsta_bench_bus_{os.getpid()}"


def _database_url(name: str) -> str:
    return urlunparse(urlparse(SERVER_URL)._replace(path=f"/{name}"))


def _admin_connection():  # type: ignore[no-untyped-def]
    import psycopg

    return psycopg.connect(SERVER_URL.replace("postgres://", "postgresql://", 1), autocommit=True)


def _rate(count: int, seconds: float) -> float:
    return count / seconds if seconds > 0 else float("inf")


def _timed(work: Callable[[], object]) -> float:
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=5000, help="Outbox events per shape.")
    parser.add_argument("--dispatch", type=int, default=200_000, help="In-process dispatches.")
    parser.add_argument("--rounds", type=int, default=3, help="Rounds per measure (best kept).")
    args = parser.parse_args()

    with _admin_connection() as admin:
        admin.execute(f'CREATE DATABASE "{BENCH_DB}"')
    try:
        os.environ.update(
            DATABASE_URL=_database_url(BENCH_DB),
            DJANGO_SETTINGS_MODULE="dsta.settings",
            BUS_URL="",
            LOG_LEVEL="ERROR",
        )
        import django

        django.setup()
        run(events=args.events, dispatches=args.dispatch, rounds=args.rounds)
    finally:
        from django.db import connections

        connections.close_all()
        with _admin_connection() as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')


def run(*, events: int, dispatches: int, rounds: int) -> None:
    from django.core.management import call_command
    from django.db import connection, transaction
    from django.test import override_settings

    from dsta.kernel.bus import Event, drain, publish, subscribe

    class BenchTicked(Event):
        """Transient bench event."""

        name: ClassVar[str] = "dsta.bench.tick.received.v1"
        durable: ClassVar[bool] = False
        price: float

    class BenchFilled(Event):
        """Durable bench event."""

        name: ClassVar[str] = "dsta.bench.order.filled.v1"
        order_id: str
        quantity: float

    handled = 0

    def handler(event: Event) -> None:
        nonlocal handled
        handled += 1

    subscribe(BenchTicked, handler, subscriber="bench.ticks")
    subscribe(BenchFilled, handler, subscriber="bench.fills")
    call_command("migrate", "bus", verbosity=0)

    print(
        f"DSTA bus bench: python {sys.version.split()[0]}, "
        f"PostgreSQL {connection.pg_version}, "  # type: ignore[attr-defined]
        f"{os.cpu_count()} CPUs, best of {rounds} rounds"
    )

    # 1. in-process dispatch
    ticks = [BenchTicked(price=float(i)) for i in range(dispatches)]

    def dispatch() -> None:
        for tick in ticks:
            publish(tick)

    def bare() -> None:
        for tick in ticks:
            handler(tick)

    bare_s = min(_timed(bare) for _ in range(rounds))
    dispatch_s = min(_timed(dispatch) for _ in range(rounds))
    print(f"\nin-process dispatch, {dispatches} transient events, 1 subscriber")
    print(f"  bare function call loop : {_rate(dispatches, bare_s):>12,.0f} calls/s")
    print(f"  bus publish -> handler  : {_rate(dispatches, dispatch_s):>12,.0f} events/s")
    print(f"  ratio bus / bare        : {dispatch_s / bare_s:>12.1f}x slower")

    # 2. outbox end to end vs plain INSERTs
    def fills() -> list[BenchFilled]:
        return [BenchFilled(order_id=f"o-{i}", quantity=1.5) for i in range(events)]

    def outbox(per_event_tx: bool, deliver_on_commit: bool) -> tuple[float, float]:
        batch = fills()

        def publish_all() -> None:
            if per_event_tx:
                for fill in batch:
                    publish(fill)  # autocommit: one transaction per event
            else:
                with transaction.atomic():
                    for fill in batch:
                        publish(fill)

        with override_settings(BUS_DELIVER_ON_COMMIT=deliver_on_commit):
            publish_s = _timed(publish_all)
            relay_s = _timed(drain)
        return publish_s, relay_s

    def plain_inserts(per_row_commit: bool) -> float:
        import psycopg
        from psycopg.types.json import Jsonb

        rows = [
            (uuid.uuid4(), BenchFilled.name, Jsonb({"order_id": f"o-{i}", "quantity": 1.5}))
            for i in range(events)
        ]
        url = _database_url(BENCH_DB).replace("postgres://", "postgresql://", 1)
        with psycopg.connect(url, autocommit=per_row_commit) as conn:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS bench_plain (id bigserial PRIMARY KEY, "
                "event_id uuid NOT NULL, name text NOT NULL, payload jsonb NOT NULL, "
                "created_at timestamptz NOT NULL DEFAULT now())"
            )
            conn.execute("TRUNCATE bench_plain")
            if not per_row_commit:
                conn.commit()
            start = time.perf_counter()
            for row in rows:
                conn.execute(
                    "INSERT INTO bench_plain (event_id, name, payload) VALUES (%s, %s, %s)", row
                )
            if not per_row_commit:
                conn.commit()
            return time.perf_counter() - start

    def best(
        measure: Callable[[], tuple[float, float]], baseline: Callable[[], float] | None
    ) -> tuple[float, float, float | None]:
        # The PostgreSQL server is shared: commit latency drifts with other load. Alternate
        # the two measurements and keep each one's best round.
        runs, baselines = [], []
        for _ in range(rounds):
            runs.append(measure())
            if baseline is not None:
                baselines.append(baseline())
        publish_s, relay_s = min(runs, key=sum)
        return publish_s, relay_s, min(baselines) if baselines else None

    def line(label: str, seconds: float, unit: str = "events/s") -> None:
        print(f"  {label:<24}: {seconds:>8.2f} s ({_rate(events, seconds):>9,.0f} {unit})")

    def report(title: str, publish_s: float, relay_s: float, baseline_s: float | None) -> None:
        total = publish_s + relay_s
        print(f"\n{title}")
        line("publish phase", publish_s)
        line("relay phase (drain)", relay_s)
        line("end to end", total)
        if baseline_s is not None:
            line("plain INSERT baseline", baseline_s, "rows/s")
            print(f"  {'ratio outbox / baseline':<24}: {total / baseline_s:>8.1f}x slower")

    expected = handled
    report(
        f"outbox, {events} events, one transaction per event (vs one commit per INSERT)",
        *best(
            lambda: outbox(per_event_tx=True, deliver_on_commit=False),
            lambda: plain_inserts(per_row_commit=True),
        ),
    )
    report(
        f"outbox, {events} events in one transaction (vs all INSERTs in one commit)",
        *best(
            lambda: outbox(per_event_tx=False, deliver_on_commit=False),
            lambda: plain_inserts(per_row_commit=False),
        ),
    )
    report(
        f"outbox, {events} events, one transaction per event, delivered on commit (reference)",
        *best(lambda: outbox(per_event_tx=True, deliver_on_commit=True), None),
    )
    assert handled == expected + 3 * rounds * events, "each event must be handled exactly once"


if __name__ == "__main__":
    main()
