"""Series list, gaps, order books, and the sync / gap-fill jobs over REST."""

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from domains.data.models import GapState, IngestionJob, Series
from domains.data.services.store import candles_upsert
from domains.data.tests.factories import T0, candles, series_key
from domains.data.tests.fakes import ETH_BTC_1M, ETH_USDT_1M, RecordedExchange
from domains.data.tests.fixtures import JobWorker
from dsta.kernel.jobs.api import JobStatus, get_job

pytestmark = pytest.mark.usefixtures("inprocess_bus")
MINUTE = 60_000
BASE = "/api/v1/market-data/"
Install = Callable[..., RecordedExchange]


@pytest.mark.django_db
def test_series_list_shows_coverage_gaps_and_labels(viewer: Any) -> None:
    series = series_key("1m")
    frame = candles(100).drop(index=[10, 11]).reset_index(drop=True)
    candles_upsert(series=series, frame=frame)
    other = series_key("5m", market_type="swap")
    candles_upsert(series=other, frame=candles(10, step_ms=5 * MINUTE), synthetic=True)

    body = viewer.get(BASE + "series", {"symbol": series.url_symbol}).json()
    assert [s["symbol"] for s in body["results"]] == [series.symbol]
    row = body["results"][0]
    assert (row["candle_count"], row["expected_count"]) == (98, 100)
    assert row["coverage"] == 0.98
    assert row["first_open_time"] == "2024-01-01T00:00:00Z"
    assert (row["synthetic"], row["keep_up"], row["url_symbol"]) == (
        False,
        False,
        series.url_symbol,
    )
    swaps = viewer.get(BASE + "series", {"market_type": "swap", "synthetic": "true"}).json()
    assert other.symbol in [s["symbol"] for s in swaps["results"]]
    assert all(s["synthetic"] for s in swaps["results"])
    bad = viewer.get(BASE + "series", {"timeframe": "2w"})
    assert bad.status_code == 400
    assert bad.json()["error"]["code"] == "invalid_input"


@pytest.mark.django_db
def test_gaps_lists_missing_ranges_per_series(viewer: Any) -> None:
    series = series_key("1m")
    frame = candles(100).drop(index=[10, 11, 50]).reset_index(drop=True)
    candles_upsert(series=series, frame=frame)

    body = viewer.get(
        BASE + "gaps", {"venue": "binance", "symbol": series.url_symbol, "timeframe": "1m"}
    ).json()
    assert len(body["results"]) == 1
    result = body["results"][0]
    assert (result["gap_count"], result["missing_bars"]) == (2, 3)
    assert [
        (g["start_ms"], g["end_ms"], g["missing_bars"], g["state"]) for g in result["gaps"]
    ] == [
        (T0 + 10 * MINUTE, T0 + 12 * MINUTE, 2, "missing"),
        (T0 + 50 * MINUTE, T0 + 51 * MINUTE, 1, "missing"),
    ]
    assert result["gaps"][0]["start"] == "2024-01-01T00:10:00Z"
    ranged = viewer.get(
        BASE + "gaps",
        {"symbol": series.url_symbol, "start": "2024-01-01T00:40:00Z", "end": T0 + 60 * MINUTE},
    ).json()
    assert [g["start_ms"] for g in ranged["results"][0]["gaps"]] == [T0 + 50 * MINUTE]
    unknown = viewer.get(
        BASE + "gaps", {"venue": "binance", "symbol": "NO-USDT", "timeframe": "1m"}
    )
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "unknown_series"
    backwards = viewer.get(BASE + "gaps", {"start": T0 + MINUTE, "end": T0})
    assert backwards.status_code == 400
    assert backwards.json()["error"]["message"] == "end must be after start"


@pytest.mark.django_db
def test_order_book_comes_from_the_exchange(viewer: Any, recorded_exchange: Install) -> None:
    fake = recorded_exchange(ETH_USDT_1M)
    response = viewer.get(BASE + "orderbook/ETH-USDT", {"venue": "binance", "depth": 1})
    assert response.status_code == 200, response.json()
    assert response.json() == {
        "venue": "binance",
        "symbol": "ETH/USDT",
        "timestamp": "2024-01-01T00:00:00Z",
        "sequence": 42,
        "bids": [["100.5", "2"]],
        "asks": [["100.6", "3"]],
    }
    assert fake.book_requests == [("binance", "ETH/USDT", 1)]
    unknown = viewer.get(BASE + "orderbook/ETH-USDT", {"venue": "nowhere"})
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "unknown_venue"
    assert (
        viewer.get(BASE + "orderbook/ETH-USDT", {"venue": "binance", "depth": 0}).status_code == 400
    )
    assert viewer.get(BASE + "orderbook/ETH-USDT").status_code == 400


@pytest.mark.django_db
def test_starting_jobs_needs_the_trader_role(viewer: Any, client: Any) -> None:
    body = {"venue": "binance", "symbol": "BTC-USDT", "timeframe": "1m", "start": T0}
    assert viewer.post(BASE + "sync", body, format="json").status_code == 403
    assert client.post(BASE + "sync", body, content_type="application/json").status_code == 401
    assert viewer.post(BASE + "gaps/fill", body, format="json").status_code == 403


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        ({"venue": "kraken"}, 404, "unknown_venue"),
        ({"timeframe": "1M"}, 400, "invalid_input"),
        ({"symbol": "BTCUSDT"}, 400, "invalid_input"),
        ({"start": "not a time"}, 400, "invalid_input"),
        ({"mode": "forever"}, 400, "invalid_input"),
        ({"end": T0 - MINUTE}, 400, "invalid_input"),
        ({"price_type": "mark", "market_type": "swap", "symbol": "BTC-USDT:USDT"}, 400, None),
    ],
)
def test_bad_sync_requests_are_refused_with_a_reason(
    trader: Any, change: dict[str, Any], status: int, code: str | None
) -> None:
    body = {"venue": "binance", "symbol": "BTC-USDT", "timeframe": "1m", "start": T0, **change}
    response = trader.post(BASE + "sync", body, format="json")
    assert response.status_code == status, response.json()
    if code:
        assert response.json()["error"]["code"] == code
    assert not IngestionJob.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_sync_starts_a_backfill_job_that_keeps_the_series_up(
    trader: Any, recorded_exchange: Install, job_worker: JobWorker
) -> None:
    fake = recorded_exchange(ETH_USDT_1M)
    series = series_key("1m")
    response = trader.post(
        BASE + "sync",
        {
            "venue": "binance",
            "symbol": series.url_symbol,
            "timeframe": "1m",
            "start": "2022-08-14T00:00:00Z",
            "end": "2022-08-15",
            "mode": "keep_up",
        },
        format="json",
    )
    assert response.status_code == 202, response.json()
    job = response.json()
    assert job["kind"] == "data.ingest"
    assert job["url"] == f"/api/v1/jobs/{job['id']}/"
    job_worker.drain()

    info = get_job(job["id"])
    assert info.status is JobStatus.SUCCEEDED, info.error
    assert info.owner_id == trader.user.pk
    record = Series.objects.get(**series.as_dict())
    assert record.keep_up
    assert record.candle_count == len(fake.rows)
    followed = trader.get(f"/api/v1/jobs/{job['id']}/").json()
    assert followed["status"] == "succeeded"
    assert followed["done"] == followed["total"] == 1440


@pytest.mark.django_db(transaction=True)
def test_gap_fill_job_marks_what_the_venue_lacks_and_synthesizes_on_request(
    trader: Any, recorded_exchange: Install, job_worker: JobWorker
) -> None:
    fake = recorded_exchange(ETH_BTC_1M)
    series = series_key("1m")
    keep = np.ones(len(fake.rows), dtype=bool)
    keep[200:205] = False
    rows = fake.rows[keep]
    candles_upsert(
        series=series,
        frame={
            "open_time": rows[:, 0].astype(np.int64),
            **{n: rows[:, i] for i, n in enumerate(("open", "high", "low", "close", "volume"), 1)},
        },
    )
    body = {"venue": "binance", "symbol": series.url_symbol, "timeframe": "1m"}

    response = trader.post(BASE + "gaps/fill", body, format="json")
    assert response.status_code == 202, response.json()
    job_worker.drain()
    info = get_job(response.json()["id"])
    assert info.status is JobStatus.SUCCEEDED, info.error
    assert info.result["refetched_bars"] == 5
    assert info.result["venue_has_none"] == 1
    gaps = trader.get(BASE + "gaps", {"symbol": series.url_symbol}).json()["results"][0]["gaps"]
    assert [g["state"] for g in gaps] == [GapState.VENUE_HAS_NONE]

    synthetic = trader.post(BASE + "gaps/fill", {**body, "synthesize": True}, format="json")
    job_worker.drain()
    assert get_job(synthetic.json()["id"]).result["synthesized_bars"] == 1
    listed = trader.get(BASE + "series", {"symbol": series.url_symbol}).json()["results"][0]
    assert listed["synthetic"]
    assert listed["coverage"] == 1.0

    unknown = trader.post(BASE + "gaps/fill", {**body, "symbol": "NONE-BTC"}, format="json")
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "unknown_series"
