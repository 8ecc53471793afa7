"""What a vectorised strategy returns: entry/exit signals or target positions, as arrays.

Arrays are (bars,) for one symbol or (bars, symbols); booleans or float64 (non-zero = signal).
A signal at bar t is a decision at t's close and executes at t+1's open (or t's close in
``same_close`` mode): the engine does the shift, a strategy never shifts by hand.

Entry/exit rule (the same in every path, and vectorbt's ``from_signals`` defaults):
- an entry and an exit of the same side on the same bar cancel out, as do a long and a short
  entry on the same bar;
- an entry is ignored while a position in its direction is held (no pyramiding);
- an entry against an open position reverses it (without shorts allowed, a short entry only
  closes the long);
- an exit closes its own side only.

Target mode: ``target[t]`` is the position to hold in sizing units (1.0 = one full position by
the run's sizing rule, -0.5 = half a short, 0 = flat); NaN means "no order at this bar".
"""

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from dsta.quant.engine import layout
from dsta.quant.errors import QuantError

FloatArray = NDArray[np.float64]

ORDER_KINDS = {"market": layout.KIND_MARKET, "limit": layout.KIND_LIMIT, "stop": layout.KIND_STOP}


class InvalidSignals(QuantError):
    """A strategy returned signals of the wrong shape or kind."""

    code = "invalid_signals"


@dataclass(frozen=True, eq=False)
class Signals:
    """Decisions for every bar; give entries/exits, or target, not both."""

    entries: ArrayLike | None = None
    exits: ArrayLike | None = None
    short_entries: ArrayLike | None = None
    short_exits: ArrayLike | None = None
    target: ArrayLike | None = None
    # Limit or stop price of each order (NaN on a bar: a market order there).
    price: ArrayLike | None = None
    order_kind: str = "market"
    # How many bars a limit/stop order stays valid (<= 0: until filled or replaced).
    valid_bars: int = 1

    def encode(self, n_bars: int, n_symbols: int) -> dict[str, FloatArray]:
        """The float64 (bars, symbols) arrays the compiled loop reads.

        ``entry`` holds +1/-1/0 after the conflict rule; ``exit_long``/``exit_short`` hold the
        exits that survive it; ``target`` and ``price`` are empty when not given.
        """
        has_signals = any(
            a is not None for a in (self.entries, self.exits, self.short_entries, self.short_exits)
        )
        if self.target is not None and has_signals:
            raise InvalidSignals("give entries/exits or target, not both")
        if self.target is None and not has_signals:
            raise InvalidSignals("signals hold neither entries/exits nor target")
        if self.order_kind not in ORDER_KINDS:
            raise InvalidSignals(
                f"order_kind must be one of {sorted(ORDER_KINDS)}, got {self.order_kind!r}"
            )
        empty = np.empty((0, 0), dtype=np.float64)
        price = empty
        if self.price is not None:
            price = _as_matrix("price", self.price, n_bars, n_symbols)
        elif self.order_kind != "market":
            raise InvalidSignals(f"{self.order_kind} orders need a price array")
        if self.target is not None:
            target = _as_matrix("target", self.target, n_bars, n_symbols)
            if np.isinf(target).any():
                raise InvalidSignals("target must be finite or NaN")
            return {
                "entry": empty,
                "exit_long": empty,
                "exit_short": empty,
                "target": target,
                "price": price,
            }
        long_in, long_out, short_in, short_out = (
            _as_flags(name, value, n_bars, n_symbols)
            for name, value in (
                ("entries", self.entries),
                ("exits", self.exits),
                ("short_entries", self.short_entries),
                ("short_exits", self.short_exits),
            )
        )
        entry = np.zeros((n_bars, n_symbols), dtype=np.float64)
        entry[long_in & ~long_out & ~short_in] = 1.0
        entry[short_in & ~short_out & ~long_in] = -1.0
        return {
            "entry": entry,
            "exit_long": (long_out & ~long_in).astype(np.float64),
            "exit_short": (short_out & ~short_in).astype(np.float64),
            "target": empty,
            "price": price,
        }


def _as_matrix(name: str, value: ArrayLike, n_bars: int, n_symbols: int) -> FloatArray:
    array = np.asarray(value, dtype=np.float64)
    if array.ndim == 1:
        array = array[:, None]
    if array.shape != (n_bars, n_symbols):
        raise InvalidSignals(
            f"{name} has shape {np.asarray(value).shape}; expected ({n_bars},) or "
            f"({n_bars}, {n_symbols})"
        )
    return np.ascontiguousarray(array)


def _as_flags(name: str, value: ArrayLike | None, n_bars: int, n_symbols: int) -> NDArray[np.bool_]:
    if value is None:
        return np.zeros((n_bars, n_symbols), dtype=np.bool_)
    matrix = _as_matrix(name, value, n_bars, n_symbols)
    return np.nan_to_num(matrix, nan=0.0) != 0.0


def directional(
    direction: str,
    long_in: ArrayLike,
    long_out: ArrayLike,
    short_in: ArrayLike | None = None,
    short_out: ArrayLike | None = None,
) -> Signals:
    """Signals for a rule given as long and short entry/exit conditions.

    ``direction="long"`` uses the long pair, ``"short"`` the short pair, ``"both"`` all four.
    The short pair defaults to the mirror of the long one (short on ``long_out``, cover on
    ``long_in``), which suits symmetric rules such as crossovers and RSI bands.
    """
    if short_in is None:
        short_in = long_out
    if short_out is None:
        short_out = long_in
    if direction == "long":
        return Signals(entries=long_in, exits=long_out)
    if direction == "short":
        return Signals(short_entries=short_in, short_exits=short_out)
    if direction == "both":
        return Signals(
            entries=long_in, exits=long_out, short_entries=short_in, short_exits=short_out
        )
    raise InvalidSignals(f"direction must be long, short or both, got {direction!r}")
