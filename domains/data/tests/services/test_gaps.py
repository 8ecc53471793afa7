from datetime import UTC, datetime

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domains.data.models import DataGap, GapState
from domains.data.services.gaps import Gap, find_gaps, gap_set_state, gaps_in_open_times
from domains.data.services.importers import import_candles_file
from domains.data.services.store import candles_upsert
from domains.data.tests.conftest import NOW_MS
from domains.data.tests.factories import T0, candles, series_key
from dsta.kernel.market import SeriesKey, Timeframe

M1 = Timeframe("1m")
MINUTE = 60_000


def ms(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp() * 1000)


def test_no_holes_no_gaps():
    times = T0 + MINUTE * np.arange(100)
    assert gaps_in_open_times(times, M1) == []
    assert gaps_in_open_times(np.empty(0, np.int64), M1) == []


def test_holes_inside_and_at_the_edges_of_a_range():
    times = T0 + MINUTE * np.array([2, 3, 7, 8])
    assert gaps_in_open_times(times, M1) == [Gap(T0 + 4 * MINUTE, T0 + 7 * MINUTE, 3)]
    edged = gaps_in_open_times(times, M1, start=T0, end=T0 + 10 * MINUTE)
    assert edged == [
        Gap(T0, T0 + 2 * MINUTE, 2),
        Gap(T0 + 4 * MINUTE, T0 + 7 * MINUTE, 3),
        Gap(T0 + 9 * MINUTE, T0 + 10 * MINUTE, 1),
    ]
    # An empty range with bounds is one gap; unaligned bounds round up to the grid.
    assert gaps_in_open_times(np.empty(0, np.int64), M1, start=T0 + 1, end=T0 + 3 * MINUTE) == [
        Gap(T0 + MINUTE, T0 + 3 * MINUTE, 2)
    ]


@settings(max_examples=50, deadline=None)
@given(
    total=st.integers(min_value=2, max_value=400),
    cuts=st.lists(st.tuples(st.integers(0, 399), st.integers(1, 30)), max_size=8),
    code=st.sampled_from(["1m", "5m", "1h", "1d", "1w"]),
)
def test_removed_ranges_are_exactly_the_gaps_found(total, cuts, code):
    """Remove random ranges from a complete series: the gaps found are those ranges, merged."""
    tf = Timeframe(code)
    start = tf.floor(T0 + 12_345_678)
    present = np.ones(total, dtype=bool)
    for first, length in cuts:
        present[first : first + length] = False
    times = start + tf.ms * np.flatnonzero(present)

    found = gaps_in_open_times(times, tf, start=start, end=start + total * tf.ms)

    expected = []
    i = 0
    while i < total:  # runs of missing bars, by hand
        if present[i]:
            i += 1
            continue
        j = i
        while j < total and not present[j]:
            j += 1
        expected.append(Gap(start + i * tf.ms, start + j * tf.ms, j - i))
        i = j
    assert found == expected
    assert sum(gap.missing_bars for gap in found) == int((~present).sum())


@pytest.mark.django_db
def test_find_gaps_records_them_and_keeps_records_in_step():
    key = series_key()
    frame = candles(60)
    holes = frame.drop(index=[*range(10, 15), 40])
    candles_upsert(series=key, frame=holes, now_ms=NOW_MS)

    gaps = find_gaps(series=key)

    assert gaps == [
        Gap(T0 + 10 * MINUTE, T0 + 15 * MINUTE, 5),
        Gap(T0 + 40 * MINUTE, T0 + 41 * MINUTE, 1),
    ]
    assert DataGap.objects.filter(series__symbol=key.symbol).count() == 2
    gap_set_state(series=key, start=T0 + 10 * MINUTE, state=GapState.VENUE_HAS_NONE)

    candles_upsert(series=key, frame=frame.iloc[[40]], now_ms=NOW_MS)  # the one-bar hole is filled
    again = find_gaps(series=key)

    assert again == [Gap(T0 + 10 * MINUTE, T0 + 15 * MINUTE, 5, "venue_has_none")]
    assert list(
        DataGap.objects.filter(series__symbol=key.symbol).values_list("state", flat=True)
    ) == ["venue_has_none"]
    assert find_gaps(series=key, start=T0, end=T0 + 10 * MINUTE) == []
    assert find_gaps(series=key, start=T0 + 55 * MINUTE, end=T0 + 70 * MINUTE, record=False) == [
        Gap(T0 + 60 * MINUTE, T0 + 70 * MINUTE, 10)
    ]


def _source_gap(before: str, after: str, step_ms: int) -> Gap:
    """SOURCES.md writes a gap as (last bar before -> first bar after)."""
    start, end = ms(before) + step_ms, ms(after)
    return Gap(start, end, (end - start) // step_ms)


def _import_norm_csv(path, timeframe: str) -> SeriesKey:
    key = series_key(timeframe)
    import_candles_file(path=path, series=key, fmt="csv", now_ms=NOW_MS)
    return key


@pytest.mark.django_db
def test_real_gaps_of_ada_btc_5m(shared_data):
    # candles/SOURCES.md: ADA_BTC-5m: 5 gaps, 40 missing bars, all five listed.
    key = _import_norm_csv(shared_data / "candles/freqtrade/ADA_BTC-5m.feather.norm.csv", "5m")
    five = 300_000
    assert find_gaps(series=key) == [
        _source_gap("2018-01-15T10:05", "2018-01-15T10:15", five),
        _source_gap("2018-01-15T10:25", "2018-01-15T10:35", five),
        _source_gap("2018-01-15T11:05", "2018-01-15T11:30", five),
        _source_gap("2018-01-15T11:40", "2018-01-15T11:50", five),
        _source_gap("2018-01-15T11:55", "2018-01-15T14:45", five),
    ]
    assert sum(gap.missing_bars for gap in find_gaps(series=key)) == 40


@pytest.mark.django_db
def test_real_gaps_of_dash_btc_5m(shared_data):
    # candles/SOURCES.md: DASH_BTC-5m: 2 gaps, 2 missing bars.
    key = _import_norm_csv(shared_data / "candles/freqtrade/DASH_BTC-5m.feather.norm.csv", "5m")
    assert find_gaps(series=key) == [
        _source_gap("2018-01-27T00:15", "2018-01-27T00:25", 300_000),
        _source_gap("2018-01-28T05:55", "2018-01-28T06:05", 300_000),
    ]


@pytest.mark.django_db
def test_real_gap_of_the_legacy_eth_btc_1m_json(shared_data):
    # candles/SOURCES.md: legacy ETH_BTC-1m.json: 1 gap, 2018-01-24T05:17 -> 05:19.
    key = series_key("1m")
    path = shared_data / "candles/freqtrade/legacy_eca8ddabe_parent/ETH_BTC-1m.json"
    result = import_candles_file(path=path, series=key, now_ms=NOW_MS)
    assert (result.format, result.upsert.inserted) == ("freqtrade-json", 14397)
    assert find_gaps(series=key) == [_source_gap("2018-01-24T05:17", "2018-01-24T05:19", MINUTE)]


@pytest.mark.django_db
def test_real_gaps_of_the_sparse_unittest_btc_1m(shared_data):
    # candles/SOURCES.md: UNITTEST_BTC-1m: 538 gaps, 717 missing bars; the largest include these.
    key = _import_norm_csv(shared_data / "candles/freqtrade/UNITTEST_BTC-1m.json.norm.csv", "1m")
    gaps = find_gaps(series=key)
    assert (len(gaps), sum(gap.missing_bars for gap in gaps)) == (538, 717)
    for before, after in [
        ("2017-11-04T23:07", "2017-11-04T23:14"),
        ("2017-11-05T03:12", "2017-11-05T03:20"),
        ("2017-11-05T08:54", "2017-11-05T09:00"),
    ]:
        assert _source_gap(before, after, MINUTE) in gaps
    assert DataGap.objects.filter(series__symbol=key.symbol).count() == 538
