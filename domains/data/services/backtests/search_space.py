"""Parameter search spaces: grids, random samples and Bayesian proposals.

A request names, per parameter, either an explicit list of values or a range
``{"low": .., "high": .., "steps": ..}`` inside the parameter's declared bounds; parameters it
does not name stay at their base value (the request's ``params`` or the declared default).
Every value is validated against the declaration; a combination that breaks a rule across
parameters (``fast < slow``) is skipped and counted, not an error: a grid over two ranges
usually contains some.

Bayesian search: a Gaussian process (scikit-learn, Matern 5/2 kernel plus noise, inputs scaled
to [0, 1], a choice as its index) fitted on every evaluated combination proposes the next
batch by expected improvement over a random pool of candidates.
"""

import itertools
import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from domains.data.services.backtests.errors import InvalidParameters
from dsta.kernel.errors import InvalidInput
from dsta.quant import ChoiceParam, FloatParam, IntParam, QuantError, Strategy

MAX_COMBINATIONS = 100_000
DEFAULT_STEPS = 5
CANDIDATE_POOL = 2_000


@dataclass(frozen=True)
class Axis:
    """One searched parameter: explicit ``values``, or a numeric range [low, high]."""

    name: str
    kind: str  # "int", "float" or "choice"
    values: tuple[Any, ...] | None
    low: float = 0.0
    high: float = 0.0
    steps: int = DEFAULT_STEPS

    def grid(self) -> list[Any]:
        """The values a grid walks."""
        if self.values is not None:
            return list(self.values)
        points = np.linspace(self.low, self.high, max(self.steps, 1))
        if self.kind == "int":
            return sorted({round(float(v)) for v in points})
        return [float(v) for v in points]

    def sample(self, rng: np.random.Generator) -> Any:
        """One uniform random value."""
        if self.values is not None:
            return self.values[int(rng.integers(len(self.values)))]
        if self.kind == "int":
            return int(rng.integers(int(self.low), int(self.high) + 1))
        return float(rng.uniform(self.low, self.high))

    def scale(self, value: Any) -> float:
        """``value`` mapped to [0, 1] (for the Gaussian process)."""
        if self.values is not None:
            return self.values.index(value) / max(len(self.values) - 1, 1)
        span = self.high - self.low
        return (float(value) - self.low) / span if span else 0.0

    def describe(self) -> dict[str, Any]:
        """JSON-ready form (stored with the study)."""
        if self.values is not None:
            return {"values": list(self.values)}
        if self.kind == "int":
            return {"low": int(self.low), "high": int(self.high), "steps": self.steps}
        return {"low": self.low, "high": self.high, "steps": self.steps}


def _axis(cls: type[Strategy], name: str, given: Any) -> Axis:
    declared = cls.params.get(name)
    if declared is None:
        raise InvalidParameters(
            f"parameter {name!r}: unknown parameter; expected one of {sorted(cls.params)}",
            details={"parameter": name},
        )
    kind = {IntParam: "int", FloatParam: "float", ChoiceParam: "choice"}[type(declared)]
    if isinstance(given, Mapping) and set(given) == {"values"}:
        given = given["values"]  # the stored form (Axis.describe) of an explicit list
    try:
        if isinstance(given, Sequence) and not isinstance(given, str):
            if not given:
                raise InvalidParameters(
                    f"parameter {name!r}: no values to search", details={"parameter": name}
                )
            values = tuple(dict.fromkeys(declared.validate(name, v) for v in given))
            return Axis(name, kind, values)
        if isinstance(given, Mapping):
            if kind == "choice":
                raise InvalidParameters(
                    f"parameter {name!r} is a choice: list the values to search",
                    details={"parameter": name},
                )
            unknown = sorted(set(given) - {"low", "high", "steps"})
            if unknown or "low" not in given or "high" not in given:
                raise InvalidParameters(
                    f"parameter {name!r}: a range is {{low, high, steps}}",
                    details={"parameter": name},
                )
            low = float(declared.validate(name, given["low"]))
            high = float(declared.validate(name, given["high"]))
            steps = given.get("steps", DEFAULT_STEPS)
            if isinstance(steps, bool) or not isinstance(steps, int) or not 1 <= steps <= 10_000:
                raise InvalidParameters(
                    f"parameter {name!r}: steps must be an integer in [1, 10000]",
                    details={"parameter": name},
                )
            if high < low:
                raise InvalidParameters(
                    f"parameter {name!r}: high must be >= low", details={"parameter": name}
                )
            return Axis(name, kind, None, low, high, steps)
    except QuantError as error:
        raise InvalidParameters(error.message, details=error.details) from None
    raise InvalidParameters(
        f"parameter {name!r}: give a list of values or a {{low, high, steps}} range",
        details={"parameter": name},
    )


def search_axes(cls: type[Strategy], space: object) -> list[Axis]:
    """The searched axes of ``space`` (a non-empty object of parameter -> values or range)."""
    if not isinstance(space, Mapping) or not space:
        raise InvalidInput(
            "space must be an object naming at least one parameter to search",
            details={"parameters": sorted(cls.params)},
        )
    return [_axis(cls, str(name), given) for name, given in space.items()]


def _valid(cls: type[Strategy], combo: dict[str, Any]) -> dict[str, Any] | None:
    try:
        return cls().validate(combo)
    except QuantError:
        return None


def grid_combinations(
    cls: type[Strategy], axes: list[Axis], base: Mapping[str, Any]
) -> tuple[list[dict[str, Any]], int]:
    """(valid combinations, how many broke a cross-parameter rule) of the full grid."""
    grids = [axis.grid() for axis in axes]
    total = math.prod(len(g) for g in grids)
    if total > MAX_COMBINATIONS:
        raise InvalidInput(
            f"the grid has {total} combinations; at most {MAX_COMBINATIONS} (use random search)",
            details={"combinations": total},
        )
    combos, skipped = [], 0
    for values in itertools.product(*grids):
        combo = _valid(cls, {**base, **dict(zip((a.name for a in axes), values, strict=True))})
        if combo is None:
            skipped += 1
        else:
            combos.append(combo)
    return combos, skipped


def _key(combo: Mapping[str, Any]) -> tuple[Any, ...]:
    return tuple(sorted((k, repr(v)) for k, v in combo.items()))


def random_combinations(
    cls: type[Strategy],
    axes: list[Axis],
    base: Mapping[str, Any],
    count: int,
    rng: np.random.Generator,
    *,
    exclude: Sequence[Mapping[str, Any]] = (),
) -> tuple[list[dict[str, Any]], int]:
    """Up to ``count`` distinct valid random combinations (and how many draws were invalid)."""
    seen = {_key(c) for c in exclude}
    combos: list[dict[str, Any]] = []
    skipped = 0
    for _ in range(max(count * 20, 100)):
        if len(combos) >= count:
            break
        combo = _valid(cls, {**base, **{a.name: a.sample(rng) for a in axes}})
        if combo is None:
            skipped += 1
            continue
        key = _key(combo)
        if key not in seen:
            seen.add(key)
            combos.append(combo)
    return combos, skipped


def _features(axes: list[Axis], combos: Sequence[Mapping[str, Any]]) -> np.ndarray:
    return np.array([[a.scale(c[a.name]) for a in axes] for c in combos], dtype=np.float64)


def bayes_proposals(
    cls: type[Strategy],
    axes: list[Axis],
    base: Mapping[str, Any],
    evaluated: Sequence[tuple[Mapping[str, Any], float]],
    count: int,
    rng: np.random.Generator,
    seed: int,
) -> list[dict[str, Any]]:
    """The ``count`` unseen candidates with the highest expected improvement."""
    from scipy.stats import norm
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.gaussian_process import GaussianProcessRegressor
    from sklearn.gaussian_process.kernels import Matern, WhiteKernel

    done = [(c, s) for c, s in evaluated if math.isfinite(s)]
    pool, _ = random_combinations(
        cls, axes, base, CANDIDATE_POOL, rng, exclude=[c for c, _ in evaluated]
    )
    if len(done) < 2 or not pool:
        return pool[:count]
    x = _features(axes, [c for c, _ in done])
    y = np.array([s for _, s in done])
    model = GaussianProcessRegressor(
        kernel=Matern(nu=2.5) + WhiteKernel(), normalize_y=True, random_state=seed
    )
    with warnings.catch_warnings():
        # A handful of points often pins a length scale to its bound: expected, not news.
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(x, y)
    mean, std = model.predict(_features(axes, pool), return_std=True)
    best = float(y.max())
    xi = 0.01 * max(abs(best), 1e-12)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (mean - best - xi) / std
        improvement = np.where(std > 0, (mean - best - xi) * norm.cdf(z) + std * norm.pdf(z), 0.0)
    order = np.argsort(-improvement, kind="stable")
    return [pool[int(i)] for i in order[:count]]
