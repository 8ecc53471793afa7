"""``manage.py backtest``: a run computed in the command with a summary table and a report;
bad input is a CommandError."""

from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from domains.data.models import BacktestRun
from domains.data.tests.backtests.conftest import bar
from dsta.kernel.market import SeriesKey

pytestmark = pytest.mark.django_db

ARGS = ["--venue", "binance", "--symbol", "ETH/BTC", "--timeframe", "5m"]


def _backtest(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("backtest", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_the_command_runs_a_backtest_and_prints_a_summary(
    eth_btc: SeriesKey, tmp_path: Path, django_user_model: Any
) -> None:
    owner = django_user_model.objects.create_user(username="quant")
    report = tmp_path / "out.html"
    out, err = _backtest(
        "--strategy", "sma_crossover", "--param", "fast=10", "--param", "slow=50",
        *ARGS, "--start", "2018-01-10T04:55:00Z", "--end", str(bar(1000)),
        "--fee", "0.00075", "--report", str(report), "--owner", "quant",
    )  # fmt: skip
    run = BacktestRun.objects.get()
    assert run.owner_id == owner.pk
    assert run.status == "succeeded"
    assert run.params == {"fast": 10, "slow": 50, "direction": "long"}
    assert run.manifest["engine"]["config"]["fees"] == {"maker": 0.00075, "taker": 0.00075}
    assert f"backtest {run.id}" in out
    assert "1,000 bars" in out
    assert "Sharpe" in out
    assert "Max drawdown" in out
    assert "Closed trades" in out
    assert f"{run.metrics['final_equity']:,.2f}" in out
    assert "lookahead check: passed" in out
    assert f"report written to {report}" in out
    assert "running sma_crossover on 1000 bars" in err  # the progress bar
    html = report.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>")
    assert "http://" not in html
    assert "https://" not in html


def test_the_command_writes_a_pdf(eth_btc: SeriesKey, tmp_path: Path) -> None:
    report = tmp_path / "out.pdf"
    _backtest(
        "--strategy", "buy_and_hold", *ARGS, "--end", str(bar(300)), "--report", str(report),
        "--no-progress", "--no-bias-checks",
    )  # fmt: skip
    assert report.read_bytes().startswith(b"%PDF-")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--strategy", "nope"], "unknown_strategy: unknown strategy 'nope'"),
        (["--strategy", "sma_crossover", "--param", "fast"], "expected NAME=VALUE"),
        (["--strategy", "sma_crossover", "--param", "fast=1.5"], "expected an integer"),
        (["--strategy", "sma_crossover", "--param", "fast=0"], "out of range"),
        (["--strategy", "sma_crossover", "--start", "yesterday"], "start: expected ISO-8601"),
        (["--strategy", "sma_crossover", "--start", "2021-01-01"], "empty_range"),
        (["--strategy", "sma_crossover", "--fill-timing", "same_close", "--config", "[1]"],
         "--config must be a JSON object"),
        (["--strategy", "sma_crossover", "--report", "out.docx"], "must end in .html or .pdf"),
        (["--strategy", "sma_crossover", "--owner", "ghost"], "no user named 'ghost'"),
    ],
)  # fmt: skip
def test_bad_input_is_a_command_error(eth_btc: SeriesKey, args: list[str], message: str) -> None:
    with pytest.raises(CommandError, match=message.replace("(", r"\(").replace("[", r"\[")):
        _backtest(*args, *ARGS, "--no-progress")


def test_a_gapped_range_is_a_command_error_naming_the_gap(ada_btc: SeriesKey) -> None:
    with pytest.raises(CommandError, match=r"gapped_range: .*2018-01-15T10:10:00Z"):
        _backtest(
            "--strategy", "sma_crossover", "--venue", "binance", "--symbol", "ADA/BTC",
            "--timeframe", "5m", "--no-progress",
        )  # fmt: skip
