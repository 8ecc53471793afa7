"""A backtest's result: per-bar account series, fills, orders, trades and the manifest.

Tables are numpy structured arrays (``pandas.DataFrame(result.trades)`` gives a frame); codes
are small ints whose names are in dsta.quant.engine.layout (``REASON_NAMES``...), and
``*_records()`` give JSON-ready dicts with the names spelled out.

A trade is a round trip of one symbol: it opens when the position leaves zero and closes when
it returns to zero or flips (a flip closes one trade and opens the next at the same fill).
Adding to or partly reducing a position stays in the same trade: ``size`` is the total bought
(or sold short), ``entry_price``/``exit_price`` are volume-weighted averages, ``fees`` covers
both sides and ``pnl`` is net of them: direction * (exit value - entry value) - fees. A
position still open at the end is reported as an open trade valued at the last close
(``is_open``), with no exit fee.
"""

from dataclasses import dataclass
from typing import Any

import numba as nb
import numpy as np
from numpy.typing import NDArray

from dsta.quant.engine import layout
from dsta.quant.engine.nbtypes import MAT, VEC, I

FloatArray = NDArray[np.float64]

FILL_DTYPE = np.dtype(
    [
        ("bar", np.int64),
        ("timestamp_ms", np.int64),
        ("symbol", np.int64),
        ("size", np.float64),
        ("price", np.float64),
        ("fee", np.float64),
        ("liquidity", np.int8),
        ("reason", np.int8),
        ("order_id", np.int64),
    ]
)

ORDER_DTYPE = np.dtype(
    [
        ("order_id", np.int64),
        ("bar", np.int64),
        ("timestamp_ms", np.int64),
        ("symbol", np.int64),
        ("kind", np.int8),
        ("mode", np.int8),
        ("quantity", np.float64),
        ("price", np.float64),
        ("status", np.int8),
        ("done_bar", np.int64),
        ("fill_size", np.float64),
        ("fill_price", np.float64),
    ]
)

TRADE_DTYPE = np.dtype(
    [
        ("symbol", np.int64),
        ("direction", np.int8),
        ("entry_bar", np.int64),
        ("exit_bar", np.int64),
        ("entry_time_ms", np.int64),
        ("exit_time_ms", np.int64),
        ("size", np.float64),
        ("entry_price", np.float64),
        ("exit_price", np.float64),
        ("fees", np.float64),
        ("pnl", np.float64),
        ("return", np.float64),
        ("is_open", np.bool_),
        ("exit_reason", np.int8),
    ]
)

MODE_NAMES = (
    "delta_units",
    "target_units",
    "delta_fraction",
    "target_fraction",
    "delta_sizing",
    "target_sizing",
)

# Columns of the compiled trade builder's output.
_T_SYMBOL, _T_DIR, _T_ENTRY_BAR, _T_EXIT_BAR, _T_SIZE, _T_ENTRY, _T_EXIT, _T_FEES, _T_PNL = range(9)
_T_RETURN, _T_OPEN, _T_REASON = 9, 10, 11
_N_T = 12


@nb.njit(MAT(MAT, I, VEC, I), cache=True, nogil=True)
def _trades_from_fills(
    fills: FloatArray, n_fills: int, last_close: FloatArray, last_bar: int
) -> FloatArray:
    k = last_close.size
    out = np.empty((n_fills + k, _N_T), dtype=np.float64)
    n_out = 0
    position = np.zeros(k)
    direction = np.zeros(k)
    entry_bar = np.zeros(k)
    qty_in = np.zeros(k)
    cost_in = np.zeros(k)
    proceeds = np.zeros(k)
    fees = np.zeros(k)
    for row in range(n_fills):
        s = int(fills[row, layout.FILL_SYMBOL])
        size = fills[row, layout.FILL_SIZE]
        price = fills[row, layout.FILL_PRICE]
        fee = fills[row, layout.FILL_FEE]
        bar = fills[row, layout.FILL_BAR]
        u0 = position[s]
        u = u0 + size
        if u0 == 0.0:
            direction[s] = 1.0 if size > 0 else -1.0
            entry_bar[s] = bar
            qty_in[s] = abs(size)
            cost_in[s] = abs(size) * price
            proceeds[s] = 0.0
            fees[s] = fee
        elif size * direction[s] > 0:
            qty_in[s] += abs(size)
            cost_in[s] += abs(size) * price
            fees[s] += fee
        else:
            closed = min(abs(size), abs(u0))
            share = closed / abs(size)
            proceeds[s] += closed * price
            fees[s] += fee * share
            if u == 0.0 or u * u0 < 0.0:
                out[n_out, _T_SYMBOL] = s
                out[n_out, _T_DIR] = direction[s]
                out[n_out, _T_ENTRY_BAR] = entry_bar[s]
                out[n_out, _T_EXIT_BAR] = bar
                out[n_out, _T_SIZE] = qty_in[s]
                out[n_out, _T_ENTRY] = cost_in[s] / qty_in[s]
                out[n_out, _T_EXIT] = proceeds[s] / qty_in[s]
                out[n_out, _T_FEES] = fees[s]
                pnl = direction[s] * (proceeds[s] - cost_in[s]) - fees[s]
                out[n_out, _T_PNL] = pnl
                out[n_out, _T_RETURN] = pnl / cost_in[s]
                out[n_out, _T_OPEN] = 0.0
                out[n_out, _T_REASON] = fills[row, layout.FILL_REASON]
                n_out += 1
                if u != 0.0:
                    rest = abs(u)
                    direction[s] = 1.0 if u > 0 else -1.0
                    entry_bar[s] = bar
                    qty_in[s] = rest
                    cost_in[s] = rest * price
                    proceeds[s] = 0.0
                    fees[s] = fee * (1.0 - share)
        position[s] = u
    for s in range(k):
        if position[s] != 0.0:
            value = proceeds[s] + abs(position[s]) * last_close[s]
            out[n_out, _T_SYMBOL] = s
            out[n_out, _T_DIR] = direction[s]
            out[n_out, _T_ENTRY_BAR] = entry_bar[s]
            out[n_out, _T_EXIT_BAR] = last_bar
            out[n_out, _T_SIZE] = qty_in[s]
            out[n_out, _T_ENTRY] = cost_in[s] / qty_in[s]
            out[n_out, _T_EXIT] = value / qty_in[s]
            out[n_out, _T_FEES] = fees[s]
            pnl = direction[s] * (value - cost_in[s]) - fees[s]
            out[n_out, _T_PNL] = pnl
            out[n_out, _T_RETURN] = pnl / cost_in[s]
            out[n_out, _T_OPEN] = 1.0
            out[n_out, _T_REASON] = -1.0
            n_out += 1
    return out[:n_out]


def build_fills(fills: FloatArray, timestamps: NDArray[np.int64]) -> NDArray[Any]:
    """The fill log as a structured array."""
    table = np.zeros(fills.shape[0], dtype=FILL_DTYPE)
    bars = fills[:, layout.FILL_BAR].astype(np.int64)
    table["bar"] = bars
    table["timestamp_ms"] = timestamps[bars]
    table["symbol"] = fills[:, layout.FILL_SYMBOL]
    table["size"] = fills[:, layout.FILL_SIZE]
    table["price"] = fills[:, layout.FILL_PRICE]
    table["fee"] = fills[:, layout.FILL_FEE]
    table["liquidity"] = fills[:, layout.FILL_LIQUIDITY]
    table["reason"] = fills[:, layout.FILL_REASON]
    table["order_id"] = fills[:, layout.FILL_ORDER]
    return table


def build_orders(orders: FloatArray, timestamps: NDArray[np.int64]) -> NDArray[Any]:
    """The order log as a structured array."""
    table = np.zeros(orders.shape[0], dtype=ORDER_DTYPE)
    bars = orders[:, layout.ORD_BAR].astype(np.int64)
    table["order_id"] = np.arange(orders.shape[0])
    table["bar"] = bars
    table["timestamp_ms"] = timestamps[bars]
    table["symbol"] = orders[:, layout.ORD_SYMBOL]
    table["kind"] = orders[:, layout.ORD_KIND]
    table["mode"] = orders[:, layout.ORD_MODE]
    table["quantity"] = orders[:, layout.ORD_QTY]
    table["price"] = orders[:, layout.ORD_PRICE]
    table["status"] = orders[:, layout.ORD_STATUS]
    table["done_bar"] = orders[:, layout.ORD_DONE_BAR]
    table["fill_size"] = orders[:, layout.ORD_FILL_SIZE]
    table["fill_price"] = orders[:, layout.ORD_FILL_PRICE]
    return table


def build_trades(
    fills: FloatArray, last_close: FloatArray, timestamps: NDArray[np.int64]
) -> NDArray[Any]:
    """Round-trip trades from the fill log (see the module docstring)."""
    raw = _trades_from_fills(
        np.ascontiguousarray(fills),
        fills.shape[0],
        np.ascontiguousarray(last_close),
        timestamps.size - 1,
    )
    table = np.zeros(raw.shape[0], dtype=TRADE_DTYPE)
    entry_bars = raw[:, _T_ENTRY_BAR].astype(np.int64)
    exit_bars = raw[:, _T_EXIT_BAR].astype(np.int64)
    table["symbol"] = raw[:, _T_SYMBOL]
    table["direction"] = raw[:, _T_DIR]
    table["entry_bar"] = entry_bars
    table["exit_bar"] = exit_bars
    table["entry_time_ms"] = timestamps[entry_bars]
    table["exit_time_ms"] = timestamps[exit_bars]
    table["size"] = raw[:, _T_SIZE]
    table["entry_price"] = raw[:, _T_ENTRY]
    table["exit_price"] = raw[:, _T_EXIT]
    table["fees"] = raw[:, _T_FEES]
    table["pnl"] = raw[:, _T_PNL]
    table["return"] = raw[:, _T_RETURN]
    table["is_open"] = raw[:, _T_OPEN] != 0.0
    table["exit_reason"] = raw[:, _T_REASON]
    return table


def _records(
    table: NDArray[Any], symbols: tuple[str, ...], names: dict[str, tuple[str, ...]]
) -> list[dict[str, Any]]:
    rows = []
    for row in table:
        record: dict[str, Any] = {}
        for field in table.dtype.names or ():
            value = row[field].item()
            if field == "symbol":
                value = symbols[int(value)]
            elif field in names:
                value = names[field][int(value)] if int(value) >= 0 else None
            record[field] = value
        rows.append(record)
    return rows


@dataclass(frozen=True, eq=False)
class BacktestResult:
    """Everything a run produced. Per-bar arrays are marked at each bar's close."""

    timestamps: NDArray[np.int64]
    symbols: tuple[str, ...]
    initial_cash: float
    equity: FloatArray
    cash: FloatArray
    positions: FloatArray  # (bars, symbols), signed base units
    close: FloatArray  # (bars, symbols), the closes the positions are marked at
    fills: NDArray[Any]
    orders: NDArray[Any]
    trades: NDArray[Any]
    manifest: dict[str, Any]

    @property
    def position_value(self) -> FloatArray:
        """(bars, symbols) signed value of each position at the close."""
        return self.positions * self.close

    @property
    def returns(self) -> FloatArray:
        """Per-bar simple returns of equity; bar 0 is measured from the initial cash."""
        previous = np.concatenate(([self.initial_cash], self.equity[:-1]))
        return self.equity / previous - 1.0

    @property
    def fees_paid(self) -> float:
        """Total fees over the run."""
        return float(self.fills["fee"].sum())

    def fills_records(self) -> list[dict[str, Any]]:
        """Fills as JSON-ready dicts (symbol, liquidity and reason by name)."""
        return _records(
            self.fills,
            self.symbols,
            {"liquidity": layout.LIQUIDITY_NAMES, "reason": layout.REASON_NAMES},
        )

    def orders_records(self) -> list[dict[str, Any]]:
        """Orders as JSON-ready dicts."""
        return _records(
            self.orders,
            self.symbols,
            {"kind": layout.KIND_NAMES, "mode": MODE_NAMES, "status": layout.STATUS_NAMES},
        )

    def trades_records(self) -> list[dict[str, Any]]:
        """Trades as JSON-ready dicts (exit_reason None for open trades)."""
        return _records(self.trades, self.symbols, {"exit_reason": layout.REASON_NAMES})
