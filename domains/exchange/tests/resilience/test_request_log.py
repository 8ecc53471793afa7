"""The request/response log keeps every call to a venue, with its secrets masked."""

import json

import pytest

from domains.exchange.adapters.redaction import redact_body, redact_headers, redact_url
from domains.exchange.models import ExchangeRequestLog
from domains.exchange.tests.fake_binance import Fault
from domains.exchange.tests.resilience.conftest import API_KEY, API_SECRET, BinanceRig

pytestmark = pytest.mark.django_db


def everything_stored() -> str:
    rows = ExchangeRequestLog.objects.all()
    return json.dumps(
        [
            [r.url, r.request_headers, r.request_body, r.response_headers, r.response_body, r.error]
            for r in rows
        ]
    )


def test_signed_calls_and_listen_keys_are_logged_without_their_secrets(binance: BinanceRig):
    binance.configure(log_requests=True)
    exchange = binance.live.adapter.exchange

    binance.live.balances(binance.account_id)  # signed: X-MBX-APIKEY + signature=
    listen_key = exchange.public_post_userdatastream()["listenKey"]
    exchange.public_put_userdatastream({"listenKey": listen_key})  # the key in the body

    sent = binance.fake.requests
    headers = {name.lower(): value for name, value in sent[0].headers.items()}
    assert headers["x-mbx-apikey"] == API_KEY  # the venue did get them ...
    signature = sent[0].query["signature"]
    assert sent[2].form["listenKey"] == listen_key
    stored = everything_stored()
    for secret in (API_KEY, API_SECRET, signature, listen_key):  # ... the log did not
        assert secret not in stored
    rows = list(ExchangeRequestLog.objects.order_by("id"))
    assert [(r.method, r.status) for r in rows] == [("GET", 200), ("POST", 200), ("PUT", 200)]
    account = rows[0]
    assert account.request_headers["X-MBX-APIKEY"] == "***"
    assert "signature=***" in account.url
    assert "timestamp=" in account.url
    assert account.account_id == binance.account_id
    assert account.cost == {"request_weight": 20.0}  # GET /api/v3/account: weight 20
    assert json.loads(rows[1].response_body) == {"listenKey": "***"}
    assert rows[2].request_body == "listenKey=***"


def test_failed_calls_are_logged_with_their_error(binance: BinanceRig):
    binance.configure(log_requests=True)
    binance.sim.fail("GET", "/api/v3/ticker/24hr", Fault("status", 503))

    binance.live.ticker("BTC/USDT")

    statuses = list(ExchangeRequestLog.objects.order_by("id").values_list("status", "error"))
    # Binance's -1007 "execution status unknown" is a timeout to ccxt.
    assert statuses[0][0] == 503
    assert statuses[0][1].startswith("RequestTimeout")
    assert statuses[1] == (200, "")


def test_an_admin_can_switch_the_log_off(binance: BinanceRig):
    binance.configure(log_requests=False)
    binance.live.ticker("BTC/USDT")
    assert not ExchangeRequestLog.objects.exists()


def test_redaction_covers_each_venues_secret_fields():
    assert redact_url(
        "https://api.huobi.pro/v1/order/orders/place?AccessKeyId=abc123def&SignatureMethod="
        "HmacSHA256&Signature=c2lnbmF0dXJl%3D&Timestamp=2024"
    ) == (
        "https://api.huobi.pro/v1/order/orders/place?AccessKeyId=***&SignatureMethod="
        "HmacSHA256&Signature=***&Timestamp=2024"
    )
    assert redact_headers({"KEY": "gate-key", "SIGN": "abcdef", "Content-Type": "json"}) == {
        "KEY": "***",
        "SIGN": "***",
        "Content-Type": "json",
    }
    assert redact_body('{"text":"t-dsta1","apiKey":"k"}') == '{"text":"t-dsta1","apiKey":"***"}'
    assert redact_body("symbol=BTCUSDT&signature=abc") == "symbol=BTCUSDT&signature=***"
    listen = "pqia91ma19a5s61cv6a81va65sdf19v8a65a1a5s61cv6a81va65sdf19v8a65a1"
    assert listen not in redact_url(f"wss://stream.binance.com:9443/ws/{listen}")
    # A known secret is masked wherever it turns up, e.g. echoed in an error message.
    assert "my-secret-value" not in redact_body("bad key my-secret-value", ["my-secret-value"])
