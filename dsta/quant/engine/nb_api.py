"""The order API for jitted ``on_bar_nb`` callbacks (the compiled event-driven path).

A callback is a plain function compiled with :func:`on_bar_nb`::

    @on_bar_nb
    def my_on_bar(i, prices, indicators, params, pos, acct, requests, n_requests):
        if indicators[0, i, 0] > prices[CLOSE, i, 0]:
            nb_order_target(requests, n_requests, 0, 1.0)

``prices[field, bar, symbol]`` and ``indicators[j, bar, symbol]`` end at bar ``i`` (the
callback cannot read the future); ``indicators`` holds the strategy's ``indicators()`` arrays in
the order they were returned; ``params`` its numeric parameters in declaration order (a choice
parameter as the index of the chosen value). ``pos`` and ``acct`` are the live account state:
read them with :func:`nb_position`, :func:`nb_cash`, :func:`nb_equity`, never write them.
Amounts are in sizing units (1.0 = one full position by the run's sizing rule) unless the mode
says units. Orders are matched from the next bar on, exactly as in every other path.
"""

from collections.abc import Callable
from typing import Any

import numba as nb
import numpy as np
from numpy.typing import NDArray

from dsta.quant.engine.layout import (
    ACCT_CASH,
    KIND_MARKET,
    MAX_REQUESTS_PER_BAR,
    MODE_CANCEL,
    MODE_DELTA_SIZING,
    MODE_TARGET_SIZING,
    POS_LAST_PRICE,
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
)
from dsta.quant.engine.loops import ON_BAR_NB_SIGNATURE
from dsta.quant.engine.nbtypes import IDX, MAT, VEC, VOID, B, F, I

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


def on_bar_nb(function: Callable[..., None]) -> Any:
    """Compile ``function`` as an on_bar callback (cached on disk like every kernel)."""
    return nb.njit(ON_BAR_NB_SIGNATURE, cache=True)(function)


@nb.njit(B(MAT, IDX, I, I, F, I, F, F, F, F, I), cache=True)
def nb_order(
    requests: FloatArray,
    n_requests: IntArray,
    symbol: int,
    mode: int,
    qty: float,
    kind: int,
    price: float,
    stop_loss: float,
    take_profit: float,
    trailing: float,
    valid_bars: int,
) -> bool:
    """Queue an order request with every field; False when this bar's buffer is full."""
    r = n_requests[0]
    if r >= MAX_REQUESTS_PER_BAR:
        return False
    requests[r, REQ_SYMBOL] = symbol
    requests[r, REQ_MODE] = mode
    requests[r, REQ_QTY] = qty
    requests[r, REQ_KIND] = kind
    requests[r, REQ_PRICE] = price
    requests[r, REQ_SL] = stop_loss
    requests[r, REQ_TP] = take_profit
    requests[r, REQ_TRAIL] = trailing
    requests[r, REQ_VALID] = valid_bars
    n_requests[0] = r + 1
    return True


@nb.njit(B(MAT, IDX, I, F), cache=True)
def nb_order_target(requests: FloatArray, n_requests: IntArray, symbol: int, target: float) -> bool:
    """Market order to hold ``target`` sizing units (signed; 0 closes)."""
    return nb_order(
        requests, n_requests, symbol, MODE_TARGET_SIZING, target, KIND_MARKET,
        np.nan, np.nan, np.nan, np.nan, 0,
    )  # fmt: skip


@nb.njit(B(MAT, IDX, I, F), cache=True)
def nb_buy(requests: FloatArray, n_requests: IntArray, symbol: int, amount: float) -> bool:
    """Market buy of ``amount`` sizing units."""
    return nb_order(
        requests, n_requests, symbol, MODE_DELTA_SIZING, amount, KIND_MARKET,
        np.nan, np.nan, np.nan, np.nan, 0,
    )  # fmt: skip


@nb.njit(B(MAT, IDX, I, F), cache=True)
def nb_sell(requests: FloatArray, n_requests: IntArray, symbol: int, amount: float) -> bool:
    """Market sell of ``amount`` sizing units (opens or adds to a short if allowed)."""
    return nb_order(
        requests, n_requests, symbol, MODE_DELTA_SIZING, -amount, KIND_MARKET,
        np.nan, np.nan, np.nan, np.nan, 0,
    )  # fmt: skip


@nb.njit(B(MAT, IDX, I), cache=True)
def nb_close(requests: FloatArray, n_requests: IntArray, symbol: int) -> bool:
    """Market order closing the position of ``symbol``."""
    return nb_order_target(requests, n_requests, symbol, 0.0)


@nb.njit(B(MAT, IDX, I), cache=True)
def nb_cancel_all(requests: FloatArray, n_requests: IntArray, symbol: int) -> bool:
    """Cancel every pending order of ``symbol``."""
    return nb_order(
        requests, n_requests, symbol, MODE_CANCEL, -1.0, KIND_MARKET,
        np.nan, np.nan, np.nan, np.nan, 0,
    )  # fmt: skip


@nb.njit(F(MAT, I), cache=True)
def nb_position(pos: FloatArray, symbol: int) -> float:
    """Signed position of ``symbol`` in base units."""
    return pos[symbol, POS_SIZE]


@nb.njit(F(VEC), cache=True)
def nb_cash(acct: FloatArray) -> float:
    """Cash of the shared account."""
    return acct[ACCT_CASH]


@nb.njit(F(MAT, VEC), cache=True)
def nb_equity(pos: FloatArray, acct: FloatArray) -> float:
    """Cash plus every position at the current close."""
    equity = acct[ACCT_CASH]
    for s in range(pos.shape[0]):
        equity += pos[s, POS_SIZE] * pos[s, POS_LAST_PRICE]
    return equity


@nb.njit(VOID(MAT, IDX, I, F, B, B, B, B), cache=True)
def nb_act(
    requests: FloatArray,
    n_requests: IntArray,
    symbol: int,
    position: float,
    long_in: bool,
    long_out: bool,
    short_in: bool,
    short_out: bool,
) -> None:
    """The entry/exit rule of vectorised signals, for a callback (see Signals).

    Conflicting signals on one bar cancel out; an entry is ignored while a position in its
    direction is held; an opposite entry reverses; an exit closes only its own side.
    """
    entry = 0
    if long_in and not long_out and not short_in:
        entry = 1
    elif short_in and not short_out and not long_in:
        entry = -1
    if entry > 0 and position <= 0.0:
        nb_order_target(requests, n_requests, symbol, 1.0)
    elif entry < 0 and position >= 0.0:
        nb_order_target(requests, n_requests, symbol, -1.0)
    elif entry == 0 and (
        (position > 0.0 and long_out and not long_in)
        or (position < 0.0 and short_out and not short_in)
    ):
        nb_order_target(requests, n_requests, symbol, 0.0)
