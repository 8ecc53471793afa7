"""ccxt's exceptions, normalised into the exchange domain's error types.

The order of the checks follows ccxt's class tree (see shared/design/EXCHANGES.md): the most
specific classes first, since ``OrderNotFound`` and ``DuplicateOrderId`` are ``InvalidOrder``s
and ``RateLimitExceeded`` is a ``NetworkError``. An error whose outcome we cannot know (network,
bad response, an unmapped venue error) becomes ``VenueUnavailable``: for an order that means
"look it up by client order id before anything else", never "resend".

A venue refusing a signed request's timestamp becomes ``ClockSkew`` (the request was refused
before processing: nothing to reconcile; ``ccxt_clock`` resyncs and retries once). ccxt classes
Binance's -1021 as ``InvalidNonce``, but files Gate.io's and HTX's equivalents under
``AuthenticationError``, which would read as "the key is bad"; those are recognised by their
payload (``_CLOCK_REFUSALS``).
"""

import re
from collections.abc import Mapping

import ccxt
import requests
from urllib3.exceptions import ConnectTimeoutError, MaxRetryError

from domains.exchange.api import (
    AuthFailed,
    ClockSkew,
    DuplicateOrder,
    ExchangeFailure,
    InsufficientFunds,
    InvalidOrder,
    OrderNotFound,
    UnknownSymbol,
    VenueRateLimited,
    VenueUnavailable,
)

# (ccxt class, our class), most specific first.
_MAPPING: tuple[tuple[type[Exception], type[ExchangeFailure]], ...] = (
    (ccxt.OrderNotFound, OrderNotFound),
    (ccxt.OrderNotCached, OrderNotFound),
    (ccxt.DuplicateOrderId, DuplicateOrder),
    (ccxt.InsufficientFunds, InsufficientFunds),
    (ccxt.BadSymbol, UnknownSymbol),
    (ccxt.InvalidOrder, InvalidOrder),
    (ccxt.AuthenticationError, AuthFailed),  # PermissionDenied, AccountSuspended too
    (ccxt.DDoSProtection, VenueRateLimited),
    (ccxt.RateLimitExceeded, VenueRateLimited),  # a sibling of DDoSProtection in ccxt 4
    (ccxt.InvalidNonce, ClockSkew),  # a NetworkError in ccxt; Binance -1021
    (ccxt.NetworkError, VenueUnavailable),  # timeouts, maintenance
    (ccxt.OperationFailed, VenueUnavailable),  # bad/null responses, cancel pending
    (ccxt.BadRequest, InvalidOrder),
    (ccxt.ArgumentsRequired, InvalidOrder),
    (ccxt.NotSupported, InvalidOrder),
    (ccxt.OperationRejected, InvalidOrder),  # market closed, restricted location
    (ccxt.ExchangeError, VenueUnavailable),  # unmapped: outcome unknown, reconcile
)

# Signed query strings carry signatures and key ids; keep them out of messages and logs.
_SECRET_QUERY = re.compile(
    r"(signature|Signature|AccessKeyId|apiKey|api_key|KEY|SIGN)=[^&\s\"']+", re.IGNORECASE
)
MESSAGE_MAX = 500

# Timestamp refusals ccxt maps to AuthenticationError (ccxt 4.5 ``exceptions`` maps), found in
# ccxt's message, which is "<ccxt id> <response body>":
# - Gate.io APIv4: {"label": "REQUEST_EXPIRED", ...}, its "Timestamp" header more than 60 s
#   from the server's time (APIv4 docs, "Authentication" and the error label list);
# - HTX spot: {"err-code": "api-signature-not-valid", "err-msg": "Signature not valid: Invalid
#   submission time or incorrect time format [无效的提交时间...]"} (older answers: the Chinese
#   text alone); the same code with any other message (bad key, signature, IP) stays an auth
#   failure.
_CLOCK_REFUSALS: dict[str, re.Pattern[str]] = {
    "gateio": re.compile(r'"label"\s*:\s*"REQUEST_EXPIRED"'),
    "htx": re.compile(
        r"api-signature-not-valid.*(invalid submission time|无效的提交时间)", re.IGNORECASE
    ),
}


# Refusals that mean "an order with this client order id exists already", which ccxt files under
# a plain ``InvalidOrder``: Binance's -2010 NEW_ORDER_REJECTED "Duplicate order sent." (errors
# docs; the client order id of an open order reused). After a lost answer and lagging lookups
# the guard resends, and this is how Binance says the first send landed: as ``DuplicateOrder``
# the guard fetches that order; as ``invalid_order`` the ledger would record a live order as
# refused and ignore everything the venue says about it afterwards.
_DUPLICATE_REFUSALS: dict[str, re.Pattern[str]] = {
    "binance": re.compile(r'"code"\s*:\s*-2010\b.*duplicate order sent', re.IGNORECASE),
}


def our_error_class(error: Exception | type[Exception]) -> type[ExchangeFailure]:
    """The domain error class a ccxt exception (or exception class) maps to."""
    kind = error if isinstance(error, type) else type(error)
    for ccxt_class, ours in _MAPPING:
        if issubclass(kind, ccxt_class):
            return ours
    return VenueUnavailable


def normalise(
    error: Exception, *, venue: str, response_headers: Mapping[str, str] | None = None
) -> ExchangeFailure:
    """Our error for ``error`` raised by ccxt talking to ``venue``, secrets redacted."""
    ours = our_error_class(error)
    if ours is AuthFailed and is_clock_refusal(venue, str(error)):
        ours = ClockSkew
    duplicate = _DUPLICATE_REFUSALS.get(venue)
    if ours is InvalidOrder and duplicate is not None and duplicate.search(str(error)):
        ours = DuplicateOrder
    message = redact(str(error))[:MESSAGE_MAX]
    details: dict[str, object] = {
        "venue": venue,
        "venue_error": type(error).__name__,
        "venue_message": message,
    }
    if ours is VenueUnavailable and never_connected(error):
        details["sent"] = False  # the request provably never reached the venue
    if ours is VenueRateLimited and response_headers:
        retry_after = {k.lower(): v for k, v in response_headers.items()}.get("retry-after")
        if retry_after is not None:
            details["retry_after"] = retry_after
    return ours(f"{venue}: {message}", details=details)


def never_connected(error: BaseException) -> bool:
    """Whether ``error`` (a ccxt error, raised ``from`` the transport's) comes from a
    connection that was never made: a connect timeout, a refused connection, a host that does
    not resolve. Only then did the request provably not reach the venue; a read timeout, a
    connection reset or any answer (a 5xx included) may follow a request the venue handled."""
    seen: BaseException | None = error
    for _ in range(8):  # the cause chain is short; never loop on a cycle
        if seen is None:
            return False
        if isinstance(seen, requests.exceptions.ConnectTimeout):
            return True
        if isinstance(seen, requests.exceptions.ConnectionError):
            # requests wraps urllib3's MaxRetryError(reason=NewConnectionError|
            # ConnectTimeoutError) for a connection never established (NewConnectionError is a
            # ConnectTimeoutError in urllib3 2); a reset mid-request is a ProtocolError.
            inner = seen.args[0] if seen.args else None
            reason = inner.reason if isinstance(inner, MaxRetryError) else inner
            return isinstance(reason, ConnectTimeoutError)
        seen = seen.__cause__ or seen.__context__
    return False


def is_clock_refusal(venue: str, message: str) -> bool:
    """Whether ccxt's ``message`` is ``venue`` refusing a request's timestamp (beyond what ccxt
    classes as ``InvalidNonce``)."""
    pattern = _CLOCK_REFUSALS.get(venue)
    return pattern is not None and pattern.search(message) is not None


def redact(text: str) -> str:
    """``text`` with signatures and key ids in query strings replaced by ``***``."""
    return _SECRET_QUERY.sub(lambda m: f"{m.group(1)}=***", text)
