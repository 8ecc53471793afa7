"""A venue rig per test: the fake venue server, ccxt on its transport, our adapter and service.

Markets come from ccxt's recorded metadata in ``shared/data/exchange-responses/markets`` (the
Binance file states precision in decimal places and is converted to ticks, as its SOURCES.md
says); responses are the recorded ones where they exist, else written from the venue's docs.
"""

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import ccxt
import pytest

from domains.exchange.adapters.ccxt_gateway import (
    PROFILES,
    CcxtVenue,
    VenueCredentials,
    new_exchange,
    offline_markets,
)
from domains.exchange.services.live import LiveVenue
from domains.exchange.tests.fake_venue import FakeVenue

VENUES = ("binance", "gateio", "htx")
# Our venue name -> the file name ccxt's fixtures use.
FIXTURE_NAMES = {"binance": "binance", "gateio": "gate", "htx": "htx"}
# HTX places spot orders for an account id it looks up first (GET /v1/account/accounts); the
# id is the one in ccxt's recorded requests, the shape is HTX's documented answer.
HTX_ACCOUNTS = {
    "status": "ok",
    "data": [{"id": 44234548, "type": "spot", "subtype": "", "state": "working"}],
}


@dataclass
class Rig:
    venue: str
    fake: FakeVenue
    exchange: ccxt.Exchange
    adapter: CcxtVenue
    live: LiveVenue
    account_id: UUID
    recorded_requests: dict[str, Any]
    recorded_responses: dict[str, Any]

    def requests_for(self, method: str) -> list[dict[str, Any]]:
        return list(self.recorded_requests["methods"].get(method, []))

    def responses_for(self, method: str) -> list[dict[str, Any]]:
        return list(self.recorded_responses["methods"].get(method, []))


def load_markets(data: Path, venue: str) -> dict[str, Any]:
    path = data / "exchange-responses" / "markets" / f"{FIXTURE_NAMES[venue]}.markets.json"
    return offline_markets(path, precision_as_decimal_places=venue == "binance")


def build_rig(data: Path, venue: str, fake: FakeVenue) -> Rig:
    folder = data / "exchange-responses"
    name = FIXTURE_NAMES[venue]
    requests = json.loads((folder / "request" / f"{name}.extract.json").read_text())
    responses = json.loads((folder / "response" / f"{name}.extract.json").read_text())
    exchange = new_exchange(
        venue,
        credentials=VenueCredentials(api_key="test-key", secret="test-secret"),
        # ccxt's own limiter off: the fake venue answers at once and tests must not wait.
        config={"session": fake.session(), "enableRateLimit": False},
    )
    exchange.options.update(requests.get("options") or {})
    exchange.set_markets(load_markets(data, venue))
    if venue == "htx":
        fake.route("GET", "/v1/account/accounts", HTX_ACCOUNTS)
    adapter = CcxtVenue(venue, exchange)
    return Rig(
        venue=venue,
        fake=fake,
        exchange=exchange,
        adapter=adapter,
        live=LiveVenue(adapter),
        account_id=uuid4(),
        recorded_requests=requests,
        recorded_responses=responses,
    )


@pytest.fixture(params=VENUES)
def rig(request: pytest.FixtureRequest, shared_data: Path) -> Iterator[Rig]:
    """One rig per venue (the test runs once for each)."""
    assert set(VENUES) == set(PROFILES)
    with FakeVenue() as fake:
        yield build_rig(shared_data, request.param, fake)


@pytest.fixture
def htx_rig(shared_data: Path) -> Iterator[Rig]:
    with FakeVenue() as fake:
        yield build_rig(shared_data, "htx", fake)


@pytest.fixture
def binance_rig(shared_data: Path) -> Iterator[Rig]:
    with FakeVenue() as fake:
        yield build_rig(shared_data, "binance", fake)
