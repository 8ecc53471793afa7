"""``GET {venue}/orders`` (paper orders and the live order ledger, one list) and
``POST {venue}/reconcile`` (look the caller's live orders up now), against the simulated
Binance behind the registered gateway."""

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from rest_framework.test import APIClient

from domains.exchange.models import LiveOrder
from domains.exchange.tests.fake_venue import CONNECT_TIMEOUT, READ_TIMEOUT
from domains.exchange.tests.http.conftest import error_of
from domains.exchange.tests.http.test_endpoints import LIMIT_BUY, open_live, open_paper
from domains.exchange.tests.resilience.conftest import BinanceRig

pytestmark = pytest.mark.django_db


def place(client: APIClient, venue: str, **extra: Any) -> dict[str, Any]:
    response = client.post(f"/api/v1/exchange/{venue}/order", {**LIMIT_BUY, **extra}, format="json")
    assert response.status_code == 201, response.content
    return dict(response.json())


def test_your_orders_paper_and_live_newest_first_with_filters_and_pages(
    venue_rig: BinanceRig,
    trader: Any,
    make_user: Callable[..., Any],
    client_for: Callable[[Any], APIClient],
    paper_book: None,
):
    client = client_for(trader)
    live = open_live(client)
    open_paper(client)
    first = place(client, "binance")
    second = place(client, "binance", price="58000")
    client.post(
        "/api/v1/exchange/binance/cancel",
        {"client_order_id": first["client_order_id"], "symbol": "BTC-USDT"},
        format="json",
    )
    paper = place(client, "paper")

    listed = client.get("/api/v1/exchange/binance/orders")
    assert listed.status_code == 200, listed.content
    page = listed.json()
    assert (page["limit"], page["offset"]) == (50, 0)
    rows = page["results"]
    assert [(r["client_order_id"], r["status"], r["kind"], r["outcome"]) for r in rows] == [
        (second["client_order_id"], "open", "live", "acknowledged"),
        (first["client_order_id"], "canceled", "live", "acknowledged"),
    ]
    assert (rows[0]["price"], rows[0]["amount"], rows[0]["remaining"]) == ("58000", "0.01", "0.01")
    assert rows[0]["account_id"] == live["id"]
    [paper_row] = client.get("/api/v1/exchange/paper/orders").json()["results"]
    assert (paper_row["client_order_id"], paper_row["kind"], paper_row["outcome"]) == (
        paper["client_order_id"],
        "paper",
        None,
    )

    def ids(query: str) -> list[str]:
        response = client.get(f"/api/v1/exchange/binance/orders?{query}")
        assert response.status_code == 200, response.content
        return [r["client_order_id"] for r in response.json()["results"]]

    assert ids("status=canceled") == [first["client_order_id"]]
    assert ids("symbol=ETH-USDT") == []
    assert ids("symbol=BTC-USDT&outcome=acknowledged") == [
        second["client_order_id"],
        first["client_order_id"],
    ]
    assert ids(f"account_id={live['id']}&limit=1&offset=1") == [first["client_order_id"]]
    assert ids("outcome=unknown") == []

    stranger = client_for(make_user("trader"))
    assert stranger.get("/api/v1/exchange/binance/orders").json()["results"] == []
    spying = stranger.get(f"/api/v1/exchange/binance/orders?account_id={live['id']}")
    assert (spying.status_code, error_of(spying)["code"]) == (404, "unknown_account")


@pytest.mark.parametrize(
    ("query", "status", "code"),
    [
        ("status=bogus", 400, "invalid_input"),
        ("outcome=lost", 400, "invalid_input"),
        ("limit=0", 400, "invalid_input"),
        ("limit=201", 400, "invalid_input"),
        ("limit=many", 400, "invalid_input"),
        ("offset=-1", 400, "invalid_input"),
        ("account_id=not-a-uuid", 400, "invalid_input"),
        ("symbol=BTCUSDT", 400, "invalid_input"),
    ],
)
def test_bad_order_queries_are_refused_with_a_reason(
    query: str, status: int, code: str, trader: Any, client_for: Callable[[Any], APIClient]
):
    response = client_for(trader).get(f"/api/v1/exchange/binance/orders?{query}")
    assert (response.status_code, error_of(response)["code"]) == (status, code)


def test_reconcile_now_resolves_your_unknown_order(
    venue_rig: BinanceRig,
    trader: Any,
    make_user: Callable[..., Any],
    client_for: Callable[[Any], APIClient],
):
    client = client_for(trader)
    live = open_live(client)
    # The answer is lost and the lookups cannot reach the venue (the breaker opens).
    venue_rig.fake.fail_next(READ_TIMEOUT, CONNECT_TIMEOUT, CONNECT_TIMEOUT)
    lost = client.post("/api/v1/exchange/binance/order", LIMIT_BUY, format="json")
    assert lost.status_code == 503, lost.content
    cid = error_of(lost)["details"]["client_order_id"]
    assert error_of(lost)["details"]["outcome"] == "unknown"
    venue_rig.clock.advance(21)  # the breaker's cool-down
    [unknown] = client.get("/api/v1/exchange/binance/orders").json()["results"]
    assert (unknown["status"], unknown["outcome"]) == (None, "unknown")

    viewer = client_for(make_user("viewer"))
    assert viewer.post("/api/v1/exchange/binance/reconcile", {}, format="json").status_code == 403
    stranger = client_for(make_user("trader"))
    spying = stranger.post(
        "/api/v1/exchange/binance/reconcile", {"account_id": live["id"]}, format="json"
    )
    assert (spying.status_code, error_of(spying)["code"]) == (404, "unknown_account")
    response = client.post("/api/v1/exchange/binance/reconcile", {}, format="json")

    assert response.status_code == 200, response.content
    report = response.json()
    assert (report["accounts"], report["checked"], report["resolved"]) == (1, 1, 1)
    assert report["orders"][0]["client_order_id"] == cid
    assert (report["orders"][0]["result"], report["orders"][0]["status"]) == ("resolved", "open")
    assert LiveOrder.objects.get(client_order_id=cid).status == "open"
    assert list(venue_rig.sim.orders) == [cid]


def test_reconcile_of_a_paper_account_is_empty_and_bad_input_is_refused(
    trader: Any, client_for: Callable[[Any], APIClient]
):
    client = client_for(trader)
    open_paper(client)
    report = client.post("/api/v1/exchange/paper/reconcile", {}, format="json").json()
    assert (report["accounts"], report["orders"]) == (0, [])
    bad = client.post("/api/v1/exchange/paper/reconcile", {"account_id": "nope"}, format="json")
    assert (bad.status_code, error_of(bad)["code"]) == (400, "invalid_input")
    none = client.post("/api/v1/exchange/binance/reconcile", {}, format="json")
    assert (none.status_code, error_of(none)["code"]) == (404, "unknown_account")
    venue = client.post("/api/v1/exchange/kraken/reconcile", {}, format="json")
    assert (venue.status_code, error_of(venue)["code"]) == (404, "unknown_venue")


def test_your_fills_paper_and_live_newest_first_with_filters(
    venue_rig: BinanceRig,
    trader: Any,
    make_user: Callable[..., Any],
    client_for: Callable[[Any], APIClient],
    paper_book: None,
):
    client = client_for(trader)
    live = open_live(client)
    open_paper(client)
    resting = place(client, "binance")
    venue_rig.sim.fill(resting["client_order_id"], "0.004", commission="0.02")
    assert client.post("/api/v1/exchange/binance/reconcile", {}, format="json").status_code == 200
    taker = place(client, "paper", price="60010")  # crosses the paper book's ask

    [live_fill] = client.get("/api/v1/exchange/binance/fills").json()["results"]
    assert (live_fill["kind"], live_fill["client_order_id"], live_fill["account_id"]) == (
        "live",
        resting["client_order_id"],
        live["id"],
    )
    assert (live_fill["amount"], live_fill["fee"], live_fill["fee_currency"]) == (
        "0.004",
        "0.02",
        "USDT",
    )
    assert Decimal(live_fill["notional"]) == Decimal(live_fill["price"]) * Decimal("0.004")
    assert "." not in live_fill["notional"]  # 236, not 236.000
    [paper_fill] = client.get("/api/v1/exchange/paper/fills").json()["results"]
    assert (paper_fill["kind"], paper_fill["client_order_id"], paper_fill["price"]) == (
        "paper",
        taker["client_order_id"],
        "60010",
    )
    assert (paper_fill["amount"], paper_fill["liquidity"]) == ("0.01", "taker")

    def ids(venue: str, query: str) -> list[str]:
        response = client.get(f"/api/v1/exchange/{venue}/fills?{query}")
        assert response.status_code == 200, response.content
        return [r["fill_id"] for r in response.json()["results"]]

    assert ids("binance", f"client_order_id={resting['client_order_id']}") == [live_fill["fill_id"]]
    assert ids("binance", "client_order_id=someone-else") == []
    assert ids("binance", "symbol=ETH-USDT") == []
    assert ids("paper", "limit=1&offset=1") == []
    stranger = client_for(make_user("trader"))
    assert stranger.get("/api/v1/exchange/binance/fills").json()["results"] == []
    spying = stranger.get(f"/api/v1/exchange/binance/fills?account_id={live['id']}")
    assert (spying.status_code, error_of(spying)["code"]) == (404, "unknown_account")


@pytest.mark.parametrize(
    "query", ["limit=0", "limit=201", "offset=-1", "account_id=nope", "symbol=BTCUSDT"]
)
def test_bad_fill_queries_are_refused_with_a_reason(
    query: str, trader: Any, client_for: Callable[[Any], APIClient]
):
    response = client_for(trader).get(f"/api/v1/exchange/binance/fills?{query}")
    assert (response.status_code, error_of(response)["code"]) == (400, "invalid_input")


def test_a_venues_markets_with_their_rules(trader: Any, client_for: Callable[[Any], APIClient]):
    client = client_for(trader)
    response = client.get("/api/v1/exchange/paper/markets")
    assert response.status_code == 200, response.content
    markets = {m["symbol"]: m for m in response.json()}
    btc = markets["BTC/USDT"]
    assert (btc["url_symbol"], btc["base"], btc["quote"], btc["active"]) == (
        "BTC-USDT",
        "BTC",
        "USDT",
        True,
    )
    # The rules orders are checked against before anything is sent.
    assert Decimal(btc["amount_step"]) > 0
    assert Decimal(btc["price_tick"]) > 0
    assert Decimal(btc["min_notional"]) > 0
    assert list(markets) == sorted(markets)
    in_btc = client.get("/api/v1/exchange/paper/markets?quote=btc").json()
    assert in_btc
    assert {m["quote"] for m in in_btc} == {"BTC"}
    unknown = client.get("/api/v1/exchange/kraken/markets")
    assert (unknown.status_code, error_of(unknown)["code"]) == (404, "unknown_venue")
    bad = client.get("/api/v1/exchange/paper/markets?active=maybe")
    assert (bad.status_code, error_of(bad)["code"]) == (400, "invalid_input")
