"""Users with roles, API clients, and the gateway wired to a simulated Binance.

The registered ``ExchangeApi`` is swapped for a gateway whose ccxt clients reach the fake venue
(``FakeVenue`` + ``BinanceSim``) for the duration of a test; paper accounts use the real paper
exchange on the test database.
"""

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from django.contrib.auth.models import Group
from rest_framework.test import APIClient

from domains.exchange.api import ExchangeApi
from domains.exchange.services.gateway import ExchangeGateway
from domains.exchange.services.paper.service import PaperExchange
from domains.exchange.tests.factories import book
from domains.exchange.tests.fake_binance import BinanceSim
from domains.exchange.tests.fake_venue import FakeVenue
from domains.exchange.tests.resilience.conftest import BinanceRig, SimClock, build_binance_rig
from dsta.kernel import rpc


@pytest.fixture
def make_user(django_user_model: Any) -> Callable[..., Any]:
    """``make_user("trader")``: a user holding exactly that role (a group of that name)."""

    def make(role: str = "trader") -> Any:
        user = django_user_model.objects.create_user(username=f"{role}-{uuid4().hex[:10]}")
        user.groups.set([Group.objects.get_or_create(name=role)[0]])
        return user

    return make


@pytest.fixture
def client_for() -> Callable[[Any], APIClient]:
    def client(user: Any) -> APIClient:
        api = APIClient()
        api.force_authenticate(user)
        return api

    return client


@pytest.fixture
def trader(make_user: Callable[..., Any]) -> Any:
    return make_user("trader")


@pytest.fixture
def venue_rig(shared_data: Path) -> Iterator[BinanceRig]:
    """The simulated Binance, and the registered gateway pointed at it."""
    clock = SimClock()
    sim = BinanceSim(clock)
    with FakeVenue(clock=clock, handler=sim) as fake:
        rig = build_binance_rig(shared_data, fake, clock, sim)
        original = rpc.resolve(ExchangeApi)
        rpc.register(ExchangeApi, ExchangeGateway(venues=rig.factory))
        try:
            yield rig
        finally:
            rpc.register(ExchangeApi, original)


@pytest.fixture
def paper_book(db: None) -> None:
    """The paper venue's BTC/USDT book: bid 59 990, ask 60 010."""
    PaperExchange().feed_book(
        book=book(bids=[("59990.00", "2")], asks=[("60010.00", "2")], at=datetime.now(UTC))
    )


def error_of(response: Any) -> dict[str, Any]:
    """The ``error`` of a response in the one error format."""
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "details"}, body
    return dict(body["error"])
