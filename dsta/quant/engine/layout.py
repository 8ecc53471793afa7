"""Column numbers of the engine's state arrays, and the codes stored in them.

The compiled kernel keeps its whole state in a few float64 arrays (numba reads module-level
ints as compile-time constants), so a bar costs no object allocation. Python code reads the
same arrays through these names; nothing outside dsta.quant.engine needs them except a jitted
``on_bar_nb`` callback (see :mod:`dsta.quant.engine.nb_api`).
"""

# Fields of the price block prices[field, bar, symbol] (same order as dsta.quant.bars.FIELDS).
OPEN = 0
HIGH = 1
LOW = 2
CLOSE = 3
VOLUME = 4

# cfg[...]: the run's settings, packed by EngineConfig.pack().
CFG_MAKER_FEE = 0
CFG_TAKER_FEE = 1
CFG_SLIP_KIND = 2
CFG_SLIP_BPS = 3
CFG_SLIP_IMPACT_BPS = 4
CFG_SLIP_MAX_BPS = 5
CFG_SIZING_KIND = 6
CFG_SIZING_VALUE = 7
CFG_MAX_LEVERAGE = 8
CFG_STOP_LOSS = 9
CFG_TAKE_PROFIT = 10
CFG_TRAILING = 11
CFG_SAME_CLOSE = 12
CFG_ALLOW_SHORT = 13
CFG_INITIAL_CASH = 14
CFG_VOL_TARGET = 15
N_CFG = 16

SLIP_NONE = 0
SLIP_FIXED = 1
SLIP_VOLUME = 2

SIZING_FRACTION = 0
SIZING_FIXED = 1
SIZING_VOL_TARGET = 2

# acct[...]: the account and the bookkeeping counters.
ACCT_CASH = 0
ACCT_N_FILLS = 1
ACCT_N_ORDERS = 2
ACCT_N_PENDING = 3
ACCT_NEXT_BAR = 4  # first bar not yet processed
ACCT_FEES = 5
ACCT_REJECTED = 6
ACCT_STOPS_ACTIVE = 7  # symbols holding a position with a stop attached
ACCT_REDUCED = 8  # orders cut down by the leverage limit
ACCT_BELOW_MIN = 9  # orders skipped: less than one lot, or worth less than the minimum notional
N_ACCT = 10

# pos[symbol, ...]: the open position of each symbol.
POS_SIZE = 0  # signed units of the base asset
POS_AVG_PRICE = 1  # average entry price of the open position (NaN when flat)
POS_SL_PRICE = 2  # stop-loss level (NaN: none)
POS_TP_PRICE = 3  # take-profit level (NaN: none)
POS_TRAIL = 4  # trailing-stop distance as a fraction (NaN: none)
POS_EXTREME = 5  # best price since entry (high for longs, low for shorts), for the trailing stop
POS_STOPS_FROM = 6  # first bar on which the stops are checked
POS_LAST_PRICE = 7  # latest price seen (fill or close): values the position for sizing
# The symbol's order-size rules (EngineConfig.lots), fixed for the run; NaN: no rule.
POS_AMOUNT_STEP = 8  # lot size: traded amounts are truncated toward zero to a multiple
POS_MIN_NOTIONAL = 9  # smallest order value (amount x fill price)
N_POS = 10

# orders[id, ...]: every order ever submitted; the id is the row.
ORD_BAR = 0  # bar at whose close it was submitted
ORD_SYMBOL = 1
ORD_MODE = 2
ORD_QTY = 3
ORD_KIND = 4
ORD_PRICE = 5  # limit or stop price (NaN for market)
ORD_SIDE = 6  # +1 buy, -1 sell, 0 decided at fill time (market orders)
ORD_SL = 7  # stop-loss fraction for the position it opens (NaN: config default, <= 0: none)
ORD_TP = 8
ORD_TRAIL = 9
ORD_EXPIRES = 10  # last bar on which it may fill
ORD_STATUS = 11
ORD_DONE_BAR = 12
ORD_FILL_SIZE = 13
ORD_FILL_PRICE = 14
N_ORD = 15

# How ORD_QTY is read. The "sizing" modes are converted at submission by the run's sizing rule.
MODE_DELTA_UNITS = 0
MODE_TARGET_UNITS = 1
MODE_DELTA_FRACTION = 2  # change of exposure, as a fraction of equity
MODE_TARGET_FRACTION = 3  # target exposure, as a fraction of equity (signed)
MODE_DELTA_SIZING = 4
MODE_TARGET_SIZING = 5
MODE_CANCEL = 6  # only in callback requests: cancel order id ORD_QTY

KIND_MARKET = 0
KIND_LIMIT = 1
KIND_STOP = 2

STATUS_PENDING = 0
STATUS_FILLED = 1
STATUS_CANCELLED = 2
STATUS_EXPIRED = 3
STATUS_REJECTED = 4

# fills[row, ...]
FILL_BAR = 0
FILL_SYMBOL = 1
FILL_SIZE = 2  # signed units
FILL_PRICE = 3  # after slippage
FILL_FEE = 4
FILL_LIQUIDITY = 5
FILL_REASON = 6
FILL_ORDER = 7  # order id, -1 for stop exits
N_FILL = 8

LIQ_MAKER = 0
LIQ_TAKER = 1

REASON_ORDER = 0
REASON_STOP_LOSS = 1
REASON_TAKE_PROFIT = 2
REASON_TRAILING_STOP = 3
REASON_END = 4

# Order requests written by a jitted on_bar_nb callback: req[row, ...].
REQ_SYMBOL = 0
REQ_MODE = 1
REQ_QTY = 2
REQ_KIND = 3
REQ_PRICE = 4
REQ_SL = 5
REQ_TP = 6
REQ_TRAIL = 7
REQ_VALID = 8  # bars it stays valid (<= 0: until cancelled)
N_REQ = 9
MAX_REQUESTS_PER_BAR = 64

NEVER = 2**62  # ORD_EXPIRES of a good-till-cancelled order

# Names, for results and manifests.
KIND_NAMES = ("market", "limit", "stop")
STATUS_NAMES = ("pending", "filled", "cancelled", "expired", "rejected")
REASON_NAMES = ("order", "stop_loss", "take_profit", "trailing_stop", "end")
LIQUIDITY_NAMES = ("maker", "taker")
