"""``manage.py exchange_markets <venue>``: list a venue's markets with their trading rules.

Live by default (ccxt, public endpoints); ``--offline FILE`` reads ccxt market metadata from a
JSON file instead (e.g. ``../shared/data/exchange-responses/markets/binance.markets.json`` with
``--decimal-places``). The ``paper`` venue lists the paper exchange's markets.
"""

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from domains.exchange.adapters.ccxt_gateway import CcxtVenue, new_exchange, offline_markets
from domains.exchange.api import ExchangeFailure, MarketInfo, Venue
from domains.exchange.services.gateway import ExchangeGateway


class Command(BaseCommand):
    help = "List a venue's markets: symbol, venue id, type, lot size, tick, minimums."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("venue", choices=[v.value for v in Venue])
        parser.add_argument("--offline", type=Path, help="ccxt market metadata JSON file")
        parser.add_argument(
            "--decimal-places",
            action="store_true",
            help="the file states precision in decimal places (older ccxt files)",
        )
        parser.add_argument("--symbol", help="only this symbol")

    def handle(self, *args: Any, **options: Any) -> None:
        venue: str = options["venue"]
        try:
            markets = self._markets(venue, options["offline"], options["decimal_places"])
        except ExchangeFailure as error:
            raise CommandError(f"{error.code}: {error.message}") from error
        if options["symbol"]:
            markets = [m for m in markets if m.symbol == options["symbol"]]
            if not markets:
                raise CommandError(f"unknown_symbol: {venue} lists no {options['symbol']}")
        self.stdout.write(
            f"{'symbol':24} {'venue id':20} {'type':6} {'lot':>12} {'tick':>12} "
            f"{'min amount':>12} {'min notional':>12}"
        )
        for m in markets:
            self.stdout.write(
                f"{m.symbol:24} {m.venue_symbol:20} {m.market_type.value:6} "
                f"{_num(m.amount_step):>12} {_num(m.price_tick):>12} "
                f"{_num(m.min_amount):>12} {_num(m.min_notional):>12}"
            )

    @staticmethod
    def _markets(venue: str, offline: Path | None, decimal_places: bool) -> list[MarketInfo]:
        if offline is not None:
            if venue == Venue.PAPER.value:
                raise CommandError("--offline applies to binance, gateio and htx")
            if not offline.is_file():
                raise CommandError(f"no such file: {offline}")
            exchange = new_exchange(venue)
            exchange.set_markets(
                offline_markets(offline, precision_as_decimal_places=decimal_places)
            )
            return CcxtVenue(venue, exchange).markets()
        return ExchangeGateway().markets(venue=venue)


def _num(value: object) -> str:
    return "-" if value is None else f"{value:f}" if hasattr(value, "is_finite") else str(value)
