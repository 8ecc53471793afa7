"""Every documented venue error, as the venue sends it, becomes our error type.

The documented errors are the ``exceptions`` maps of ccxt's exchange classes (Binance: its
general map and its spot map, which ccxt picks by the api.binance.com URL our transport keeps).
Each code is served in the venue's own error payload by the fake venue in answer to an order;
the error that leaves ``LiveVenue.place_order`` must be the one ``ccxt_errors`` assigns to the
ccxt class the map names. A few errors are also pinned to the class a trader expects.
"""

import json
from decimal import Decimal
from typing import Any

import ccxt
import pytest

from domains.exchange.adapters.ccxt_errors import our_error_class
from domains.exchange.api import (
    AuthFailed,
    ExchangeFailure,
    InsufficientFunds,
    InvalidOrder,
    OrderNotFound,
    OrderRequest,
    OrderSide,
    OrderType,
    UnknownSymbol,
    VenueRateLimited,
    VenueUnavailable,
)
from domains.exchange.tests.adapters.conftest import Rig

ORDER = OrderRequest(
    symbol="BTC/USDT",
    side=OrderSide.BUY,
    type=OrderType.LIMIT,
    amount=Decimal("0.001"),
    price=Decimal(30_000),
)
# Binance's legacy message checks run before its maps (any 4xx body containing these).
BINANCE_LEGACY = ("Price * QTY is zero or less", "LOT_SIZE", "PRICE_FILTER")


def error_payload(venue: str, key: str) -> tuple[int, dict[str, Any]]:
    """(HTTP status, body) of an error ``key`` in the venue's documented error format."""
    if venue == "binance":  # {"code": -2010, "msg": "..."}; a text key is matched on "msg"
        if key.lstrip("-").isdigit():
            return 400, {"code": int(key), "msg": "rejected"}
        return 400, {"code": -1000, "msg": key}
    if venue == "gateio":  # {"label": "BALANCE_NOT_ENOUGH", "message": "..."}
        return 400, {"label": key, "message": "rejected"}
    # HTX spot: HTTP 200 with {"status": "error", "err-code": ..., "err-msg": ...}
    return 200, {"status": "error", "err-code": key, "err-msg": "rejected", "data": None}


def documented_errors(rig: Rig) -> dict[str, type[Exception]]:
    """code/message -> the ccxt class the venue's map names, as ccxt would look it up."""
    exceptions = rig.exchange.exceptions
    documented: dict[str, type[Exception]] = dict(exceptions["exact"])
    if rig.venue == "binance":
        documented.update(exceptions["spot"]["exact"])  # checked first for api.binance.com
        for key in list(documented):
            if any(legacy in key for legacy in BINANCE_LEGACY):
                documented[key] = ccxt.InvalidOrder
    return documented


def expected_class(rig: Rig, key: str, ccxt_class: type[Exception], body: str) -> type[Exception]:
    broad = rig.exchange.exceptions.get("broad") or {}
    if rig.venue == "htx":  # HTX matches its broad map on the whole body first
        for fragment, broad_class in broad.items():
            if fragment in body:
                return broad_class
    return ccxt_class


def test_every_documented_error_code_is_normalised(rig: Rig):
    documented = documented_errors(rig)
    assert len(documented) > 50  # the maps really were read
    mismatches = []
    for key, ccxt_class in documented.items():
        status, body = error_payload(rig.venue, key)
        text = json.dumps(body)
        rig.fake.respond(text, status=status)
        with pytest.raises(ExchangeFailure) as raised:
            rig.live.place_order(account_id=rig.account_id, request=ORDER)
        expected = our_error_class(expected_class(rig, key, ccxt_class, text))
        if type(raised.value) is not expected:
            mismatches.append(
                (key, ccxt_class.__name__, type(raised.value).__name__, expected.__name__)
            )
        assert raised.value.details["venue"] == rig.venue
    assert mismatches == []
    assert len(rig.fake.requests) == len(documented)  # one order request per code, no retries


PINNED: dict[str, dict[Any, type[ExchangeFailure]]] = {
    # Binance's documented payloads, code and message together as it sends them.
    "binance": {
        (-2010, "Account has insufficient balance for requested action."): InsufficientFunds,
        (-1121, "Invalid symbol."): UnknownSymbol,
        (-2013, "Order does not exist."): OrderNotFound,
        (-2014, "API-key format invalid."): AuthFailed,
        (-1013, "Filter failure: NOTIONAL"): InvalidOrder,
        (-1003, "Too many requests; current limit is 6000 request weight per 1 MINUTE."): (
            VenueRateLimited
        ),
    },
    "gateio": {
        "BALANCE_NOT_ENOUGH": InsufficientFunds,
        "INVALID_CURRENCY_PAIR": UnknownSymbol,
        "ORDER_NOT_FOUND": OrderNotFound,
        "INVALID_KEY": AuthFailed,
        "TOO_MANY_REQUESTS": VenueRateLimited,
        "SERVER_ERROR": VenueUnavailable,
    },
    "htx": {
        "account-frozen-balance-insufficient-error": InsufficientFunds,
        "base-symbol-error": UnknownSymbol,
        "order-limitorder-amount-min-error": InvalidOrder,
        "api-signature-not-valid": AuthFailed,
        "base-record-invalid": OrderNotFound,
    },
}


def test_the_errors_a_trader_meets_most_map_as_expected(rig: Rig):
    for key, ours in PINNED[rig.venue].items():
        if isinstance(key, tuple):
            code, message = key
            status, body = 400, {"code": code, "msg": message}
        else:
            status, body = error_payload(rig.venue, key)
        rig.fake.respond(body, status=status)
        with pytest.raises(ours):
            rig.live.place_order(account_id=rig.account_id, request=ORDER)


def test_throttling_carries_retry_after_and_maintenance_means_unavailable(rig: Rig):
    rig.fake.respond(
        {"code": -1003, "msg": "Too many requests"}, status=429, headers={"Retry-After": "7"}
    )
    with pytest.raises(VenueRateLimited) as throttled:
        rig.live.place_order(account_id=rig.account_id, request=ORDER)
    assert throttled.value.details["retry_after"] == "7"
    assert throttled.value.code == "rate_limited"
    rig.fake.respond("<html>502 Bad Gateway</html>", status=502)
    with pytest.raises(VenueUnavailable):
        rig.live.place_order(account_id=rig.account_id, request=ORDER)


def test_signatures_never_leak_into_error_messages(binance_rig: Rig):
    rig = binance_rig  # Binance signs private GETs in the query string
    rig.fake.respond("<html>bad gateway</html>", status=502)
    with pytest.raises(VenueUnavailable) as failed:
        rig.live.get_order(account_id=rig.account_id, symbol="BTC/USDT", client_order_id="dsta1")
    sent = rig.fake.last()
    assert sent.query["signature"]  # the request was signed in its query string...
    rendered = json.dumps(failed.value.as_dict())
    assert "/api/v3/order" in rendered  # ...the message names the URL...
    assert "signature=***" in rendered  # ...with the signature redacted
    assert sent.query["signature"] not in rendered
