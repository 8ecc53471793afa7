from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from domains.data.selectors import candles_arrays
from domains.data.tests.factories import series_key
from dsta.kernel.market import SeriesKey

pytestmark = pytest.mark.django_db

LTI = "candles/live_trading_indicators"


def run(*args: str) -> str:
    out = StringIO()
    call_command("import_candles", *args, "--no-progress", stdout=out, stderr=StringIO())
    return out.getvalue()


def venue() -> str:
    return "t" + series_key().symbol.split("/")[0].lower()


def test_imports_binance_archives_and_prints_a_summary(shared_data):
    name = venue()
    paths = [str(shared_data / LTI / f"BTCUSDT-1h-2022-09-0{day}.zip") for day in (7, 8)]
    output = run(*paths, "--venue", name, "--symbol", "BTC/USDT", "--timeframe", "1h")

    assert (
        "BTCUSDT-1h-2022-09-07.zip [binance]: 24 rows, "
        "2022-09-07T00:00:00Z .. 2022-09-07T23:00:00Z: 24 inserted" in output
    )
    key = SeriesKey.of(name, "spot", "BTC/USDT", "trades", "1h")
    assert len(candles_arrays(series=key)["open_time"]) == 48
    again = run(paths[0], "--venue", name, "--symbol", "BTC/USDT", "--timeframe", "1h")
    assert "0 inserted, 0 updated, 24 unchanged" in again


def test_csv_with_mapping(shared_data, tmp_path):
    path = tmp_path / "c.csv"
    path.write_text("ts,o,h,l,c,v\n1704067200000,1,2,0.5,1.5,3\n")
    name = venue()
    output = run(
        str(path),
        "--venue",
        name,
        "--symbol",
        "X/USDT",
        "--timeframe",
        "1m",
        "--format",
        "csv",
        "--map",
        "open_time=ts,open=o,high=h",
        "--map",
        "low=l,close=c,volume=v",
    )
    assert "1 inserted" in output


def test_bad_input_is_a_command_error_with_the_rows(shared_data, tmp_path):
    lines = (shared_data / LTI / "BTCUSDT-1m-2022-09-05.csv").read_text().splitlines()[:4]
    lines[2] = lines[2].replace(lines[2].split(",")[1], "abc", 1)
    path = tmp_path / "bad.csv"
    path.write_text("\n".join(lines) + "\n")

    with pytest.raises(CommandError) as caught:
        run(
            str(path),
            "--venue",
            venue(),
            "--symbol",
            "BTC/USDT:USDT",
            "--market-type",
            "swap",
            "--timeframe",
            "1m",
        )

    message = str(caught.value)
    assert "refused 1 bad row(s)" in message
    assert "row 3: open: not a number: 'abc'" in message


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--symbol", "BTCUSDT", "--timeframe", "1m"], "not a ccxt unified symbol"),
        (["--symbol", "BTC/USDT", "--timeframe", "7m"], "unknown timeframe"),
        (["--symbol", "BTC/USDT", "--timeframe", "1m", "--map", "open"], "FIELD=COLUMN"),
    ],
)
def test_bad_options_are_command_errors(shared_data, args, message):
    with pytest.raises(CommandError, match=message):
        run(str(shared_data / LTI / "BTCUSDT-1h-2022-09-07.zip"), "--venue", "binance", *args)


def test_missing_file_is_a_command_error():
    with pytest.raises(CommandError, match="no such file"):
        run("/nonexistent/x.csv", "--venue", "binance", "--symbol", "BTC/USDT", "--timeframe", "1m")


def test_exit_code_is_one_from_the_command_line(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[3]
    done = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "import_candles",
            str(tmp_path / "none.csv"),
            "--venue",
            "binance",
            "--symbol",
            "BTC/USDT",
            "--timeframe",
            "1m",
        ],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1
    assert "no such file" in done.stderr
