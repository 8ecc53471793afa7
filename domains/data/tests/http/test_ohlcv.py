"""``GET /api/v1/market-data/ohlcv/{symbol}``: JSON and streamed CSV, cursor paging, resampling
on the fly, and bad input answered in the one error format."""

import csv
import io
from typing import Any

import numpy as np
import pytest

from domains.data.services.store import candles_upsert
from domains.data.tests.factories import T0, candles, series_key
from dsta.kernel.market import SeriesKey

pytestmark = pytest.mark.django_db

MINUTE = 60_000
URL = "/api/v1/market-data/ohlcv/"


@pytest.fixture
def day() -> tuple[SeriesKey, Any]:
    """One day of 1m candles, with bar 7 (in the second 5m bucket) missing."""
    series = series_key("1m")
    frame = candles(1440, seed=3)
    frame = frame.drop(index=7).reset_index(drop=True)
    candles_upsert(series=series, frame=frame)
    return series, frame


def get(client: Any, series: SeriesKey, **params: Any) -> Any:
    query = {"venue": series.venue, "timeframe": series.timeframe.code, **params}
    return client.get(URL + series.url_symbol, query)


def test_json_pages_follow_the_cursor_to_the_end_without_overlap(
    viewer: Any, day: tuple[SeriesKey, Any]
) -> None:
    series, frame = day
    seen: list[int] = []
    response = get(viewer, series, start=T0, limit=500)
    while True:
        assert response.status_code == 200, response.json()
        body = response.json()
        seen += [candle["open_time"] for candle in body["candles"]]
        if body["next_cursor"] is None:
            break
        assert body["next_cursor"] == body["candles"][-1]["open_time"]
        response = get(viewer, series, cursor=body["next_cursor"], limit=500)
    assert seen == frame["open_time"].tolist()
    first = get(viewer, series, start=T0, limit=1).json()
    assert first["series"] == {
        "venue": "binance",
        "market_type": "spot",
        "symbol": series.symbol,
        "url_symbol": series.url_symbol,
        "price_type": "trades",
        "timeframe": "1m",
        "source_timeframe": "1m",
    }
    bar = first["candles"][0]
    assert bar["time"] == "2024-01-01T00:00:00Z"
    assert bar["close"] == frame["close"][0]
    assert bar["volume"] == frame["volume"][0]
    assert (bar["complete"], bar["synthetic"], first["synthetic"]) == (True, False, False)


def test_without_a_start_the_latest_bars_are_served(
    viewer: Any, day: tuple[SeriesKey, Any]
) -> None:
    series, frame = day
    body = get(viewer, series, limit=3).json()
    assert [c["open_time"] for c in body["candles"]] == frame["open_time"].tolist()[-3:]
    assert body["next_cursor"] is None
    ended = get(viewer, series, limit=2, end=T0 + 10 * MINUTE).json()
    assert [c["open_time"] for c in ended["candles"]] == [T0 + 8 * MINUTE, T0 + 9 * MINUTE]


def test_csv_is_streamed_with_a_header_and_every_row(
    viewer: Any, day: tuple[SeriesKey, Any]
) -> None:
    series, frame = day
    response = get(viewer, series, start=T0, limit=5000, format="csv")
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"].startswith("text/csv")
    assert response["X-DSTA-Synthetic"] == "false"
    text = b"".join(response.streaming_content).decode()
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == [
        "open_time",
        "time",
        "open",
        "high",
        "low",
        "close",
        "volume",
        "quote_volume",
        "trades",
        "complete",
        "synthetic",
    ]
    assert len(rows) == 1 + len(frame)
    assert [int(r[0]) for r in rows[1:]] == frame["open_time"].tolist()
    assert float(rows[1][5]) == frame["close"][0]
    paged = get(viewer, series, start=T0, limit=10, format="csv")
    assert paged["X-DSTA-Next-Cursor"] == str(T0 + 10 * MINUTE)  # bar 7 is missing


def test_a_coarser_timeframe_is_resampled_and_incomplete_buckets_are_flagged(
    viewer: Any, day: tuple[SeriesKey, Any]
) -> None:
    series, frame = day
    response = viewer.get(
        URL + series.url_symbol, {"venue": "binance", "timeframe": "5m", "start": T0, "limit": 3}
    )
    body = response.json()
    assert response.status_code == 200, body
    assert body["resampled"]
    assert body["series"]["source_timeframe"] == "1m"
    bars = body["candles"]
    assert [b["open_time"] for b in bars] == [T0, T0 + 5 * MINUTE, T0 + 10 * MINUTE]
    assert [b["complete"] for b in bars] == [True, False, True]  # bar 7 lies in the second
    by_hand = frame[(frame.open_time >= T0) & (frame.open_time < T0 + 5 * MINUTE)]
    assert bars[0]["open"] == by_hand["open"].iloc[0]
    assert bars[0]["high"] == by_hand["high"].max()
    assert bars[0]["low"] == by_hand["low"].min()
    assert bars[0]["close"] == by_hand["close"].iloc[-1]
    assert bars[0]["volume"] == pytest.approx(by_hand["volume"].sum())
    assert body["next_cursor"] == T0 + 10 * MINUTE
    hours = viewer.get(
        URL + series.url_symbol, {"venue": "binance", "timeframe": "1h", "start": T0}
    ).json()
    assert len(hours["candles"]) == 24
    assert hours["next_cursor"] is None
    assert sum(not b["complete"] for b in hours["candles"]) == 1


@pytest.mark.parametrize(
    ("params", "status", "code", "needle"),
    [
        ({"timeframe": "7m"}, 400, "invalid_input", "unknown timeframe"),
        ({"limit": 0}, 400, "invalid_input", "limit"),
        ({"limit": 5001}, 400, "invalid_input", "limit"),
        ({"start": T0 + MINUTE, "end": T0}, 400, "invalid_input", "end must be after start"),
        ({"start": "yesterday"}, 400, "invalid_input", "start"),
        ({"cursor": -5}, 400, "invalid_input", "cursor"),
        ({"format": "xml"}, 400, "invalid_input", "format"),
        ({"market_type": "options"}, 400, "invalid_input", "market_type"),
        ({"venue": "Not A Venue"}, 400, "invalid_input", "venue"),
        ({"venue": "gateio"}, 404, "unknown_series", "no candles stored"),
        ({"timeframe": "3m"}, 200, None, None),  # made of whole 1m bars: resampled
        ({"timeframe": "30s"}, 400, "invalid_input", "unknown timeframe"),
    ],
)
def test_bad_input_gets_a_reason_in_the_one_error_format(
    viewer: Any,
    day: tuple[SeriesKey, Any],
    params: dict[str, Any],
    status: int,
    code: str | None,
    needle: str | None,
) -> None:
    series, _ = day
    response = get(viewer, series, **params)
    assert response.status_code == status, response.json()
    if code is None:
        return
    error = response.json()["error"]
    assert error["code"] == code
    assert str(needle) in str(error)


def test_bad_symbols_unknown_series_and_finer_timeframes(
    viewer: Any, day: tuple[SeriesKey, Any]
) -> None:
    series, _ = day
    bad = viewer.get(URL + "BTCUSDT", {"venue": "binance", "timeframe": "1m"})
    assert bad.status_code == 400
    assert "not a symbol" in bad.json()["error"]["message"]
    missing = viewer.get(URL + "NOPE-USDT", {"venue": "binance", "timeframe": "1m"})
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "unknown_series"
    finer = get(viewer, series, timeframe="1s")
    assert finer.status_code == 404
    assert finer.json()["error"]["details"]["stored_timeframes"] == ["1m"]


def test_reads_need_a_signed_in_user(client: Any, day: tuple[SeriesKey, Any]) -> None:
    series, _ = day
    response = get(client, series)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"


def test_weekly_bars_are_aggregated_from_minutes_on_mondays(viewer: Any) -> None:
    series = series_key("1m")
    frame = candles(3 * 10080, seed=1)
    candles_upsert(series=series, frame=frame)
    body = viewer.get(
        URL + series.url_symbol, {"venue": "binance", "timeframe": "1w", "start": T0}
    ).json()
    assert [b["complete"] for b in body["candles"]] == [True, True, True]
    assert np.isclose(body["candles"][1]["volume"], frame["volume"][10080:20160].sum())
