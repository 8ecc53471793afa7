"""Private (user-data) websocket dialects of the live venues: order states and fills.

``DIALECTS[venue]`` builds one for an account: ``DIALECTS["binance"](account_id=...,
markets=..., clock=...)``. See ``common.UserStreamDialect`` for what a dialect does.
"""

from collections.abc import Callable

from domains.exchange.adapters.user_streams.binance import BinanceUserStream
from domains.exchange.adapters.user_streams.common import (
    MalformedFrame,
    MarketIndex,
    MarketLookup,
    Reading,
    Refusal,
    UserStreamDialect,
)
from domains.exchange.adapters.user_streams.gateio import GateUserStream
from domains.exchange.adapters.user_streams.htx import HtxUserStream

DIALECTS: dict[str, Callable[..., UserStreamDialect]] = {
    "binance": BinanceUserStream,
    "gateio": GateUserStream,
    "htx": HtxUserStream,
}

__all__ = [
    "DIALECTS",
    "BinanceUserStream",
    "GateUserStream",
    "HtxUserStream",
    "MalformedFrame",
    "MarketIndex",
    "MarketLookup",
    "Reading",
    "Refusal",
    "UserStreamDialect",
]
