"""Ingestion from venues: paginated backfills (resumable, cancellable) and keep-up.

A backfill walks ``[start, end)`` page by page through ``exchange_api().ohlcv``. Each page is
stored in one transaction together with the job's checkpoint (the open time of the last candle
stored), so a job resumed after a crash continues right after the last candle it stored and
re-stores nothing; a new job over a range the store already holds without holes starts after
the stored part. Candles still in progress are left for later. Progress is reported in bars of
the range (``done``/``total``) and cancellation is checked before every page.

Keep-up fetches the candles closed since a series' last one, for every series marked
``keep_up``, and publishes ``CandleClosed`` for each one new at the tip of the series.
History (backfills, gap fills) publishes nothing: it is not news.
"""

import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any
from uuid import UUID

import numpy as np
from django.db import transaction
from django.db.models import Count, F, Max, Min

from domains.data.models import Candle, IngestionJob, IngestionMode, Series
from domains.data.services.candle_events import publish_closed
from domains.data.services.columns import CandleColumns
from domains.data.services.store import candles_upsert
from domains.data.services.validation import iso
from domains.data.services.venue_feed import (
    PAGE_LIMIT,
    ceil_to,
    closed_in_range,
    fetch_page,
    require_fetchable,
    wall_clock_ms,
)
from dsta.kernel.errors import DstaError, InvalidInput
from dsta.kernel.jobs.api import JobInfo, start_job
from dsta.kernel.market import SeriesKey

logger = logging.getLogger(__name__)

Progress = Callable[[int, int, str], None]  # (bars done, bars in the range, message)
CheckCancelled = Callable[[], None]  # raises to stop (JobContext.check_cancelled)

INGEST_JOB_KIND = "data.ingest"
# Keep-up: the most pages one series may take per run (a series far behind is caught up
# over several runs rather than holding the schedule's job for long).
KEEP_UP_MAX_PAGES = 10


def _no_progress(done: int, total: int, message: str) -> None:
    return None


def _never_cancelled() -> None:
    return None


@dataclass
class BackfillReport:
    """What a backfill did (the job's result)."""

    start: int
    stop: int
    resumed_from: int
    pages: int = 0
    fetched: int = 0
    inserted: int = 0
    updated: int = 0
    quarantined: int = 0
    last_open_time: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class KeepUpReport:
    """What one keep-up run did, for all series or one."""

    series: int = 0
    fetched: int = 0
    inserted: int = 0
    published: int = 0
    skipped: int = 0  # no new bar could have closed yet
    errors: list[dict[str, str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _series_params(series: SeriesKey) -> dict[str, str]:
    return series.as_dict()


def _key(series: SeriesKey) -> dict[str, Any]:
    return dict(series.as_dict())


def sync_start(
    *,
    series: SeriesKey,
    start: int,
    end: int | None = None,
    mode: str = IngestionMode.BACKFILL,
    owner_id: int | None = None,
    now_ms: int | None = None,
) -> JobInfo:
    """Start a backfill job of ``series`` over ``[start, end)`` (``end`` None: up to now).

    ``mode="keep_up"`` also marks the series for keep-up, so that after the backfill the
    schedule fetches every new closed candle. Bad arguments raise ``InvalidInput`` here, before
    any job exists; the venue's answer about the symbol comes with the job (``unknown_symbol``).
    """
    require_fetchable(series)
    if mode not in (IngestionMode.BACKFILL, IngestionMode.KEEP_UP):
        raise InvalidInput(
            f"unknown mode {mode!r}; use backfill or keep_up", details={"mode": str(mode)}
        )
    now = wall_clock_ms() if now_ms is None else now_ms
    if start >= now:
        raise InvalidInput(
            f"start {iso(start)} is not in the past", details={"start": start, "now": now}
        )
    if end is not None and end <= start:
        raise InvalidInput("end must be after start", details={"start": start, "end": end})
    with transaction.atomic():
        record, _ = Series.objects.get_or_create(**_key(series))
        if mode == IngestionMode.KEEP_UP and not record.keep_up:
            Series.objects.filter(pk=record.pk).update(keep_up=True)
        info = start_job(
            INGEST_JOB_KIND,
            params={**_series_params(series), "start": start, "end": end, "mode": str(mode)},
            owner_id=owner_id,
        )
        IngestionJob.objects.create(
            job_id=info.id,
            series=record,
            mode=mode,
            start=start,
            end=end,
            owner_id=owner_id,
        )
    return info


def _job_record(
    job_id: UUID, series: SeriesKey, mode: str, start: int, end: int | None
) -> IngestionJob:
    record, _ = Series.objects.get_or_create(**_key(series))
    job, _ = IngestionJob.objects.get_or_create(
        job_id=job_id, defaults={"series": record, "mode": mode, "start": start, "end": end}
    )
    return job


def covered_until(series: SeriesKey, start: int, stop: int) -> int | None:
    """The last open time ``t`` such that every bar of ``[start, t]`` is stored, if the bar at
    ``start`` is; None otherwise. Two index range scans, no rows fetched."""
    stats = Candle.objects.filter(
        **series.as_dict(), open_time__gte=start, open_time__lt=stop
    ).aggregate(first=Min("open_time"), last=Max("open_time"), count=Count("open_time"))
    if stats["first"] != start:
        return None
    last, step = int(stats["last"]), series.timeframe.ms
    if stats["count"] == (last - start) // step + 1:
        return last
    return None


def resume_point(series: SeriesKey, job: IngestionJob, start: int, stop: int) -> int:
    """Where a backfill of ``[start, stop)`` begins: after the job's checkpoint (a resumed
    job), then after the run of bars already stored from there without a hole."""
    cursor = start
    if job.checkpoint is not None and start <= job.checkpoint < stop:
        cursor = job.checkpoint + series.timeframe.ms
    if cursor < stop:
        stored = covered_until(series, cursor, stop)
        if stored is not None:
            cursor = stored + series.timeframe.ms
    return min(cursor, stop)


def candles_backfill(
    *,
    job_id: UUID,
    series: SeriesKey,
    start: int,
    end: int | None = None,
    mode: str = IngestionMode.BACKFILL,
    page_limit: int = PAGE_LIMIT,
    now_ms: int | None = None,
    progress: Progress = _no_progress,
    check_cancelled: CheckCancelled = _never_cancelled,
) -> BackfillReport:
    """Fetch ``[start, end)`` page by page and store it (see the module docstring).

    Stops at the first bar still in progress, at ``end``, or when the venue has nothing more
    from the cursor on. Venue errors propagate (the task decides what is retried).
    """
    require_fetchable(series)
    tf = series.timeframe
    now = wall_clock_ms() if now_ms is None else now_ms
    first = ceil_to(tf, start)
    stop = tf.floor(now)  # the open time of the bar in progress: stop before it
    if end is not None:
        stop = min(stop, ceil_to(tf, end))
    job = _job_record(job_id, series, mode, start, end)
    total = max(0, (stop - first) // tf.ms)
    cursor = resume_point(series, job, first, stop) if stop > first else first
    report = BackfillReport(start=first, stop=stop, resumed_from=cursor)
    if cursor > first:
        logger.info("backfill %s: %s resumes at %s", job_id, series, iso(cursor))
    progress((cursor - first) // tf.ms if total else 0, total, f"{series.symbol} {iso(cursor)}")
    while cursor < stop:
        check_cancelled()
        limit = int(min(page_limit, (stop - cursor) // tf.ms))
        page = fetch_page(series=series, since_ms=cursor, limit=limit)
        rows = closed_in_range(page, timeframe=tf, start_ms=cursor, stop_ms=stop, now_ms=now)
        report.pages += 1
        report.fetched += len(rows)
        if not len(rows):
            break  # the venue has nothing from the cursor to the stop
        last = int(rows.open_time[-1])
        with transaction.atomic():
            result = candles_upsert(series=series, frame=rows, source=f"job:{job_id}", now_ms=now)
            IngestionJob.objects.filter(pk=job.pk).update(
                checkpoint=last,
                pages=F("pages") + 1,
                fetched=F("fetched") + len(rows),
                inserted=F("inserted") + result.inserted,
                quarantined=F("quarantined") + result.quarantined,
            )
        report.inserted += result.inserted
        report.updated += result.updated
        report.quarantined += result.quarantined
        report.last_open_time = last
        cursor = last + tf.ms
        progress((min(cursor, stop) - first) // tf.ms, total, f"{series.symbol} {iso(last)}")
    progress(total, total, f"{series.symbol} done")
    return report


def series_keep_up(
    *,
    series: SeriesKey,
    now_ms: int | None = None,
    page_limit: int = PAGE_LIMIT,
    max_pages: int = KEEP_UP_MAX_PAGES,
) -> KeepUpReport:
    """Fetch and store the candles of ``series`` closed since its last one; publish
    ``CandleClosed`` for each candle new at the tip (in the transaction that stores it).

    A series with no candles yet starts one page back from now.
    """
    require_fetchable(series)
    tf = series.timeframe
    now = wall_clock_ms() if now_ms is None else now_ms
    stop = tf.floor(now)
    record = Series.objects.filter(**series.as_dict()).first()
    last_stored = record.last_open_time if record is not None else None
    synthetic = bool(record is not None and record.is_synthetic)
    cursor = stop - page_limit * tf.ms if last_stored is None else last_stored + tf.ms
    report = KeepUpReport(series=1)
    for _ in range(max_pages):
        if cursor >= stop:
            break
        limit = int(min(page_limit, (stop - cursor) // tf.ms))
        page = fetch_page(series=series, since_ms=cursor, limit=limit)
        rows = closed_in_range(page, timeframe=tf, start_ms=cursor, stop_ms=stop, now_ms=now)
        report.fetched += len(rows)
        if not len(rows):
            break
        with transaction.atomic():
            tip = Series.objects.filter(**series.as_dict()).values_list("last_open_time", flat=True)
            previous_last = next(iter(tip), None)
            result = candles_upsert(series=series, frame=rows, source="keep-up", now_ms=now)
            fresh = _accepted_after(rows, result.problems, previous_last)
            report.published += publish_closed(series, fresh, synthetic=synthetic)
        report.inserted += result.inserted
        cursor = int(rows.open_time[-1]) + tf.ms
    return report


def _accepted_after(
    rows: CandleColumns, problems: tuple[Any, ...], previous_last: int | None
) -> CandleColumns:
    """The rows the store accepted (row numbers are batch positions) beyond the old tip."""
    keep = np.ones(len(rows), dtype=bool)
    for problem in problems:
        if 0 <= problem.row < len(rows):
            keep[problem.row] = False
    if previous_last is not None:
        keep &= rows.open_time > previous_last
    # Identical duplicates were collapsed into one stored row: one event per open time.
    keep[1:] &= rows.open_time[1:] != rows.open_time[:-1]
    return rows.take(np.flatnonzero(keep))


def keep_up_all(*, now_ms: int | None = None) -> KeepUpReport:
    """One keep-up pass over every series marked ``keep_up``. A series whose next bar cannot
    have closed yet is skipped without a request; one venue's failure does not stop the rest."""
    now = wall_clock_ms() if now_ms is None else now_ms
    total = KeepUpReport()
    for record in Series.objects.filter(keep_up=True).order_by("id"):
        series = record.key
        if record.last_open_time is not None:
            next_close = record.last_open_time + 2 * series.timeframe.ms
            if next_close > now:
                total.skipped += 1
                continue
        try:
            report = series_keep_up(series=series, now_ms=now)
        except DstaError as exc:
            logger.warning("keep-up of %s failed: %s", series, exc.code)
            total.errors.append({"series": str(series), "code": exc.code, "message": exc.message})
            continue
        total.series += 1
        total.fetched += report.fetched
        total.inserted += report.inserted
        total.published += report.published
    return total
