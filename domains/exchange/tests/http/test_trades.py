"""``GET /api/v1/exchange/{venue}/trades/{symbol}``: the market's latest public trades as
decimal strings, for any signed-in role; bad input is a 4xx with a reason."""

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from rest_framework.test import APIClient

from domains.exchange.tests.http.conftest import error_of
from domains.exchange.tests.http.test_endpoints import open_paper
from domains.exchange.tests.resilience.conftest import BinanceRig

pytestmark = pytest.mark.django_db

TAKE_ASK = {"symbol": "BTC-USDT", "side": "buy", "type": "limit", "amount": "0.1"}


def test_the_paper_tape_lists_every_accounts_fills_without_naming_them(
    make_user: Callable[..., Any], client_for: Callable[[Any], APIClient], paper_book: None
):
    first, second = client_for(make_user("trader")), client_for(make_user("trader"))
    open_paper(first)
    open_paper(second)
    bought = first.post(
        "/api/v1/exchange/paper/order", {**TAKE_ASK, "price": "60010.00"}, format="json"
    )
    assert bought.status_code == 201, bought.content
    sold = second.post(
        "/api/v1/exchange/paper/order",
        {**TAKE_ASK, "side": "sell", "amount": "0.05", "price": "59990.00"},
        format="json",
    )
    assert sold.status_code == 201, sold.content

    viewer = client_for(make_user("viewer"))
    response = viewer.get("/api/v1/exchange/paper/trades/BTC-USDT?limit=5")

    assert response.status_code == 200, response.content
    tape = response.json()
    assert [(Decimal(t["price"]), Decimal(t["amount"]), t["side"]) for t in tape] == [
        (Decimal("60010"), Decimal("0.1"), "buy"),
        (Decimal("59990"), Decimal("0.05"), "sell"),
    ]
    assert all(isinstance(t["price"], str) and isinstance(t["amount"], str) for t in tape)
    assert set(tape[0]) == {"venue", "symbol", "trade_id", "price", "amount", "side", "timestamp"}
    assert {(t["venue"], t["symbol"]) for t in tape} == {("paper", "BTC/USDT")}
    latest = viewer.get("/api/v1/exchange/paper/trades/BTC-USDT?limit=1").json()
    assert latest == tape[-1:]
    ticker = viewer.get("/api/v1/exchange/paper/ticker/BTC-USDT").json()
    assert Decimal(ticker["last"]) == Decimal("59990")  # the latest print, not the mid


def test_bad_trade_reads_are_refused_and_nothing_reaches_the_venue(
    venue_rig: BinanceRig, trader: Any, client_for: Callable[[Any], APIClient]
):
    client = client_for(trader)
    cases = [
        ("/api/v1/exchange/binance/trades/BTC-USDT?limit=lots", 400, "invalid_input"),
        ("/api/v1/exchange/binance/trades/BTC-USDT?limit=0", 400, "invalid_input"),
        ("/api/v1/exchange/binance/trades/BTC-USDT?limit=1001", 400, "invalid_input"),
        ("/api/v1/exchange/binance/trades/BTCUSDT", 400, "invalid_input"),
        ("/api/v1/exchange/binance/trades/ETH-NOPE", 404, "unknown_symbol"),
        ("/api/v1/exchange/paper/trades/ETH-NOPE", 404, "unknown_symbol"),
        ("/api/v1/exchange/kraken/trades/BTC-USDT", 404, "unknown_venue"),
    ]
    for path, status, code in cases:
        response = client.get(path)
        assert (response.status_code, error_of(response)["code"]) == (status, code), path
    assert venue_rig.fake.requests == []
    assert APIClient().get("/api/v1/exchange/paper/trades/BTC-USDT").status_code == 401
