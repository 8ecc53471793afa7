"""The compiled fill simulation: order submission, fills, stops and marking, one bar at a time.

Shared by every path (vectorised signals, jitted callbacks, Python callbacks): they differ only
in where decisions come from. A bar goes through three phases:

1. open phase (:func:`open_phase`): orders submitted at earlier bars are matched against this
   bar's open/high/low in submission order, then the stops of open positions are checked;
2. decisions at the bar's close (the caller submits orders with :func:`submit`);
3. close phase: in ``same_close`` mode, market orders submitted at this bar fill at its close
   (:func:`close_phase`); then the account is marked to the close (:func:`mark`).

Matching rules (documented in docs/quant.md):
- market: the open (+ slippage); same-close mode: the close.
- limit buy at P: the open if open <= P (a gap gives the better price), else P if low <= P; maker,
  no slippage. Limit sell mirrors it.
- stop buy at P: the open if open >= P, else P if high >= P; taker, with slippage. Stop sell
  mirrors it.
- stop-loss / trailing stop of a long: the open if it gapped below the level, else the level if
  low <= level; take-profit: the open if it gapped above, else the level if high >= level. When
  one bar reaches both, the stop-loss is taken (the pessimistic order). The trailing level uses
  the best price up to this bar's open, and the bar's high updates it only after the check, so
  a bar never trails on its own later move.
- stops apply from the entry bar when the entry filled at that bar's open (the whole bar comes
  after it), else from the next bar.
"""

import math

import numba as nb
import numpy as np
from numpy.typing import NDArray

from dsta.quant.engine.layout import (
    ACCT_BELOW_MIN,
    ACCT_CASH,
    ACCT_FEES,
    ACCT_N_FILLS,
    ACCT_N_ORDERS,
    ACCT_N_PENDING,
    ACCT_REDUCED,
    ACCT_REJECTED,
    ACCT_STOPS_ACTIVE,
    CFG_ALLOW_SHORT,
    CFG_MAKER_FEE,
    CFG_MAX_LEVERAGE,
    CFG_SIZING_KIND,
    CFG_SIZING_VALUE,
    CFG_SLIP_BPS,
    CFG_SLIP_IMPACT_BPS,
    CFG_SLIP_KIND,
    CFG_SLIP_MAX_BPS,
    CFG_STOP_LOSS,
    CFG_TAKE_PROFIT,
    CFG_TAKER_FEE,
    CFG_TRAILING,
    CFG_VOL_TARGET,
    CLOSE,
    FILL_BAR,
    FILL_FEE,
    FILL_LIQUIDITY,
    FILL_ORDER,
    FILL_PRICE,
    FILL_REASON,
    FILL_SIZE,
    FILL_SYMBOL,
    HIGH,
    KIND_LIMIT,
    KIND_MARKET,
    KIND_STOP,
    LIQ_MAKER,
    LIQ_TAKER,
    LOW,
    MODE_DELTA_FRACTION,
    MODE_DELTA_SIZING,
    MODE_DELTA_UNITS,
    MODE_TARGET_FRACTION,
    MODE_TARGET_SIZING,
    MODE_TARGET_UNITS,
    NEVER,
    OPEN,
    ORD_BAR,
    ORD_DONE_BAR,
    ORD_EXPIRES,
    ORD_FILL_PRICE,
    ORD_FILL_SIZE,
    ORD_KIND,
    ORD_MODE,
    ORD_PRICE,
    ORD_QTY,
    ORD_SIDE,
    ORD_SL,
    ORD_STATUS,
    ORD_SYMBOL,
    ORD_TP,
    ORD_TRAIL,
    POS_AMOUNT_STEP,
    POS_AVG_PRICE,
    POS_EXTREME,
    POS_LAST_PRICE,
    POS_MIN_NOTIONAL,
    POS_SIZE,
    POS_SL_PRICE,
    POS_STOPS_FROM,
    POS_TP_PRICE,
    POS_TRAIL,
    REASON_END,
    REASON_ORDER,
    REASON_STOP_LOSS,
    REASON_TAKE_PROFIT,
    REASON_TRAILING_STOP,
    SIZING_FIXED,
    SIZING_FRACTION,
    SLIP_NONE,
    SLIP_VOLUME,
    STATUS_CANCELLED,
    STATUS_EXPIRED,
    STATUS_FILLED,
    STATUS_PENDING,
    STATUS_REJECTED,
    VOLUME,
)
from dsta.quant.engine.nbtypes import IDX, MAT, PRICES, VEC, VOID, B, F, I

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

# A position left smaller than this fraction of what it was is dust from a float round trip:
# it is closed exactly instead.
_DUST = 1e-10
# An amount within this many lots below a whole number of lots is that number (float division
# 0.3 / 0.1 gives 2.9999999999999996): the venue would accept it as written.
_LOT_EPS = 1e-9


@nb.njit(F(F), cache=True)
def _sign(x: float) -> float:
    if x > 0.0:
        return 1.0
    if x < 0.0:
        return -1.0
    return 0.0


@nb.njit(F(VEC, F, F), cache=True)
def slippage_fraction(cfg: FloatArray, size_abs: float, volume: float) -> float:
    """Adverse price move as a fraction of the price, for a taker fill of ``size_abs`` units."""
    kind = cfg[CFG_SLIP_KIND]
    if kind == SLIP_NONE:
        return 0.0
    bps = cfg[CFG_SLIP_BPS]
    if kind == SLIP_VOLUME:
        if volume > 0.0:
            bps += cfg[CFG_SLIP_IMPACT_BPS] * math.sqrt(size_abs / volume)
        else:
            bps = cfg[CFG_SLIP_MAX_BPS]
    return min(bps, cfg[CFG_SLIP_MAX_BPS]) * 1e-4


@nb.njit(F(F, F, F, F), cache=True)
def lot_size(size: float, price: float, step: float, min_notional: float) -> float:
    """``size`` (signed units) as a venue would take it: truncated toward zero to a whole
    number of ``step`` lots; 0.0 when that is nothing or worth less than ``min_notional`` at
    ``price``. A rule that is NaN (or <= 0) does not apply; with neither, ``size`` is returned
    unchanged.

    Never more than asked: |result| <= |size|. A size within _LOT_EPS lots below a whole
    number of lots keeps its own value (it is that number of lots up to float rounding).
    """
    if step > 0.0:
        wanted = abs(size)
        traded = math.floor(wanted / step + _LOT_EPS) * step
        size = math.copysign(min(traded, wanted), size) if traded > 0.0 else 0.0
    if min_notional > 0.0 and abs(size) * price < min_notional:
        return 0.0
    return size


@nb.njit(F(VEC, MAT, I, F), cache=True)
def equity_at(acct: FloatArray, pos: FloatArray, s: int, price: float) -> float:
    """Cash plus every position at its latest price, symbol ``s`` valued at ``price``."""
    equity = acct[ACCT_CASH]
    for j in range(pos.shape[0]):
        size = pos[j, POS_SIZE]
        if size != 0.0:
            equity += size * (price if j == s else pos[j, POS_LAST_PRICE])
    return equity


@nb.njit(F(F, F, I, F, F, VEC, MAT), cache=True)
def target_units(
    mode: float,
    qty: float,
    s: int,
    price: float,
    fee_rate: float,
    acct: FloatArray,
    pos: FloatArray,
) -> float:
    """The position (signed units) an order asks for, at execution price ``price``.

    A fraction-of-equity target f solves units * price = f * (equity - fee of the trade), so a
    full-equity long from flat buys equity / (price * (1 + fee)) and leaves no negative cash.
    """
    u0 = pos[s, POS_SIZE]
    if mode == MODE_DELTA_UNITS:
        return u0 + qty
    if mode == MODE_TARGET_UNITS:
        return qty
    equity = equity_at(acct, pos, s, price)
    if equity <= 0.0:
        return 0.0 if (mode == MODE_TARGET_FRACTION and qty == 0.0) else u0
    f = qty if mode == MODE_TARGET_FRACTION else u0 * price / equity + qty
    if f * equity / price > u0:
        return f * (equity + fee_rate * u0 * price) / (price * (1.0 + f * fee_rate))
    return f * (equity - fee_rate * u0 * price) / (price * (1.0 - f * fee_rate))


@nb.njit(F(I, F, F, F, VEC, VEC, MAT, B), cache=True)
def apply_limits(
    s: int,
    u: float,
    price: float,
    fee_rate: float,
    cfg: FloatArray,
    acct: FloatArray,
    pos: FloatArray,
    count: bool,
) -> float:
    """``u`` cut down so shorts are allowed only if configured and gross exposure stays within
    max_leverage x equity after the fee. Orders that reduce exposure are never cut. ``count``
    records a leverage cut in the account's counter (not for estimates)."""
    u0 = pos[s, POS_SIZE]
    if cfg[CFG_ALLOW_SHORT] == 0.0 and u < 0.0:
        u = 0.0
    flips = u * u0 < 0.0
    if not (flips or abs(u) > abs(u0)):
        return u
    leverage = cfg[CFG_MAX_LEVERAGE]
    equity = equity_at(acct, pos, s, price)
    others = 0.0
    for j in range(pos.shape[0]):
        if j != s:
            others += abs(pos[j, POS_SIZE] * pos[j, POS_LAST_PRICE])
    # Exposure after the fill: |u| * price + others <= leverage * (equity - fee).
    if flips:
        room = leverage * equity - leverage * fee_rate * abs(u0) * price - others
        limit = room / (price * (1.0 + leverage * fee_rate))
        if abs(u) > limit:
            if count:
                acct[ACCT_REDUCED] += 1.0
            return _sign(u) * max(limit, 0.0)
        return u
    room = leverage * equity + leverage * fee_rate * abs(u0) * price - others
    limit = room / (price * (1.0 + leverage * fee_rate))
    if abs(u) > limit:
        if count:
            acct[ACCT_REDUCED] += 1.0
        return _sign(u) * max(limit, abs(u0))
    return u


@nb.njit(VOID(I, I, F, F, I, I, I, VEC, VEC, MAT, MAT), cache=True)
def record_fill(
    i: int,
    s: int,
    size: float,
    price: float,
    liquidity: int,
    reason: int,
    order_id: int,
    cfg: FloatArray,
    acct: FloatArray,
    pos: FloatArray,
    fills: FloatArray,
) -> None:
    """Book a fill: cash, fee, position and average entry price, and the fill log row."""
    u0 = pos[s, POS_SIZE]
    u = u0 + size
    if u0 != 0.0 and u * u0 >= 0.0 and abs(u) < _DUST * abs(u0):
        size = -u0
        u = 0.0
    fee = (cfg[CFG_MAKER_FEE] if liquidity == LIQ_MAKER else cfg[CFG_TAKER_FEE]) * abs(size) * price
    acct[ACCT_CASH] -= size * price + fee
    acct[ACCT_FEES] += fee
    if u == 0.0:
        pos[s, POS_AVG_PRICE] = np.nan
        pos[s, POS_SL_PRICE] = np.nan
        pos[s, POS_TP_PRICE] = np.nan
        pos[s, POS_TRAIL] = np.nan
        pos[s, POS_EXTREME] = np.nan
    elif u0 == 0.0 or u * u0 < 0.0:
        pos[s, POS_AVG_PRICE] = price
    elif abs(u) > abs(u0):
        pos[s, POS_AVG_PRICE] = (abs(u0) * pos[s, POS_AVG_PRICE] + abs(size) * price) / abs(u)
    pos[s, POS_SIZE] = u
    pos[s, POS_LAST_PRICE] = price
    row = int(acct[ACCT_N_FILLS])
    fills[row, FILL_BAR] = i
    fills[row, FILL_SYMBOL] = s
    fills[row, FILL_SIZE] = size
    fills[row, FILL_PRICE] = price
    fills[row, FILL_FEE] = fee
    fills[row, FILL_LIQUIDITY] = liquidity
    fills[row, FILL_REASON] = reason
    fills[row, FILL_ORDER] = order_id
    acct[ACCT_N_FILLS] = row + 1


@nb.njit(VOID(VEC, MAT), cache=True)
def count_stops(acct: FloatArray, pos: FloatArray) -> None:
    """Refresh how many positions carry a stop (the open phase skips stop checks at zero)."""
    active = 0
    for s in range(pos.shape[0]):
        if pos[s, POS_SIZE] != 0.0 and not (
            math.isnan(pos[s, POS_SL_PRICE])
            and math.isnan(pos[s, POS_TP_PRICE])
            and math.isnan(pos[s, POS_TRAIL])
        ):
            active += 1
    acct[ACCT_STOPS_ACTIVE] = active


@nb.njit(VOID(I, I, F, F, B, F, F, F, VEC, MAT), cache=True)
def attach_stops(
    i: int,
    s: int,
    u0: float,
    fill_price: float,
    at_open: bool,
    sl: float,
    tp: float,
    trail: float,
    cfg: FloatArray,
    pos: FloatArray,
) -> None:
    """Set the exits of a position just opened or increased (levels from its average price)."""
    u = pos[s, POS_SIZE]
    if u == 0.0:
        return
    if math.isnan(sl):
        sl = cfg[CFG_STOP_LOSS]
    if math.isnan(tp):
        tp = cfg[CFG_TAKE_PROFIT]
    if math.isnan(trail):
        trail = cfg[CFG_TRAILING]
    direction = _sign(u)
    avg = pos[s, POS_AVG_PRICE]
    pos[s, POS_SL_PRICE] = avg * (1.0 - direction * sl) if sl > 0.0 else np.nan
    pos[s, POS_TP_PRICE] = avg * (1.0 + direction * tp) if tp > 0.0 else np.nan
    pos[s, POS_TRAIL] = trail if trail > 0.0 else np.nan
    if u0 == 0.0 or u * u0 < 0.0:
        pos[s, POS_EXTREME] = fill_price
        pos[s, POS_STOPS_FROM] = i if at_open else i + 1


@nb.njit(VOID(I, I, F, I, B, PRICES, VEC, VEC, MAT, MAT, MAT), cache=True)
def execute(
    i: int,
    oid: int,
    raw_price: float,
    liquidity: int,
    at_open: bool,
    prices: FloatArray,
    cfg: FloatArray,
    acct: FloatArray,
    pos: FloatArray,
    orders: FloatArray,
    fills: FloatArray,
) -> None:
    """Fill order ``oid`` at ``raw_price`` (before slippage), sized now; or cancel/reject it."""
    s = int(orders[oid, ORD_SYMBOL])
    mode = orders[oid, ORD_MODE]
    qty = orders[oid, ORD_QTY]
    fee_rate = cfg[CFG_MAKER_FEE] if liquidity == LIQ_MAKER else cfg[CFG_TAKER_FEE]
    u0 = pos[s, POS_SIZE]
    price = raw_price
    if liquidity == LIQ_TAKER and cfg[CFG_SLIP_KIND] != SLIP_NONE:
        # Slippage is priced on the size that will trade: after the short and leverage limits.
        unlimited = target_units(mode, qty, s, raw_price, fee_rate, acct, pos)
        estimate = apply_limits(s, unlimited, raw_price, fee_rate, cfg, acct, pos, False) - u0
        estimate = lot_size(estimate, raw_price, pos[s, POS_AMOUNT_STEP], np.nan)
        slip = slippage_fraction(cfg, abs(estimate), prices[VOLUME, i, s])
        price = raw_price * (1.0 + _sign(estimate) * slip)
    wanted = target_units(mode, qty, s, price, fee_rate, acct, pos)
    u = apply_limits(s, wanted, price, fee_rate, cfg, acct, pos, True)
    size = u - u0
    side = orders[oid, ORD_SIDE]
    orders[oid, ORD_DONE_BAR] = i
    if (
        size == 0.0
        or abs(size) <= 1e-12 * max(abs(u0), abs(u))
        or (side != 0.0 and size * side <= 0.0)
    ):
        if wanted != u0 and (side == 0.0 or (wanted - u0) * side > 0.0):
            orders[oid, ORD_STATUS] = STATUS_REJECTED
            acct[ACCT_REJECTED] += 1.0
        else:
            orders[oid, ORD_STATUS] = STATUS_CANCELLED
        return
    # The venue's order-size rules (off unless configured: then size is unchanged).
    size = lot_size(size, price, pos[s, POS_AMOUNT_STEP], pos[s, POS_MIN_NOTIONAL])
    if size == 0.0:
        orders[oid, ORD_STATUS] = STATUS_REJECTED
        acct[ACCT_REJECTED] += 1.0
        acct[ACCT_BELOW_MIN] += 1.0
        return
    record_fill(i, s, size, price, liquidity, REASON_ORDER, oid, cfg, acct, pos, fills)
    orders[oid, ORD_STATUS] = STATUS_FILLED
    orders[oid, ORD_FILL_SIZE] = size
    orders[oid, ORD_FILL_PRICE] = price
    u_new = pos[s, POS_SIZE]
    if u_new != 0.0 and (u0 == 0.0 or u_new * u0 < 0.0 or abs(u_new) > abs(u0)):
        attach_stops(
            i,
            s,
            u0,
            price,
            at_open,
            orders[oid, ORD_SL],
            orders[oid, ORD_TP],
            orders[oid, ORD_TRAIL],
            cfg,
            pos,
        )
    count_stops(acct, pos)


@nb.njit(VOID(I, I, F, I, I, PRICES, VEC, VEC, MAT, MAT), cache=True)
def _exit_position(
    i: int,
    s: int,
    raw_price: float,
    liquidity: int,
    reason: int,
    prices: FloatArray,
    cfg: FloatArray,
    acct: FloatArray,
    pos: FloatArray,
    fills: FloatArray,
) -> None:
    size = -pos[s, POS_SIZE]
    price = raw_price
    if liquidity == LIQ_TAKER:
        price = raw_price * (
            1.0 + _sign(size) * slippage_fraction(cfg, abs(size), prices[VOLUME, i, s])
        )
    record_fill(i, s, size, price, liquidity, reason, -1, cfg, acct, pos, fills)
    count_stops(acct, pos)


@nb.njit(VOID(I, I, PRICES, VEC, VEC, MAT, MAT), cache=True)
def check_stops(
    i: int,
    s: int,
    prices: FloatArray,
    cfg: FloatArray,
    acct: FloatArray,
    pos: FloatArray,
    fills: FloatArray,
) -> None:
    """Close the position of ``s`` if a stop-loss, trailing stop or take-profit is reached."""
    u = pos[s, POS_SIZE]
    if u == 0.0 or i < pos[s, POS_STOPS_FROM]:
        return
    o = prices[OPEN, i, s]
    h = prices[HIGH, i, s]
    lo = prices[LOW, i, s]
    stop = pos[s, POS_SL_PRICE]
    take = pos[s, POS_TP_PRICE]
    trail = pos[s, POS_TRAIL]
    reason = REASON_STOP_LOSS
    if u > 0.0:
        if not math.isnan(trail):
            pos[s, POS_EXTREME] = max(pos[s, POS_EXTREME], o)
            level = pos[s, POS_EXTREME] * (1.0 - trail)
            if math.isnan(stop) or level > stop:
                stop = level
                reason = REASON_TRAILING_STOP
        if not math.isnan(stop) and o <= stop:
            _exit_position(i, s, o, LIQ_TAKER, reason, prices, cfg, acct, pos, fills)
        elif not math.isnan(take) and o >= take:
            _exit_position(i, s, o, LIQ_MAKER, REASON_TAKE_PROFIT, prices, cfg, acct, pos, fills)
        elif not math.isnan(stop) and lo <= stop:
            _exit_position(i, s, stop, LIQ_TAKER, reason, prices, cfg, acct, pos, fills)
        elif not math.isnan(take) and h >= take:
            _exit_position(i, s, take, LIQ_MAKER, REASON_TAKE_PROFIT, prices, cfg, acct, pos, fills)
        elif not math.isnan(trail):
            pos[s, POS_EXTREME] = max(pos[s, POS_EXTREME], h)
    else:
        if not math.isnan(trail):
            pos[s, POS_EXTREME] = min(pos[s, POS_EXTREME], o)
            level = pos[s, POS_EXTREME] * (1.0 + trail)
            if math.isnan(stop) or level < stop:
                stop = level
                reason = REASON_TRAILING_STOP
        if not math.isnan(stop) and o >= stop:
            _exit_position(i, s, o, LIQ_TAKER, reason, prices, cfg, acct, pos, fills)
        elif not math.isnan(take) and o <= take:
            _exit_position(i, s, o, LIQ_MAKER, REASON_TAKE_PROFIT, prices, cfg, acct, pos, fills)
        elif not math.isnan(stop) and h >= stop:
            _exit_position(i, s, stop, LIQ_TAKER, reason, prices, cfg, acct, pos, fills)
        elif not math.isnan(take) and lo <= take:
            _exit_position(i, s, take, LIQ_MAKER, REASON_TAKE_PROFIT, prices, cfg, acct, pos, fills)
        elif not math.isnan(trail):
            pos[s, POS_EXTREME] = min(pos[s, POS_EXTREME], lo)


@nb.njit(VOID(I, PRICES, VEC, VEC, MAT, MAT, IDX, MAT), cache=True)
def open_phase(
    i: int,
    prices: FloatArray,
    cfg: FloatArray,
    acct: FloatArray,
    pos: FloatArray,
    orders: FloatArray,
    pending: IntArray,
    fills: FloatArray,
) -> None:
    """Match the pending orders against bar ``i``, then check the stops of open positions."""
    n = int(acct[ACCT_N_PENDING])
    kept = 0
    for idx in range(n):
        oid = pending[idx]
        if orders[oid, ORD_STATUS] != STATUS_PENDING:
            continue
        if orders[oid, ORD_BAR] >= i:
            pending[kept] = oid
            kept += 1
            continue
        if i > orders[oid, ORD_EXPIRES]:
            orders[oid, ORD_STATUS] = STATUS_EXPIRED
            orders[oid, ORD_DONE_BAR] = i
            continue
        s = int(orders[oid, ORD_SYMBOL])
        o = prices[OPEN, i, s]
        kind = orders[oid, ORD_KIND]
        if kind == KIND_MARKET:
            execute(i, oid, o, LIQ_TAKER, True, prices, cfg, acct, pos, orders, fills)
            continue
        level = orders[oid, ORD_PRICE]
        side = orders[oid, ORD_SIDE]
        raw = np.nan
        at_open = False
        if kind == KIND_LIMIT:
            if (side > 0 and o <= level) or (side < 0 and o >= level):
                raw = o
                at_open = True
            elif (side > 0 and prices[LOW, i, s] <= level) or (
                side < 0 and prices[HIGH, i, s] >= level
            ):
                raw = level
            if not math.isnan(raw):
                execute(i, oid, raw, LIQ_MAKER, at_open, prices, cfg, acct, pos, orders, fills)
                continue
        elif kind == KIND_STOP:
            if (side > 0 and o >= level) or (side < 0 and o <= level):
                raw = o
                at_open = True
            elif (side > 0 and prices[HIGH, i, s] >= level) or (
                side < 0 and prices[LOW, i, s] <= level
            ):
                raw = level
            if not math.isnan(raw):
                execute(i, oid, raw, LIQ_TAKER, at_open, prices, cfg, acct, pos, orders, fills)
                continue
        pending[kept] = oid
        kept += 1
    acct[ACCT_N_PENDING] = kept
    if acct[ACCT_STOPS_ACTIVE] > 0:
        for s in range(pos.shape[0]):
            check_stops(i, s, prices, cfg, acct, pos, fills)


@nb.njit(VOID(I, PRICES, VEC, VEC, MAT, MAT, IDX, MAT), cache=True)
def close_phase(
    i: int,
    prices: FloatArray,
    cfg: FloatArray,
    acct: FloatArray,
    pos: FloatArray,
    orders: FloatArray,
    pending: IntArray,
    fills: FloatArray,
) -> None:
    """Same-close mode: fill the market orders submitted at bar ``i`` at its close."""
    n = int(acct[ACCT_N_PENDING])
    kept = 0
    for idx in range(n):
        oid = pending[idx]
        if orders[oid, ORD_STATUS] != STATUS_PENDING:
            continue
        if orders[oid, ORD_BAR] == i and orders[oid, ORD_KIND] == KIND_MARKET:
            s = int(orders[oid, ORD_SYMBOL])
            execute(
                i, oid, prices[CLOSE, i, s], LIQ_TAKER, False, prices, cfg, acct, pos, orders, fills
            )
            continue
        pending[kept] = oid
        kept += 1
    acct[ACCT_N_PENDING] = kept


@nb.njit(VOID(I, PRICES, VEC, MAT, VEC, MAT, VEC), cache=True, inline="always")
def mark(
    i: int,
    prices: FloatArray,
    acct: FloatArray,
    pos: FloatArray,
    out_cash: FloatArray,
    out_pos: FloatArray,
    out_equity: FloatArray,
) -> None:
    """Value the account at bar ``i``'s close and record cash, positions and equity."""
    equity = acct[ACCT_CASH]
    for s in range(pos.shape[0]):
        close = prices[CLOSE, i, s]
        pos[s, POS_LAST_PRICE] = close
        equity += pos[s, POS_SIZE] * close
        out_pos[i, s] = pos[s, POS_SIZE]
    out_cash[i] = acct[ACCT_CASH]
    out_equity[i] = equity


@nb.njit(B(I, I, MAT), cache=True)
def cancel(i: int, oid: int, orders: FloatArray) -> bool:
    """Cancel a pending order (it leaves the pending list at the next match)."""
    if oid < 0 or oid >= orders.shape[0] or orders[oid, ORD_STATUS] != STATUS_PENDING:
        return False
    orders[oid, ORD_STATUS] = STATUS_CANCELLED
    orders[oid, ORD_DONE_BAR] = i
    return True


@nb.njit(VOID(I, I, VEC, MAT, IDX), cache=True)
def cancel_symbol(i: int, s: int, acct: FloatArray, orders: FloatArray, pending: IntArray) -> None:
    """Cancel every pending order of symbol ``s``."""
    for idx in range(int(acct[ACCT_N_PENDING])):
        oid = pending[idx]
        if orders[oid, ORD_SYMBOL] == s:
            cancel(i, oid, orders)


@nb.njit(I(I, I, F, F, F, F, F, F, F, F, MAT, VEC, VEC, MAT, MAT, IDX), cache=True)
def submit(
    i: int,
    s: int,
    mode: float,
    qty: float,
    kind: float,
    price: float,
    sl: float,
    tp: float,
    trail: float,
    valid_bars: float,
    vol: FloatArray,
    cfg: FloatArray,
    acct: FloatArray,
    pos: FloatArray,
    orders: FloatArray,
    pending: IntArray,
) -> int:
    """Record an order decided at bar ``i``'s close; it is matched from the next phase on.

    "Sizing" modes are converted here by the run's sizing rule (the volatility target reads the
    realised volatility of bar ``i``, known at the decision). Returns the order id.
    """
    oid = int(acct[ACCT_N_ORDERS])
    acct[ACCT_N_ORDERS] = oid + 1
    status = STATUS_PENDING
    if mode in (MODE_DELTA_SIZING, MODE_TARGET_SIZING):
        is_target = mode == MODE_TARGET_SIZING
        sizing = cfg[CFG_SIZING_KIND]
        if sizing == SIZING_FIXED:
            mode = MODE_TARGET_UNITS if is_target else MODE_DELTA_UNITS
            qty = qty * cfg[CFG_SIZING_VALUE]
        elif sizing == SIZING_FRACTION:
            mode = MODE_TARGET_FRACTION if is_target else MODE_DELTA_FRACTION
            qty = qty * cfg[CFG_SIZING_VALUE]
        else:
            mode = MODE_TARGET_FRACTION if is_target else MODE_DELTA_FRACTION
            if qty != 0.0:
                realised = vol[i, s]
                if math.isnan(realised) or realised <= 0.0:
                    status = STATUS_REJECTED
                    acct[ACCT_REJECTED] += 1.0
                else:
                    qty = qty * min(cfg[CFG_VOL_TARGET] / realised, cfg[CFG_MAX_LEVERAGE])
    side = 0.0
    if kind != KIND_MARKET and status == STATUS_PENDING:
        u0 = pos[s, POS_SIZE]
        if mode in (MODE_DELTA_UNITS, MODE_DELTA_FRACTION):
            side = _sign(qty)
        elif mode == MODE_TARGET_UNITS:
            side = _sign(qty - u0)
        else:
            side = _sign(qty * equity_at(acct, pos, s, price) / price - u0)
        if side == 0.0:
            status = STATUS_CANCELLED
    orders[oid, ORD_BAR] = i
    orders[oid, ORD_SYMBOL] = s
    orders[oid, ORD_MODE] = mode
    orders[oid, ORD_QTY] = qty
    orders[oid, ORD_KIND] = kind
    orders[oid, ORD_PRICE] = price
    orders[oid, ORD_SIDE] = side
    orders[oid, ORD_SL] = sl
    orders[oid, ORD_TP] = tp
    orders[oid, ORD_TRAIL] = trail
    orders[oid, ORD_EXPIRES] = i + valid_bars if valid_bars > 0 else NEVER
    orders[oid, ORD_STATUS] = status
    orders[oid, ORD_DONE_BAR] = i if status != STATUS_PENDING else -1
    orders[oid, ORD_FILL_SIZE] = 0.0
    orders[oid, ORD_FILL_PRICE] = np.nan
    if status == STATUS_PENDING:
        n = int(acct[ACCT_N_PENDING])
        pending[n] = oid
        acct[ACCT_N_PENDING] = n + 1
    return oid


@nb.njit(VOID(I, PRICES, VEC, VEC, MAT, MAT), cache=True)
def close_all(
    i: int,
    prices: FloatArray,
    cfg: FloatArray,
    acct: FloatArray,
    pos: FloatArray,
    fills: FloatArray,
) -> None:
    """Liquidate every open position at bar ``i``'s close (the ``close_at_end`` option)."""
    for s in range(pos.shape[0]):
        if pos[s, POS_SIZE] != 0.0:
            _exit_position(
                i, s, prices[CLOSE, i, s], LIQ_TAKER, REASON_END, prices, cfg, acct, pos, fills
            )


@nb.njit(B(VEC, MAT, MAT, I, I), cache=True, inline="always")
def has_room(
    acct: FloatArray, fills: FloatArray, orders: FloatArray, n_symbols: int, new_orders: int
) -> bool:
    """Whether one more bar surely fits the logs (else the driver grows them and resumes)."""
    fills_needed = acct[ACCT_N_FILLS] + acct[ACCT_N_PENDING] + new_orders + 3 * n_symbols
    return fills_needed <= fills.shape[0] and acct[ACCT_N_ORDERS] + new_orders <= orders.shape[0]


@nb.njit(I(I, I, PRICES, VEC, VEC, MAT, MAT, IDX, MAT, VEC, MAT, VEC), cache=True, nogil=True)
def advance(
    start: int,
    stop: int,
    prices: FloatArray,
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
    """Open phase and marking of bars [start, stop) with no new decisions; returns the next bar
    to process (< stop when the logs are full)."""
    k = pos.shape[0]
    for i in range(start, stop):
        if not has_room(acct, fills, orders, k, 0):
            return i
        if acct[ACCT_N_PENDING] > 0.0 or acct[ACCT_STOPS_ACTIVE] > 0.0:
            open_phase(i, prices, cfg, acct, pos, orders, pending, fills)
        mark(i, prices, acct, pos, out_cash, out_pos, out_equity)
    return stop
