"""The event-driven paths: Python ``on_bar(ctx)`` and compiled ``on_bar_nb``.

Python path, designed so that a bar costs no object allocation in the engine: one reused
context whose ``i`` moves; the series a strategy reads are lists that grow by one (already
boxed) value per bar, so they never contain the future; the account is synchronised lazily,
so the compiled kernel is called only when the strategy reads account state or orders while
something (a pending order, a stop) can change it; in between, bars are caught up in one
compiled call. The result is identical to matching every bar eagerly: nothing the strategy
did in the skipped bars depended on them.
"""

import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
from numpy.typing import NDArray

from dsta.quant.engine import layout
from dsta.quant.engine.kernel import advance, cancel, close_phase, mark, submit
from dsta.quant.engine.loops import pending_of, run_callbacks
from dsta.quant.engine.state import EngineState
from dsta.quant.errors import QuantError, StrategyFailed
from dsta.quant.strategy import Strategy

FloatArray = NDArray[np.float64]

_PRICE_FIELDS = ("open", "high", "low", "close", "volume")


def _optional(value: float | None) -> float:
    return np.nan if value is None else float(value)


class BacktestContext:
    """The backtester's implementation of :class:`dsta.quant.strategy.Context`."""

    __slots__ = (
        "_close_due",
        "_feeds",
        "_lists",
        "_same_close",
        "_sources",
        "_started",
        "_state",
        "i",
        "params",
        "symbols",
    )

    def __init__(
        self, state: EngineState, params: Mapping[str, Any], indicators: Mapping[str, FloatArray]
    ) -> None:
        self.i = -1
        self.symbols = state.bars.symbols
        self.params = params
        self._state = state
        self._same_close = state.cfg[layout.CFG_SAME_CLOSE] != 0.0
        self._close_due = False
        self._started = False
        bars = state.bars
        self._sources: dict[str, FloatArray] = {name: getattr(bars, name) for name in _PRICE_FIELDS}
        self._sources.update(indicators)
        self._lists: dict[tuple[str, int], list[float]] = {}
        self._feeds: list[tuple[Callable[[float], None], list[float]]] = []

    # -- the past -------------------------------------------------------------------------

    def series(self, name: str, symbol: int | str = 0) -> list[float]:
        s = self._symbol(symbol)
        key = (name, s)
        visible = self._lists.get(key)
        if visible is None:
            if self._started:
                raise QuantError(
                    "ctx.series() must be called in on_start (the bar loop feeds a fixed set)"
                )
            if name not in self._sources:
                raise QuantError(
                    f"no series {name!r}: use a price field or one of the strategy's indicators "
                    f"{sorted(set(self._sources) - set(_PRICE_FIELDS))}"
                )
            source: list[float] = self._sources[name][:, s].tolist()
            visible = []
            self._lists[key] = visible
            self._feeds.append((visible.append, source))
        return visible

    def time_ms(self) -> int:
        return int(self._state.bars.timestamps[self.i])

    # -- the account ----------------------------------------------------------------------

    def _sync(self) -> None:
        state = self._state
        if state.next_bar <= self.i and state.busy:
            state.drive(self._advance, self.i + 1)

    def _advance(self, start: int, stop: int) -> int:
        st = self._state
        return int(
            advance(
                start, stop, st.prices, st.cfg, st.acct, st.pos, st.orders, st.pending, st.fills,
                st.out_cash, st.out_pos, st.out_equity,
            )
        )  # fmt: skip

    def position(self, symbol: int | str = 0) -> float:
        self._sync()
        return float(self._state.pos[self._symbol(symbol), layout.POS_SIZE])

    @property
    def cash(self) -> float:
        self._sync()
        return float(self._state.acct[layout.ACCT_CASH])

    @property
    def equity(self) -> float:
        self._sync()
        state = self._state
        sizes = state.pos[:, layout.POS_SIZE]
        return float(state.acct[layout.ACCT_CASH] + np.dot(sizes, state.bars.close[self.i]))

    def pending_orders(self, symbol: int | str | None = None) -> int:
        self._sync()
        st = self._state
        s = -1 if symbol is None else self._symbol(symbol)
        return int(pending_of(s, st.acct, st.orders, st.pending))

    # -- orders ---------------------------------------------------------------------------

    def buy(self, amount: float = 1.0, *, units: float | None = None, symbol: int | str = 0,
            limit: float | None = None, stop: float | None = None, stop_loss: float | None = None,
            take_profit: float | None = None, trailing_stop: float | None = None,
            valid_bars: int = 0) -> int:  # fmt: skip
        mode, qty = (
            (layout.MODE_DELTA_UNITS, units)
            if units is not None
            else (layout.MODE_DELTA_SIZING, amount)
        )
        return self._order(
            mode, abs(qty), symbol, limit, stop, stop_loss, take_profit, trailing_stop, valid_bars
        )

    def sell(self, amount: float = 1.0, *, units: float | None = None, symbol: int | str = 0,
             limit: float | None = None, stop: float | None = None, stop_loss: float | None = None,
             take_profit: float | None = None, trailing_stop: float | None = None,
             valid_bars: int = 0) -> int:  # fmt: skip
        mode, qty = (
            (layout.MODE_DELTA_UNITS, units)
            if units is not None
            else (layout.MODE_DELTA_SIZING, amount)
        )
        return self._order(
            mode, -abs(qty), symbol, limit, stop, stop_loss, take_profit, trailing_stop, valid_bars
        )

    def order_target(self, target: float | None = None, *, units: float | None = None,
                     symbol: int | str = 0, limit: float | None = None, stop: float | None = None,
                     stop_loss: float | None = None, take_profit: float | None = None,
                     trailing_stop: float | None = None, valid_bars: int = 0) -> int:  # fmt: skip
        if (target is None) == (units is None):
            raise QuantError("order_target needs exactly one of target (sizing units) or units")
        if units is not None:
            mode, qty = layout.MODE_TARGET_UNITS, units
        else:
            mode, qty = layout.MODE_TARGET_SIZING, float(target or 0.0)
        return self._order(
            mode, qty, symbol, limit, stop, stop_loss, take_profit, trailing_stop, valid_bars
        )

    def close(self, symbol: int | str = 0) -> int:
        return self.order_target(0.0, symbol=symbol)

    def cancel(self, order_id: int) -> bool:
        self._sync()
        return bool(cancel(self.i, int(order_id), self._state.orders))

    def _order(self, mode: int, qty: float, symbol: int | str, limit: float | None,
               stop: float | None, stop_loss: float | None, take_profit: float | None,
               trailing_stop: float | None, valid_bars: int) -> int:  # fmt: skip
        if self.i < 0:
            raise QuantError("orders can only be placed from on_bar")
        if not math.isfinite(qty):
            raise QuantError(f"order quantity must be finite, got {qty!r}")
        if limit is not None and stop is not None:
            raise QuantError("give a limit or a stop price, not both (stop-limit is not supported)")
        kind, price = layout.KIND_MARKET, np.nan
        if limit is not None:
            kind, price = layout.KIND_LIMIT, float(limit)
        elif stop is not None:
            kind, price = layout.KIND_STOP, float(stop)
        if kind != layout.KIND_MARKET and not (math.isfinite(price) and price > 0):
            raise QuantError(f"order price must be finite and positive, got {price!r}")
        s = self._symbol(symbol)
        self._sync()
        state = self._state
        state.ensure_orders(1)
        oid = submit(
            self.i, s, float(mode), float(qty), float(kind), price, _optional(stop_loss),
            _optional(take_profit), _optional(trailing_stop), float(valid_bars), state.vol,
            state.cfg, state.acct, state.pos, state.orders, state.pending,
        )  # fmt: skip
        if self._same_close and kind == layout.KIND_MARKET:
            self._close_due = True
        return int(oid)

    def _symbol(self, symbol: int | str) -> int:
        if isinstance(symbol, str):
            try:
                return self.symbols.index(symbol)
            except ValueError:
                raise QuantError(
                    f"unknown symbol {symbol!r}; trading {list(self.symbols)}"
                ) from None
        if not 0 <= symbol < len(self.symbols):
            raise QuantError(f"symbol index {symbol} out of range for {len(self.symbols)} symbols")
        return symbol

    def _fill_at_close(self) -> None:
        """Same-close mode: catch up through this bar, fill its market orders at the close."""
        self._close_due = False
        state = self._state
        state.drive(self._advance, self.i + 1)
        while (
            state.acct[layout.ACCT_N_FILLS] + state.acct[layout.ACCT_N_PENDING]
            > state.fills.shape[0]
        ):
            state.grow()
        close_phase(
            self.i,
            state.prices,
            state.cfg,
            state.acct,
            state.pos,
            state.orders,
            state.pending,
            state.fills,
        )
        mark(
            self.i,
            state.prices,
            state.acct,
            state.pos,
            state.out_cash,
            state.out_pos,
            state.out_equity,
        )


def run_python_callbacks(
    strategy: Strategy,
    state: EngineState,
    params: Mapping[str, Any],
    indicators: Mapping[str, FloatArray],
) -> None:
    """Call ``strategy.on_bar`` at every bar's close, then catch the account up to the end."""
    ctx = BacktestContext(state, params, indicators)
    try:
        strategy.on_start(ctx)
    except QuantError:
        raise
    except Exception as error:
        raise StrategyFailed(strategy.name, None, error) from error
    ctx._started = True
    try:
        _bar_loop(ctx, strategy.on_bar, state.n_bars)
    except QuantError:
        raise
    except Exception as error:
        raise StrategyFailed(strategy.name, ctx.i, error) from error
    state.drive(ctx._advance, state.n_bars)


def _bar_loop(ctx: BacktestContext, on_bar: Callable[[BacktestContext], None], n: int) -> None:
    """The per-bar loop, unrolled for the usual number of series: this loop *is* the Python
    path's overhead, so it does nothing but feed the lists, move ``i`` and call ``on_bar``."""
    feeds = tuple(ctx._feeds)
    if ctx._same_close or len(feeds) > 3:
        for i in range(n):
            for append, source in feeds:
                append(source[i])
            ctx.i = i
            on_bar(ctx)
            if ctx._close_due:
                ctx._fill_at_close()
    elif len(feeds) == 3:
        (a0, s0), (a1, s1), (a2, s2) = feeds
        for i in range(n):
            a0(s0[i])
            a1(s1[i])
            a2(s2[i])
            ctx.i = i
            on_bar(ctx)
    elif len(feeds) == 2:
        (a0, s0), (a1, s1) = feeds
        for i in range(n):
            a0(s0[i])
            a1(s1[i])
            ctx.i = i
            on_bar(ctx)
    elif len(feeds) == 1:
        ((a0, s0),) = feeds
        for i in range(n):
            a0(s0[i])
            ctx.i = i
            on_bar(ctx)
    else:
        for i in range(n):
            ctx.i = i
            on_bar(ctx)


def run_jit_callbacks(
    strategy: Strategy,
    state: EngineState,
    params: Mapping[str, Any],
    indicators: Mapping[str, FloatArray],
) -> None:
    """Run ``strategy.on_bar_nb`` over every bar inside one compiled loop."""
    n, k = state.n_bars, state.pos.shape[0]
    stacked = np.empty((len(indicators), n, k), dtype=np.float64)
    for j, values in enumerate(indicators.values()):
        stacked[j] = values
    numeric = np.ascontiguousarray(strategy.nb_params(params), dtype=np.float64)
    requests = np.zeros((layout.MAX_REQUESTS_PER_BAR, layout.N_REQ), dtype=np.float64)
    n_requests = np.zeros(1, dtype=np.int64)
    callback = type(strategy).on_bar_nb
    vol = state.vol if state.vol.size else np.empty((0, 0), dtype=np.float64)

    def step(start: int, stop: int) -> int:
        return int(
            run_callbacks(
                callback, start, stop, state.prices, vol, stacked, numeric, state.cfg, state.acct,
                state.pos, state.orders, state.pending, state.fills, state.out_cash, state.out_pos,
                state.out_equity, requests, n_requests,
            )
        )  # fmt: skip

    try:
        state.drive(step, n)
    except QuantError:
        raise
    except Exception as error:
        raise StrategyFailed(strategy.name, state.next_bar, error) from error
