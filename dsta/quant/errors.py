"""The errors of the quant library: all are ``ValueError`` subclasses with a stable ``code``.

dsta.quant imports nothing of the kernel, so these do not subclass the kernel's DstaError; the
data and trading domains map them to ``InvalidInput`` (HTTP 400) by catching :class:`QuantError`
and passing ``code``, ``str(error)`` and ``details`` through.
"""

from typing import Any


class QuantError(ValueError):
    """Base of every error raised on bad input to dsta.quant."""

    code = "quant_error"

    def __init__(self, message: str, *, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details: dict[str, Any] = dict(details or {})


class InvalidParameters(QuantError):
    """A strategy parameter is unknown, of the wrong type or out of its declared range."""

    code = "invalid_parameters"

    def __init__(self, name: str, reason: str, *, value: object = None) -> None:
        super().__init__(
            f"parameter {name!r}: {reason}", details={"parameter": name, "value": repr(value)}
        )
        self.name = name
        self.reason = reason


class UnknownStrategy(QuantError):
    """No strategy is registered under that name."""

    code = "unknown_strategy"

    def __init__(self, name: str, known: list[str]) -> None:
        super().__init__(
            f"unknown strategy {name!r}; known: {', '.join(known) or '(none)'}",
            details={"strategy": name, "known": known},
        )
        self.name = name


class InvalidBars(QuantError):
    """The candles cannot be backtested: empty, unsorted, non-finite or mis-shaped."""

    code = "invalid_bars"


class InvalidConfig(QuantError):
    """An engine setting (fees, sizing, stops, slippage...) is out of range."""

    code = "invalid_config"


class LookaheadError(QuantError):
    """A strategy's output at some bar changed when later bars were removed: it peeks ahead."""

    code = "lookahead_detected"


class StrategyFailed(QuantError):
    """The strategy's own code raised; ``bar`` is the bar index it was deciding (or None)."""

    code = "strategy_failed"

    def __init__(self, strategy: str, bar: int | None, error: BaseException) -> None:
        where = f" at bar {bar}" if bar is not None else ""
        super().__init__(
            f"strategy {strategy!r} raised{where}: {type(error).__name__}: {error}",
            details={"strategy": strategy, "bar": bar, "error_type": type(error).__name__},
        )
        self.strategy = strategy
        self.bar = bar
