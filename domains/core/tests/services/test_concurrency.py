"""Concurrent writers of one key: dense versions, and exactly one winner per expected version."""

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from django.db import connection

from domains.core.api import ConfigVersionConflict
from domains.core.services.config import ConfigService
from domains.core.tests.conftest import KeyFactory

pytestmark = pytest.mark.django_db(transaction=True)
config = ConfigService()
WRITERS = 6


def in_threads(work: Callable[[int], Any]) -> list[Any]:
    """Run ``work(i)`` for each writer on its own thread (and database connection)."""

    def run(index: int) -> Any:
        try:
            return work(index)
        except ConfigVersionConflict as exc:
            return exc
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=WRITERS) as pool:
        return list(pool.map(run, range(WRITERS)))


def test_concurrent_writes_get_distinct_dense_versions(make_key: KeyFactory) -> None:
    key = make_key()
    entries = in_threads(lambda i: config.set(key=key, value=i, environment="live"))
    assert sorted(entry.version for entry in entries) == list(range(1, WRITERS + 1))
    history = config.history(key=key, environment="live")
    assert sorted(v.value for v in history) == list(range(WRITERS))


def test_only_one_writer_wins_the_same_expected_version(make_key: KeyFactory) -> None:
    key = make_key()
    outcomes = in_threads(lambda i: config.set(key=key, value=i, expected_version=0))
    winners = [o for o in outcomes if not isinstance(o, ConfigVersionConflict)]
    assert len(winners) == 1
    assert winners[0].version == 1
    assert [v.version for v in config.history(key=key)] == [1]
