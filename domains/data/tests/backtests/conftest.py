"""Fixtures for the backtesting tests.

* ``backtest_worker``: the backtest actors re-bound to a fresh in-process broker with a real
  worker (two threads) on it; ``drain()`` waits until every message, chunk messages included,
  is processed.
* ``eth_btc``: the real ETH/BTC 5m candles (freqtrade test data, 5,760 bars, no gaps) imported
  through the file importer; ``ada_btc``: ADA/BTC 5m, which has 5 real gaps (40 bars).
* ``analyst`` / ``other_analyst``: signed-in API clients with the analyst role.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import uuid4

import dramatiq
import pytest
from django.contrib.auth.models import Group
from rest_framework.test import APIClient

from domains.data import tasks
from domains.data.services.importers import import_candles_file
from domains.data.tests.conftest import NOW_MS
from dsta.kernel.jobs.api import JobInfo, RunningWorker, build_broker, get_job, start_worker
from dsta.kernel.market import SeriesKey

JOIN_MS = 60_000
FREQTRADE = Path("candles") / "freqtrade"
ACTORS = (
    "backtest_run",
    "backtest_optimize",
    "backtest_optimize_chunk",
    "backtest_walk_forward",
    "backtest_monte_carlo",
    "backtest_report",
)
ETH_BTC = SeriesKey.of("binance", "spot", "ETH/BTC", "trades", "5m")
ADA_BTC = SeriesKey.of("binance", "spot", "ADA/BTC", "trades", "5m")
# 2018-01-10T04:55Z is the first bar of the freqtrade 2018 files.
FIRST_BAR_MS = 1_515_560_100_000
FIVE_MINUTES = 300_000


@dataclass
class BacktestWorker:
    broker: dramatiq.Broker
    running: RunningWorker

    def drain(self) -> None:
        """Wait until every backtest message (and each chunk it sent) is processed."""
        self.broker.join(tasks.BACKTEST_QUEUE, timeout=JOIN_MS)
        self.running.join()

    def finish(self, job_id: Any) -> JobInfo:
        """Drain, then the job's final state."""
        self.drain()
        return get_job(job_id)


@pytest.fixture
def backtest_worker() -> Iterator[BacktestWorker]:
    broker = build_broker("inprocess")
    actors: list[dramatiq.Actor[Any, Any]] = [getattr(tasks, name) for name in ACTORS]
    saved = [(actor, actor.broker) for actor in actors]
    for actor in actors:
        actor.broker = broker
        broker.declare_actor(actor)
    running = start_worker(broker, threads=2, worker_timeout_ms=50)
    try:
        yield BacktestWorker(broker=broker, running=running)
    finally:
        running.stop()
        for actor, old_broker in saved:
            actor.broker = old_broker
        broker.close()


def _import(shared_data: Path, name: str, key: SeriesKey) -> SeriesKey:
    import_candles_file(path=shared_data / FREQTRADE / name, series=key, fmt="csv", now_ms=NOW_MS)
    return key


@pytest.fixture
def eth_btc(shared_data: Path) -> SeriesKey:
    """ETH/BTC 5m from freqtrade's test data (no gaps)."""
    return _import(shared_data, "ETH_BTC-5m.feather.norm.csv", ETH_BTC)


@pytest.fixture
def ada_btc(shared_data: Path) -> SeriesKey:
    """ADA/BTC 5m: 5 gaps, 40 missing bars (see shared/data/candles/SOURCES.md)."""
    return _import(shared_data, "ADA_BTC-5m.feather.norm.csv", ADA_BTC)


def _client(django_user_model: Any, role: str) -> Any:
    group, _ = Group.objects.get_or_create(name=role)
    user = django_user_model.objects.create_user(username=f"{role}{uuid4().hex[:10]}")
    user.groups.add(group)
    client = APIClient()
    client.force_authenticate(user=user)
    client.user = user  # type: ignore[attr-defined]
    return client


@pytest.fixture
def analyst(django_user_model: Any) -> Any:
    return _client(django_user_model, "analyst")


@pytest.fixture
def other_analyst(django_user_model: Any) -> Any:
    return _client(django_user_model, "analyst")


def series_body(key: SeriesKey) -> dict[str, str]:
    return {"venue": key.venue, "symbol": key.url_symbol, "timeframe": key.timeframe.code}


def bar(n: int) -> int:
    """Open time of the n-th bar of the 2018 freqtrade files."""
    return FIRST_BAR_MS + n * FIVE_MINUTES
