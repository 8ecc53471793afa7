"""A live account on the simulated Binance, the gateway serving it, and the reconciler on a
clock the test moves.

The gateway is the application's (ledger included), its ccxt clients reach ``BinanceSim``
through the fake transport; the account's credentials come from a fixed reveal instead of
core's secrets. Events are read from the outbox the ledger writes them to, in the test's
transaction: exactly what would be delivered after a commit.
"""

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from django.utils import timezone

from domains.exchange.adapters.ccxt_gateway import VenueCredentials
from domains.exchange.api import OrderRequest, OrderSide, OrderType
from domains.exchange.events import OrderFilled, OrderUpdated
from domains.exchange.models import LiveAccount
from domains.exchange.services.credentials import CredentialStore
from domains.exchange.services.gateway import ExchangeGateway
from domains.exchange.services.orders.reconciler import (
    ReconcileReport,
    ReconcileSettings,
    reconcile_account,
)
from domains.exchange.tests.fake_binance import BinanceSim
from domains.exchange.tests.fake_venue import FakeVenue
from domains.exchange.tests.resilience.conftest import (
    API_KEY,
    API_SECRET,
    BinanceRig,
    SimClock,
    build_binance_rig,
)
from dsta.kernel.bus.models import OutboxMessage

ORDER = "/api/v3/order"


def limit_buy(client_order_id: str | None = None, amount: str = "0.001") -> OrderRequest:
    return OrderRequest(
        symbol="BTC/USDT",
        side=OrderSide.BUY,
        type=OrderType.LIMIT,
        amount=Decimal(amount),
        price=Decimal("50000"),
        client_order_id=client_order_id or f"dsta{uuid4().hex[:12]}",
    )


def events(kind: type[OrderUpdated] | type[OrderFilled], **match: Any) -> list[dict[str, Any]]:
    """Payloads of the ``kind`` events in the outbox whose fields equal ``match``."""
    lookups = {f"payload__{name}": value for name, value in match.items()}
    rows = OutboxMessage.objects.filter(name=kind.name, **lookups).order_by("id")
    return [dict(row.payload) for row in rows]


@dataclass
class LedgerRig:
    venue: BinanceRig
    gateway: ExchangeGateway
    account: LiveAccount
    settings: ReconcileSettings = field(default_factory=ReconcileSettings)

    @property
    def sim(self) -> BinanceSim:
        return self.venue.sim

    def place(self, request: OrderRequest) -> Any:
        return self.gateway.place_order(account_id=self.account.pk, request=request)

    def reconcile(self, *, after: timedelta = timedelta(minutes=1)) -> ReconcileReport:
        """A reconciler run ``after`` from now (no waiting: its clock is ahead)."""
        at: datetime = timezone.now() + after
        return reconcile_account(
            self.account.pk, api=self.gateway, settings=self.settings, clock=lambda: at
        )

    def order_requests(self) -> list[tuple[str, str]]:
        return [(r.method, r.path) for r in self.venue.fake.requests if r.path == ORDER]


@pytest.fixture
def live_account(db: None) -> LiveAccount:
    return LiveAccount.objects.create(
        owner_id=4242, venue="binance", name=f"main-{uuid4().hex[:6]}", secret_key="k"
    )


@pytest.fixture
def ledger_rig(shared_data: Path, live_account: LiveAccount) -> Iterator[LedgerRig]:
    clock = SimClock()
    sim = BinanceSim(clock)
    with FakeVenue(clock=clock, handler=sim) as fake:
        venue = build_binance_rig(shared_data, fake, clock, sim)
        credentials = CredentialStore(
            reveal=lambda owner_id, key: VenueCredentials(api_key=API_KEY, secret=API_SECRET)
        )
        gateway = ExchangeGateway(venues=venue.factory, credentials=credentials)
        yield LedgerRig(venue=venue, gateway=gateway, account=live_account)
