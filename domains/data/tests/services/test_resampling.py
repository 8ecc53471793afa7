import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domains.data.services.resampling import resample
from domains.data.tests.factories import T0, candles
from dsta.kernel.errors import InvalidInput
from dsta.kernel.market import Timeframe

MINUTE = 60_000


def indexed(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.copy()
    return frame.set_index(
        pd.DatetimeIndex(
            pd.to_datetime(frame.pop("open_time"), unit="ms", utc=True), name="open_time"
        )
    )


def by_hand(frame: pd.DataFrame, source: Timeframe, target: Timeframe) -> list[dict]:
    """The aggregation written the slow, obvious way."""
    buckets: dict[int, list[dict]] = {}
    for ts, row in zip(frame["open_time"], frame.to_dict("records"), strict=True):
        buckets.setdefault(target.floor(int(ts)), []).append(row)
    out = []
    for start in sorted(buckets):
        rows = buckets[start]
        out.append(
            {
                "open_time": start,
                "open": rows[0]["open"],
                "high": max(r["high"] for r in rows),
                "low": min(r["low"] for r in rows),
                "close": rows[-1]["close"],
                "volume": sum(r["volume"] for r in rows),
                "quote_volume": sum(r["quote_volume"] for r in rows),
                "trades": sum(r["trades"] for r in rows),
                "complete": len(rows) == target.ms // source.ms,
            }
        )
    return out


@settings(max_examples=50, deadline=None)
@given(
    rows=st.integers(min_value=1, max_value=300),
    seed=st.integers(0, 10_000),
    keep=st.floats(min_value=0.3, max_value=1.0),
    pair=st.sampled_from(
        [
            ("1m", "5m"),
            ("1m", "1h"),
            ("5m", "15m"),
            ("1h", "4h"),
            ("1h", "1d"),
            ("8h", "1w"),
            ("1d", "1w"),
        ]
    ),
    offset=st.integers(0, 20),
)
def test_resample_equals_aggregation_by_hand(rows, seed, keep, pair, offset):
    source, target = Timeframe(pair[0]), Timeframe(pair[1])
    frame = candles(rows, step_ms=source.ms, start_ms=T0 + offset * source.ms, seed=seed)
    rng = np.random.default_rng(seed)
    frame = frame[rng.random(rows) < keep].reset_index(drop=True)  # random holes

    result = resample(indexed(frame), source, target)

    expected = by_hand(frame, source, target)
    assert len(result) == len(expected)
    for (ts, row), want in zip(result.iterrows(), expected, strict=True):
        assert int(ts.value // 1_000_000) == want["open_time"]
        for name in ("open", "high", "low", "close", "complete"):
            assert row[name] == want[name], name
        for name in ("volume", "quote_volume", "trades"):
            assert math.isclose(row[name], want[name], rel_tol=1e-12), name


def test_weekly_buckets_open_on_monday_and_partial_weeks_are_flagged():
    day = Timeframe("1d")
    # 2024-01-03 (Wednesday) .. 2024-01-16: the first week lacks Mon/Tue, the second is whole.
    frame = candles(14, step_ms=day.ms, start_ms=T0 + 2 * day.ms)
    weekly = resample(indexed(frame), "1d", "1w")
    assert [ts.day_name() for ts in weekly.index] == ["Monday", "Monday", "Monday"]
    assert list(weekly.index.strftime("%Y-%m-%d")) == ["2024-01-01", "2024-01-08", "2024-01-15"]
    assert list(weekly["complete"]) == [False, True, False]
    assert weekly["open"].iloc[1] == frame["open"].iloc[5]
    assert weekly["close"].iloc[1] == frame["close"].iloc[11]


def test_missing_volume_stays_missing():
    frame = candles(10)
    frame.loc[3, "volume"] = np.nan
    result = resample(indexed(frame), "1m", "5m")
    assert np.isnan(result["volume"].iloc[0])
    assert not np.isnan(result["volume"].iloc[1])


def test_empty_frame_resamples_to_empty():
    empty = indexed(candles(0))
    result = resample(empty, "1m", "1h")
    assert result.empty
    assert "complete" in result.columns


@pytest.mark.parametrize(
    ("source", "target"),
    [("5m", "1m"), ("1m", "1m"), ("3m", "5m"), ("3d", "1w"), ("1h", "3m")],
)
def test_only_coarser_multiples_are_allowed(source, target):
    with pytest.raises(InvalidInput, match="cannot resample"):
        resample(indexed(candles(3)), source, target)


def test_unaligned_or_unsorted_input_is_refused():
    frame = candles(5)
    with pytest.raises(InvalidInput, match="grid"):
        resample(indexed(frame.assign(open_time=frame["open_time"] + 1)), "1m", "5m")
    with pytest.raises(InvalidInput, match="strictly increasing"):
        resample(indexed(frame.iloc[::-1]), "1m", "5m")
