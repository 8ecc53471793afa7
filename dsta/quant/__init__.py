"""dsta.quant: the shared pure computation library (numpy/numba; no Django, no I/O).

One Strategy class runs in the backtester (data domain), in paper/live trading (trading
domain) and as a feature source (ml domain). Everything here is a pure function of its inputs;
errors on bad input are :class:`QuantError` subclasses (``ValueError``s with a stable
``code``). See docs/quant.md for conventions and the public API.
"""

# First: numba's cache is set up on import, before any jitted function is defined.
from dsta.quant import numba_cache as _numba_cache  # noqa: F401  (numba_cache.py says why)
from dsta.quant import strategies as _strategies  # noqa: F401  (registers the classic strategies)
from dsta.quant.bars import FIELDS, Bars
from dsta.quant.engine.config import (
    EngineConfig,
    Fees,
    FillTiming,
    Lots,
    Sizing,
    Slippage,
    Stops,
)
from dsta.quant.engine.event import BacktestContext
from dsta.quant.engine.result import FILL_DTYPE, ORDER_DTYPE, TRADE_DTYPE, BacktestResult
from dsta.quant.engine.run import ENGINE_VERSION, STYLES, run_backtest
from dsta.quant.errors import (
    InvalidBars,
    InvalidConfig,
    InvalidParameters,
    LookaheadError,
    QuantError,
    StrategyFailed,
    UnknownStrategy,
)
from dsta.quant.lookahead import LookaheadReport, lookahead_check
from dsta.quant.optimize import Evaluation, evaluate, grid_search
from dsta.quant.params import ChoiceParam, FloatParam, IntParam, Param, param_grid, validate_params
from dsta.quant.signals import InvalidSignals, Signals, directional
from dsta.quant.strategy import (
    Context,
    Strategy,
    get_strategy,
    latest_decision,
    register,
    resolve_strategy,
    strategy_names,
)
from dsta.quant.timeframes import periods_per_year, timeframe_ms

__all__ = [
    "ENGINE_VERSION",
    "FIELDS",
    "FILL_DTYPE",
    "ORDER_DTYPE",
    "STYLES",
    "TRADE_DTYPE",
    "BacktestContext",
    "BacktestResult",
    "Bars",
    "ChoiceParam",
    "Context",
    "EngineConfig",
    "Evaluation",
    "Fees",
    "FillTiming",
    "FloatParam",
    "IntParam",
    "InvalidBars",
    "InvalidConfig",
    "InvalidParameters",
    "InvalidSignals",
    "LookaheadError",
    "LookaheadReport",
    "Lots",
    "Param",
    "QuantError",
    "Signals",
    "Sizing",
    "Slippage",
    "Stops",
    "Strategy",
    "StrategyFailed",
    "UnknownStrategy",
    "directional",
    "evaluate",
    "get_strategy",
    "grid_search",
    "latest_decision",
    "lookahead_check",
    "param_grid",
    "periods_per_year",
    "register",
    "resolve_strategy",
    "run_backtest",
    "strategy_names",
    "timeframe_ms",
    "validate_params",
]
