"""Demo data: the synthetic sample when the venue cannot be reached (valid OHLC, labelled
synthetic, idempotent), and the download path when it can."""

import socket
from collections.abc import Callable, Iterator
from io import StringIO

import numpy as np
import pytest
from django.core.management import call_command
from hypothesis import given, settings
from hypothesis import strategies as st

from domains.data.models import Series
from domains.data.services.columns import from_arrays
from domains.data.services.demo import (
    DEMO_VENUE,
    SYNTHETIC_MARKETS,
    load_demo_data,
    synthetic_candles,
)
from domains.data.services.serving import series_summaries
from domains.data.services.validation import check_candles
from domains.data.tests.factories import T0
from domains.data.tests.fakes import ETH_USDT_1M, RecordedExchange
from dsta.kernel.market import SeriesKey

BARS_PER_WEEK = 7 * 24 * 60


def closed_port() -> int:
    """A local port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def listening() -> Iterator[tuple[str, int]]:
    """A local address that accepts connections, standing in for a reachable venue."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    yield "127.0.0.1", int(server.getsockname()[1])
    server.close()


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    price=st.floats(0.001, 1e6),
    volatility=st.floats(0.05, 3.0),
    bars=st.integers(1, 500),
)
def test_the_synthetic_sample_passes_the_stores_own_checks(
    seed: int, price: float, volatility: float, bars: int
) -> None:
    frame = synthetic_candles(
        start_ms=T0, bars=bars, start_price=price, seed=seed, annual_volatility=volatility
    )
    columns = from_arrays(frame["open_time"], {k: v for k, v in frame.items() if k != "open_time"})
    series = SeriesKey.of(DEMO_VENUE, "spot", "BTC/USDT", "trades", "1m")
    checked = check_candles(columns, series=series, now_ms=T0 + (bars + 1) * 60_000)
    assert checked.problems == ()
    assert len(checked.good) == bars
    # Each bar opens where the one before closed: a continuous path, not independent bars.
    assert np.array_equal(frame["open"][1:], frame["close"][:-1])


@pytest.mark.django_db
def test_without_internet_a_labelled_synthetic_sample_is_stored_once() -> None:
    report = load_demo_data(probe=("127.0.0.1", closed_port()), timeout=1.0)

    assert report.source == "synthetic"
    assert "not reachable" in report.reason
    assert report.inserted == len(SYNTHETIC_MARKETS) * BARS_PER_WEEK
    demo = series_summaries(venue=DEMO_VENUE)
    assert sorted(s.symbol for s in demo) == sorted(SYNTHETIC_MARKETS)
    assert all(s.synthetic and s.candle_count == BARS_PER_WEEK and s.coverage == 1.0 for s in demo)

    again = load_demo_data(probe=None)
    assert again.inserted == 0
    assert len(again.skipped) == len(SYNTHETIC_MARKETS)


@pytest.mark.django_db
def test_when_the_venue_answers_recent_real_candles_are_downloaded(
    recorded_exchange: Callable[..., RecordedExchange], listening: tuple[str, int]
) -> None:
    fake = recorded_exchange(ETH_USDT_1M)
    now = int(fake.times[-1]) + 60_000  # "now" is the end of the recorded day

    report = load_demo_data(probe=listening, timeout=1.0, now_ms=now)

    assert report.source == "download"
    real = Series.objects.filter(venue="binance", symbol__in=["BTC/USDT", "ETH/USDT"])
    assert sorted(real.values_list("candle_count", flat=True)) == [1440, 1440]
    assert not real.filter(is_synthetic=True).exists()
    assert not Series.objects.filter(venue=DEMO_VENUE).exists()


@pytest.mark.django_db
def test_the_command_reports_the_synthetic_fallback() -> None:
    out = StringIO()
    call_command(
        "load_demo_data", "--probe", f"127.0.0.1:{closed_port()}", "--timeout", "1", stdout=out
    )
    assert "synthetic sample" in out.getvalue()
    assert Series.objects.filter(venue=DEMO_VENUE, is_synthetic=True).count() == 3
