"""The kill switch (trading's config flag) halts new orders at the exchange's one door, paper
and live, whoever asks; cancels still go through. Across two domains, so it lives here."""

from collections.abc import Callable
from typing import Any

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from domains.core.api import config_api
from domains.exchange.models import LiveOrder
from domains.exchange.tests.http.conftest import (  # noqa: F401 (fixtures)
    client_for,
    error_of,
    make_user,
    paper_book,
    trader,
    venue_rig,
)
from domains.exchange.tests.http.test_endpoints import LIMIT_BUY, open_live, open_paper
from domains.exchange.tests.resilience.conftest import BinanceRig
from domains.trading.services.kill_switch import KILL_SWITCH_KEY, kill_switch_forget

pytestmark = pytest.mark.django_db


def switch(on: bool) -> None:
    config_api().set(
        key=KILL_SWITCH_KEY,
        value=on,
        environment=settings.DSTA_CONFIG_ENVIRONMENT,
        reason="kill switch test",
    )
    kill_switch_forget()  # the ConfigChanged handler runs after commit; tests roll back


def test_no_new_order_anywhere_while_the_kill_switch_is_on(
    venue_rig: BinanceRig,  # noqa: F811
    trader: Any,  # noqa: F811
    client_for: Callable[[Any], APIClient],  # noqa: F811
    paper_book: None,  # noqa: F811
) -> None:
    client = client_for(trader)
    open_live(client)
    open_paper(client)
    resting = client.post("/api/v1/exchange/binance/order", LIMIT_BUY, format="json")
    assert resting.status_code == 201, resting.content
    posts_before = list(venue_rig.sim.order_posts)

    switch(True)
    for venue in ("binance", "paper"):
        refused = client.post(f"/api/v1/exchange/{venue}/order", LIMIT_BUY, format="json")
        assert (refused.status_code, error_of(refused)["code"]) == (409, "trading_halted")
        assert error_of(refused)["details"]["config_key"] == "trading.kill_switch"
    # Nothing reached the venue, nothing was recorded as an intent.
    assert venue_rig.sim.order_posts == posts_before
    assert LiveOrder.objects.count() == 1
    # Taking risk off still works: the resting order is cancelled.
    cancelled = client.post(
        "/api/v1/exchange/binance/cancel",
        {"client_order_id": resting.json()["client_order_id"], "symbol": "BTC-USDT"},
        format="json",
    )
    assert cancelled.status_code == 200, cancelled.content
    assert cancelled.json()["status"] == "canceled"

    switch(False)
    again = client.post("/api/v1/exchange/paper/order", LIMIT_BUY, format="json")
    assert again.status_code == 201, again.content
