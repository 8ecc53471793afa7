"""ccxt's exceptions, normalised into the exchange domain's error types.

The order of the checks follows ccxt's class tree (see shared/design/EXCHANGES.md): the most
specific classes first, since ``OrderNotFound`` and ``DuplicateOrderId`` are ``InvalidOrder``s
and ``RateLimitExceeded`` is a ``NetworkError``. An error whose outcome we cannot know (network,
bad response, an unmapped venue error) becomes ``VenueUnavailable``: for an order that means
"look it up by client order id before anything else", never "resend".
"""

import re
from collections.abc import Mapping

import ccxt

from domains.exchange.api import (
    AuthFailed,
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
    (ccxt.NetworkError, VenueUnavailable),  # timeouts, maintenance, nonce trouble
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
    message = redact(str(error))[:MESSAGE_MAX]
    details: dict[str, object] = {
        "venue": venue,
        "venue_error": type(error).__name__,
        "venue_message": message,
    }
    if ours is VenueRateLimited and response_headers:
        retry_after = {k.lower(): v for k, v in response_headers.items()}.get("retry-after")
        if retry_after is not None:
            details["retry_after"] = retry_after
    return ours(f"{venue}: {message}", details=details)


def redact(text: str) -> str:
    """``text`` with signatures and key ids in query strings replaced by ``***``."""
    return _SECRET_QUERY.sub(lambda m: f"{m.group(1)}=***", text)
