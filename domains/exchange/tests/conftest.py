"""Fixtures of the exchange domain's tests."""

from collections.abc import Iterator
from decimal import Decimal
from itertools import count
from uuid import UUID, uuid4

import pytest

from domains.exchange.services.paper.service import PaperExchange
from domains.exchange.tests.factories import ManualClock
from dsta.kernel.bus import Event, subscribe, unsubscribe
from dsta.kernel.rpc.testing import (  # noqa: F401 (fixtures are found by name)
    live_server_process,
    rpc_binding,
    rpc_extra_modules,
    rpc_server_pool,
)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def paper(clock: ManualClock) -> PaperExchange:
    """The paper exchange on a manual clock, with readable unique ids."""
    prefix = uuid4().hex[:8]
    ids = count(1)
    return PaperExchange(clock=clock, new_id=lambda: f"{prefix}-{next(ids)}")


@pytest.fixture
def account(paper: PaperExchange, db: None) -> UUID:
    """A paper account with 10 000 USDT and 1 BTC."""
    return paper.create_account(
        name="test", balances={"USDT": Decimal("10000"), "BTC": Decimal("1")}
    )


@pytest.fixture
def delivered() -> Iterator[list[Event]]:
    """Every exchange event delivered to a test subscriber while the test runs."""
    from domains.exchange.events import OrderBookUpdated, OrderFilled, OrderUpdated, TickerUpdated

    events: list[Event] = []
    subscriber = f"tests.exchange_{uuid4().hex[:12]}"
    kinds = (OrderUpdated, OrderFilled, OrderBookUpdated, TickerUpdated)
    for kind in kinds:
        subscribe(kind, events.append, subscriber=subscriber)
    yield events
    for kind in kinds:
        unsubscribe(kind, subscriber=subscriber)
