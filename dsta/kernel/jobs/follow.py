"""Waiting for a job from a command line: poll its row, draw a tqdm bar."""

import time
from collections.abc import Callable
from typing import Any, TextIO
from uuid import UUID

from tqdm import tqdm

from dsta.kernel.jobs.dto import JobInfo
from dsta.kernel.jobs.selectors import get_job


def wait_job(
    job_id: UUID | str,
    *,
    timeout: float | None = None,
    poll_interval: float = 0.5,
    on_update: Callable[[JobInfo], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> JobInfo:
    """Poll the job until it finishes; returns its final state.

    Raises TimeoutError after ``timeout`` seconds, NotFound for an unknown id.
    """
    deadline = None if timeout is None else clock() + timeout
    while True:
        info = get_job(job_id)
        if on_update is not None:
            on_update(info)
        if info.finished:
            return info
        if deadline is not None and clock() >= deadline:
            raise TimeoutError(f"job {job_id} still {info.status} after {timeout} s")
        sleep(poll_interval)


def follow_job(
    job_id: UUID | str,
    stream: TextIO | Any,
    *,
    timeout: float | None = None,
    poll_interval: float = 0.5,
) -> JobInfo:
    """Render the job's progress as a tqdm bar on ``stream`` until it finishes.

    ``stream`` may be a management command's ``self.stdout`` (its raw file is used, since
    Django's wrapper appends a newline to every write and would break the bar).
    """
    out = getattr(stream, "_out", stream)
    bar = tqdm(total=None, file=out, unit="it", dynamic_ncols=True, leave=True)

    def draw(info: JobInfo) -> None:
        if info.total is not None and bar.total != info.total:
            bar.total = info.total
        bar.n = info.done
        bar.set_description_str(info.kind, refresh=False)
        bar.set_postfix_str(f"{info.status} {info.message}".strip(), refresh=False)
        bar.refresh()

    try:
        return wait_job(job_id, timeout=timeout, poll_interval=poll_interval, on_update=draw)
    finally:
        bar.close()
