"""Backtest work fanned out over the workers: chunks, claims, heartbeats and the parent's loop.

One mechanism for every study that splits into independent pieces: an optimisation (chunks of
parameter combinations, ``optimize.py``) and a walk-forward (one chunk per window,
``walkforward.py``). Each kind registers the function that does one chunk's work
(:func:`register_chunk_work`); everything else is shared:

- the parent job stores the pieces as ``OptimizationChunk`` rows and sends one dramatiq message
  per chunk (``data.backtest.optimize_chunk``, whatever the kind);
- a chunk is claimed by a conditional UPDATE (pending -> running), so whoever is free does it:
  a chunk worker, or the parent itself while it waits (a single worker thread therefore never
  deadlocks on its own children);
- the work stamps a heartbeat every 0.5 s and stops when the study was cancelled or failed;
  a running chunk silent for ``STALE_AFTER`` lost its worker and is handed out again;
- the parent sums the chunks' ``done`` counters into its job's progress, and on cancel marks
  the open chunks and the study cancelled;
- workers read the study's bars once per process (a small cache) and refuse to go on if
  their sha256 differs from the parent's: the data changed mid-study.
"""

import logging
import threading
import time
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any

import numpy as np
from django.db.models import QuerySet, Sum
from django.utils import timezone

from domains.data.models import ChunkStatus, Optimization, OptimizationChunk, RunStatus, WalkForward
from domains.data.services.backtests.candles import LoadedBars, load_bars
from domains.data.services.backtests.errors import from_quant
from domains.data.services.backtests.manifest import clean_json
from domains.data.services.backtests.selectors import pack_arrays
from domains.data.services.backtests.spec import RunSpec, run_spec
from dsta.kernel.errors import DstaError, InvalidInput, NotFound
from dsta.kernel.jobs.api import JobCancelled, get_job
from dsta.quant import QuantError

logger = logging.getLogger(__name__)

STALE_AFTER = timedelta(minutes=5)
POLL_SECONDS = 0.2
HEARTBEAT_SECONDS = 0.5

Study = Optimization | WalkForward
Progress = Callable[[int, int, str], None]
Dispatch = Callable[[int], None]


class Stopped(Exception):
    """The study was cancelled or failed while a chunk ran."""


class Heartbeat:
    """What a chunk's work calls after each unit of work (a combination).

    At most every ``HEARTBEAT_SECONDS`` (and after the first call: it may have taken long) it
    stamps the chunk's heartbeat, stores ``done`` when given, and raises :class:`Stopped` once
    the study was cancelled or failed.
    """

    def __init__(self, chunk_id: int, study: Study) -> None:
        self._chunk_id = chunk_id
        self._study = study
        self._last = 0.0

    def __call__(self, done: int | None = None) -> None:
        now = time.monotonic()
        if now - self._last <= HEARTBEAT_SECONDS:
            return
        self._last = now
        fields: dict[str, Any] = {"heartbeat_at": timezone.now()}
        if done is not None:
            fields["done"] = done
        OptimizationChunk.objects.filter(pk=self._chunk_id).update(**fields)
        if study_stopped(self._study):
            raise Stopped


# A chunk's work: (chunk, its study, heartbeat) -> (JSON results, a float array per result).
ChunkWork = Callable[[OptimizationChunk, Any, Heartbeat], tuple[list[dict[str, Any]], np.ndarray]]
_WORK: dict[str, ChunkWork] = {}


def register_chunk_work(parent: str, work: ChunkWork) -> None:
    """Say what a chunk of ``parent`` ("optimization" or "walk_forward") does."""
    _WORK[parent] = work


def _parent_field(study: Study) -> str:
    return "optimization" if isinstance(study, Optimization) else "walk_forward"


def chunks_of(study: Study) -> "QuerySet[OptimizationChunk]":
    """Every chunk of ``study``."""
    return OptimizationChunk.objects.filter(**{_parent_field(study): study})


# --- the bars -----------------------------------------------------------------------------------

_BARS_CACHE: dict[str, LoadedBars] = {}
_BARS_LOCK = threading.Lock()
_BARS_KEPT = 2


def bars_for(study: Study) -> LoadedBars:
    """The study's bars, read once per process (chunks of one study share them)."""
    key = str(study.pk)
    with _BARS_LOCK:
        cached = _BARS_CACHE.get(key)
    if cached is not None:
        return cached
    base = base_spec(study.request)
    loaded = load_bars(
        series=base.series, start_ms=base.start_ms, end_ms=base.end_ms, allow_gaps=base.allow_gaps
    )
    with _BARS_LOCK:
        while len(_BARS_CACHE) >= _BARS_KEPT:
            _BARS_CACHE.pop(next(iter(_BARS_CACHE)))
        _BARS_CACHE[key] = loaded
    return loaded


def base_spec(request: Mapping[str, Any]) -> RunSpec:
    """The run a study's request describes (its search varies the parameters)."""
    return run_spec(
        strategy=request["strategy"],
        params=request["params"],
        series=request["series"],
        start_ms=request["start_ms"],
        end_ms=request["end_ms"],
        config=request["config"],
        style=request["style"],
        allow_gaps=request["allow_gaps"],
        bias_checks=False,
        seed=request["seed"],
    )


def run_study(study: Study, body: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """A parent job's body: ``body()``, with its failure stored on the study (a strategy's
    error as its code) and a cancel passed on to the study's chunks."""
    try:
        return body()
    except JobCancelled:
        cancel_study(study)
        raise
    except QuantError as error:
        failure: DstaError = from_quant(error)
    except DstaError as error:
        failure = error
    except Exception as error:
        fail_study(study, "internal_error", f"{type(error).__name__}: {error}")
        raise
    fail_study(study, failure.code, failure.message)
    raise failure from None


def checked_bars(study: Study) -> LoadedBars:
    """The study's bars, refused if they are not the ones the parent planned on."""
    loaded = bars_for(study)
    if study.candles_sha256 and loaded.digest != study.candles_sha256:
        raise InvalidInput(
            "the candles changed while the study ran (their sha256 differs)",
            details={"expected": study.candles_sha256, "found": loaded.digest},
        )
    return loaded


# --- a chunk ------------------------------------------------------------------------------------


def _claim(chunk_id: int, worker: str) -> bool:
    now = timezone.now()
    return (
        OptimizationChunk.objects.filter(pk=chunk_id, status=ChunkStatus.PENDING).update(
            status=ChunkStatus.RUNNING, worker=worker, heartbeat_at=now
        )
        == 1
    )


def study_stopped(study: Study) -> bool:
    """True once the study failed or was cancelled, or its parent job was asked to cancel
    (the kernel's cancel endpoint only flags the job; chunks should not wait for the parent
    to notice)."""
    row = type(study).objects.filter(pk=study.pk).values_list("status", "job_id").first()
    if row is None or row[0] in (RunStatus.CANCELLED, RunStatus.FAILED):
        return True
    if row[1] is None:
        return False
    try:
        return get_job(row[1]).cancel_requested
    except NotFound:
        return False


def chunk_evaluate(*, chunk_id: int, worker: str) -> str:
    """Claim and do one chunk (the body of the chunk message, and of an idle parent).

    Returns the chunk's final status, or ``"skipped"`` when someone else had claimed it.
    """
    if not _claim(chunk_id, worker):
        return "skipped"
    chunk = OptimizationChunk.objects.select_related("optimization", "walk_forward").get(
        pk=chunk_id
    )
    study: Study = chunk.optimization or chunk.walk_forward  # type: ignore[assignment]
    parent = _parent_field(study)
    try:
        work = _WORK[parent]
        results, arrays = work(chunk, study, Heartbeat(chunk_id, study))
    except Stopped:
        OptimizationChunk.objects.filter(pk=chunk_id).update(status=ChunkStatus.CANCELLED)
        return ChunkStatus.CANCELLED
    except Exception as error:
        logger.exception("%s %s chunk %s failed", parent, study.pk, chunk.number)
        code = getattr(error, "code", "internal_error")
        OptimizationChunk.objects.filter(pk=chunk_id).update(
            status=ChunkStatus.FAILED,
            error={"code": code, "message": getattr(error, "message", str(error))},
        )
        return ChunkStatus.FAILED
    OptimizationChunk.objects.filter(pk=chunk_id).update(
        status=ChunkStatus.DONE,
        done=len(results),
        evaluations=clean_json(results),
        returns=pack_arrays(returns=arrays),
        heartbeat_at=timezone.now(),
    )
    return ChunkStatus.DONE


# --- the parent ---------------------------------------------------------------------------------


def cancel_study(study: Study) -> None:
    """Mark the open chunks and the study cancelled."""
    chunks_of(study).filter(status__in=[ChunkStatus.PENDING, ChunkStatus.RUNNING]).update(
        status=ChunkStatus.CANCELLED
    )
    type(study).objects.filter(pk=study.pk).update(
        status=RunStatus.CANCELLED, finished_at=timezone.now()
    )


def fail_study(study: Study, code: str, message: str) -> None:
    """Mark the open chunks cancelled (their workers stop) and the study failed."""
    chunks_of(study).filter(status__in=[ChunkStatus.PENDING, ChunkStatus.RUNNING]).update(
        status=ChunkStatus.CANCELLED
    )
    type(study).objects.filter(pk=study.pk).update(
        status=RunStatus.FAILED,
        error={"code": code, "message": message},
        finished_at=timezone.now(),
    )


def _requeue_stale(study: Study, dispatch: Dispatch) -> None:
    """A running chunk without a heartbeat for STALE_AFTER lost its worker: send it again."""
    stale = chunks_of(study).filter(
        status=ChunkStatus.RUNNING, heartbeat_at__lt=timezone.now() - STALE_AFTER
    )
    for chunk_id in list(stale.values_list("pk", flat=True)):
        if OptimizationChunk.objects.filter(pk=chunk_id, status=ChunkStatus.RUNNING).update(
            status=ChunkStatus.PENDING
        ):
            logger.warning("study %s: chunk %s went silent; re-sent", study.pk, chunk_id)
            dispatch(chunk_id)


def drive(
    study: Study,
    chunk_ids: list[int],
    *,
    worker: str,
    total: int,
    unit: str,
    progress: Progress,
    check_cancelled: Callable[[], None],
    dispatch: Dispatch,
    stop_on_failure: bool = False,
) -> None:
    """Send every chunk of ``chunk_ids``, then until each is finished: help, report, watch.

    Progress is the sum of the study's chunks' ``done`` counters out of ``total``; its message
    reads "<done> of <total> <unit>" ("combinations evaluated", "windows done"). With
    ``stop_on_failure`` it returns as soon as one chunk failed (the caller fails the study,
    which stops the others).
    """
    for chunk_id in chunk_ids:
        dispatch(chunk_id)
    while True:
        try:
            check_cancelled()
        except JobCancelled:
            cancel_study(study)
            raise
        mine = OptimizationChunk.objects.filter(pk__in=chunk_ids)
        open_chunks = mine.filter(status__in=[ChunkStatus.PENDING, ChunkStatus.RUNNING])
        done = int(chunks_of(study).aggregate(n=Sum("done"))["n"] or 0)
        progress(done, total, f"{done} of {total} {unit}")
        if stop_on_failure and mine.filter(status=ChunkStatus.FAILED).exists():
            return
        pending = list(
            open_chunks.filter(status=ChunkStatus.PENDING).values_list("pk", flat=True)[:1]
        )
        if pending:
            chunk_evaluate(chunk_id=pending[0], worker=worker)
            continue
        if not open_chunks.exists():
            if study_stopped(study):
                # Chunks saw the cancel before the parent's (throttled) check did.
                cancel_study(study)
                raise JobCancelled(str(study.job_id))
            # The last chunk may have finished after the sum above: report the final count.
            done = int(chunks_of(study).aggregate(n=Sum("done"))["n"] or 0)
            progress(done, total, f"{done} of {total} {unit}")
            return
        _requeue_stale(study, dispatch)
        time.sleep(POLL_SECONDS)
