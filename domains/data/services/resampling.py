"""Resampling candles to a coarser timeframe, vectorised with ``ufunc.reduceat``.

Buckets are anchored in UTC like the venues' own bars (weeks open Monday 00:00). open = first,
high = max, low = min, close = last; volume, quote volume and trade count are sums (NaN when any
source bar lacks the value: a sum over missing data is not passed off as known). A bucket that
lacks some of its source bars is kept but flagged ``complete = False``; buckets with no source
bar at all are absent, as they are from the source.
"""

import numpy as np
import pandas as pd

from domains.data.services.columns import OPTIONAL_FIELDS, PRICE_FIELDS
from dsta.kernel.errors import InvalidInput
from dsta.kernel.market import Timeframe


def _open_times_ms(frame: pd.DataFrame) -> np.ndarray:
    if not isinstance(frame.index, pd.DatetimeIndex):
        raise InvalidInput("resample needs a frame indexed by open time (a DatetimeIndex)")
    index = frame.index if frame.index.tz is not None else frame.index.tz_localize("UTC")
    return np.asarray(index.as_unit("ms").asi8, dtype=np.int64)


def resample(
    frame: pd.DataFrame, source_tf: Timeframe | str, target_tf: Timeframe | str
) -> pd.DataFrame:
    """Aggregate ``frame`` (indexed by UTC open time, as ``candles_frame`` gives) to ``target_tf``.

    Adds a boolean ``complete`` column: True only where every source bar of the bucket is present.
    """
    source, target = Timeframe.parse(source_tf), Timeframe.parse(target_tf)
    if not (target > source and target.is_multiple_of(source)):
        raise InvalidInput(
            f"cannot resample {source} to {target}: the target must be a coarser timeframe made "
            f"of whole {source} bars",
            details={"source": source.code, "target": target.code},
        )
    missing = [name for name in PRICE_FIELDS if name not in frame.columns]
    if missing:
        raise InvalidInput(
            f"resample needs columns {', '.join(missing)}", details={"missing": missing}
        )
    times = _open_times_ms(frame)
    if times.size and ((times - source.origin_ms) % source.ms != 0).any():
        raise InvalidInput(f"the frame's open times are not all on the {source} grid")
    if times.size > 1 and not (np.diff(times) > 0).all():
        raise InvalidInput("the frame's open times must be strictly increasing (sorted, unique)")

    buckets = times - (times - target.origin_ms) % target.ms
    rows = times.size
    starts = np.flatnonzero(np.r_[True, buckets[1:] != buckets[:-1]]) if rows else np.empty(0, int)
    ends = np.r_[starts[1:], rows] - 1 if rows else np.empty(0, int)
    columns: dict[str, np.ndarray] = {}
    if rows:
        values = {
            name: frame[name].to_numpy(dtype=np.float64)
            for name in frame.columns
            if name in (*PRICE_FIELDS, *OPTIONAL_FIELDS)
        }
        columns["open"] = values["open"][starts]
        columns["high"] = np.maximum.reduceat(values["high"], starts)
        columns["low"] = np.minimum.reduceat(values["low"], starts)
        columns["close"] = values["close"][ends]
        for name in OPTIONAL_FIELDS:
            if name in values:
                columns[name] = np.add.reduceat(values[name], starts)
        counts = ends - starts + 1
        columns["complete"] = counts == target.ms // source.ms
    else:
        for name in (*PRICE_FIELDS, *(n for n in OPTIONAL_FIELDS if n in frame.columns)):
            columns[name] = np.empty(0)
        columns["complete"] = np.empty(0, dtype=bool)
    index = pd.DatetimeIndex(
        pd.to_datetime(buckets[starts] if rows else np.empty(0, np.int64), unit="ms", utc=True),
        name=frame.index.name or "open_time",
    )
    return pd.DataFrame(columns, index=index)
