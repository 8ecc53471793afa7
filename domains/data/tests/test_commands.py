"""``sync_market_data`` (follows the job, non-zero exit on failure) and ``find_gaps --fill``."""

from collections.abc import Callable
from io import StringIO

import numpy as np
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from domains.data.models import DataGap, GapState, Series
from domains.data.services.store import candles_upsert
from domains.data.tests.factories import series_key
from domains.data.tests.fakes import ETH_BTC_1M, ETH_USDT_1M, RecordedExchange
from domains.data.tests.fixtures import JobWorker
from domains.exchange.api import UnknownSymbol

MINUTE = 60_000
Install = Callable[..., RecordedExchange]


@pytest.mark.django_db(transaction=True)
def test_sync_command_follows_the_job_to_the_end(
    recorded_exchange: Install, job_worker: JobWorker
) -> None:
    fake = recorded_exchange(ETH_USDT_1M)
    series = series_key("1m")
    out = StringIO()
    call_command(
        "sync_market_data",
        "--venue=binance",
        f"--symbol={series.url_symbol}",
        "--timeframe=1m",
        f"--start={int(fake.times[0])}",
        "--end=2022-08-15T00:00:00Z",
        "--timeout=60",
        stdout=out,
    )
    assert "done: 1440 new" in out.getvalue()
    assert Series.objects.get(**series.as_dict()).candle_count == 1440


@pytest.mark.django_db(transaction=True)
def test_sync_command_fails_loudly_when_the_job_fails(
    recorded_exchange: Install, job_worker: JobWorker
) -> None:
    fake = recorded_exchange(ETH_USDT_1M)

    def refuse(page: int) -> None:
        raise UnknownSymbol("binance lists no market NOPE/USDT")

    fake.before_page = refuse
    with pytest.raises(CommandError, match="failed: binance lists no market"):
        call_command(
            "sync_market_data",
            "--venue=binance",
            "--symbol=NOPE-USDT",
            "--timeframe=1m",
            "--start=2022-08-14",
            "--timeout=60",
            stdout=StringIO(),
        )
    with pytest.raises(CommandError, match="start"):
        call_command(
            "sync_market_data",
            "--venue=binance",
            "--symbol=BTC-USDT",
            "--timeframe=1m",
            "--start=someday",
            stdout=StringIO(),
        )


@pytest.mark.django_db
def test_find_gaps_lists_and_fills(recorded_exchange: Install) -> None:
    fake = recorded_exchange(ETH_BTC_1M)
    series = series_key("1m")
    keep = np.ones(len(fake.rows), dtype=bool)
    keep[300:303] = False
    rows = fake.rows[keep]
    candles_upsert(
        series=series,
        frame={
            "open_time": rows[:, 0].astype(np.int64),
            **{n: rows[:, i] for i, n in enumerate(("open", "high", "low", "close", "volume"), 1)},
        },
    )
    out = StringIO()
    call_command("find_gaps", f"--symbol={series.url_symbol}", stdout=out)
    assert "2 gap(s), 4 missing bar(s)" in out.getvalue()

    out = StringIO()
    call_command("find_gaps", f"--symbol={series.url_symbol}", "--fill", stdout=out)
    assert "filled from the venue: 3 bar(s); venue has none: 1 gap(s)" in out.getvalue()
    assert DataGap.objects.get(series__symbol=series.symbol).state == GapState.VENUE_HAS_NONE
    with pytest.raises(CommandError, match="needs --fill"):
        call_command("find_gaps", "--synthesize", stdout=StringIO())
    with pytest.raises(CommandError, match="no stored series"):
        call_command("find_gaps", "--symbol=NONE-USDT", stdout=StringIO())
