"""Gap filling on real candles: the venue first, ``venue_has_none`` where it has nothing, and
synthetic bars only when asked (then flagged)."""

from collections.abc import Callable

import numpy as np
import pytest

from domains.data.api import UnknownSeries
from domains.data.models import DataGap, GapState, Series
from domains.data.selectors import candles_arrays
from domains.data.services.gap_filling import gaps_fill
from domains.data.services.gaps import find_gaps
from domains.data.services.serving import candles_page, page_request, series_gaps
from domains.data.services.store import candles_upsert
from domains.data.tests.factories import series_key
from domains.data.tests.fakes import ETH_BTC_1M, RecordedExchange
from dsta.kernel.market import SeriesKey

pytestmark = pytest.mark.django_db

MINUTE = 60_000
# The one hole in the real ETH/BTC file: 2018-01-24T05:18 is missing on the venue itself.
REAL_GAP_START = 1_516_771_080_000
Install = Callable[..., RecordedExchange]


def store_rows(series: SeriesKey, rows: np.ndarray) -> None:
    candles_upsert(
        series=series,
        frame={
            "open_time": rows[:, 0].astype(np.int64),
            "open": rows[:, 1],
            "high": rows[:, 2],
            "low": rows[:, 3],
            "close": rows[:, 4],
            "volume": rows[:, 5],
        },
    )


@pytest.fixture
def holed(recorded_exchange: Install) -> tuple[SeriesKey, RecordedExchange]:
    """The real file stored with two ranges left out that the venue does have."""
    fake = recorded_exchange(ETH_BTC_1M)
    series = series_key("1m")
    keep = np.ones(len(fake.rows), dtype=bool)
    keep[100:110] = False
    keep[5000:5050] = False
    store_rows(series, fake.rows[keep])
    return series, fake


def test_the_venue_refills_what_it_has_and_the_real_hole_is_marked_venue_has_none(
    holed: tuple[SeriesKey, RecordedExchange],
) -> None:
    series, fake = holed
    assert len(find_gaps(series=series)) == 3  # two made here, one real

    report = gaps_fill(series=series)

    assert (report.gaps, report.refetched_bars, report.venue_has_none) == (3, 60, 1)
    assert report.synthesized_bars == 0
    arrays = candles_arrays(series=series)
    assert np.array_equal(arrays["open_time"], fake.times)  # exactly the venue's bars
    assert np.array_equal(arrays["close"], fake.rows[:, 4])
    left = find_gaps(series=series)
    assert [(gap.start, gap.missing_bars, gap.state) for gap in left] == [
        (REAL_GAP_START, 1, GapState.VENUE_HAS_NONE)
    ]
    # The venue is not asked again about a range it has no bars for.
    calls = len(fake.calls)
    again = gaps_fill(series=series)
    assert again.refetched_bars == 0
    assert len(fake.calls) == calls


def test_synthesize_forward_fills_only_when_asked_and_flags_the_bars(
    holed: tuple[SeriesKey, RecordedExchange],
) -> None:
    series, fake = holed
    gaps_fill(series=series)
    assert not Series.objects.get(**series.as_dict()).is_synthetic

    report = gaps_fill(series=series, synthesize=True)

    assert (report.synthesized_gaps, report.synthesized_bars) == (1, 1)
    assert find_gaps(series=series) == []
    gap = DataGap.objects.get(series__symbol=series.symbol)
    assert (gap.start, gap.state) == (REAL_GAP_START, GapState.FILLED_SYNTHETIC)
    before = np.flatnonzero(fake.times == REAL_GAP_START - MINUTE)[0]
    bar = candles_arrays(series=series, start=REAL_GAP_START, limit=1)
    previous_close = fake.rows[before, 4]
    assert [bar[name][0] for name in ("open", "high", "low", "close")] == [previous_close] * 4
    assert bar["volume"][0] == 0.0
    assert Series.objects.get(**series.as_dict()).is_synthetic

    page = candles_page(page_request(series=series, start=REAL_GAP_START - 2 * MINUTE, limit=5))
    assert page.synthetic
    assert page.synthetic_bars == [False, False, True, False, False]
    listed = series_gaps(series=series)
    assert [(g.missing_bars, g.state) for g in listed] == [(1, GapState.FILLED_SYNTHETIC)]


def test_without_synthesize_nothing_is_invented(
    holed: tuple[SeriesKey, RecordedExchange],
) -> None:
    series, fake = holed
    gaps_fill(series=series)
    gaps_fill(series=series)
    assert Series.objects.get(**series.as_dict()).candle_count == len(fake.rows)
    assert not DataGap.objects.filter(state=GapState.FILLED_SYNTHETIC).exists()


def test_filling_an_unknown_series_is_refused(recorded_exchange: Install) -> None:
    recorded_exchange(ETH_BTC_1M)
    with pytest.raises(UnknownSeries):
        gaps_fill(series=series_key("1m"))
