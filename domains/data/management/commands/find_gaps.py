"""``manage.py find_gaps [--venue binance] [--symbol BTC/USDT] [--timeframe 1m] [--fill]``.

Lists (and records) the missing ranges of every stored series matching the filters. With
``--fill`` each series' gaps are fetched from the venue again and what the venue does not have
is marked ``venue_has_none``; ``--synthesize`` then forward-fills those (flat bars, zero volume,
flagged synthetic). Runs in this process, no worker needed.
"""

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from domains.data.services.gap_filling import gaps_fill
from domains.data.services.gaps import find_gaps
from domains.data.services.moments import parse_moment
from domains.data.services.serving import series_summaries
from domains.data.services.validation import iso
from dsta.kernel.errors import DstaError
from dsta.kernel.market import MarketType, PriceType, SeriesKey, Timeframe, symbol_from_url


class Command(BaseCommand):
    help = "List the gaps of stored series; --fill re-fetches them from the venue."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--venue", default=None)
        parser.add_argument("--symbol", default=None, help="BTC/USDT or BTC-USDT")
        parser.add_argument("--timeframe", default=None)
        parser.add_argument("--market-type", default=None, choices=[m.value for m in MarketType])
        parser.add_argument("--price-type", default=None, choices=[p.value for p in PriceType])
        parser.add_argument("--start", default=None, help="ISO-8601 or UTC ms")
        parser.add_argument("--end", default=None, help="ISO-8601 or UTC ms")
        parser.add_argument("--fill", action="store_true", help="re-fetch gaps from the venue")
        parser.add_argument(
            "--synthesize",
            action="store_true",
            help="with --fill: forward-fill what the venue does not have (flagged synthetic)",
        )
        parser.add_argument("--max-listed", type=int, default=20, help="gaps printed per series")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["synthesize"] and not options["fill"]:
            raise CommandError("--synthesize needs --fill")
        try:
            start = parse_moment(options["start"], name="start") if options["start"] else None
            end = parse_moment(options["end"], name="end") if options["end"] else None
            summaries = series_summaries(
                venue=options["venue"],
                symbol=symbol_from_url(options["symbol"]) if options["symbol"] else None,
                timeframe=Timeframe(options["timeframe"]).code if options["timeframe"] else None,
                market_type=options["market_type"],
                price_type=options["price_type"],
            )
        except DstaError as exc:
            raise CommandError(exc.message) from exc
        if not summaries:
            raise CommandError("no stored series match these filters")
        failed = 0
        for summary in summaries:
            series = SeriesKey.of(
                summary.venue,
                summary.market_type,
                summary.symbol,
                summary.price_type,
                summary.timeframe,
            )
            try:
                self._one(series, start, end, options)
            except DstaError as exc:
                failed += 1
                self.stderr.write(f"{series}: {exc.message}")
        if failed:
            raise CommandError(f"{failed} series failed")

    def _one(self, series: SeriesKey, start: int | None, end: int | None, options: Any) -> None:
        gaps = find_gaps(series=series, start=start, end=end, record=True)
        missing = sum(gap.missing_bars for gap in gaps)
        self.stdout.write(f"{series}: {len(gaps)} gap(s), {missing} missing bar(s)")
        for gap in gaps[: options["max_listed"]]:
            self.stdout.write(
                f"  {iso(gap.start)} .. {iso(gap.end)} ({gap.missing_bars} bars, {gap.state})"
            )
        if len(gaps) > options["max_listed"]:
            self.stdout.write(f"  ... and {len(gaps) - options['max_listed']} more")
        if not options["fill"] or not gaps:
            return
        bar = tqdm(total=len(gaps), file=getattr(self.stdout, "_out", self.stdout), unit="gap")

        def progress(done: int, total: int, message: str) -> None:
            bar.n = done
            bar.refresh()

        try:
            report = gaps_fill(
                series=series,
                start=start,
                end=end,
                synthesize=options["synthesize"],
                progress=progress,
            )
        finally:
            bar.close()
        self.stdout.write(
            f"  filled from the venue: {report.refetched_bars} bar(s); venue has none: "
            f"{report.venue_has_none} gap(s); synthesized: {report.synthesized_bars} bar(s)"
        )
