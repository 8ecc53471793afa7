"""The engine's state arrays for one run, their growth, and the result they turn into."""

from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray

from dsta.quant.bars import Bars
from dsta.quant.engine import layout
from dsta.quant.engine.config import EngineConfig
from dsta.quant.engine.kernel import close_all, mark
from dsta.quant.engine.result import BacktestResult, build_fills, build_orders, build_trades
from dsta.quant.errors import InvalidConfig
from dsta.quant.indicators import realized_volatility

FloatArray = NDArray[np.float64]


class EngineState:
    """Pre-allocated arrays the compiled kernel updates in place.

    The fill and order logs start small and double when a kernel call reports it ran out of
    room (it stops at a bar boundary, so growing and resuming changes nothing).
    """

    def __init__(self, bars: Bars, config: EngineConfig) -> None:
        n, k = len(bars), bars.n_symbols
        self.bars = bars
        self.config = config
        self.n_bars = n
        self.prices = bars.prices
        self.cfg = config.pack()
        self.vol = np.empty((0, 0), dtype=np.float64)
        if config.sizing.kind == "vol_target":
            if bars.timeframe is None:
                raise InvalidConfig(
                    "volatility-target sizing needs bars with a timeframe (to annualise)",
                    details={"field": "sizing.kind"},
                )
            self.vol = np.ascontiguousarray(
                realized_volatility(
                    bars.close, config.sizing.vol_window, bars.periods_per_year() or 1.0
                )
            )
        self.acct = np.zeros(layout.N_ACCT, dtype=np.float64)
        self.acct[layout.ACCT_CASH] = config.initial_cash
        self.pos = np.zeros((k, layout.N_POS), dtype=np.float64)
        for column in (
            layout.POS_AVG_PRICE,
            layout.POS_SL_PRICE,
            layout.POS_TP_PRICE,
            layout.POS_TRAIL,
            layout.POS_EXTREME,
        ):
            self.pos[:, column] = np.nan
        # Before the first close, a symbol is valued at its first open.
        self.pos[:, layout.POS_LAST_PRICE] = bars.open[0]
        steps, minimums = config.lots.per_symbol(bars.symbols)
        self.pos[:, layout.POS_AMOUNT_STEP] = steps
        self.pos[:, layout.POS_MIN_NOTIONAL] = minimums
        capacity = 256 + n // 64
        self.orders = np.zeros((capacity, layout.N_ORD), dtype=np.float64)
        self.pending = np.zeros(capacity, dtype=np.int64)
        self.fills = np.zeros((capacity, layout.N_FILL), dtype=np.float64)
        self.out_cash = np.empty(n, dtype=np.float64)
        self.out_pos = np.empty((n, k), dtype=np.float64)
        self.out_equity = np.empty(n, dtype=np.float64)

    @property
    def next_bar(self) -> int:
        """First bar not processed yet."""
        return int(self.acct[layout.ACCT_NEXT_BAR])

    @property
    def busy(self) -> bool:
        """Whether pending orders or stops make skipping bars unsafe."""
        return self.acct[layout.ACCT_N_PENDING] > 0 or self.acct[layout.ACCT_STOPS_ACTIVE] > 0

    def grow(self) -> None:
        """Double the order and fill logs."""
        self.orders = np.concatenate([self.orders, np.zeros_like(self.orders)])
        self.pending = np.concatenate([self.pending, np.zeros_like(self.pending)])
        self.fills = np.concatenate([self.fills, np.zeros_like(self.fills)])

    def ensure_orders(self, extra: int) -> None:
        """Room for ``extra`` more orders."""
        while self.acct[layout.ACCT_N_ORDERS] + extra > self.orders.shape[0]:
            self.grow()

    def drive(self, step: Callable[[int, int], int], stop: int) -> None:
        """Run ``step(start, stop) -> reached`` from the next bar to ``stop``, growing the logs
        whenever it stops early."""
        start = self.next_bar
        while start < stop:
            reached = step(start, stop)
            if reached < stop:
                self.grow()
            start = reached
            self.acct[layout.ACCT_NEXT_BAR] = reached

    def finish(self, manifest: dict[str, Any]) -> BacktestResult:
        """Close out (if configured) and package the result."""
        last = self.n_bars - 1
        if self.config.close_at_end:
            while self.acct[layout.ACCT_N_FILLS] + self.pos.shape[0] > self.fills.shape[0]:
                self.grow()
            close_all(last, self.prices, self.cfg, self.acct, self.pos, self.fills)
            mark(
                last, self.prices, self.acct, self.pos, self.out_cash, self.out_pos, self.out_equity
            )
        n_fills = int(self.acct[layout.ACCT_N_FILLS])
        n_orders = int(self.acct[layout.ACCT_N_ORDERS])
        fills = self.fills[:n_fills]
        stamps = self.bars.timestamps
        manifest = {
            **manifest,
            "orders_rejected": int(self.acct[layout.ACCT_REJECTED]),
            "orders_reduced_by_leverage": int(self.acct[layout.ACCT_REDUCED]),
            "orders_below_minimum": int(self.acct[layout.ACCT_BELOW_MIN]),
        }
        return BacktestResult(
            timestamps=stamps,
            symbols=self.bars.symbols,
            initial_cash=self.config.initial_cash,
            equity=self.out_equity,
            cash=self.out_cash,
            positions=self.out_pos,
            close=self.bars.close,
            fills=build_fills(fills, stamps),
            orders=build_orders(self.orders[:n_orders], stamps),
            trades=build_trades(fills, self.bars.close[last].copy(), stamps),
            manifest=manifest,
        )
