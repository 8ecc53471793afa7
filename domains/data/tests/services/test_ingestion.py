"""Backfill jobs end to end: a real dramatiq worker on the in-process broker, the exchange's door
served by recorded candles, the real store. Resume after a crash, cancellation, progress."""

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from domains.data.models import IngestionJob, Series
from domains.data.selectors import candles_arrays, series_info
from domains.data.services.ingestion import candles_backfill, sync_start
from domains.data.services.store import candles_upsert
from domains.data.tests.factories import series_key
from domains.data.tests.fakes import ETH_USDT_1M, UNITTEST_1M, RecordedExchange
from domains.data.tests.fixtures import JobWorker
from domains.exchange.api import UnknownSymbol, UnknownVenue, VenueUnavailable
from dsta.kernel.errors import InvalidInput
from dsta.kernel.jobs.api import JobStatus, cancel_job, get_job

pytestmark = pytest.mark.django_db(transaction=True)

MINUTE = 60_000
Install = Callable[..., RecordedExchange]


def stored(series: Any) -> np.ndarray:
    arrays = candles_arrays(series=series)
    return np.column_stack(
        [arrays[name] for name in ("open_time", "open", "high", "low", "close", "volume")]
    )


def test_backfill_job_stores_the_history_page_by_page_and_reports_progress(
    recorded_exchange: Install, job_worker: JobWorker
) -> None:
    fake = recorded_exchange(ETH_USDT_1M, venue_page_size=300)
    series = series_key("1m")
    first, last = int(fake.times[0]), int(fake.times[-1])

    info = sync_start(series=series, start=first, end=last + MINUTE, owner_id=None)
    job_worker.drain()

    job = get_job(info.id)
    assert job.status is JobStatus.SUCCEEDED, job.error
    assert (job.done, job.total) == (1440, 1440)
    assert job.result["inserted"] == 1440
    assert job.result["pages"] == 5  # 300-candle venue pages: 4 full, 1 of 240
    assert fake.calls == [first + i * 300 * MINUTE for i in range(5)]
    assert np.array_equal(stored(series), fake.rows)
    record = IngestionJob.objects.get(job_id=info.id)
    assert (record.checkpoint, record.fetched, record.inserted) == (last, 1440, 1440)


def test_backfill_without_an_end_stops_where_the_venue_has_nothing_more(
    recorded_exchange: Install, job_worker: JobWorker
) -> None:
    fake = recorded_exchange(ETH_USDT_1M)
    series = series_key("1m")

    info = sync_start(series=series, start=int(fake.times[0]))
    job_worker.drain()

    job = get_job(info.id)
    assert job.status is JobStatus.SUCCEEDED, job.error
    assert job.result["inserted"] == 1440
    assert job.progress == 1.0
    assert len(fake.calls) == 3  # two pages of candles, then an empty answer


def test_a_job_that_crashed_mid_way_resumes_after_its_last_stored_candle(
    recorded_exchange: Install, job_worker: JobWorker
) -> None:
    # The UNITTEST file has 538 real holes, so "the run of stored bars" cannot tell where the
    # job got to: only its checkpoint can.
    fake = recorded_exchange(UNITTEST_1M, venue_page_size=500)
    series = series_key("1m")
    crashed: list[int] = []

    def crash_once_on_page_3(page: int) -> None:
        if page == 3 and not crashed:
            crashed.append(page)
            raise RuntimeError("worker process lost mid-request")

    fake.before_page = crash_once_on_page_3
    first, last = int(fake.times[0]), int(fake.times[-1])

    info = sync_start(series=series, start=first, end=last + MINUTE)
    job_worker.drain()

    job = get_job(info.id)
    assert job.status is JobStatus.SUCCEEDED, job.error
    assert job.attempt == 2
    # Pages 1-2 stored rows [0, 1000); the crashed third request; then the retry asked for
    # the bar after the last stored candle, not for the start again.
    assert fake.calls[:4] == [
        first,
        int(fake.times[500]),
        int(fake.times[1000]),
        int(fake.times[999]) + MINUTE,
    ]
    assert np.array_equal(stored(series), fake.rows)  # every bar once: no duplicates
    info_after = series_info(series=series)
    assert info_after is not None
    assert info_after.candle_count == len(fake.rows) == 13681
    assert IngestionJob.objects.get(job_id=info.id).fetched == 13681  # nothing fetched twice


def test_a_new_job_over_a_stored_range_starts_after_the_stored_run(
    recorded_exchange: Install, job_worker: JobWorker
) -> None:
    fake = recorded_exchange(ETH_USDT_1M)
    series = series_key("1m")
    head = fake.rows[:700]
    candles_upsert(
        series=series,
        frame={
            "open_time": head[:, 0].astype(np.int64),
            **{name: head[:, i] for i, name in enumerate(("open", "high", "low", "close"), 1)},
            "volume": head[:, 5],
        },
    )

    info = sync_start(series=series, start=int(fake.times[0]), end=int(fake.times[-1]) + MINUTE)
    job_worker.drain()

    job = get_job(info.id)
    assert job.status is JobStatus.SUCCEEDED, job.error
    assert fake.calls[0] == int(fake.times[700])
    assert job.result["inserted"] == 740
    assert np.array_equal(stored(series), fake.rows)


def test_cancelling_a_running_backfill_stops_it_between_pages(
    recorded_exchange: Install, job_worker: JobWorker
) -> None:
    fake = recorded_exchange(UNITTEST_1M, venue_page_size=50)
    series = series_key("1m")
    job_ids: list[Any] = []

    def cancel_on_page_3(page: int) -> None:
        if page == 3:
            cancel_job(job_ids[0])

    fake.before_page = cancel_on_page_3
    info = sync_start(series=series, start=int(fake.times[0]), end=int(fake.times[-1]) + MINUTE)
    job_ids.append(info.id)
    job_worker.drain()

    job = get_job(info.id)
    assert job.status is JobStatus.CANCELLED
    count = Series.objects.get(**series.as_dict()).candle_count
    assert 150 <= count < len(fake.rows)
    # What was stored is exactly what the checkpoint says: a rerun continues from there.
    record = IngestionJob.objects.get(job_id=info.id)
    assert record.checkpoint == Series.objects.get(**series.as_dict()).last_open_time


def test_a_venue_outage_is_retried_and_an_unknown_symbol_is_not(
    recorded_exchange: Install, job_worker: JobWorker
) -> None:
    fake = recorded_exchange(ETH_USDT_1M)
    failures: list[Exception] = [VenueUnavailable("binance timed out")]

    def fail(page: int) -> None:
        if failures:
            raise failures.pop()

    fake.before_page = fail
    series = series_key("1m")
    retried = sync_start(series=series, start=int(fake.times[0]))
    job_worker.drain()
    job = get_job(retried.id)
    assert job.status is JobStatus.SUCCEEDED, job.error
    assert job.attempt == 2

    failures.append(UnknownSymbol("binance lists no such market"))
    refused = sync_start(series=series_key("1m"), start=int(fake.times[0]))
    job_worker.drain()
    job = get_job(refused.id)
    assert job.status is JobStatus.FAILED
    assert job.error is not None
    assert job.error.code == "unknown_symbol"
    assert job.attempt == 1


def test_bad_sync_requests_are_refused_before_any_job_exists() -> None:
    with pytest.raises(InvalidInput, match="trade candles only"):
        sync_start(series=series_key("1h", market_type="swap", price_type="mark"), start=0)
    with pytest.raises(UnknownVenue):
        sync_start(series=series_key("1m", venue="demo"), start=0)
    with pytest.raises(InvalidInput, match="not in the past"):
        sync_start(series=series_key("1m"), start=2_000_000_000_000, now_ms=1_900_000_000_000)
    with pytest.raises(InvalidInput, match="end must be after start"):
        sync_start(series=series_key("1m"), start=10 * MINUTE, end=5 * MINUTE)
    with pytest.raises(InvalidInput, match="unknown mode"):
        sync_start(series=series_key("1m"), start=0, mode="sometimes")
    assert not IngestionJob.objects.exists()


def test_backfill_service_resumes_from_its_checkpoint_after_an_interruption(
    recorded_exchange: Install,
) -> None:
    fake = recorded_exchange(UNITTEST_1M, venue_page_size=1000)
    series = series_key("1m")
    reports: list[tuple[int, int]] = []

    class Interrupted(Exception):
        pass

    def progress_then_die(done: int, total: int, message: str) -> None:
        reports.append((done, total))
        if len(reports) == 3:  # the initial report, then two pages
            raise Interrupted

    job_id = __import__("uuid").uuid4()
    first, stop = int(fake.times[0]), int(fake.times[-1]) + MINUTE
    with pytest.raises(Interrupted):
        candles_backfill(
            job_id=job_id, series=series, start=first, end=stop, progress=progress_then_die
        )
    checkpoint = IngestionJob.objects.get(job_id=job_id).checkpoint
    assert checkpoint == int(fake.times[1999])

    report = candles_backfill(job_id=job_id, series=series, start=first, end=stop)

    assert report.resumed_from == checkpoint + MINUTE
    assert report.fetched == len(fake.rows) - 2000
    total = (stop - first) // MINUTE
    assert reports[0] == (0, total)
    assert reports[1][1] == total
    assert 0 < reports[1][0] < reports[2][0] < total
    assert np.array_equal(stored(series), fake.rows)
