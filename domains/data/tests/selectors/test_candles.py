from datetime import datetime

import numpy as np
import pandas as pd
import pytest

from domains.data.selectors import candles_arrays, candles_frame
from domains.data.services.store import candles_upsert
from domains.data.tests.factories import T0, candles, series_key
from dsta.kernel.errors import InvalidInput

pytestmark = pytest.mark.django_db


def test_reads_by_range_and_limit(now_ms):
    key = series_key("1h")
    candles_upsert(series=key, frame=candles(48, step_ms=3_600_000), now_ms=now_ms)
    hour = 3_600_000

    assert len(candles_arrays(series=key, start=T0 + 10 * hour, end=T0 + 20 * hour)["open"]) == 10
    first = candles_arrays(series=key, start=T0 + 10 * hour, limit=3)["open_time"]
    np.testing.assert_array_equal(first, T0 + hour * np.array([10, 11, 12]))
    latest = candles_arrays(series=key, limit=3)["open_time"]
    np.testing.assert_array_equal(latest, T0 + hour * np.array([45, 46, 47]))
    frame = candles_frame(series=key, start=pd.Timestamp(T0 + 46 * hour, unit="ms", tz="UTC"))
    assert list(frame.index) == [
        pd.Timestamp(T0 + 46 * hour, unit="ms", tz="UTC"),
        pd.Timestamp(T0 + 47 * hour, unit="ms", tz="UTC"),
    ]
    assert str(frame.index.tz) == "UTC"
    assert frame.index.name == "open_time"
    assert candles_arrays(series=series_key())["open"].shape == (0,)


def test_naive_datetimes_and_negative_limits_are_refused():
    key = series_key()
    with pytest.raises(InvalidInput, match="timezone-aware"):
        candles_arrays(series=key, start=datetime(2024, 1, 1))
    with pytest.raises(InvalidInput, match="limit"):
        candles_arrays(series=key, limit=-1)


def test_frame_has_the_documented_shape(now_ms):
    key = series_key()
    candles_upsert(series=key, frame=candles(3), now_ms=now_ms)
    frame = candles_frame(series=key)
    assert list(frame.columns) == [
        "open",
        "high",
        "low",
        "close",
        "volume",
        "quote_volume",
        "trades",
    ]
    assert all(dtype == np.float64 for dtype in frame.dtypes)
    assert frame.index[0] == pd.Timestamp("2024-01-01T00:00:00Z")
