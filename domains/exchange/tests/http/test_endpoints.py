"""``/api/v1/exchange/``: paper and live accounts, orders, market data, health; bad input is a
4xx with a reason and sends nothing to any venue; a user only ever sees their own accounts."""

from collections.abc import Callable
from decimal import Decimal
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from domains.exchange.events import OrderUpdated
from domains.exchange.models import PaperAccount
from domains.exchange.tests.fake_venue import CONNECTION_REFUSED
from domains.exchange.tests.http.conftest import error_of
from domains.exchange.tests.resilience.conftest import API_KEY, API_SECRET, BinanceRig
from dsta.kernel.bus import Event

pytestmark = pytest.mark.django_db

SECRET_KEY = "exchange/binance/main"


def open_paper(client: APIClient, **extra: Any) -> dict[str, Any]:
    body = {"name": "paper-1", "balances": {"USDT": "10000", "btc": "1"}, **extra}
    response = client.post("/api/v1/exchange/paper/accounts", body, format="json")
    assert response.status_code == 201, response.content
    return dict(response.json())


def open_live(client: APIClient, *, store_secret: bool = True) -> dict[str, Any]:
    if store_secret:
        stored = client.put(
            f"/api/v1/config/secrets/{SECRET_KEY}",
            {"kind": "exchange_credentials", "value": {"api_key": API_KEY, "secret": API_SECRET}},
            format="json",
        )
        assert stored.status_code == 201, stored.content
    response = client.post(
        "/api/v1/exchange/live/accounts",
        {"venue": "binance", "name": "main", "secret_key": SECRET_KEY},
        format="json",
    )
    assert response.status_code == 201, response.content
    return dict(response.json())


LIMIT_BUY = {
    "symbol": "BTC-USDT",
    "side": "buy",
    "type": "limit",
    "amount": "0.01",
    "price": "59000",
}


# --- paper: the whole round ------------------------------------------------------------------


def test_a_paper_account_trades_through_the_endpoints(
    trader: Any, client_for: Callable[[Any], APIClient], paper_book: None
):
    client = client_for(trader)
    account = open_paper(client)
    assert (account["kind"], account["venue"], account["is_default"]) == ("paper", "paper", True)
    assert PaperAccount.objects.get(pk=account["id"]).owner_id == trader.pk

    placed = client.post("/api/v1/exchange/paper/order", LIMIT_BUY, format="json")
    assert placed.status_code == 201, placed.content
    order = placed.json()
    assert order["status"] == "open"
    assert (Decimal(order["amount"]), Decimal(order["price"])) == (Decimal("0.01"), 59000)
    assert order["account_id"] == account["id"]  # the default account, none named
    cid = order["client_order_id"]

    fetched = client.get(f"/api/v1/exchange/paper/order/{cid}")
    assert fetched.json()["client_order_id"] == cid
    balance = client.get("/api/v1/exchange/paper/balance").json()
    usdt = next(b for b in balance["balances"] if b["asset"] == "USDT")
    assert Decimal(usdt["locked"]) == Decimal("590.59")  # 0.01 * 59000 * (1 + 0.001)
    detail = client.get(f"/api/v1/exchange/paper/account?account_id={account['id']}").json()
    assert detail["account"]["name"] == "paper-1"
    assert {b["asset"] for b in detail["balances"]["balances"]} == {"USDT", "BTC"}

    canceled = client.post("/api/v1/exchange/paper/cancel", {"client_order_id": cid}, format="json")
    assert canceled.json()["status"] == "canceled"
    second = client.post("/api/v1/exchange/paper/order", LIMIT_BUY, format="json").json()
    batch = client.post("/api/v1/exchange/paper/batch-cancel", {}, format="json").json()
    assert [o["client_order_id"] for o in batch["canceled"]] == [second["client_order_id"]]
    assert batch["failed"] == []


def test_market_data_and_health_of_the_paper_venue(
    trader: Any, client_for: Callable[[Any], APIClient], paper_book: None
):
    client = client_for(trader)
    ticker = client.get("/api/v1/exchange/paper/ticker/BTC-USDT").json()
    assert (ticker["bid"], ticker["ask"]) == ("59990.00", "60010.00")
    book = client.get("/api/v1/exchange/paper/orderbook/BTC-USDT?depth=1").json()
    assert book["bids"] == [{"price": "59990.00", "amount": "2"}]
    status = client.get("/api/v1/exchange/paper/status").json()
    assert (status["venue"], status["state"], status["breaker"]) == ("paper", "up", "closed")
    health = client.get("/api/v1/exchange/health").json()
    assert [v["venue"] for v in health["venues"]] == ["binance", "gateio", "htx", "paper"]


# --- bad input: a 4xx with a reason, nothing sent -----------------------------------------------


BAD_ORDERS = [
    ("nowhere", LIMIT_BUY, 404, "unknown_venue"),
    ("binance", {**LIMIT_BUY, "symbol": "NOPE-USDT"}, 404, "unknown_symbol"),
    ("binance", {**LIMIT_BUY, "symbol": "BTCUSDT"}, 400, "invalid_input"),
    ("binance", {**LIMIT_BUY, "side": "hold"}, 400, "invalid_input"),
    ("binance", {**LIMIT_BUY, "type": "iceberg"}, 400, "invalid_input"),
    ("binance", {**LIMIT_BUY, "amount": "-1"}, 400, "invalid_order"),
    ("binance", {**LIMIT_BUY, "amount": "0"}, 400, "invalid_order"),
    ("binance", {**LIMIT_BUY, "amount": "lots"}, 400, "invalid_input"),
    ("binance", {**LIMIT_BUY, "amount": True}, 400, "invalid_input"),
    ("binance", {**LIMIT_BUY, "amount": "NaN"}, 400, "invalid_input"),
    ("binance", {**LIMIT_BUY, "price": "-5"}, 400, "invalid_order"),
    ("binance", {**LIMIT_BUY, "price": None}, 400, "invalid_order"),
    ("binance", {**LIMIT_BUY, "amount": "0.00001"}, 400, "below_minimum"),
    ("binance", {**LIMIT_BUY, "reduce_only": True}, 400, "invalid_order"),
    ("binance", {**LIMIT_BUY, "client_order_id": "no spaces allowed"}, 400, "invalid_order"),
    ("binance", {k: v for k, v in LIMIT_BUY.items() if k != "amount"}, 400, "invalid_input"),
    ("binance", ["not", "an", "object"], 400, "invalid_input"),
]


@pytest.mark.parametrize(("venue", "body", "status", "code"), BAD_ORDERS)
def test_bad_orders_are_refused_with_a_reason_and_nothing_reaches_the_venue(
    venue: str,
    body: Any,
    status: int,
    code: str,
    venue_rig: BinanceRig,
    trader: Any,
    client_for: Callable[[Any], APIClient],
):
    client = client_for(trader)
    open_live(client)

    response = client.post(f"/api/v1/exchange/{venue}/order", body, format="json")

    assert response.status_code == status, response.content
    error = error_of(response)
    assert error["code"] == code
    assert error["message"]
    assert venue_rig.fake.requests == []  # counted at the fake venue: nothing was sent


def test_bad_reads_are_refused_with_a_reason_and_nothing_reaches_the_venue(
    venue_rig: BinanceRig, trader: Any, client_for: Callable[[Any], APIClient]
):
    client = client_for(trader)
    open_live(client)
    cases = [
        ("/api/v1/exchange/binance/ticker/ETH-NOPE", 404, "unknown_symbol"),
        ("/api/v1/exchange/binance/ticker/BTCUSDT", 400, "invalid_input"),
        ("/api/v1/exchange/binance/orderbook/BTC-USDT?depth=lots", 400, "invalid_input"),
        ("/api/v1/exchange/binance/orderbook/BTC-USDT?depth=0", 400, "invalid_input"),
        ("/api/v1/exchange/binance/order/dsta123", 400, "invalid_input"),  # symbol missing
        ("/api/v1/exchange/binance/balance?account_id=not-a-uuid", 400, "invalid_input"),
        ("/api/v1/exchange/kraken/status", 404, "unknown_venue"),
    ]
    for path, status, code in cases:
        response = client.get(path)
        assert (response.status_code, error_of(response)["code"]) == (status, code), path
    bad_cancel = client.post(
        "/api/v1/exchange/binance/batch-cancel",
        {"symbol": "BTC-USDT", "client_order_ids": "dsta1"},
        format="json",
    )
    assert error_of(bad_cancel)["code"] == "invalid_input"
    assert venue_rig.fake.requests == []


def test_a_paper_account_needs_sane_starting_balances(
    trader: Any, client_for: Callable[[Any], APIClient]
):
    client = client_for(trader)
    for balances, field in (({"USDT": "-1"}, "balances"), ({"USDT": "x"}, "balances")):
        response = client.post(
            "/api/v1/exchange/paper/accounts", {"name": "p", "balances": balances}, format="json"
        )
        assert response.status_code == 400
        assert field in error_of(response)["details"]
    fee = client.post(
        "/api/v1/exchange/paper/accounts",
        {"name": "p", "balances": {"USDT": "1"}, "taker_fee": "0.5"},
        format="json",
    )
    assert error_of(fee)["code"] == "invalid_input"
    assert not PaperAccount.objects.exists()


# --- live accounts: credentials from core's secrets ----------------------------------------------


def test_a_live_account_signs_with_the_credentials_stored_in_core(
    venue_rig: BinanceRig,
    trader: Any,
    client_for: Callable[[Any], APIClient],
    delivered: list[Event],
    django_capture_on_commit_callbacks: Any,
):
    client = client_for(trader)
    account = open_live(client)
    assert (account["kind"], account["secret_key"]) == ("live", SECRET_KEY)
    assert "secret" not in {k for k, v in account.items() if v == API_SECRET}

    balance = client.get("/api/v1/exchange/binance/balance")
    assert balance.status_code == 200, balance.content
    assert {b["asset"]: b["free"] for b in balance.json()["balances"]}["USDT"] == "10000.0"
    sent = venue_rig.fake.last()
    headers = {name.lower(): value for name, value in sent.headers.items()}
    assert (sent.path, headers["x-mbx-apikey"]) == ("/api/v3/account", API_KEY)
    assert "signature" in sent.query

    with django_capture_on_commit_callbacks(execute=True):
        placed = client.post("/api/v1/exchange/binance/order", LIMIT_BUY, format="json")
    assert placed.status_code == 201, placed.content
    cid = placed.json()["client_order_id"]
    announced = [e for e in delivered if isinstance(e, OrderUpdated)]
    assert [(e.client_order_id, e.status, e.venue) for e in announced] == [(cid, "open", "binance")]
    assert list(venue_rig.sim.orders) == [cid]
    fetched = client.get(f"/api/v1/exchange/binance/order/{cid}?symbol=BTC-USDT")
    assert fetched.json()["status"] == "open"
    canceled = client.post(
        "/api/v1/exchange/binance/cancel",
        {"client_order_id": cid, "symbol": "BTC-USDT"},
        format="json",
    )
    assert canceled.json()["status"] == "canceled"
    status = client.get("/api/v1/exchange/binance/status").json()
    assert (status["breaker"], status["state"]) == ("closed", "up")
    assert status["rate_limits"][0]["bucket"] == "request_weight"


def test_a_live_account_without_its_secret_fails_auth_and_sends_nothing(
    venue_rig: BinanceRig, trader: Any, client_for: Callable[[Any], APIClient]
):
    client = client_for(trader)
    open_live(client, store_secret=False)
    response = client.get("/api/v1/exchange/binance/balance")
    assert response.status_code == 403
    error = error_of(response)
    assert (error["code"], error["details"]["reason"]) == ("auth_failed", "secret_not_found")
    assert venue_rig.fake.requests == []


def test_the_default_account_is_the_flagged_one_or_the_only_one(
    trader: Any, client_for: Callable[[Any], APIClient], paper_book: None
):
    client = client_for(trader)
    first = open_paper(client)
    second = open_paper(client, name="paper-2")
    assert (first["is_default"], second["is_default"]) == (True, False)
    made = client.post(
        "/api/v1/exchange/accounts/default", {"account_id": second["id"]}, format="json"
    )
    assert made.json()["is_default"] is True
    balance = client.get("/api/v1/exchange/paper/balance").json()
    assert balance["account_id"] == second["id"]
    listed = client.get("/api/v1/exchange/accounts?venue=paper").json()
    assert [(a["name"], a["is_default"]) for a in listed] == [("paper-1", False), ("paper-2", True)]


# --- ownership and roles --------------------------------------------------------------------------


def test_another_users_account_is_not_found(
    make_user: Callable[..., Any], client_for: Callable[[Any], APIClient], paper_book: None
):
    owner, stranger = make_user("trader"), make_user("trader")
    account = open_paper(client_for(owner))
    order = client_for(owner).post("/api/v1/exchange/paper/order", LIMIT_BUY, format="json").json()
    spy = client_for(stranger)

    for response in (
        spy.get(f"/api/v1/exchange/paper/balance?account_id={account['id']}"),
        spy.get(f"/api/v1/exchange/paper/account?account_id={account['id']}"),
        spy.post(
            "/api/v1/exchange/paper/order",
            {**LIMIT_BUY, "account_id": account["id"]},
            format="json",
        ),
        spy.post(
            "/api/v1/exchange/paper/cancel",
            {"account_id": account["id"], "client_order_id": order["client_order_id"]},
            format="json",
        ),
        spy.get(f"/api/v1/exchange/paper/order/{order['client_order_id']}"),  # no account at all
        spy.post("/api/v1/exchange/accounts/default", {"account_id": account["id"]}, format="json"),
    ):
        assert response.status_code == 404, response.content
        assert error_of(response)["code"] == "unknown_account"
    assert spy.get("/api/v1/exchange/accounts").json() == []
    # The stranger's own account does not reach the owner's order either.
    open_paper(spy)
    lookup = spy.get(f"/api/v1/exchange/paper/order/{order['client_order_id']}")
    assert error_of(lookup)["code"] == "order_not_found"


def test_reading_needs_a_user_and_trading_needs_the_trader_role(
    make_user: Callable[..., Any], client_for: Callable[[Any], APIClient], paper_book: None
):
    assert APIClient().get("/api/v1/exchange/health").status_code == 401
    viewer = client_for(make_user("viewer"))
    assert viewer.get("/api/v1/exchange/paper/ticker/BTC-USDT").status_code == 200
    assert viewer.get("/api/v1/exchange/health").status_code == 200
    for path, body in (
        ("/api/v1/exchange/paper/order", LIMIT_BUY),
        ("/api/v1/exchange/paper/cancel", {"client_order_id": "x"}),
        ("/api/v1/exchange/paper/batch-cancel", {}),
        ("/api/v1/exchange/paper/accounts", {"name": "p", "balances": {}}),
    ):
        response = viewer.post(path, body, format="json")
        assert response.status_code == 403, path
        assert error_of(response)["code"] == "forbidden"
    admin = client_for(make_user("admin"))
    open_paper(admin)
    assert admin.post("/api/v1/exchange/paper/order", LIMIT_BUY, format="json").status_code == 201


# --- manage.py exchange_check -----------------------------------------------------------------


def test_exchange_check_reports_a_reachable_venue(venue_rig: BinanceRig):
    out = StringIO()
    call_command("exchange_check", "binance", "--symbol", "BTC-USDT", stdout=out)
    text = out.getvalue()
    assert "binance: reachable, 8 markets" in text
    assert "BTC/USDT: bid 60000.0 ask 60001.0" in text
    assert "request_weight (venue): 2 of 6000 Binance request weight per 60s" in text


def test_exchange_check_says_clearly_when_the_venue_is_unreachable(venue_rig: BinanceRig):
    venue_rig.fake.fail_next(*[CONNECTION_REFUSED] * 4)
    with pytest.raises(CommandError) as failed:
        call_command("exchange_check", "binance")
    assert failed.value.returncode == 1
    assert str(failed.value).startswith("venue_unavailable: binance")
    assert "check network access" in str(failed.value)
    assert venue_rig.sim.weights == []  # nothing got through


def test_exchange_check_refuses_an_unknown_symbol_with_its_own_exit_code(venue_rig: BinanceRig):
    with pytest.raises(CommandError) as failed:
        call_command("exchange_check", "binance", "--symbol", "NOPE/USDT")
    assert failed.value.returncode == 2
    assert str(failed.value).startswith("unknown_symbol")


def test_exchange_stream_refuses_a_malformed_symbol_before_connecting():
    with pytest.raises(CommandError) as failed:
        call_command("exchange_stream", "binance", "--symbol", "BTCUSDT")
    assert failed.value.returncode == 2
    assert str(failed.value).startswith("invalid_input")
