import importlib.util
import io
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from domains.data.models import Candle, QuarantinedRow
from domains.data.selectors import candles_arrays, series_info
from domains.data.services.importers import detect_format, import_candles_file, read_candle_file
from domains.data.tests.conftest import NOW_MS
from domains.data.tests.factories import series_key
from dsta.kernel.errors import InvalidInput
from dsta.kernel.market import SeriesKey, Timeframe

pytestmark = pytest.mark.django_db

LTI = "candles/live_trading_indicators"
# (file stem, symbol, market type, timeframe, rows): the labels come from candles/SOURCES.md.
VISION_FILES = [
    ("BTCUSDT-1h-2022-09-07", "BTC/USDT", "spot", "1h", 24),
    ("BTCUSDT-1h-2022-09-08", "BTC/USDT", "spot", "1h", 24),
    ("ETHUSDT-1m-2022-08-14", "ETH/USDT", "spot", "1m", 1440),
    ("ETHUSDT-1m-2022-08-15", "ETH/USDT", "spot", "1m", 1440),
    ("BTCUSDT-1m-2022-09-05", "BTC/USDT:USDT", "swap", "1m", 1440),
    ("BTCUSDT-1m-2022-09-06", "BTC/USDT:USDT", "swap", "1m", 1440),
    ("ETHUSDT-1h-2022-08-24", "ETH/USDT:USDT", "swap", "1h", 24),
    ("ETHUSDT-1h-2022-08-25", "ETH/USDT:USDT", "swap", "1h", 24),
    ("BTCUSD_PERP-1m-2022-10-24", "BTC/USD:BTC", "swap", "1m", 1440),
    ("BTCUSD_PERP-1m-2022-10-25", "BTC/USD:BTC", "swap", "1m", 1440),
]
BINANCE_HEADER = (
    "open_time,open,high,low,close,volume,close_time,quote_volume,count,"
    "taker_buy_volume,taker_buy_quote_volume,ignore"
)


def unique_key(
    symbol: str, market_type: str, timeframe: str, price_type: str = "trades"
) -> SeriesKey:
    """The real symbol on a venue id no other test uses, so files land in a fresh series."""
    venue = "t" + series_key().symbol.split("/")[0].lower()
    return SeriesKey.of(venue, market_type, symbol, price_type, timeframe)


def norm(path: Path) -> pd.DataFrame:
    return pd.read_csv(path)


@pytest.mark.parametrize(("stem", "symbol", "market_type", "timeframe", "rows"), VISION_FILES)
def test_binance_vision_zip_then_csv_store_the_same_candles(
    shared_data, stem, symbol, market_type, timeframe, rows
):
    key = unique_key(symbol, market_type, timeframe)
    zipped = import_candles_file(path=shared_data / LTI / f"{stem}.zip", series=key, now_ms=NOW_MS)
    assert (zipped.format, zipped.rows, zipped.upsert.inserted) == ("binance", rows, rows)

    plain = import_candles_file(path=shared_data / LTI / f"{stem}.csv", series=key, now_ms=NOW_MS)
    assert (plain.upsert.inserted, plain.upsert.updated, plain.upsert.unchanged) == (0, 0, rows)

    stored = candles_arrays(series=key)
    expected = norm(shared_data / LTI / f"{stem}.csv.norm.csv")
    np.testing.assert_array_equal(stored["open_time"], expected["timestamp_ms"].to_numpy())
    for name in ("open", "high", "low", "close", "volume"):
        np.testing.assert_array_equal(stored[name], expected[name].to_numpy(), err_msg=name)
    assert (stored["trades"] >= 0).all()
    assert (stored["quote_volume"] > 0).any()


def test_binance_vision_days_join_into_one_gapless_series(shared_data):
    key = unique_key("ETH/USDT", "spot", "1m")
    for day in ("14", "15"):
        import_candles_file(
            path=shared_data / LTI / f"ETHUSDT-1m-2022-08-{day}.zip", series=key, now_ms=NOW_MS
        )
    info = series_info(series=key)
    assert info is not None
    assert info.candle_count == 2880
    assert info.coverage == 1.0


@pytest.mark.parametrize("day", ["27", "28"])
def test_nautilus_headerless_vision_files(shared_data, day):
    key = unique_key("ADA/BTC", "spot", "1m")
    path = shared_data / f"candles/nautilus_trader/ADABTC-1m-2021-11-{day}.csv"
    result = import_candles_file(path=path, series=key, now_ms=NOW_MS)
    assert result.upsert.inserted == (10 if day == "27" else 11)
    assert candles_arrays(series=key)["close"][0] > 0


def test_microsecond_timestamps_are_detected_by_magnitude(shared_data, tmp_path):
    source = shared_data / "candles/nautilus_trader/ADABTC-1m-2021-11-27.csv"
    lines = []
    for line in source.read_text().splitlines():
        cells = line.split(",")
        cells[0] = str(int(cells[0]) * 1000)  # open_time in microseconds
        cells[6] = str(int(cells[6]) * 1000 + 999)  # close_time too (as Binance writes it)
        lines.append(",".join(cells))
    micro = tmp_path / "ADABTC-1m-2025-01-01.csv"
    micro.write_text("\n".join(lines) + "\n")

    parsed = read_candle_file(micro, timeframe=Timeframe("1m"))
    reference = read_candle_file(source, timeframe=Timeframe("1m"))

    assert parsed.problems == ()
    np.testing.assert_array_equal(parsed.columns.open_time, reference.columns.open_time)


def test_generic_csv_with_a_column_mapping_and_iso_dates(tmp_path):
    path = tmp_path / "candles.csv"
    path.write_text(
        "when,o,h,l,c,v\n"
        "2024-01-01T00:00:00Z,10,12,9,11,5\n"
        "2024-01-01T00:01:00Z,11,11.5,10.5,11,0\n"
    )
    key = series_key()
    result = import_candles_file(
        path=path,
        series=key,
        mapping={
            "open_time": "when",
            "open": "o",
            "high": "h",
            "low": "l",
            "close": "c",
            "volume": "v",
        },
        now_ms=NOW_MS,
    )
    assert result.upsert.inserted == 2
    assert list(candles_arrays(series=key)["high"]) == [12.0, 11.5]


def test_mark_price_files_store_without_volume(shared_data):
    key = unique_key("XRP/USDT:USDT", "swap", "1h", "mark")
    path = shared_data / "candles/freqtrade/futures/XRP_USDT_USDT-1h-mark.feather.norm.csv"
    result = import_candles_file(path=path, series=key, now_ms=NOW_MS)
    assert result.upsert.inserted == 100
    assert np.isnan(candles_arrays(series=key)["volume"]).all()


def test_jittery_funding_rates_need_snapping(shared_data):
    # candles/SOURCES.md: funding stamps sit 1..18 ms after the 8h grid; only `open` holds the rate.
    key = unique_key("XRP/USDT:USDT", "swap", "8h", "funding_rate")
    path = shared_data / "candles/freqtrade/futures/XRP_USDT_USDT-8h-funding_rate.feather.norm.csv"
    with pytest.raises(InvalidInput, match="not on the 8h grid"):
        import_candles_file(path=path, series=key, now_ms=NOW_MS)

    result = import_candles_file(path=path, series=key, now_ms=NOW_MS, snap_ms=1000)

    assert result.upsert.inserted == 91
    stored = candles_arrays(series=key)
    assert (stored["open_time"] % Timeframe("8h").ms == 0).all()
    np.testing.assert_array_equal(stored["close"], stored["open"])


# --- bad input ----------------------------------------------------------------------------------


def write_vision(
    tmp_path: Path, rows: list[str], *, name="BTCUSDT-1m-2022-09-05.csv", header=True
) -> Path:
    path = tmp_path / name
    path.write_text("\n".join(([BINANCE_HEADER] if header else []) + rows) + "\n")
    return path


def vision_rows(shared_data: Path, count: int) -> list[str]:
    return (shared_data / LTI / "BTCUSDT-1m-2022-09-05.csv").read_text().splitlines()[1 : count + 1]


def test_text_in_numbers_names_line_and_column_and_stores_nothing(shared_data, tmp_path):
    rows = vision_rows(shared_data, 10)
    cells = rows[4].split(",")
    cells[2] = "twenty"
    rows[4] = ",".join(cells)
    key = unique_key("BTC/USDT:USDT", "swap", "1m")

    with pytest.raises(InvalidInput) as caught:
        import_candles_file(path=write_vision(tmp_path, rows), series=key, now_ms=NOW_MS)

    # Line 6: the header is line 1, so the fifth data row is line 6.
    assert caught.value.details["rows"] == [{"row": 6, "reasons": ["high: not a number: 'twenty'"]}]
    assert "nothing was stored" in caught.value.message
    assert not Candle.objects.filter(venue=key.venue).exists()


def test_lenient_import_quarantines_bad_lines_and_stores_the_rest(shared_data, tmp_path):
    rows = vision_rows(shared_data, 10)
    cells = rows[2].split(",")
    cells[5] = "-3"  # negative volume
    rows[2] = ",".join(cells)
    rows[7] = ",".join(rows[7].split(",")[:4])  # truncated line
    key = unique_key("BTC/USDT:USDT", "swap", "1m")

    result = import_candles_file(
        path=write_vision(tmp_path, rows), series=key, strict=False, now_ms=NOW_MS
    )

    assert (result.upsert.inserted, result.upsert.quarantined) == (8, 2)
    quarantined = {
        row.row_number: row.reasons
        for row in QuarantinedRow.objects.filter(series__venue=key.venue)
    }
    assert quarantined[4] == ["volume is negative"]
    assert "close is empty" in quarantined[9]


def test_wrong_column_count_is_a_clear_error(tmp_path):
    path = tmp_path / "BTCUSDT-1m-2022-09-05.csv"
    path.write_text("1662336000000,1,2,0.5,1.5,10\n")
    with pytest.raises(InvalidInput, match="expected the 12 Binance kline columns, found 6"):
        read_candle_file(path, timeframe=Timeframe("1m"), fmt="binance")
    ragged = tmp_path / "ragged.csv"
    ragged.write_text(
        BINANCE_HEADER + "\n" + "1,2,3,4,5,6,7,8,9,10,11,12\n" + "1,2,3,4,5,6,7,8,9,10,11,12,13\n"
    )
    with pytest.raises(InvalidInput, match="line 3"):
        read_candle_file(ragged, timeframe=Timeframe("1m"), fmt="binance")


def test_shuffled_file_is_refused_with_the_rows_out_of_order(shared_data, tmp_path):
    rows = vision_rows(shared_data, 6)
    rows[1], rows[4] = rows[4], rows[1]
    path = write_vision(tmp_path, rows)
    key = unique_key("BTC/USDT:USDT", "swap", "1m")

    with pytest.raises(InvalidInput) as caught:
        import_candles_file(path=path, series=key, now_ms=NOW_MS)

    listed = caught.value.details["rows"]
    assert [row["row"] for row in listed] == [4, 5, 6]
    assert "out of order" in listed[0]["reasons"][0]
    lenient = import_candles_file(path=path, series=key, now_ms=NOW_MS, strict=False)
    assert lenient.upsert.inserted == 6
    assert lenient.upsert.quarantined == 0


def test_conflicting_duplicate_timestamps_are_refused(shared_data, tmp_path):
    rows = vision_rows(shared_data, 5)
    cells = rows[2].split(",")
    cells[4] = str(float(cells[4]) + 0.1)  # another close for the same open time
    cells[2] = str(max(float(cells[2]), float(cells[4])))
    rows.insert(3, ",".join(cells))
    identical = [*rows, rows[-1]]
    key = unique_key("BTC/USDT:USDT", "swap", "1m")

    with pytest.raises(InvalidInput) as caught:
        import_candles_file(path=write_vision(tmp_path, identical), series=key, now_ms=NOW_MS)

    assert [row["row"] for row in caught.value.details["rows"]] == [4, 5]
    assert "appears 2 times with different values" in caught.value.details["rows"][0]["reasons"][0]


def test_identical_duplicate_lines_collapse(shared_data, tmp_path):
    rows = vision_rows(shared_data, 5)
    path = write_vision(tmp_path, [*rows, rows[-1]])
    result = import_candles_file(
        path=path, series=unique_key("BTC/USDT:USDT", "swap", "1m"), now_ms=NOW_MS
    )
    assert (result.upsert.inserted, result.upsert.duplicates_collapsed) == (5, 1)


def test_truncated_zip_is_a_clear_error(shared_data, tmp_path):
    data = (shared_data / LTI / "ETHUSDT-1m-2022-08-14.zip").read_bytes()
    truncated = tmp_path / "ETHUSDT-1m-2022-08-14.zip"
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(InvalidInput, match="damaged or truncated archive"):
        import_candles_file(
            path=truncated, series=unique_key("ETH/USDT", "spot", "1m"), now_ms=NOW_MS
        )


def test_zip_with_a_corrupted_member_is_a_clear_error(shared_data, tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("x.csv", (shared_data / LTI / "ETHUSDT-1m-2022-08-14.csv").read_bytes())
    data = bytearray(buffer.getvalue())
    data[200] ^= 0xFF  # flip bits inside the compressed member
    path = tmp_path / "corrupt.zip"
    path.write_bytes(bytes(data))
    with pytest.raises(InvalidInput, match="damaged or truncated archive"):
        read_candle_file(path, timeframe=Timeframe("1m"))


def test_a_file_of_another_timeframe_is_refused(shared_data):
    with pytest.raises(InvalidInput, match="holds 1-minute candles"):
        read_candle_file(shared_data / LTI / "ETHUSDT-1m-2022-08-14.zip", timeframe=Timeframe("1h"))


def test_empty_and_header_only_files(tmp_path, shared_data):
    empty = shared_data / "candles/freqtrade/UNITTEST_BTC-8m.feather"  # the real 0-byte file
    assert empty.stat().st_size == 0
    blank = tmp_path / "blank.csv"
    blank.write_text("")
    with pytest.raises(InvalidInput, match="empty"):
        read_candle_file(blank, timeframe=Timeframe("1m"), fmt="csv")
    header_only = tmp_path / "header.csv"
    header_only.write_text("timestamp_ms,open,high,low,close,volume\n")
    with pytest.raises(InvalidInput, match="no candle rows"):
        read_candle_file(header_only, timeframe=Timeframe("1m"))


def test_generic_csv_without_the_needed_columns(tmp_path):
    path = tmp_path / "odd.csv"
    path.write_text("ts,price\n1,2\n")
    with pytest.raises(InvalidInput, match="no column for open, high, low, close"):
        read_candle_file(path, timeframe=Timeframe("1m"))
    with pytest.raises(InvalidInput, match="mapped column"):
        read_candle_file(path, timeframe=Timeframe("1m"), mapping={"open": "nope"})


@pytest.mark.skipif(importlib.util.find_spec("pyarrow") is not None, reason="pyarrow is installed")
@pytest.mark.parametrize("name", ["ADA_BTC-5m.feather", "nothing.parquet"])
def test_columnar_formats_without_pyarrow_say_what_is_missing(shared_data, tmp_path, name):
    path = shared_data / "candles/freqtrade" / name
    if not path.exists():
        path = tmp_path / name
        path.write_bytes(b"PAR1")
    with pytest.raises(InvalidInput, match="needs pyarrow"):
        read_candle_file(path, timeframe=Timeframe("5m"))


def test_format_detection(shared_data):
    assert detect_format(shared_data / LTI / "BTCUSDT-1m-2022-09-05.csv") == "binance"
    assert detect_format(shared_data / LTI / "ETHUSDT-1m-2022-08-14.csv") == "binance"
    assert detect_format(shared_data / LTI / "ETHUSDT-1m-2022-08-14.csv.norm.csv") == "csv"
    assert (
        detect_format(shared_data / "candles/freqtrade/UNITTEST_BTC-8m.json.gz") == "freqtrade-json"
    )
