"""Engine settings: fees, slippage, position sizing, stops, fill timing, leverage.

Every amount is a plain float and fractions are fractions (0.001 = 0.1 %), basis points are
named ``*_bps``. ``EngineConfig.to_dict()`` is what a run's manifest records, and
``EngineConfig.from_dict()`` rebuilds the same config from it.
"""

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

import numpy as np
from numpy.typing import NDArray

from dsta.quant.engine import layout
from dsta.quant.errors import InvalidConfig


class FillTiming(StrEnum):
    """When a decision taken at bar t's close executes.

    ``next_open`` (default): at bar t+1's open, the first price after the decision: what a live
    strategy can actually get. ``same_close``: at bar t's own close, which assumes the order
    reached the market in zero time; allowed for comparison with tools that do this, and
    recorded in the result's manifest.
    """

    NEXT_OPEN = "next_open"
    SAME_CLOSE = "same_close"


def _fraction(
    name: str, value: float | None, *, upper: float = 1.0, allow_none: bool = True
) -> None:
    if value is None and allow_none:
        return
    if value is None or isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidConfig(f"{name} must be a number, got {value!r}", details={"field": name})
    if not math.isfinite(value) or not 0.0 <= value <= upper:
        raise InvalidConfig(
            f"{name} must be in [0, {upper}], got {value!r}", details={"field": name}
        )


@dataclass(frozen=True)
class Fees:
    """Fees as a fraction of traded value, each side.

    Market orders, stop orders, stop-loss and trailing-stop exits take liquidity (taker); limit
    orders and take-profit exits rest on the book (maker). Default 0.1 % both (Binance spot).
    """

    maker: float = 0.001
    taker: float = 0.001

    def __post_init__(self) -> None:
        _fraction("fees.maker", self.maker, upper=0.1, allow_none=False)
        _fraction("fees.taker", self.taker, upper=0.1, allow_none=False)


@dataclass(frozen=True)
class Slippage:
    """Adverse price move on taker fills (limit and take-profit fills get their price).

    ``kind="none"``: no slippage. ``"fixed"``: ``bps`` basis points. ``"volume"``: square-root
    market impact, ``bps + impact_bps * sqrt(order size / bar volume)``, capped at ``max_bps``
    (a bar with no volume costs ``max_bps``). The fill bar's own volume is used: it is the
    liquidity the order meets, not information for the decision.
    """

    kind: str = "none"
    bps: float = 0.0
    impact_bps: float = 0.0
    max_bps: float = 100.0

    def __post_init__(self) -> None:
        if self.kind not in ("none", "fixed", "volume"):
            raise InvalidConfig(
                f"slippage.kind must be none, fixed or volume, got {self.kind!r}",
                details={"field": "slippage.kind"},
            )
        for name in ("bps", "impact_bps", "max_bps"):
            _fraction(f"slippage.{name}", getattr(self, name), upper=10_000.0, allow_none=False)


@dataclass(frozen=True)
class Sizing:
    """How much one full position is ("1.0" in the order API and in vectorised signals).

    ``kind="fraction"``: ``value`` of current equity (1.0 = all in; cash covers the fee, so a
    long from flat buys equity / (price * (1 + fee)), as vectorbt's ``size=inf``).
    ``"fixed"``: ``value`` units of the base asset. ``"vol_target"``: the fraction of equity that
    gives an annualised volatility of ``value``, from the realised volatility of the last
    ``vol_window`` bars up to the decision bar, capped by ``max_leverage``.
    Sizes are fractional unless ``EngineConfig.lots`` sets a lot size or a minimum order value
    (say so when comparing with backtesting.py's default whole-unit sizing).
    """

    kind: str = "fraction"
    value: float = 1.0
    vol_window: int = 20

    def __post_init__(self) -> None:
        if self.kind not in ("fraction", "fixed", "vol_target"):
            raise InvalidConfig(
                f"sizing.kind must be fraction, fixed or vol_target, got {self.kind!r}",
                details={"field": "sizing.kind"},
            )
        if isinstance(self.value, bool) or not isinstance(self.value, int | float):
            raise InvalidConfig("sizing.value must be a number", details={"field": "sizing.value"})
        if not math.isfinite(self.value) or self.value <= 0:
            raise InvalidConfig(
                f"sizing.value must be > 0, got {self.value!r}", details={"field": "sizing.value"}
            )
        if self.kind == "fraction" and self.value > 100:
            raise InvalidConfig(
                "sizing.value (fraction) must be <= 100", details={"field": "sizing.value"}
            )
        if (
            isinstance(self.vol_window, bool)
            or not isinstance(self.vol_window, int)
            or self.vol_window < 2
        ):
            raise InvalidConfig(
                "sizing.vol_window must be an integer >= 2", details={"field": "sizing.vol_window"}
            )


@dataclass(frozen=True)
class Stops:
    """Default exits attached to every position a strategy opens (an order may override them).

    Fractions of the entry price: ``stop_loss=0.02`` closes a long 2 % below its average entry
    price; ``take_profit`` closes it above; ``trailing`` closes it that far below the best high
    since entry (above the best low for a short). None disables each.
    """

    stop_loss: float | None = None
    take_profit: float | None = None
    trailing: float | None = None

    def __post_init__(self) -> None:
        _fraction("stops.stop_loss", self.stop_loss, upper=1.0)
        _fraction("stops.take_profit", self.take_profit, upper=100.0)
        _fraction("stops.trailing", self.trailing, upper=1.0)


PerSymbol = float | Mapping[str, float] | None


def _per_symbol(name: str, value: PerSymbol) -> PerSymbol:
    """None, one positive number for every symbol, or {symbol: positive number} (a copy)."""
    if value is None:
        return None
    if isinstance(value, Mapping):
        checked: dict[str, float] = {}
        for symbol, number in value.items():
            if not isinstance(symbol, str) or not symbol:
                raise InvalidConfig(
                    f"{name} keys must be symbol names, got {symbol!r}", details={"field": name}
                )
            checked[symbol] = _positive(f"{name}.{symbol}", number, name)
        return checked
    return _positive(name, value, name)


def _positive(label: str, value: object, field_name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidConfig(
            f"{label} must be a number, got {value!r}", details={"field": field_name}
        )
    if not math.isfinite(value) or value <= 0:
        raise InvalidConfig(
            f"{label} must be finite and > 0, got {value!r}", details={"field": field_name}
        )
    return float(value)


@dataclass(frozen=True)
class Lots:
    """A venue's order-size rules, per symbol; off by default (sizes stay fractional).

    ``amount_step``: the lot size. Every order's traded amount is truncated toward zero to a
    whole number of lots, as the venue (and the exchange domain's precision rules) would: never
    more than asked, so cash never goes negative for an all-in order. ``min_notional``: the
    smallest order value (amount x fill price, quote currency). An order that truncates to
    zero lots or is worth less than ``min_notional`` is skipped: status ``rejected``, counted in
    the manifest's ``orders_below_minimum`` (and ``orders_rejected``). Stop, take-profit and
    end-of-run exits close the whole position (a whole number of lots) and are not checked.

    Each is one number for every symbol or ``{symbol name: number}``; symbols left out of a
    mapping have no rule. A name the bars do not trade is an error (a typo would otherwise
    switch the rule off silently).
    """

    amount_step: PerSymbol = None
    min_notional: PerSymbol = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "amount_step", _per_symbol("lots.amount_step", self.amount_step))
        object.__setattr__(
            self, "min_notional", _per_symbol("lots.min_notional", self.min_notional)
        )

    @property
    def enabled(self) -> bool:
        """Whether any rule applies."""
        return self.amount_step is not None or self.min_notional is not None

    def per_symbol(self, symbols: Sequence[str]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """(amount_step, min_notional) for each of ``symbols``, NaN where there is no rule."""
        return (
            self._resolve("lots.amount_step", self.amount_step, symbols),
            self._resolve("lots.min_notional", self.min_notional, symbols),
        )

    @staticmethod
    def _resolve(name: str, value: PerSymbol, symbols: Sequence[str]) -> NDArray[np.float64]:
        out = np.full(len(symbols), np.nan)
        if value is None:
            return out
        if not isinstance(value, Mapping):
            out[:] = value
            return out
        unknown = sorted(set(value) - set(symbols))
        if unknown:
            raise InvalidConfig(
                f"{name} names symbols the bars do not trade: {unknown} (trading {list(symbols)})",
                details={"field": name},
            )
        for j, symbol in enumerate(symbols):
            if symbol in value:
                out[j] = value[symbol]
        return out


@dataclass(frozen=True)
class EngineConfig:
    """Everything that decides how orders fill. The defaults are the safe, realistic ones."""

    initial_cash: float = 10_000.0
    fees: Fees = field(default_factory=Fees)
    slippage: Slippage = field(default_factory=Slippage)
    sizing: Sizing = field(default_factory=Sizing)
    stops: Stops = field(default_factory=Stops)
    fill_timing: FillTiming | str = FillTiming.NEXT_OPEN  # a FillTiming or its value
    # Gross exposure (sum of |position value|) may not exceed max_leverage * equity after an
    # order that increases exposure; larger orders are cut down (counted in the manifest).
    max_leverage: float = 1.0
    allow_short: bool = True
    # Close every open position at the last bar's close (reason "end"), so the trade list holds
    # only closed trades. Off by default, as vectorbt: open positions stay marked to market.
    close_at_end: bool = False
    # Lot sizes and minimum order values per symbol (off by default: fractional sizes).
    lots: Lots = field(default_factory=Lots)

    def __post_init__(self) -> None:
        if isinstance(self.initial_cash, bool) or not isinstance(self.initial_cash, int | float):
            raise InvalidConfig("initial_cash must be a number", details={"field": "initial_cash"})
        if not math.isfinite(self.initial_cash) or self.initial_cash <= 0:
            raise InvalidConfig("initial_cash must be > 0", details={"field": "initial_cash"})
        try:
            object.__setattr__(self, "fill_timing", FillTiming(self.fill_timing))
        except ValueError:
            choices = [t.value for t in FillTiming]
            raise InvalidConfig(
                f"fill_timing must be one of {choices}, got {self.fill_timing!r}",
                details={"field": "fill_timing"},
            ) from None
        if isinstance(self.max_leverage, bool) or not isinstance(self.max_leverage, int | float):
            raise InvalidConfig("max_leverage must be a number", details={"field": "max_leverage"})
        if not math.isfinite(self.max_leverage) or not 0 < self.max_leverage <= 100:
            raise InvalidConfig(
                "max_leverage must be in (0, 100]", details={"field": "max_leverage"}
            )

    def pack(self) -> NDArray[np.float64]:
        """The float64 vector the compiled kernel reads (see layout.CFG_*)."""
        cfg = np.zeros(layout.N_CFG, dtype=np.float64)
        cfg[layout.CFG_MAKER_FEE] = self.fees.maker
        cfg[layout.CFG_TAKER_FEE] = self.fees.taker
        cfg[layout.CFG_SLIP_KIND] = {
            "none": layout.SLIP_NONE,
            "fixed": layout.SLIP_FIXED,
            "volume": layout.SLIP_VOLUME,
        }[self.slippage.kind]
        cfg[layout.CFG_SLIP_BPS] = self.slippage.bps
        cfg[layout.CFG_SLIP_IMPACT_BPS] = self.slippage.impact_bps
        cfg[layout.CFG_SLIP_MAX_BPS] = self.slippage.max_bps
        cfg[layout.CFG_SIZING_KIND] = {
            "fraction": layout.SIZING_FRACTION,
            "fixed": layout.SIZING_FIXED,
            "vol_target": layout.SIZING_VOL_TARGET,
        }[self.sizing.kind]
        cfg[layout.CFG_SIZING_VALUE] = self.sizing.value
        cfg[layout.CFG_MAX_LEVERAGE] = self.max_leverage
        cfg[layout.CFG_STOP_LOSS] = np.nan if self.stops.stop_loss is None else self.stops.stop_loss
        cfg[layout.CFG_TAKE_PROFIT] = (
            np.nan if self.stops.take_profit is None else self.stops.take_profit
        )
        cfg[layout.CFG_TRAILING] = np.nan if self.stops.trailing is None else self.stops.trailing
        cfg[layout.CFG_SAME_CLOSE] = float(self.fill_timing == FillTiming.SAME_CLOSE)
        cfg[layout.CFG_ALLOW_SHORT] = float(self.allow_short)
        cfg[layout.CFG_INITIAL_CASH] = self.initial_cash
        cfg[layout.CFG_VOL_TARGET] = (
            self.sizing.value if self.sizing.kind == "vol_target" else np.nan
        )
        return cfg

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (what the manifest records)."""
        data = asdict(self)
        data["fill_timing"] = FillTiming(self.fill_timing).value
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "EngineConfig":
        """The config a manifest recorded (unknown keys are an error, not ignored)."""
        data = dict(data)
        try:
            return cls(
                **{
                    **data,
                    "fees": Fees(**data.get("fees", {})),
                    "slippage": Slippage(**data.get("slippage", {})),
                    "sizing": Sizing(**data.get("sizing", {})),
                    "stops": Stops(**data.get("stops", {})),
                    "lots": Lots(**data.get("lots", {})),
                }
            )
        except TypeError as error:
            raise InvalidConfig(f"bad engine config: {error}") from None
