"""The two compiled bar loops: vectorised signals, and jitted ``on_bar_nb`` callbacks.

Both run every bar inside numba (no Python per bar) and use the same kernel phases. Each returns
the next bar to process; a value below ``stop`` means the logs are full, and the driver grows
them and calls again from there (the state is consistent at every bar boundary).

Both are compiled with ``nogil=True`` (as are the kernel's ``advance``, the trade builder and the
indicator kernels): they touch only the arrays they are given, so threads of one worker process
run backtests in parallel. A jitted ``on_bar_nb`` callback runs inside the released loop too.
The Python ``on_bar`` path cannot: the strategy is Python, so it holds the GIL between the
compiled calls it makes (only its catch-ups through ``advance`` release it).

numba's disk cache tracks only the file a function is defined in, and these loops inline the
kernel (``kernel.py``): ``dsta/quant/numba_cache.py`` keys the whole cache by the package's
source, so a kernel change alone is compiled afresh too.
"""

import math
from typing import Any

import numba as nb
import numpy as np
from numba import types
from numpy.typing import NDArray

from dsta.quant.engine.kernel import (
    advance,
    cancel,
    cancel_symbol,
    close_phase,
    has_room,
    mark,
    open_phase,
    submit,
)
from dsta.quant.engine.layout import (
    ACCT_N_PENDING,
    ACCT_STOPS_ACTIVE,
    CFG_ALLOW_SHORT,
    CFG_SAME_CLOSE,
    KIND_MARKET,
    MAX_REQUESTS_PER_BAR,
    MODE_CANCEL,
    MODE_TARGET_SIZING,
    ORD_STATUS,
    ORD_SYMBOL,
    POS_SIZE,
    REQ_KIND,
    REQ_MODE,
    REQ_PRICE,
    REQ_QTY,
    REQ_SL,
    REQ_SYMBOL,
    REQ_TP,
    REQ_TRAIL,
    REQ_VALID,
    STATUS_PENDING,
)
from dsta.quant.engine.nbtypes import IDX, MAT, PRICES, VEC, F, I

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

__all__ = ["ON_BAR_NB_SIGNATURE", "advance", "run_callbacks", "run_signals"]


@nb.njit(
    I(
        I,
        I,
        PRICES,
        MAT,
        MAT,
        MAT,
        MAT,
        MAT,
        MAT,
        F,
        F,
        VEC,
        VEC,
        MAT,
        MAT,
        IDX,
        MAT,
        VEC,
        MAT,
        VEC,
    ),
    cache=True,
    nogil=True,
)
def run_signals(
    start: int,
    stop: int,
    prices: FloatArray,
    vol: FloatArray,
    entry: FloatArray,
    exit_long: FloatArray,
    exit_short: FloatArray,
    target: FloatArray,
    order_price: FloatArray,
    order_kind: float,
    valid_bars: float,
    cfg: FloatArray,
    acct: FloatArray,
    pos: FloatArray,
    orders: FloatArray,
    pending: IntArray,
    fills: FloatArray,
    out_cash: FloatArray,
    out_pos: FloatArray,
    out_equity: FloatArray,
) -> int:
    """Turn signal arrays (bars, symbols) into orders, bar by bar.

    With ``target`` non-empty, a finite target[t, s] asks for that position (in sizing units)
    and NaN holds. Otherwise entry[t, s] = +1 / -1 opens a long / short unless one is already
    held (no pyramiding), and exit_long / exit_short close it when held. A new order for a
    symbol cancels its unfilled one. ``order_price`` (if non-empty) is the limit or stop price.
    """
    k = pos.shape[0]
    use_target = target.shape[0] > 0
    priced = order_price.shape[0] > 0
    allow_short = cfg[CFG_ALLOW_SHORT] != 0.0
    same_close = cfg[CFG_SAME_CLOSE] != 0.0
    nan = np.nan
    for i in range(start, stop):
        if not has_room(acct, fills, orders, k, k):
            return i
        if acct[ACCT_N_PENDING] > 0.0 or acct[ACCT_STOPS_ACTIVE] > 0.0:
            open_phase(i, prices, cfg, acct, pos, orders, pending, fills)
        # Marked before the decisions too: a same-close fill values the other symbols at this
        # close, as the callback paths do.
        mark(i, prices, acct, pos, out_cash, out_pos, out_equity)
        for s in range(k):
            wanted = nan
            if use_target:
                wanted = target[i, s]
            else:
                u = pos[s, POS_SIZE]
                signal = entry[i, s]
                if signal > 0.0 and u <= 0.0:
                    wanted = 1.0
                elif signal < 0.0 and u >= 0.0:
                    # Without shorts a short entry still ends the long it contradicts.
                    if allow_short:
                        wanted = -1.0
                    elif u > 0.0:
                        wanted = 0.0
                elif signal == 0.0 and (
                    (u > 0.0 and exit_long[i, s] != 0.0) or (u < 0.0 and exit_short[i, s] != 0.0)
                ):
                    wanted = 0.0
            if math.isnan(wanted):
                continue
            cancel_symbol(i, s, acct, orders, pending)
            price = order_price[i, s] if priced else nan
            kind = order_kind if priced and not math.isnan(price) else float(KIND_MARKET)
            submit(
                i, s, MODE_TARGET_SIZING, wanted, kind, price, nan, nan, nan, valid_bars,
                vol, cfg, acct, pos, orders, pending,
            )  # fmt: skip
        if same_close:
            close_phase(i, prices, cfg, acct, pos, orders, pending, fills)
            mark(i, prices, acct, pos, out_cash, out_pos, out_equity)
    return stop


# The signature a jitted on_bar callback must be compiled with (see nb_api.on_bar_nb):
# (bar index, prices[field, :i+1, symbol], indicators[j, :i+1, symbol], numeric params,
#  positions pos[symbol, POS_*], account acct[ACCT_*], request buffer, request count)
# The arrays end at the current bar, so a callback cannot read the future.
ON_BAR_NB_SIGNATURE = types.void(
    types.int64,
    types.float64[:, :, :],
    types.float64[:, :, :],
    types.float64[::1],
    types.float64[:, ::1],
    types.float64[::1],
    types.float64[:, ::1],
    types.int64[::1],
)
_CALLBACK = types.FunctionType(ON_BAR_NB_SIGNATURE)

_RUN_CALLBACKS_SIGNATURE = types.int64(
    _CALLBACK,
    types.int64,
    types.int64,
    types.float64[:, :, ::1],
    types.float64[:, ::1],
    types.float64[:, :, ::1],
    types.float64[::1],
    types.float64[::1],
    types.float64[::1],
    types.float64[:, ::1],
    types.float64[:, ::1],
    types.int64[::1],
    types.float64[:, ::1],
    types.float64[::1],
    types.float64[:, ::1],
    types.float64[::1],
    types.float64[:, ::1],
    types.int64[::1],
)


@nb.njit(_RUN_CALLBACKS_SIGNATURE, cache=True, nogil=True)
def run_callbacks(
    on_bar: Any,  # a numba first-class function of ON_BAR_NB_SIGNATURE
    start: int,
    stop: int,
    prices: FloatArray,
    vol: FloatArray,
    indicators: FloatArray,
    params: FloatArray,
    cfg: FloatArray,
    acct: FloatArray,
    pos: FloatArray,
    orders: FloatArray,
    pending: IntArray,
    fills: FloatArray,
    out_cash: FloatArray,
    out_pos: FloatArray,
    out_equity: FloatArray,
    requests: FloatArray,
    n_requests: IntArray,
) -> int:
    """Call ``on_bar`` at every bar's close with views that end at that bar, then submit the
    orders it requested. Compiled once for every callback of the signature."""
    k = pos.shape[0]
    same_close = cfg[CFG_SAME_CLOSE] != 0.0
    for i in range(start, stop):
        if not has_room(acct, fills, orders, k, MAX_REQUESTS_PER_BAR):
            return i
        if acct[ACCT_N_PENDING] > 0.0 or acct[ACCT_STOPS_ACTIVE] > 0.0:
            open_phase(i, prices, cfg, acct, pos, orders, pending, fills)
        mark(i, prices, acct, pos, out_cash, out_pos, out_equity)
        n_requests[0] = 0
        on_bar(
            i,
            prices[:, : i + 1, :],
            indicators[:, : i + 1, :],
            params,
            pos,
            acct,
            requests,
            n_requests,
        )
        for r in range(min(n_requests[0], MAX_REQUESTS_PER_BAR)):
            s = int(requests[r, REQ_SYMBOL])
            if s < 0 or s >= k:
                continue
            mode = requests[r, REQ_MODE]
            if mode == MODE_CANCEL:
                oid = int(requests[r, REQ_QTY])
                if oid >= 0:
                    cancel(i, oid, orders)
                else:
                    cancel_symbol(i, s, acct, orders, pending)
                continue
            submit(
                i, s, mode, requests[r, REQ_QTY], requests[r, REQ_KIND], requests[r, REQ_PRICE],
                requests[r, REQ_SL], requests[r, REQ_TP], requests[r, REQ_TRAIL],
                requests[r, REQ_VALID], vol, cfg, acct, pos, orders, pending,
            )  # fmt: skip
        if same_close:
            close_phase(i, prices, cfg, acct, pos, orders, pending, fills)
            mark(i, prices, acct, pos, out_cash, out_pos, out_equity)
    return stop


@nb.njit(I(I, VEC, MAT, IDX), cache=True)
def pending_of(symbol: int, acct: FloatArray, orders: FloatArray, pending: IntArray) -> int:
    """How many orders of ``symbol`` (all symbols if < 0) are still pending."""
    count = 0
    for idx in range(int(acct[ACCT_N_PENDING])):
        oid = pending[idx]
        if orders[oid, ORD_STATUS] == STATUS_PENDING and (
            symbol < 0 or orders[oid, ORD_SYMBOL] == symbol
        ):
            count += 1
    return count
