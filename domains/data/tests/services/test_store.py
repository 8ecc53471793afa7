import numpy as np
import pandas as pd
import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domains.data.models import Candle, QuarantinedRow, Series
from domains.data.selectors import candles_arrays, candles_frame, series_info
from domains.data.services import writers
from domains.data.services.columns import to_columns
from domains.data.services.store import candles_upsert, series_recount
from domains.data.tests.conftest import NOW_MS
from domains.data.tests.factories import T0, candles, series_key
from dsta.kernel.errors import InvalidInput

pytestmark = pytest.mark.django_db


def test_upsert_then_read_round_trips_every_value(now_ms):
    key = series_key()
    frame = candles(500, seed=1)
    frame.loc[3, ["quote_volume", "trades"]] = np.nan  # optional values may be absent per row

    result = candles_upsert(series=key, frame=frame, now_ms=now_ms)

    assert (result.inserted, result.updated, result.unchanged, result.quarantined) == (500, 0, 0, 0)
    arrays = candles_arrays(series=key)
    assert arrays["open_time"].dtype == np.int64
    np.testing.assert_array_equal(arrays["open_time"], frame["open_time"].to_numpy())
    for name in ("open", "high", "low", "close", "volume", "quote_volume", "trades"):
        assert arrays[name].dtype == np.float64
        np.testing.assert_array_equal(arrays[name], frame[name].to_numpy(), err_msg=name)
    assert np.isnan(arrays["trades"][3])
    assert np.isnan(arrays["quote_volume"][3])


def test_postgres_writes_by_copy_and_reads_by_copy(now_ms):
    if connection.vendor != "postgresql":
        pytest.skip(
            "the COPY path exists only on PostgreSQL (run with DATABASE_URL=postgres://...)"
        )
    key = series_key()
    frame = candles(50)
    # COPY runs on the raw psycopg cursor, which Django does not log: rows that arrive while no
    # logged statement inserts them came by COPY.
    with CaptureQueriesContext(connection) as appended:
        candles_upsert(series=key, frame=frame.iloc[:30], now_ms=now_ms)
    with CaptureQueriesContext(connection) as upserted:
        candles_upsert(series=key, frame=frame, now_ms=now_ms)  # 30 known rows, 20 new
    with CaptureQueriesContext(connection) as read:
        arrays = candles_arrays(series=key)

    append_sql = " ".join(query["sql"] for query in appended.captured_queries)
    assert "INSERT INTO data_candle" not in append_sql
    upsert_sql = " ".join(query["sql"] for query in upserted.captured_queries)
    assert "CREATE TEMP TABLE data_candle_stage" in upsert_sql
    assert "INSERT INTO data_candle_stage" not in upsert_sql  # staged by COPY, not INSERT
    assert "INSERT INTO data_candle (" in upsert_sql  # then moved over with ON CONFLICT
    assert not any("SELECT" in query["sql"] for query in read.captured_queries)
    assert len(arrays["open_time"]) == 50


def test_reimporting_the_same_range_changes_nothing(now_ms):
    key = series_key()
    frame = candles(300, seed=2)
    candles_upsert(series=key, frame=frame, now_ms=now_ms)

    again = candles_upsert(series=key, frame=frame, now_ms=now_ms)

    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 300)
    record = Series.objects.get(symbol=key.symbol)
    assert record.candle_count == 300


def test_changed_values_update_and_new_bars_insert(now_ms):
    key = series_key()
    revised = candles(120, seed=3)
    candles_upsert(series=key, frame=revised.iloc[:100], now_ms=now_ms)
    revised.loc[10, "close"] = revised.loc[10, "open"]  # a revised bar
    revised.loc[10, "volume"] += 1.0

    result = candles_upsert(series=key, frame=revised, now_ms=now_ms)

    assert (result.inserted, result.updated, result.unchanged) == (20, 1, 99)
    stored = candles_frame(series=key)
    assert stored["close"].iloc[10] == revised.loc[10, "close"]
    record = Series.objects.get(symbol=key.symbol)
    assert (record.candle_count, record.first_open_time, record.last_open_time) == (
        120,
        T0,
        T0 + 119 * 60_000,
    )


def test_series_coverage_follows_writes_out_of_order(now_ms):
    key = series_key()
    frame = candles(100, seed=4)
    candles_upsert(series=key, frame=frame.iloc[50:], now_ms=now_ms)
    candles_upsert(series=key, frame=frame.iloc[:10], now_ms=now_ms)

    info = series_info(series=key)

    assert info is not None
    assert (info.first_open_time, info.last_open_time, info.candle_count) == (
        T0,
        T0 + 99 * 60_000,
        60,
    )
    assert info.expected_count == 100
    assert info.coverage == pytest.approx(0.6)
    Candle.objects.filter(symbol=key.symbol, open_time__lt=T0 + 5 * 60_000).delete()
    series_recount(series=key)
    assert Series.objects.get(symbol=key.symbol).candle_count == 55


def test_bad_rows_are_quarantined_and_good_rows_stored(now_ms):
    key = series_key()
    frame = candles(10, seed=5)
    frame.loc[2, "high"] = frame.loc[2, "low"] / 2  # high below everything
    frame.loc[7, "volume"] = -1.0

    result = candles_upsert(series=key, frame=frame, now_ms=now_ms, source="unit-test")

    assert (result.inserted, result.quarantined) == (8, 2)
    assert [problem.row for problem in result.problems] == [2, 7]
    rows = list(QuarantinedRow.objects.filter(series__symbol=key.symbol).order_by("row_number"))
    assert [row.row_number for row in rows] == [2, 7]
    assert "high is below max(open, close)" in rows[0].reasons
    assert rows[1].reasons == ["volume is negative"]
    assert rows[1].raw["volume"] == -1.0
    assert rows[1].source == "unit-test"
    assert len(candles_arrays(series=key)["open_time"]) == 8


def test_strict_refuses_the_whole_batch_and_lists_bad_rows(now_ms):
    key = series_key()
    frame = candles(10, seed=6)
    frame.loc[4, "open"] = np.inf

    with pytest.raises(InvalidInput) as caught:
        candles_upsert(series=key, frame=frame, now_ms=now_ms, strict=True)

    assert caught.value.details["bad_rows"] == 1
    assert caught.value.details["rows"][0] == {"row": 4, "reasons": ["open is not a finite number"]}
    assert not Candle.objects.filter(symbol=key.symbol).exists()
    assert not QuarantinedRow.objects.filter(series__symbol=key.symbol).exists()


@pytest.mark.parametrize("path", ["append", "upsert"])
def test_database_refuses_what_the_checks_would_and_rolls_the_batch_back(path):
    """A write that bypasses the checks still meets the table's constraints: all rows or none."""
    key = series_key()
    frame = candles(10, seed=7)
    frame.loc[5, "high"] = frame.loc[5, "low"] - 1
    broken = to_columns(frame)
    backend = "postgres" if connection.vendor == "postgresql" else "sqlite"
    write = getattr(writers, f"{path}_{backend}")

    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        write(cursor, key, broken, lambda rows: None)

    assert not Candle.objects.filter(symbol=key.symbol).exists()


def test_rows_written_around_the_store_fall_back_to_the_upsert(now_ms):
    """Append assumes nothing lies outside the series' range; a stray row makes it upsert."""
    key = series_key()
    frame = candles(20, seed=8)
    candles_upsert(series=key, frame=frame.iloc[:10], now_ms=now_ms)
    stray = frame.iloc[15]
    Candle.objects.create(
        **key.as_dict(), open_time=int(stray["open_time"]), open=1.0, high=2.0, low=0.5, close=1.5
    )

    result = candles_upsert(series=key, frame=frame, now_ms=now_ms)

    assert (result.inserted, result.updated, result.unchanged) == (9, 1, 10)
    stored = candles_arrays(series=key)
    np.testing.assert_array_equal(stored["close"], frame["close"].to_numpy())


def test_mark_series_store_without_volume(now_ms):
    key = series_key("1h", market_type="swap", price_type="mark")
    frame = candles(24, step_ms=3_600_000, with_volume=False)

    result = candles_upsert(series=key, frame=frame, now_ms=now_ms)

    assert result.inserted == 24
    assert np.isnan(candles_arrays(series=key)["volume"]).all()


def test_numpy_structured_array_and_datetime_index_are_accepted(now_ms):
    key = series_key()
    frame = candles(5)
    structured = frame.to_records(index=False)
    assert candles_upsert(series=key, frame=structured, now_ms=now_ms).inserted == 5
    indexed = frame.set_index(pd.to_datetime(frame.pop("open_time"), unit="ms", utc=True))
    assert candles_upsert(series=key, frame=indexed, now_ms=now_ms).unchanged == 5


def test_input_without_prices_is_refused():
    with pytest.raises(InvalidInput, match="'close' is required"):
        candles_upsert(
            series=series_key(),
            frame=pd.DataFrame({"open_time": [T0], "open": [1.0], "high": [1.0], "low": [1.0]}),
        )


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    rows=st.integers(min_value=1, max_value=60),
    seed=st.integers(min_value=0, max_value=10_000),
    cut=st.floats(min_value=0, max_value=1),
)
def test_upsert_is_idempotent_in_any_split(rows, seed, cut):
    """Writing a series in two overlapping parts, then all of it again, stores it exactly once."""
    key = series_key()
    frame = candles(rows, seed=seed)
    split = int(rows * cut)
    candles_upsert(series=key, frame=frame.iloc[: split + 1], now_ms=NOW_MS)
    candles_upsert(series=key, frame=frame.iloc[split:], now_ms=NOW_MS)

    again = candles_upsert(series=key, frame=frame.sample(frac=1, random_state=seed), now_ms=NOW_MS)

    assert (again.inserted, again.updated, again.unchanged) == (0, 0, rows)
    stored = candles_arrays(series=key)
    np.testing.assert_array_equal(stored["open_time"], frame["open_time"].to_numpy())
    np.testing.assert_array_equal(stored["close"], frame["close"].to_numpy())
    info = series_info(series=key)
    assert info is not None
    assert info.candle_count == rows
