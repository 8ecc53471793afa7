"""dramatiq actors of the data domain: backfill, gap filling, keep-up (scheduled) and the
keep-up of one series after a live bar closed. Thin: they parse params and call a service.

A venue that is down or throttling us is worth another try: those errors are re-raised as a
plain exception so dramatiq retries the job with a backoff, and the retry resumes from the
job's checkpoint. Every other DstaError (unknown symbol, bad range) fails the job at once.
"""

import logging
import os
import socket
import threading
from datetime import timedelta
from typing import Any

import dramatiq

from domains.data.services.backtests.fanout import chunk_evaluate
from domains.data.services.backtests.montecarlo import MC_JOB_KIND, monte_carlo_execute
from domains.data.services.backtests.optimize import OPTIMIZE_JOB_KIND, optimize_execute
from domains.data.services.backtests.reports.service import REPORT_JOB_KIND, report_execute
from domains.data.services.backtests.runs import RUN_JOB_KIND, backtest_execute
from domains.data.services.backtests.walkforward import (
    WALK_FORWARD_JOB_KIND,
    walk_forward_execute,
)
from domains.data.services.gap_filling import FILL_JOB_KIND, gaps_fill
from domains.data.services.ingestion import (
    INGEST_JOB_KIND,
    candles_backfill,
    keep_up_all,
    series_keep_up,
)
from dsta.kernel.errors import DstaError, RateLimited, ServiceUnavailable
from dsta.kernel.jobs.api import JobContext, job_actor, periodic
from dsta.kernel.market import SeriesKey

KEEP_UP_ACTOR = "data.keep_up"
LIVE_QUEUE = "data.live"

logger = logging.getLogger(__name__)


class VenueTemporarilyDown(Exception):
    """A venue error worth retrying; not a DstaError, so the job framework retries it."""


def _series(params: dict[str, Any]) -> SeriesKey:
    return SeriesKey.of(
        params["venue"],
        params["market_type"],
        params["symbol"],
        params["price_type"],
        params["timeframe"],
    )


def _flush(ctx: JobContext) -> None:
    """Write the last reported progress before the job fails. (Also works around the kernel's
    retry path, which cannot store a pending progress message beside its own.)"""
    try:
        ctx.flush()
    except Exception:  # the failure being raised matters more than this write
        logger.exception("job %s: progress not written", ctx.job_id)


def _progress(ctx: JobContext) -> Any:
    def report(done: int, total: int, message: str) -> None:
        ctx.progress(done, total, message)

    return report


@job_actor(
    kind=INGEST_JOB_KIND,
    max_retries=3,
    time_limit=timedelta(hours=6),
    resumable=True,
    min_backoff=5_000,
    max_backoff=300_000,
)
def ingest(
    ctx: JobContext,
    *,
    venue: str,
    market_type: str,
    symbol: str,
    price_type: str,
    timeframe: str,
    start: int,
    end: int | None = None,
    mode: str = "backfill",
) -> dict[str, Any]:
    """Backfill one series over ``[start, end)`` from the venue (resumes from its checkpoint)."""
    series = _series(locals())
    try:
        report = candles_backfill(
            job_id=ctx.job_id,
            series=series,
            start=start,
            end=end,
            mode=mode,
            progress=_progress(ctx),
            check_cancelled=ctx.check_cancelled,
        )
    except (ServiceUnavailable, RateLimited) as exc:
        _flush(ctx)
        raise VenueTemporarilyDown(f"{exc.code}: {exc.message}") from exc
    except DstaError:
        raise
    except Exception:
        _flush(ctx)
        raise
    return report.as_dict()


@job_actor(
    kind=FILL_JOB_KIND,
    max_retries=3,
    time_limit=timedelta(hours=2),
    resumable=True,  # re-running re-measures the gaps: what was filled is not asked again
    min_backoff=5_000,
    max_backoff=300_000,
)
def fill_gaps(
    ctx: JobContext,
    *,
    venue: str,
    market_type: str,
    symbol: str,
    price_type: str,
    timeframe: str,
    start: int | None = None,
    end: int | None = None,
    synthesize: bool = False,
) -> dict[str, Any]:
    """Re-fetch a series' gaps from the venue; mark or (on request) synthesize the rest."""
    series = _series(locals())
    try:
        report = gaps_fill(
            series=series,
            start=start,
            end=end,
            synthesize=synthesize,
            progress=_progress(ctx),
            check_cancelled=ctx.check_cancelled,
        )
    except (ServiceUnavailable, RateLimited) as exc:
        _flush(ctx)
        raise VenueTemporarilyDown(f"{exc.code}: {exc.message}") from exc
    except DstaError:
        raise
    except Exception:
        _flush(ctx)
        raise
    return report.as_dict()


# A plain actor, not a tracked job: a job row every minute would bury the jobs people start.
@periodic("* * * * *", name="data.keep_up")
@dramatiq.actor(actor_name=KEEP_UP_ACTOR, queue_name=LIVE_QUEUE, max_retries=0, time_limit=300_000)
def keep_up() -> None:
    """Fetch the newly closed candles of every kept-up series (every minute)."""
    report = keep_up_all()
    if report.series or report.errors:
        logger.info("keep-up: %s", report.as_dict())


@dramatiq.actor(
    actor_name="data.keep_up_series",
    queue_name=LIVE_QUEUE,
    max_retries=3,
    time_limit=120_000,
    min_backoff=2_000,
    max_backoff=30_000,
)
def keep_up_one(venue: str, market_type: str, symbol: str, price_type: str, timeframe: str) -> None:
    """Fetch the venue's closed candles of one series now (sent when a live bar closed)."""
    series = _series(locals())
    try:
        series_keep_up(series=series)
    except (ServiceUnavailable, RateLimited) as exc:
        raise VenueTemporarilyDown(f"{exc.code}: {exc.message}") from exc
    except DstaError:
        return  # a permanent error (symbol delisted...): the scheduled keep-up logs it


# --- backtesting ---------------------------------------------------------------------------------
# Backtests are deterministic: a failure would fail again, so none is retried (max_retries=0).
# They run on their own queue so that a long optimisation never holds up ingestion.

BACKTEST_QUEUE = "data.backtest"


@job_actor(
    kind=RUN_JOB_KIND, max_retries=0, time_limit=timedelta(hours=2), queue_name=BACKTEST_QUEUE
)
def backtest_run(ctx: JobContext, *, run_id: str) -> dict[str, Any]:
    """Run one stored backtest (or re-run, comparing with the original) and store the results."""
    return backtest_execute(
        run_id=run_id, progress=_progress(ctx), check_cancelled=ctx.check_cancelled
    )


@dramatiq.actor(
    actor_name="data.backtest.optimize_chunk",
    queue_name=BACKTEST_QUEUE,
    max_retries=0,
    time_limit=6 * 3_600_000,
)
def backtest_optimize_chunk(chunk_id: int) -> None:
    """Do one chunk of fanned-out backtest work (a slice of an optimisation's combinations, or
    one walk-forward window), unless another worker (or the parent) took it."""
    # Who holds the chunk, for the admin and logs: host, process and thread.
    worker = f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"
    chunk_evaluate(chunk_id=chunk_id, worker=worker)


@job_actor(
    kind=OPTIMIZE_JOB_KIND,
    max_retries=0,
    time_limit=timedelta(hours=12),
    queue_name=BACKTEST_QUEUE,
)
def backtest_optimize(ctx: JobContext, *, study_id: str) -> dict[str, Any]:
    """The parent of an optimisation: fan the chunks out, help, aggregate, report."""
    return optimize_execute(
        study_id=study_id,
        worker=f"parent:{ctx.job_id}",
        progress=_progress(ctx),
        check_cancelled=ctx.check_cancelled,
        dispatch=_send_chunk,
    )


def _send_chunk(chunk_id: int) -> None:
    backtest_optimize_chunk.send(chunk_id)


@job_actor(
    kind=WALK_FORWARD_JOB_KIND,
    max_retries=0,
    time_limit=timedelta(hours=12),
    queue_name=BACKTEST_QUEUE,
)
def backtest_walk_forward(ctx: JobContext, *, study_id: str) -> dict[str, Any]:
    """Walk-forward analysis: one chunk message per window (in-sample search, out-of-sample
    test), then the stitched equity. Like an optimisation's parent, it helps while it waits."""
    return walk_forward_execute(
        study_id=study_id,
        worker=f"parent:{ctx.job_id}",
        progress=_progress(ctx),
        check_cancelled=ctx.check_cancelled,
        dispatch=_send_chunk,
    )


@job_actor(
    kind=MC_JOB_KIND, max_retries=0, time_limit=timedelta(minutes=30), queue_name=BACKTEST_QUEUE
)
def backtest_monte_carlo(ctx: JobContext, *, study_id: str) -> dict[str, Any]:
    """A Monte Carlo study of one run."""
    return monte_carlo_execute(study_id=study_id)


@job_actor(
    kind=REPORT_JOB_KIND, max_retries=0, time_limit=timedelta(minutes=30), queue_name=BACKTEST_QUEUE
)
def backtest_report(ctx: JobContext, *, report_id: str) -> dict[str, Any]:
    """Render a run's HTML or PDF report and store it (local folder or S3)."""
    return report_execute(report_id=report_id)
