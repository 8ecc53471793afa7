"""``manage.py exchange_stream binance|gateio|htx --symbol BTC/USDT [--symbol ETH/USDT]``: keep
the books and best bid/ask of those symbols live from the venue's websocket and publish them
(transient ``OrderBookUpdated``/``TickerUpdated``), until interrupted. Reconnects, resubscribes
and resyncs on gaps by itself; each connection up/down (and a refused subscription) is a
durable ``VenueStatusChanged``."""

import asyncio
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from domains.exchange.api import ExchangeFailure
from domains.exchange.services.resilience.runtime import default_runtime
from domains.exchange.services.streams import MARKET_STREAMS
from domains.exchange.services.venues import VenueFactory
from dsta.kernel.errors import DstaError
from dsta.kernel.market import symbol_from_url


class Command(BaseCommand):
    help = "Stream live books and tickers of a venue's symbols onto the event bus."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "venue", choices=sorted(MARKET_STREAMS), help="venues with a stream adapter"
        )
        parser.add_argument("--symbol", action="append", required=True, dest="symbols")
        parser.add_argument(
            "--url",
            default=None,
            help="the venue's websocket URL (default: "
            + ", ".join(f"{venue} {kind.default_url}" for venue, kind in MARKET_STREAMS.items())
            + ")",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        venue = options["venue"]
        kind = MARKET_STREAMS[venue]
        url = options["url"] or kind.default_url
        try:
            symbols = [symbol_from_url(symbol) for symbol in options["symbols"]]
            stream = kind(
                symbols=symbols,
                live=VenueFactory().public(venue),
                runtime=default_runtime().venue(venue),
                url=url,
            )
        except ExchangeFailure as error:
            raise CommandError(f"{error.code}: {error.message}", returncode=1) from error
        except DstaError as error:
            raise CommandError(f"{error.code}: {error.message}", returncode=2) from error
        self.stdout.write(f"streaming {', '.join(symbols)} from {url} (Ctrl-C stops)")
        try:
            asyncio.run(stream.run())
        except KeyboardInterrupt:
            self.stdout.write("stopped")
