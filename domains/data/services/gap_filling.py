"""Gap filling: ask the venue first; where it has nothing, say so; invent prices only on request.

For every recorded gap still ``missing`` in the range:

1. the missing range is fetched from the venue again (paged) and whatever it has is stored;
2. what is still missing afterwards is marked ``venue_has_none`` (the venue itself has no bars
   there: an outage, a halt, an illiquid market);
3. only with ``synthesize=True``: each remaining gap is forward-filled with the close of the
   bar before it (open = high = low = close, volume 0), stored in the same transaction that marks
   the gap ``filled_synthetic``. Those bars are flagged synthetic wherever they are served, and
   the series' ``is_synthetic`` flag is set.

A gap with no bar before it (at the very start of the range) cannot be forward-filled.
"""

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from django.db import transaction

from domains.data.api import UnknownSeries
from domains.data.models import GapState, IngestionJob, IngestionMode, Series
from domains.data.selectors import candles_arrays
from domains.data.services.gaps import Gap, find_gaps, gap_set_state
from domains.data.services.store import candles_upsert
from domains.data.services.venue_feed import (
    PAGE_LIMIT,
    closed_in_range,
    fetch_page,
    require_fetchable,
    wall_clock_ms,
)
from dsta.kernel.errors import InvalidInput
from dsta.kernel.jobs.api import JobInfo, start_job
from dsta.kernel.market import PriceType, SeriesKey

Progress = Callable[[int, int, str], None]
CheckCancelled = Callable[[], None]

SYNTHETIC_SOURCE = "gap-fill:synthetic"
FILL_JOB_KIND = "data.fill_gaps"


def _no_progress(done: int, total: int, message: str) -> None:
    return None


def _never_cancelled() -> None:
    return None


@dataclass
class FillReport:
    """What one gap-filling run did."""

    gaps: int = 0  # gaps looked at
    refetched_bars: int = 0  # bars the venue still had
    venue_has_none: int = 0  # gaps (or parts) the venue has no bars for
    synthesized_bars: int = 0
    synthesized_gaps: int = 0
    unfillable: int = 0  # gaps with no bar before them to forward-fill from

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _refetch(series: SeriesKey, gap: Gap, now: int, page_limit: int) -> int:
    """Fetch ``[gap.start, gap.end)`` from the venue and store what it has; bars stored."""
    tf = series.timeframe
    cursor, stored = gap.start, 0
    while cursor < gap.end:
        limit = int(min(page_limit, (gap.end - cursor) // tf.ms))
        page = fetch_page(series=series, since_ms=cursor, limit=limit)
        rows = closed_in_range(page, timeframe=tf, start_ms=cursor, stop_ms=gap.end, now_ms=now)
        if not len(rows):
            break  # a venue answers with the bars after the hole: nothing inside it
        result = candles_upsert(series=series, frame=rows, source="gap-fill:venue", now_ms=now)
        stored += result.inserted
        cursor = int(rows.open_time[-1]) + tf.ms
    return stored


def _synthesize(series: SeriesKey, gap: Gap, now: int) -> int:
    """Forward-fill ``gap`` from the close before it; bars written (0 when there is none)."""
    before = candles_arrays(series=series, end=gap.start, limit=1)
    if not before["close"].size:
        return 0
    close = float(before["close"][-1])
    count = gap.missing_bars
    times = gap.start + series.timeframe.ms * np.arange(count, dtype=np.int64)
    flat = np.full(count, close)
    has_volume = series.price_type is PriceType.TRADES
    zero = np.zeros(count) if has_volume else np.full(count, np.nan)
    frame = {
        "open_time": times,
        "open": flat,
        "high": flat,
        "low": flat,
        "close": flat,
        "volume": zero,
        "quote_volume": zero,
        "trades": zero,
    }
    with transaction.atomic():
        result = candles_upsert(
            series=series,
            frame=frame,
            source=SYNTHETIC_SOURCE,
            strict=True,
            now_ms=now,
            synthetic=True,
        )
        gap_set_state(series=series, start=gap.start, state=GapState.FILLED_SYNTHETIC)
    return result.inserted + result.updated + result.unchanged


def gaps_fill(
    *,
    series: SeriesKey,
    start: int | None = None,
    end: int | None = None,
    synthesize: bool = False,
    now_ms: int | None = None,
    page_limit: int = PAGE_LIMIT,
    progress: Progress = _no_progress,
    check_cancelled: CheckCancelled = _never_cancelled,
) -> FillReport:
    """Fill the gaps of ``series`` in ``[start, end)`` (between its first and last bar when
    not given); see the module docstring for the order of things."""
    _check_fill(series, start, end)
    now = wall_clock_ms() if now_ms is None else now_ms
    gaps = find_gaps(series=series, start=start, end=end, record=True)
    report = FillReport(gaps=len(gaps))
    progress(0, len(gaps), f"{len(gaps)} gap(s)")
    for done, gap in enumerate(gaps, start=1):
        check_cancelled()
        if gap.state == GapState.MISSING:
            report.refetched_bars += _refetch(series, gap, now, page_limit)
        remaining = find_gaps(series=series, start=gap.start, end=gap.end, record=True)
        for rest in remaining:
            if rest.state == GapState.MISSING:
                gap_set_state(series=series, start=rest.start, state=GapState.VENUE_HAS_NONE)
                report.venue_has_none += 1
            if synthesize and rest.state != GapState.FILLED_SYNTHETIC:
                written = _synthesize(series, rest, now)
                if written:
                    report.synthesized_bars += written
                    report.synthesized_gaps += 1
                else:
                    report.unfillable += 1
        progress(done, len(gaps), f"gap {done} of {len(gaps)}")
    return report


def _check_fill(series: SeriesKey, start: int | None, end: int | None) -> Series:
    record = Series.objects.filter(**series.as_dict()).first()
    if record is None:
        raise UnknownSeries(f"no candles stored for {series}", details=series.as_dict())
    if start is not None and end is not None and end <= start:
        raise InvalidInput("end must be after start", details={"start": start, "end": end})
    require_fetchable(series)
    return record


def fill_start(
    *,
    series: SeriesKey,
    start: int | None = None,
    end: int | None = None,
    synthesize: bool = False,
    owner_id: int | None = None,
) -> JobInfo:
    """Start a gap-filling job (``data.fill_gaps``) after checking its arguments."""
    with transaction.atomic():
        record = _check_fill(series, start, end)
        info = start_job(
            FILL_JOB_KIND,
            params={**series.as_dict(), "start": start, "end": end, "synthesize": synthesize},
            owner_id=owner_id,
        )
        IngestionJob.objects.create(
            job_id=info.id,
            series=record,
            mode=IngestionMode.FILL_GAPS,
            start=start if start is not None else (record.first_open_time or 0),
            end=end,
            owner_id=owner_id,
        )
    return info
