"""numba types of the engine's arguments, for explicit signatures.

Every kernel function is compiled for exactly one signature: a literal constant passed by a
caller (``True``, ``LIQ_TAKER``) would otherwise make numba compile another specialisation,
and a cold start (a fresh checkout, CI) would pay for each of them.
"""

from numba import types

F = types.float64
I = types.int64  # noqa: E741 - the usual numba alias
B = types.boolean
VEC = types.float64[::1]  # cfg, acct, out_cash, out_equity
MAT = types.float64[:, ::1]  # pos, orders, fills, out_pos, vol, signal arrays
PRICES = types.float64[:, :, ::1]  # prices[field, bar, symbol]
IDX = types.int64[::1]  # pending order ids, request count
VOID = types.void
