"""Declared strategy parameters: type, bounds, default; validation and search grids.

A strategy lists its parameters as ``params = {"fast": IntParam(10, 2, 500), ...}``. Everything
that runs a strategy (backtest, optimiser, live runner) validates user input with
:func:`validate_params`, so a bad value fails before any computation, naming the parameter.

Type rules (strict on purpose: a silent coercion would hide a wrong API payload):
- ``IntParam`` accepts ``int`` (and numpy integers), never ``bool`` and never ``float``; ``10.0``
  is rejected rather than guessed.
- ``FloatParam`` accepts ``int`` or ``float`` (not ``bool``), finite only.
- ``ChoiceParam`` accepts exactly one of its choices (compared with ``==`` and the same type).
"""

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from numbers import Integral, Real
from typing import Any

import numpy as np

from dsta.quant.errors import InvalidParameters

ParamValue = int | float | str | bool
Params = Mapping[str, ParamValue]


@dataclass(frozen=True)
class IntParam:
    """An integer in ``[low, high]`` (both inclusive)."""

    default: int
    low: int
    high: int
    doc: str = ""

    def validate(self, name: str, value: object) -> int:
        """``value`` as an int, or :class:`InvalidParameters` naming ``name``."""
        if isinstance(value, bool) or not isinstance(value, Integral):
            raise InvalidParameters(
                name, f"expected an integer, got {type(value).__name__}", value=value
            )
        number = int(value)
        if not self.low <= number <= self.high:
            raise InvalidParameters(
                name, f"{number} is out of range [{self.low}, {self.high}]", value=value
            )
        return number

    def grid(self, steps: int) -> list[int]:
        """Up to ``steps`` distinct integers spread evenly over the range."""
        values = np.linspace(self.low, self.high, max(steps, 1)).round().astype(int)
        return sorted({int(v) for v in values})

    def sample(self, rng: np.random.Generator) -> int:
        """A uniform random integer in the range."""
        return int(rng.integers(self.low, self.high + 1))


@dataclass(frozen=True)
class FloatParam:
    """A finite float in ``[low, high]`` (both inclusive)."""

    default: float
    low: float
    high: float
    doc: str = ""

    def validate(self, name: str, value: object) -> float:
        """``value`` as a float, or :class:`InvalidParameters` naming ``name``."""
        if isinstance(value, bool) or not isinstance(value, Real):
            raise InvalidParameters(
                name, f"expected a number, got {type(value).__name__}", value=value
            )
        number = float(value)
        if not math.isfinite(number):
            raise InvalidParameters(name, "must be finite", value=value)
        if not self.low <= number <= self.high:
            raise InvalidParameters(
                name, f"{number} is out of range [{self.low}, {self.high}]", value=value
            )
        return number

    def grid(self, steps: int) -> list[float]:
        """``steps`` evenly spaced values from low to high."""
        return [float(v) for v in np.linspace(self.low, self.high, max(steps, 1))]

    def sample(self, rng: np.random.Generator) -> float:
        """A uniform random float in the range."""
        return float(rng.uniform(self.low, self.high))


@dataclass(frozen=True)
class ChoiceParam:
    """One of a fixed set of values (strings, numbers or booleans)."""

    default: ParamValue
    choices: tuple[ParamValue, ...]
    doc: str = ""

    def validate(self, name: str, value: object) -> ParamValue:
        """``value`` if it is one of the choices, else :class:`InvalidParameters`."""
        for choice in self.choices:
            if type(choice) is type(value) and choice == value:
                return choice
        raise InvalidParameters(
            name, f"must be one of {list(self.choices)}, got {value!r}", value=value
        )

    def grid(self, steps: int) -> list[ParamValue]:
        """Every choice (``steps`` is ignored: a choice has no in-between)."""
        return list(self.choices)

    def sample(self, rng: np.random.Generator) -> ParamValue:
        """A uniformly chosen choice."""
        return self.choices[int(rng.integers(len(self.choices)))]


Param = IntParam | FloatParam | ChoiceParam


def validate_params(spec: Mapping[str, Param], given: Mapping[str, Any] | None) -> dict[str, Any]:
    """Defaults overlaid with ``given``, each value checked against its declaration.

    Raises :class:`InvalidParameters` for an unknown name, a wrong type or a value out of range;
    the error's ``name`` is the offending parameter.
    """
    given = dict(given or {})
    unknown = sorted(set(given) - set(spec))
    if unknown:
        raise InvalidParameters(
            unknown[0],
            f"unknown parameter; expected one of {sorted(spec)}",
            value=given[unknown[0]],
        )
    return {
        name: param.validate(name, given[name]) if name in given else param.default
        for name, param in spec.items()
    }


def param_grid(
    spec: Mapping[str, Param], values: Mapping[str, Sequence[Any]] | None = None, steps: int = 5
) -> list[dict[str, Any]]:
    """The cartesian product of per-parameter values, each combination validated.

    ``values`` gives explicit lists for some parameters; the others use their declared grid of
    ``steps`` points (a parameter to hold fixed can be given a one-element list).
    """
    values = dict(values or {})
    unknown = sorted(set(values) - set(spec))
    if unknown:
        raise InvalidParameters(unknown[0], f"unknown parameter; expected one of {sorted(spec)}")
    axes: list[tuple[str, list[Any]]] = []
    for name, param in spec.items():
        axis = list(values[name]) if name in values else list(param.grid(steps))
        if not axis:
            raise InvalidParameters(name, "no values to search")
        axes.append((name, [param.validate(name, v) for v in axis]))
    combos: list[dict[str, Any]] = [{}]
    for name, axis in axes:
        combos = [{**combo, name: value} for combo in combos for value in axis]
    return combos
