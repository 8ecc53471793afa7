"""Every documented venue error, as the venue sends it, becomes our error type.

The documented errors are the ``exceptions`` maps of ccxt's exchange classes (Binance: its
general map and its spot map, which ccxt picks by the api.binance.com URL our transport keeps).
Each code is served in the venue's own error payload by the fake venue in answer to an order;
the error that leaves ``LiveVenue.place_order`` must be the one ``ccxt_errors`` assigns to the
ccxt class the map names, except the timestamp refusals ccxt files under authentication
(``CLOCK_REFUSALS``), which are ``ClockSkew``. A few errors are also pinned to the class a
trader expects.
"""

import json
from decimal import Decimal
from typing import Any

import ccxt
import pytest

from domains.exchange.adapters.ccxt_errors import our_error_class
from domains.exchange.api import (
    AuthFailed,
    ClockSkew,
    DuplicateOrder,
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
# Map entries ccxt classes as AuthenticationError that are a venue refusing our timestamp.
CLOCK_REFUSALS = {("gateio", "REQUEST_EXPIRED")}


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
        if (rig.venue, key) in CLOCK_REFUSALS:
            expected = ClockSkew
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
        # The client order id of an open order sent again: the first send landed (ccxt: a
        # plain InvalidOrder).
        (-2010, "Duplicate order sent."): DuplicateOrder,
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


# --- timestamp refusals -------------------------------------------------------------------------

# Each venue's refusal of a signed request's timestamp, as the venue sends it (Binance spot
# "Timing security": -1021 in both wordings; Gate.io APIv4: label REQUEST_EXPIRED; HTX spot:
# api-signature-not-valid "Invalid submission time"), and a sibling that must stay an auth
# failure (a bad signature or key is not a clock problem).
Payloads = list[tuple[int, dict[str, Any]]]
CLOCK_PAYLOADS: dict[str, tuple[Payloads, Payloads]] = {
    "binance": (
        [
            (
                400,
                {"code": -1021, "msg": "Timestamp for this request is outside of the recvWindow."},
            ),
            (
                400,
                {
                    "code": -1021,
                    "msg": "Timestamp for this request was 1000ms ahead of the server's time.",
                },
            ),
        ],
        [(400, {"code": -1022, "msg": "Signature for this request is not valid."})],
    ),
    "gateio": (
        [
            (
                401,
                {
                    "label": "REQUEST_EXPIRED",
                    "message": "gap between request Timestamp and server time exceeds 60",
                },
            )
        ],
        [(401, {"label": "INVALID_SIGNATURE", "message": "Signature mismatch"})],
    ),
    "htx": (
        [
            (
                200,
                {
                    "status": "error",
                    "err-code": "api-signature-not-valid",
                    "err-msg": "Signature not valid: Invalid submission time or incorrect time "
                    "format [无效的提交时间，或时间格式错误]",  # noqa: RUF001 (HTX's text)
                    "data": None,
                },
            )
        ],
        [
            (
                200,
                {
                    "status": "error",
                    "err-code": "api-signature-not-valid",
                    "err-msg": "Signature not valid: Verification failure [校验失败]",
                    "data": None,
                },
            )
        ],
    ),
}


def test_each_venues_timestamp_refusal_is_clock_skew_not_an_auth_failure(rig: Rig):
    # A bare adapter (no ClockSync) reports the refusal at once: one request per payload.
    refusals, auth_failures = CLOCK_PAYLOADS[rig.venue]
    for status, body in refusals:
        rig.fake.respond(body, status=status)
        with pytest.raises(ClockSkew) as skewed:
            rig.live.place_order(account_id=rig.account_id, request=ORDER)
        assert skewed.value.code == "clock_skew"
        assert skewed.value.status == 503
        assert not isinstance(skewed.value, VenueUnavailable)  # not an unknown outcome
        assert skewed.value.details["venue"] == rig.venue
    for status, body in auth_failures:
        rig.fake.respond(body, status=status)
        with pytest.raises(AuthFailed):
            rig.live.place_order(account_id=rig.account_id, request=ORDER)
    assert len(rig.fake.requests) == len(refusals) + len(auth_failures)


def test_ccxts_invalid_nonce_class_maps_to_clock_skew():
    assert our_error_class(ccxt.InvalidNonce) is ClockSkew
    assert our_error_class(ccxt.NetworkError) is VenueUnavailable  # its parent class is not
