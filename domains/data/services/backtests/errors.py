"""The errors of backtesting, with stable codes, and the mapping from dsta.quant's errors.

dsta.quant raises plain ``ValueError`` subclasses (it may not import the kernel); at the data
domain's door they become kernel errors with the same ``code``, message and details, so the API
answers a clear 4xx and a job stores the same code.
"""

from typing import Any

from dsta.kernel.errors import Conflict, DstaError, InvalidInput
from dsta.quant import QuantError


class UnknownStrategy(InvalidInput):
    """No strategy is registered under that name."""

    code = "unknown_strategy"


class InvalidParameters(InvalidInput):
    """A strategy parameter is unknown, of the wrong type or out of range."""

    code = "invalid_parameters"


class InvalidEngineConfig(InvalidInput):
    """An engine setting (fees, sizing, stops...) is out of range."""

    code = "invalid_config"


class InvalidBars(InvalidInput):
    """The candles cannot be backtested (non-finite or non-positive prices...)."""

    code = "invalid_bars"


class InvalidSignals(InvalidInput):
    """A strategy returned signals of the wrong shape or kind."""

    code = "invalid_signals"


class EmptyRange(InvalidInput):
    """No candles are stored for the series in the range asked for."""

    code = "empty_range"


class GappedRange(InvalidInput):
    """The range holds missing bars; ``details["gaps"]`` says where (``allow_gaps`` to run)."""

    code = "gapped_range"


class LookaheadDetected(DstaError):
    """The strategy's decisions change when later bars are removed: it peeks ahead."""

    code = "lookahead_detected"
    status = 422


class StrategyFailed(DstaError):
    """The strategy's own code raised while the backtest ran."""

    code = "strategy_failed"
    status = 422


class NotReproducible(DstaError):
    """A rerun did not give the original run's results (``details`` lists what differs)."""

    code = "not_reproducible"
    status = 409


class NotFinished(Conflict):
    """The run (or study) has not succeeded, so it has nothing to show yet."""

    code = "not_finished"


_BY_QUANT_CODE: dict[str, type[DstaError]] = {
    "unknown_strategy": UnknownStrategy,
    "invalid_parameters": InvalidParameters,
    "invalid_config": InvalidEngineConfig,
    "invalid_bars": InvalidBars,
    "invalid_signals": InvalidSignals,
    "lookahead_detected": LookaheadDetected,
    "strategy_failed": StrategyFailed,
}


def from_quant(error: QuantError) -> DstaError:
    """The kernel error for a dsta.quant error: same code, message and details."""
    cls = _BY_QUANT_CODE.get(error.code, InvalidInput)
    details: dict[str, Any] = {
        key: value for key, value in error.details.items() if _jsonable(value)
    }
    return cls(error.message, details=details or None)


def _jsonable(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool | list | dict)
