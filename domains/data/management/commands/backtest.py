"""``manage.py backtest``: run one backtest on stored candles, here and now, and summarise it.

    manage.py backtest --strategy sma_crossover --param fast=10 --param slow=50 \\
        --venue binance --symbol BTC/USDT --timeframe 1m [--start 2024-01-01 --end 2024-02-01] \\
        [--fee 0.001] [--initial-cash 10000] [--fill-timing next_open] [--style auto] \\
        [--allow-gaps] [--report out.html|out.pdf]

The run is stored like one started over the API (it shows in the admin and in
``/api/v1/backtest/runs`` of ``--owner``) but computed in this process, with a progress bar,
so no worker needs to be running. ``--symbol`` may be given several times (one shared cash
account). Parameter values are read as JSON when they parse (``10`` is an integer, ``0.5`` a
number, ``true`` a boolean), as text otherwise (``direction=long``).
"""

import json
import sys
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from domains.data.models import BacktestRun
from domains.data.services.backtests.reports.service import render_report
from domains.data.services.backtests.runs import STEPS, backtest_create, backtest_execute
from domains.data.services.backtests.spec import STYLE_CHOICES, run_spec
from domains.data.services.moments import parse_moment
from domains.data.services.validation import iso
from dsta.kernel.errors import DstaError

SUMMARY_ROWS = (
    ("final_equity", "Final equity", "money"),
    ("total_return", "Total return", "pct"),
    ("annualised_return", "Annualised return", "pct"),
    ("annualised_volatility", "Annualised volatility", "pct"),
    ("sharpe", "Sharpe", "num"),
    ("sortino", "Sortino", "num"),
    ("calmar", "Calmar", "num"),
    ("max_drawdown", "Max drawdown", "pct"),
    ("trades", "Closed trades", "int"),
    ("win_rate", "Win rate", "pct"),
    ("profit_factor", "Profit factor", "num"),
    ("expectancy", "Expectancy", "money"),
    ("exposure", "Exposure", "pct"),
    ("fees_paid", "Fees paid", "money"),
)


def parse_param(text: str) -> tuple[str, Any]:
    """``name=value`` with the value read as JSON when it parses, as text otherwise."""
    name, sep, raw = text.partition("=")
    if not sep or not name.strip():
        raise CommandError(f"--param {text!r}: expected NAME=VALUE, e.g. fast=10")
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        value = raw
    return name.strip(), value


def _show(value: Any, kind: str) -> str:
    if value is None:
        return "-"
    if isinstance(value, str):
        return value
    if kind == "pct":
        return f"{value * 100:.2f}%"
    if kind == "money":
        return f"{value:,.2f}"
    if kind == "int":
        return f"{int(value):,}"
    return f"{value:.3f}"


class Command(BaseCommand):
    help = "Run a backtest on stored candles and print a summary (optionally write a report)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--strategy", required=True, help="a registered strategy name")
        parser.add_argument(
            "--param", action="append", default=[], metavar="NAME=VALUE", help="repeatable"
        )
        parser.add_argument("--venue", required=True, help="ccxt exchange id, e.g. binance")
        parser.add_argument(
            "--symbol", action="append", required=True, help="ccxt symbol; repeat for several"
        )
        parser.add_argument("--timeframe", required=True, help="e.g. 1m, 5m, 1h")
        parser.add_argument("--market-type", default="spot", help="spot, swap or future")
        parser.add_argument("--price-type", default="trades")
        parser.add_argument("--start", help="ISO-8601 or UTC ms (default: first stored bar)")
        parser.add_argument("--end", help="exclusive; ISO-8601 or UTC ms (default: the last)")
        parser.add_argument("--fee", type=float, help="maker and taker fee, a fraction (0.001)")
        parser.add_argument("--initial-cash", type=float)
        parser.add_argument("--fill-timing", choices=["next_open", "same_close"])
        parser.add_argument("--config", help="the whole engine config as JSON")
        parser.add_argument("--style", choices=list(STYLE_CHOICES), default="auto")
        parser.add_argument("--allow-gaps", action="store_true")
        parser.add_argument("--no-bias-checks", action="store_true")
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--owner", help="username the run belongs to (default: nobody)")
        parser.add_argument("--report", help="write the report here (.html or .pdf)")
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        report = Path(options["report"]) if options["report"] else None
        if report is not None and report.suffix.lower() not in (".html", ".pdf"):
            raise CommandError("--report must end in .html or .pdf")
        try:
            spec = run_spec(
                strategy=options["strategy"],
                params=dict(parse_param(p) for p in options["param"]),
                series=[
                    {
                        "venue": options["venue"],
                        "symbol": symbol,
                        "timeframe": options["timeframe"],
                        "market_type": options["market_type"],
                        "price_type": options["price_type"],
                    }
                    for symbol in options["symbol"]
                ],
                start_ms=parse_moment(options["start"], name="start") if options["start"] else None,
                end_ms=parse_moment(options["end"], name="end") if options["end"] else None,
                config=self._config(options),
                style=options["style"],
                allow_gaps=options["allow_gaps"],
                bias_checks=not options["no_bias_checks"],
                seed=options["seed"],
            )
            run = backtest_create(spec=spec, owner_id=self._owner(options["owner"]))
            self._execute(run, options["no_progress"])
        except DstaError as error:
            raise CommandError(f"{error.code}: {error.message}") from error
        run.refresh_from_db()
        self._summarise(run)
        if report is not None:
            try:
                report.write_bytes(render_report(run, report.suffix.lower().lstrip(".")))
            except (DstaError, OSError) as error:
                raise CommandError(f"report not written: {error}") from error
            self.stdout.write(f"report written to {report}")

    def _config(self, options: dict[str, Any]) -> dict[str, Any]:
        config: dict[str, Any] = {}
        if options["config"]:
            try:
                config = json.loads(options["config"])
            except json.JSONDecodeError as error:
                raise CommandError(f"--config is not JSON: {error}") from error
            if not isinstance(config, dict):
                raise CommandError("--config must be a JSON object")
        if options["fee"] is not None:
            config["fees"] = {"maker": options["fee"], "taker": options["fee"]}
        if options["initial_cash"] is not None:
            config["initial_cash"] = options["initial_cash"]
        if options["fill_timing"]:
            config["fill_timing"] = options["fill_timing"]
        return config

    def _owner(self, username: str | None) -> int | None:
        if not username:
            return None
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"no user named {username!r}")
        return int(user.pk)

    def _execute(self, run: BacktestRun, quiet: bool) -> None:
        # The raw stream: Django's OutputWrapper would end each redraw with a newline.
        stream = getattr(self.stderr, "_out", sys.stderr)
        bar = None if quiet else tqdm(total=STEPS, desc=run.strategy, unit="step", file=stream)

        def progress(done: int, total: int, message: str) -> None:
            if bar is not None:
                bar.set_postfix_str(message)
                bar.update(done - bar.n)

        try:
            backtest_execute(run_id=str(run.id), progress=progress)
        finally:
            if bar is not None:
                bar.close()

    def _summarise(self, run: BacktestRun) -> None:
        data = run.manifest["data"]
        bias = run.bias or {}
        lines = [
            f"backtest {run.id}",
            f"{run.strategy} {json.dumps(run.manifest['strategy']['params'])} on "
            f"{', '.join(data['symbols'])} {data['timeframe']}: {iso(data['start_ms'])} to "
            f"{iso(data['end_ms'])}, {data['bars']:,} bars",
        ]
        width = max(len(label) for _, label, _ in SUMMARY_ROWS)
        lines.append("-" * (width + 18))
        for key, label, kind in SUMMARY_ROWS:
            lines.append(f"{label:<{width}}  {_show(run.metrics.get(key), kind):>14}")
        lines.append("-" * (width + 18))
        for name in ("lookahead", "warmup"):
            check = bias.get(name)
            if check:
                verdict = {True: "passed", False: "FAILED", None: "n/a"}[check.get("passed")]
                lines.append(f"{name} check: {verdict} ({check.get('message', '')})")
        lines.append(f"candles sha256 {data['candles_sha256']}")
        self.stdout.write("\n".join(lines))
