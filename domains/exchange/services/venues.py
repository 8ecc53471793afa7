"""Building a resilient ``LiveVenue``: a ccxt client with our hooks on every request and the
venue's guard around every operation.

``ccxt_config`` is passed to every ccxt client made (tests give a ``session`` whose transport
reaches the fake venue; the timeout comes from the venue's settings); ``prepare`` runs on each
new client (tests install recorded market metadata so nothing is fetched).

Every client keeps its signing on the venue's clock (``adapters/ccxt_clock.py``): it starts
from the offset the venue's other clients measured, measures it at its first call when none is
fresh (``clock_check_interval``), and measures again when the venue refuses a timestamp.
"""

from collections.abc import Callable, Mapping
from typing import Any
from uuid import UUID

import ccxt

from domains.exchange.adapters.ccxt_clock import ClockSync
from domains.exchange.adapters.ccxt_gateway import CcxtVenue, VenueCredentials, new_exchange
from domains.exchange.adapters.ccxt_hooks import instrument
from domains.exchange.services.live import LiveVenue
from domains.exchange.services.resilience.runtime import ResilienceRuntime, default_runtime


class VenueFactory:
    def __init__(
        self,
        *,
        runtime: ResilienceRuntime | None = None,
        ccxt_config: Mapping[str, Any] | None = None,
        prepare: Callable[[ccxt.Exchange], None] | None = None,
    ) -> None:
        self._runtime = runtime
        self.ccxt_config = dict(ccxt_config or {})
        self.prepare = prepare

    @property
    def runtime(self) -> ResilienceRuntime:
        return self._runtime or default_runtime()

    def public(self, venue: str) -> LiveVenue:
        """A client of ``venue``'s public endpoints (market data)."""
        return self._build(venue, credentials=None, credential_id=None, account_id=None)

    def for_account(
        self, venue: str, *, account_id: UUID, credentials: VenueCredentials
    ) -> LiveVenue:
        """A client signing with one account's credentials (its own per-credential limits)."""
        return self._build(
            venue, credentials=credentials, credential_id=str(account_id), account_id=account_id
        )

    def _build(
        self,
        venue: str,
        *,
        credentials: VenueCredentials | None,
        credential_id: str | None,
        account_id: UUID | None,
    ) -> LiveVenue:
        venue_runtime = self.runtime.venue(venue)
        settings = venue_runtime.settings
        config = {"timeout": settings.timeout_ms, **self.ccxt_config, "enableRateLimit": False}
        exchange = new_exchange(venue, credentials=credentials, config=config)
        if self.prepare is not None:
            self.prepare(exchange)
        secrets: tuple[str, ...] = ()
        if credentials is not None:
            secrets = (credentials.api_key, credentials.secret, credentials.password or "")
        instrument(
            exchange,
            venue_runtime.hooks(
                credential_id=credential_id, account_id=account_id, secrets=secrets
            ),
            venue=venue,
            credential_id=credential_id,
        )
        clock_sync = ClockSync(
            exchange,
            venue=venue,
            offset=venue_runtime.clock_offset,
            interval=lambda: venue_runtime.settings.clock_check_interval,
        )
        return LiveVenue(
            CcxtVenue(venue, exchange, clock_sync=clock_sync), guard=venue_runtime.guard()
        )
