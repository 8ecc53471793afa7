"""``manage.py sync_market_data --venue binance --symbol BTC/USDT --timeframe 1m --start ...``.

Starts the same backfill job as ``POST /api/v1/market-data/sync`` and follows it with a
progress bar; exits non-zero when the job fails or is cancelled. Ctrl-C cancels the job.
With the in-process broker (the embedded default) the job runs on a worker thread started in
this command; with Redis/RabbitMQ a ``run_worker`` process runs it.
"""

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from domains.data.models import IngestionMode
from domains.data.services.ingestion import sync_start
from domains.data.services.market_api import series_key
from domains.data.services.moments import parse_moment
from domains.data.tasks import ingest
from dsta.kernel.errors import DstaError
from dsta.kernel.jobs.api import (
    JobStatus,
    RunningWorker,
    cancel_job,
    follow_job,
    is_inprocess,
    start_worker,
    wait_job,
)
from dsta.kernel.market import MarketType, PriceType


class Command(BaseCommand):
    help = "Backfill candles from a venue (optionally keep the series up afterwards)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--venue", required=True, help="binance, gateio or htx")
        parser.add_argument("--symbol", required=True, help="BTC/USDT or BTC-USDT")
        parser.add_argument("--timeframe", required=True, help="e.g. 1m, 1h, 1d")
        parser.add_argument("--market-type", default="spot", choices=[m.value for m in MarketType])
        parser.add_argument("--price-type", default="trades", choices=[p.value for p in PriceType])
        parser.add_argument("--start", required=True, help="ISO-8601 or UTC ms")
        parser.add_argument("--end", default=None, help="ISO-8601 or UTC ms (default: now)")
        parser.add_argument(
            "--mode",
            default=IngestionMode.BACKFILL.value,
            choices=[IngestionMode.BACKFILL.value, IngestionMode.KEEP_UP.value],
            help="keep_up: also fetch new closed candles every minute afterwards",
        )
        parser.add_argument("--no-follow", action="store_true", help="start the job and exit")
        parser.add_argument("--timeout", type=float, default=None, help="seconds to follow")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            key = series_key(
                venue=options["venue"],
                symbol=options["symbol"],
                timeframe=options["timeframe"],
                market_type=options["market_type"],
                price_type=options["price_type"],
            )
            start = parse_moment(options["start"], name="start")
            end = parse_moment(options["end"], name="end") if options["end"] else None
        except DstaError as exc:
            raise CommandError(exc.message) from exc
        # In-process messages live in this process: run them here, or nobody will.
        worker: RunningWorker | None = None
        if is_inprocess(ingest.broker) and not options["no_follow"]:
            worker = start_worker(ingest.broker, threads=1)
        try:
            try:
                info = sync_start(series=key, start=start, end=end, mode=options["mode"])
            except DstaError as exc:
                raise CommandError(exc.message) from exc
            self.stdout.write(f"job {info.id}: {options['mode']} {key}")
            if options["no_follow"]:
                return
            try:
                final = follow_job(info.id, self.stdout, timeout=options["timeout"])
            except KeyboardInterrupt:
                cancel_job(info.id)
                final = wait_job(info.id, timeout=30)
            except TimeoutError as exc:
                raise CommandError(str(exc)) from exc
        finally:
            if worker is not None:
                worker.stop()
        if final.status is not JobStatus.SUCCEEDED:
            reason = final.error.message if final.error else final.message or final.status.value
            raise CommandError(f"job {final.id} {final.status.value}: {reason}")
        result = final.result or {}
        self.stdout.write(
            f"done: {result.get('inserted', 0)} new, {result.get('updated', 0)} updated, "
            f"{result.get('quarantined', 0)} quarantined, {result.get('pages', 0)} page(s)"
        )
