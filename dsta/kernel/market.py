"""Market value types every domain shares: :class:`Timeframe` and :class:`SeriesKey`.

Pure Python (no Django, no I/O) so ``api.py`` modules, ``dsta.quant`` and the RPC wire format can
all use them. Bad text becomes :class:`~dsta.kernel.errors.InvalidInput` with a message a user can
act on, never a ``ValueError`` deep inside a service.

Time is always integer milliseconds since the Unix epoch, UTC. Buckets are anchored to the epoch,
except weeks, which open on Monday 00:00 UTC as on every venue we trade on (the epoch was a
Thursday).

Symbols are ccxt unified symbols: ``BTC/USDT`` (spot), ``BTC/USDT:USDT`` (linear perpetual swap),
``BTC/USD:BTC`` (inverse swap), ``BTC/USDT:USDT-240329`` (dated future). A ``/`` cannot travel in
one URL path segment, so the URL form replaces the one slash by a dash: ``BTC-USDT``,
``BTC-USDT:USDT``, ``BTC-USDT:USDT-240329``. Currency codes never contain a dash, so the first
dash of a URL form is always the separator and the mapping is one-to-one (see
:func:`symbol_to_url` / :func:`symbol_from_url`). ``:`` is a legal character in a path segment.
"""

import re
from dataclasses import dataclass, field
from enum import StrEnum
from functools import total_ordering
from typing import Any, ClassVar

from dsta.kernel.errors import InvalidInput

MINUTE_MS = 60_000
HOUR_MS = 60 * MINUTE_MS
DAY_MS = 24 * HOUR_MS
WEEK_MS = 7 * DAY_MS
# 1970-01-01 was a Thursday; the first Monday 00:00 UTC is four days later.
WEEK_ORIGIN_MS = 4 * DAY_MS

_UNIT_MS = {"s": 1_000, "m": MINUTE_MS, "h": HOUR_MS, "d": DAY_MS, "w": WEEK_MS}


@total_ordering
@dataclass(frozen=True, eq=False)
class Timeframe:
    """A candle duration such as ``1m`` or ``4h``; ordered by duration.

    Build one with :meth:`parse` (or ``Timeframe("1h")``); the code is canonical, so two equal
    durations always have the same code.
    """

    code: str
    ms: int = field(init=False, repr=False)

    # ccxt's common set; months are left out on purpose: they are not a fixed duration.
    SUPPORTED: ClassVar[tuple[str, ...]] = (
        "1s",
        "1m",
        "3m",
        "5m",
        "15m",
        "30m",
        "1h",
        "2h",
        "4h",
        "6h",
        "8h",
        "12h",
        "1d",
        "3d",
        "1w",
    )

    def __post_init__(self) -> None:
        code = self.code.strip() if isinstance(self.code, str) else self.code
        if not isinstance(code, str) or code not in self.SUPPORTED:
            hint = " (months are not a fixed duration)" if code in ("1M", "1mo") else ""
            raise InvalidInput(
                f"unknown timeframe {self.code!r}{hint}; use one of {', '.join(self.SUPPORTED)}",
                details={"timeframe": str(self.code), "supported": list(self.SUPPORTED)},
            )
        object.__setattr__(self, "code", code)
        object.__setattr__(self, "ms", int(code[:-1]) * _UNIT_MS[code[-1]])

    @classmethod
    def parse(cls, value: "str | Timeframe") -> "Timeframe":
        """``Timeframe.parse("5m")``; a Timeframe passes through unchanged."""
        return value if isinstance(value, Timeframe) else cls(value)

    @property
    def origin_ms(self) -> int:
        """Where the bucket grid is anchored: Monday 00:00 UTC for weeks, the epoch otherwise."""
        return WEEK_ORIGIN_MS if self.code.endswith("w") else 0

    def floor(self, ts_ms: int) -> int:
        """Open time of the bucket holding ``ts_ms`` (UTC, weeks open on Monday)."""
        return ts_ms - (ts_ms - self.origin_ms) % self.ms

    def is_aligned(self, ts_ms: int) -> bool:
        """Whether ``ts_ms`` is the open time of a bucket of this timeframe."""
        return (ts_ms - self.origin_ms) % self.ms == 0

    def is_multiple_of(self, other: "Timeframe") -> bool:
        """Whether every bucket of ``self`` is a whole number of ``other``'s buckets.

        True for ``1h`` of ``1m``, ``1w`` of ``1d``; false for ``1w`` of ``3d``. Both the duration
        and the grid origin must line up, so a resampled bar never straddles a source bar.
        """
        return self.ms % other.ms == 0 and (self.origin_ms - other.origin_ms) % other.ms == 0

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Timeframe) and self.ms == other.ms

    def __lt__(self, other: "Timeframe") -> bool:
        if not isinstance(other, Timeframe):
            return NotImplemented
        return self.ms < other.ms

    def __hash__(self) -> int:
        return hash(self.ms)

    def __str__(self) -> str:
        return self.code


class MarketType(StrEnum):
    """Kind of market, as in ccxt's ``market["type"]``."""

    SPOT = "spot"
    SWAP = "swap"  # perpetual
    FUTURE = "future"  # dated delivery contract


class PriceType(StrEnum):
    """Which price a candle series measures."""

    TRADES = "trades"  # last-trade OHLCV, the usual candles
    MARK = "mark"
    INDEX = "index"
    FUNDING_RATE = "funding_rate"


_CODE = r"[A-Za-z0-9][A-Za-z0-9._]*"
_SYMBOL_RE = re.compile(
    rf"^(?P<base>{_CODE})/(?P<quote>{_CODE})"
    rf"(?::(?P<settle>{_CODE})(?:-(?P<expiry>\d{{6}})(?:-(?P<strike>\d+(?:\.\d+)?)-(?P<right>[CP]))?)?)?$"
)
_VENUE_RE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")


def _parse_symbol(symbol: str) -> re.Match[str]:
    match = _SYMBOL_RE.match(symbol) if isinstance(symbol, str) else None
    if match is None:
        raise InvalidInput(
            f"{symbol!r} is not a ccxt unified symbol: expected BASE/QUOTE (spot, e.g. BTC/USDT), "
            "BASE/QUOTE:SETTLE (swap, e.g. BTC/USDT:USDT) or BASE/QUOTE:SETTLE-YYMMDD (future)",
            details={"symbol": str(symbol)},
        )
    return match


def symbol_to_url(symbol: str) -> str:
    """URL form of a ccxt symbol: the slash becomes a dash (``BTC/USDT`` -> ``BTC-USDT``).

    See the module docstring for why this is one-to-one.
    """
    _parse_symbol(symbol)
    return symbol.replace("/", "-", 1)


def symbol_from_url(text: str) -> str:
    """The ccxt symbol of a URL form: the first dash becomes the slash (``BTC-USDT`` -> BTC/USDT).

    A ccxt symbol (with its slash) is accepted as is, so callers need not know which they hold.
    """
    if not isinstance(text, str) or ("/" not in text and "-" not in text):
        raise InvalidInput(
            f"{text!r} is not a symbol: expected BASE-QUOTE in a URL (e.g. BTC-USDT, "
            "BTC-USDT:USDT) or a ccxt symbol (BTC/USDT)",
            details={"symbol": str(text)},
        )
    symbol = text if "/" in text else text.replace("-", "/", 1)
    _parse_symbol(symbol)
    return symbol


@dataclass(frozen=True)
class SeriesKey:
    """Identifies one candle series: venue, market type, symbol, price type, timeframe.

    ``SeriesKey.of("binance", "spot", "BTC/USDT", "trades", "1m")`` accepts plain strings;
    the constructor does too (they are coerced and checked). The symbol must suit the market
    type (a spot symbol has no settle currency, a swap has one and no expiry, a future has an
    expiry), and mark/index/funding series exist only for derivatives.
    """

    venue: str
    market_type: MarketType
    symbol: str
    price_type: PriceType
    timeframe: Timeframe

    def __post_init__(self) -> None:
        if not isinstance(self.venue, str) or not _VENUE_RE.match(self.venue):
            raise InvalidInput(
                f"venue {self.venue!r} must be a ccxt exchange id: lowercase letters, digits and "
                "underscores, starting with a letter (e.g. binance, gateio, htx)",
                details={"venue": str(self.venue)},
            )
        market_type = _enum(MarketType, self.market_type, "market_type")
        price_type = _enum(PriceType, self.price_type, "price_type")
        timeframe = Timeframe.parse(self.timeframe)
        match = _parse_symbol(self.symbol)
        if market_type is MarketType.SPOT and match["settle"]:
            raise InvalidInput(
                f"{self.symbol!r} names a derivative (it has a settle currency) but the market "
                "type is spot; use e.g. BTC/USDT for spot",
                details={"symbol": self.symbol, "market_type": market_type.value},
            )
        if market_type is not MarketType.SPOT and not match["settle"]:
            raise InvalidInput(
                f"a {market_type.value} symbol needs its settle currency, e.g. "
                f"{self.symbol}:{match['quote']}",
                details={"symbol": self.symbol, "market_type": market_type.value},
            )
        if market_type is MarketType.SWAP and match["expiry"]:
            raise InvalidInput(
                f"{self.symbol!r} has an expiry, so it is a future, not a swap",
                details={"symbol": self.symbol, "market_type": market_type.value},
            )
        if market_type is MarketType.FUTURE and not match["expiry"]:
            raise InvalidInput(
                f"a future symbol needs its expiry, e.g. {self.symbol}-241227",
                details={"symbol": self.symbol, "market_type": market_type.value},
            )
        if price_type is not PriceType.TRADES and market_type is MarketType.SPOT:
            raise InvalidInput(
                f"{price_type.value} candles exist only for derivatives (swap or future)",
                details={"price_type": price_type.value, "market_type": market_type.value},
            )
        if price_type is PriceType.FUNDING_RATE and market_type is not MarketType.SWAP:
            raise InvalidInput(
                "funding rates exist only for swaps (perpetuals)",
                details={"price_type": price_type.value, "market_type": market_type.value},
            )
        object.__setattr__(self, "market_type", market_type)
        object.__setattr__(self, "price_type", price_type)
        object.__setattr__(self, "timeframe", timeframe)

    @classmethod
    def of(
        cls,
        venue: str,
        market_type: "str | MarketType",
        symbol: str,
        price_type: "str | PriceType",
        timeframe: "str | Timeframe",
    ) -> "SeriesKey":
        """Build a key from plain strings (what a URL, a form or a command line gives)."""
        return cls(venue, market_type, symbol, price_type, timeframe)  # type: ignore[arg-type]

    @property
    def url_symbol(self) -> str:
        """The symbol in its URL form (``BTC-USDT:USDT``)."""
        return symbol_to_url(self.symbol)

    def as_dict(self) -> dict[str, str]:
        """Plain strings, for JSON, query filters and logs."""
        return {
            "venue": self.venue,
            "market_type": self.market_type.value,
            "symbol": self.symbol,
            "price_type": self.price_type.value,
            "timeframe": self.timeframe.code,
        }

    def __str__(self) -> str:
        return (
            f"{self.venue} {self.market_type.value} {self.symbol} "
            f"{self.price_type.value} {self.timeframe.code}"
        )


def _enum(kind: type[StrEnum], value: Any, name: str) -> Any:
    try:
        return kind(value)
    except ValueError:
        allowed = ", ".join(member.value for member in kind)
        raise InvalidInput(
            f"unknown {name} {value!r}; use one of {allowed}",
            details={name: str(value), "allowed": [member.value for member in kind]},
        ) from None
