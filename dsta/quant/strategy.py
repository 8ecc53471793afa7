"""The Strategy interface shared by backtest, paper and live trading, and its registry.

One class, three runners: the backtester (dsta.quant.engine), paper and live trading (the
trading domain feeds closed bars and routes the order API to an exchange). A strategy is written
in one or more of three styles, all executed by the same fill engine:

- vectorised: :meth:`Strategy.signals` computes entries/exits or target positions for the whole
  frame at once (fastest; a live runner calls it on the recent window and acts on the last row,
  see :func:`latest_decision`);
- event-driven: :meth:`Strategy.on_bar` is called at each bar's close with a :class:`Context`
  that shows only the past and takes orders (``buy``/``sell``/``order_target``/``close``,
  market, limit or stop);
- compiled event-driven: ``on_bar_nb``, a numba function with the same decisions written
  against arrays (see dsta.quant.engine.nb_api), for speed.

Parameters are declared (:mod:`dsta.quant.params`) and validated before anything runs.
Indicators a callback reads are computed once by :meth:`Strategy.indicators` over the whole
series and must be causal; the engine re-computes them on a truncated series and refuses a
strategy whose values change (:class:`~dsta.quant.errors.LookaheadError`).
"""

from collections.abc import Mapping
from typing import Any, ClassVar, Protocol

import numpy as np
from numpy.typing import NDArray

from dsta.quant.bars import Bars
from dsta.quant.errors import InvalidParameters, UnknownStrategy
from dsta.quant.params import ChoiceParam, Param, validate_params
from dsta.quant.signals import Signals

FloatArray = NDArray[np.float64]


class Context(Protocol):
    """What ``on_bar`` sees at a bar's close: the past, the account, and the order API.

    Amounts are in *sizing units*: 1.0 is one full position as the run's sizing rule defines it
    (fraction of equity, fixed size or volatility target); pass ``units=`` for base-asset units.
    ``symbol`` is an index into ``symbols`` or a name. Orders return an id and fill from the
    next bar on (at its open for market orders), or at this close in ``same_close`` mode.
    """

    i: int
    symbols: tuple[str, ...]
    params: Mapping[str, Any]

    def series(self, name: str, symbol: int | str = 0) -> list[float]:
        """A list that grows by one value per bar and so never holds the future: a price field
        (``open``/``high``/``low``/``close``/``volume``) or an indicator name. ``[-1]`` is the
        current bar. Ask in ``on_start`` (only there) and keep the list."""
        ...

    def time_ms(self) -> int:
        """Open time of the current bar (UTC milliseconds)."""
        ...

    def position(self, symbol: int | str = 0) -> float:
        """Signed position in base units."""
        ...

    @property
    def cash(self) -> float:
        """Cash of the shared account."""
        ...

    @property
    def equity(self) -> float:
        """Cash plus every position at the current close."""
        ...

    def buy(
        self,
        amount: float = 1.0,
        *,
        units: float | None = None,
        symbol: int | str = 0,
        limit: float | None = None,
        stop: float | None = None,
        stop_loss: float | None = None,
        take_profit: float | None = None,
        trailing_stop: float | None = None,
        valid_bars: int = 0,
    ) -> int:
        """Buy ``amount`` sizing units (or ``units``); a limit or stop price makes it a limit or
        stop order, valid ``valid_bars`` bars (0: until cancelled). Exits given here override
        the run's default stops for the position it opens."""
        ...

    def sell(
        self,
        amount: float = 1.0,
        *,
        units: float | None = None,
        symbol: int | str = 0,
        limit: float | None = None,
        stop: float | None = None,
        stop_loss: float | None = None,
        take_profit: float | None = None,
        trailing_stop: float | None = None,
        valid_bars: int = 0,
    ) -> int:
        """Sell (reduce a long, or open/increase a short when shorts are allowed)."""
        ...

    def order_target(
        self,
        target: float | None = None,
        *,
        units: float | None = None,
        symbol: int | str = 0,
        limit: float | None = None,
        stop: float | None = None,
        stop_loss: float | None = None,
        take_profit: float | None = None,
        trailing_stop: float | None = None,
        valid_bars: int = 0,
    ) -> int:
        """Trade to hold ``target`` sizing units (or ``units``), signed; 0 is flat."""
        ...

    def close(self, symbol: int | str = 0) -> int:
        """Market order closing the position of ``symbol``."""
        ...

    def cancel(self, order_id: int) -> bool:
        """Cancel a pending order; False if it already filled, expired or was cancelled."""
        ...

    def pending_orders(self, symbol: int | str | None = None) -> int:
        """How many orders (of ``symbol``, or all) are waiting to fill."""
        ...


class Strategy:
    """Base class of every strategy. Subclass, declare ``name`` and ``params``, implement at
    least one style. Instances hold per-run state: every run gets a fresh instance."""

    name: ClassVar[str] = ""
    version: ClassVar[str] = "1"
    description: ClassVar[str] = ""
    params: ClassVar[Mapping[str, Param]] = {}
    # A numba callback compiled with dsta.quant.engine.nb_api.on_bar_nb, or None.
    on_bar_nb: ClassVar[Any] = None

    def validate(self, params: Mapping[str, Any] | None) -> dict[str, Any]:
        """Defaults + ``params``, type- and range-checked, then :meth:`check`-ed."""
        values = validate_params(self.params, params)
        self.check(values)
        return values

    def check(self, params: Mapping[str, Any]) -> None:
        """Rules across parameters (e.g. fast < slow); raise InvalidParameters naming one."""

    def signals(self, bars: Bars, params: Mapping[str, Any]) -> Signals:
        """Vectorised style: decisions for every bar, from bars up to each bar only."""
        raise NotImplementedError

    def indicators(self, bars: Bars, params: Mapping[str, Any]) -> dict[str, FloatArray]:
        """Event styles: causal arrays, (bars,) or (bars, symbols), that callbacks read."""
        return {}

    def on_start(self, ctx: Context) -> None:
        """Called once before the first bar (keep the ``ctx.series`` lists here)."""

    def on_bar(self, ctx: Context) -> None:
        """Event style: called at each bar's close."""
        raise NotImplementedError

    def nb_params(self, params: Mapping[str, Any]) -> FloatArray:
        """Parameters for ``on_bar_nb``: floats in declaration order, a choice as its index."""
        values: list[float] = []
        for name, param in self.params.items():
            value = params[name]
            if isinstance(param, ChoiceParam):
                values.append(float(param.choices.index(value)))
            else:
                values.append(float(value))
        return np.asarray(values, dtype=np.float64)

    @classmethod
    def styles(cls) -> tuple[str, ...]:
        """The styles this class implements, fastest first."""
        found = []
        if cls.signals is not Strategy.signals:
            found.append("vectorised")
        if cls.on_bar_nb is not None:
            found.append("event_jit")
        if cls.on_bar is not Strategy.on_bar:
            found.append("event")
        return tuple(found)

    @classmethod
    def describe(cls) -> dict[str, Any]:
        """Name, version, description, styles and parameter declarations, JSON-ready."""
        spec: dict[str, Any] = {}
        for name, param in cls.params.items():
            entry: dict[str, Any] = {"type": type(param).__name__, "default": param.default}
            if isinstance(param, ChoiceParam):
                entry["choices"] = list(param.choices)
            else:
                entry["low"] = param.low
                entry["high"] = param.high
            entry["doc"] = param.doc
            spec[name] = entry
        return {
            "name": cls.name,
            "version": cls.version,
            "description": cls.description,
            "styles": list(cls.styles()),
            "params": spec,
        }


_REGISTRY: dict[str, type[Strategy]] = {}


def register(cls: type[Strategy]) -> type[Strategy]:
    """Class decorator: make ``cls`` available by ``cls.name``."""
    if not cls.name:
        raise ValueError(f"{cls.__qualname__} has no name")
    existing = _REGISTRY.get(cls.name)
    if existing is not None and existing is not cls:
        raise ValueError(f"strategy name {cls.name!r} is taken by {existing.__qualname__}")
    if not cls.styles():
        raise ValueError(f"{cls.__qualname__} implements neither signals, on_bar nor on_bar_nb")
    _REGISTRY[cls.name] = cls
    return cls


def get_strategy(name: str) -> type[Strategy]:
    """The class registered as ``name``, or :class:`UnknownStrategy`."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise UnknownStrategy(name, strategy_names()) from None


def strategy_names() -> list[str]:
    """Every registered name, sorted."""
    return sorted(_REGISTRY)


def resolve_strategy(strategy: "str | type[Strategy] | Strategy") -> Strategy:
    """A fresh instance from a name, a class or an instance (whose class is re-instantiated,
    so state never leaks between runs)."""
    if isinstance(strategy, str):
        return get_strategy(strategy)()
    if isinstance(strategy, type) and issubclass(strategy, Strategy):
        return strategy()
    if isinstance(strategy, Strategy):
        return type(strategy)()
    raise InvalidParameters(
        "strategy", f"expected a name or a Strategy, got {type(strategy).__name__}"
    )


def latest_decision(
    strategy: "str | type[Strategy] | Strategy", bars: Bars, params: Mapping[str, Any] | None = None
) -> dict[str, FloatArray]:
    """For a live runner of a vectorised strategy: the encoded signals of the last bar.

    Returns ``entry``, ``exit_long``, ``exit_short`` (or ``target``) for the newest bar, one
    value per symbol: what to order now, the bar having just closed.
    """
    instance = resolve_strategy(strategy)
    values = instance.validate(params)
    encoded = instance.signals(bars, values).encode(len(bars), bars.n_symbols)
    return {name: array[-1].copy() for name, array in encoded.items() if array.size}
