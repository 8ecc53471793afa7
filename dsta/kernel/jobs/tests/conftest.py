"""Fixtures for the jobs tests: a fresh in-process broker per test and a real worker on it."""

import uuid
from collections.abc import Iterator
from datetime import timedelta

import dramatiq
import pytest

from dsta.kernel.jobs.broker import build_broker
from dsta.kernel.jobs.worker import RunningWorker, start_worker


def unique(prefix: str) -> str:
    """A name no other test (or parallel test run) uses: kinds, queues, schedules."""
    return f"test_{prefix}_{uuid.uuid4().hex[:10]}"


@pytest.fixture
def stub_broker() -> Iterator[dramatiq.Broker]:
    broker = build_broker("inprocess")
    yield broker
    broker.close()


@pytest.fixture
def worker(stub_broker: dramatiq.Broker) -> Iterator[RunningWorker]:
    # Short idle timeout: stopping the worker at teardown takes ~50 ms, not a second.
    running = start_worker(stub_broker, threads=2, worker_timeout_ms=50)
    yield running
    running.stop(timeout=timedelta(seconds=10))
