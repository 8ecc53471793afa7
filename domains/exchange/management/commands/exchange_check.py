"""``manage.py exchange_check <venue>``: can we reach the venue, and how well?

Loads the venue's markets and one ticker through the same gateway the application uses (rate
limits, breaker, retries, failover), then prints the venue's status: breaker, active host,
latency, rate-limit use, and our clock's offset from the venue's (measured by the first call),
with a warning beyond ``CLOCK_OFFSET_WARN_MS``. An unreachable venue ends with
``venue_unavailable: ...`` (a clock the venue refuses with ``clock_skew: ...``) and exit code 1
(2 for a refusal such as an unknown symbol), never a traceback.
"""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from domains.exchange.api import (
    ClockSkew,
    ExchangeFailure,
    Venue,
    VenueStatus,
    VenueUnavailable,
    exchange_api,
)
from dsta.kernel.errors import DstaError
from dsta.kernel.market import symbol_from_url

# Signed requests are stamped with the measured offset, so a skewed clock still trades; but
# Binance refuses a timestamp 1000 ms ahead of its own, so past that the host's clock (NTP)
# needs fixing before a measurement goes stale.
CLOCK_OFFSET_WARN_MS = 1000


class Command(BaseCommand):
    help = "Check connectivity to a venue: markets, a ticker, breaker, latency, rate limits."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("venue", choices=[v.value for v in Venue])
        parser.add_argument("--symbol", default="BTC/USDT", help="ticker to fetch (BTC/USDT)")

    def handle(self, *args: Any, **options: Any) -> None:
        venue: str = options["venue"]
        api = exchange_api()
        try:
            symbol = symbol_from_url(options["symbol"])
            markets = api.markets(venue=venue)
            ticker = api.ticker(venue=venue, symbol=symbol)
        except ExchangeFailure as error:
            status = api.venue_status(venue=venue)
            hint = ""
            if isinstance(error, VenueUnavailable):
                hint = (
                    f" (breaker {status.breaker}, host {status.active_host or '-'}; "
                    "check network access, DNS and any proxy)"
                )
            elif isinstance(error, ClockSkew):
                hint = f" ({_clock_line(status)})"
            raise CommandError(
                f"{error.code}: {error.message}{hint}",
                returncode=1 if isinstance(error, VenueUnavailable | ClockSkew) else 2,
            ) from error
        except DstaError as error:  # a malformed --symbol
            raise CommandError(f"{error.code}: {error.message}", returncode=2) from error
        status = api.venue_status(venue=venue)
        self.stdout.write(f"{venue}: reachable, {len(markets)} markets")
        self.stdout.write(f"{symbol}: bid {ticker.bid} ask {ticker.ask} last {ticker.last}")
        self.stdout.write(
            f"state {status.state}, breaker {status.breaker}, host {status.active_host or '-'}, "
            f"latency {status.latency_ewma_ms if status.latency_ewma_ms is not None else '-'} ms"
        )
        for limit in status.rate_limits:
            self.stdout.write(
                f"  {limit.bucket} ({limit.scope}): {limit.in_use:g} of {limit.limit:g} "
                f"{limit.unit} per {limit.period_seconds:g}s in use [{status.limiter_backend}]"
            )
        self.stdout.write(_clock_line(status))
        offset = status.clock_offset_ms
        if offset is not None and abs(offset) > CLOCK_OFFSET_WARN_MS:
            self.stderr.write(
                f"WARNING: this host's clock is {abs(offset) / 1000:.1f} s "
                f"{'ahead of' if offset > 0 else 'behind'} {venue}'s (over "
                f"{CLOCK_OFFSET_WARN_MS} ms). Signed requests are stamped with the measured "
                "offset, but fix the host's time sync (NTP)."
            )


def _clock_line(status: VenueStatus) -> str:
    offset = status.clock_offset_ms
    if offset is None:
        return "clock offset: not measured"
    return f"clock offset: {offset:+d} ms (our clock minus {status.venue}'s)"
