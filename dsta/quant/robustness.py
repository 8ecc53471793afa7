"""Robustness math: is a backtest's edge real, or luck and selection?

- :func:`probabilistic_sharpe_ratio` and :func:`deflated_sharpe_ratio` (Bailey & López de Prado,
  "The Deflated Sharpe Ratio", 2014): the probability that the true Sharpe ratio exceeds a
  benchmark given the track record's length, skewness and kurtosis; the deflated version sets
  the benchmark to the Sharpe ratio the best of ``n_trials`` unskilled strategies would show.
- :func:`probability_of_backtest_overfitting` (Bailey, Borwein, López de Prado & Zhu, 2015,
  combinatorially symmetric cross-validation): how often the configuration that is best in
  sample ranks below the median out of sample.
- :func:`monte_carlo_trades` and :func:`monte_carlo_returns`: distributions of final equity and
  maximum drawdown, and the probability of ruin, under trade-order reshuffling, trade bootstrap,
  or (block) bootstrap of per-bar returns.

Conventions: Sharpe ratios here are *per period* (not annualised) as in the papers; skewness
and kurtosis are population moments, kurtosis non-excess (a normal distribution has 3). Every
random function takes a ``seed`` and gives the same output for the same seed.
"""

import math
from dataclasses import dataclass, field
from itertools import combinations
from statistics import NormalDist

import numba as nb
import numpy as np
from numpy.typing import ArrayLike, NDArray

FloatArray = NDArray[np.float64]

EULER_GAMMA = 0.5772156649015329
_NORMAL = NormalDist()


def _moments(returns: FloatArray) -> tuple[float, float, float]:
    """Per-period Sharpe (ddof=1), population skewness and (non-excess) kurtosis."""
    std = float(np.std(returns, ddof=1))
    sharpe = float(np.mean(returns)) / std if std > 0 else math.nan
    centred = returns - returns.mean()
    m2 = float(np.mean(centred**2))
    if m2 == 0:
        return sharpe, 0.0, 3.0
    skew = float(np.mean(centred**3)) / m2**1.5
    kurt = float(np.mean(centred**4)) / m2**2
    return sharpe, skew, kurt


def probabilistic_sharpe_ratio(returns: ArrayLike, benchmark_sharpe: float = 0.0) -> float:
    """P(true per-period Sharpe > ``benchmark_sharpe``) given the observed returns.

    PSR = Phi((SR - SR*) * sqrt(n - 1) / sqrt(1 - skew * SR + (kurt - 1) / 4 * SR^2)).
    """
    r = np.asarray(returns, dtype=np.float64)
    if r.size < 3:
        return math.nan
    sharpe, skew, kurt = _moments(r)
    if math.isnan(sharpe):
        return math.nan
    denominator = 1.0 - skew * sharpe + (kurt - 1.0) / 4.0 * sharpe**2
    if denominator <= 0:
        return math.nan
    return _NORMAL.cdf((sharpe - benchmark_sharpe) * math.sqrt(r.size - 1) / math.sqrt(denominator))


def expected_max_sharpe(n_trials: int, sharpe_variance: float) -> float:
    """Expected maximum per-period Sharpe of ``n_trials`` independent skill-less strategies
    whose Sharpe ratios have variance ``sharpe_variance`` (the False Strategy theorem)."""
    if n_trials < 1:
        raise ValueError("n_trials must be >= 1")
    if n_trials == 1 or sharpe_variance <= 0:
        return 0.0
    first = _NORMAL.inv_cdf(1.0 - 1.0 / n_trials)
    second = _NORMAL.inv_cdf(1.0 - 1.0 / (n_trials * math.e))
    return math.sqrt(sharpe_variance) * ((1.0 - EULER_GAMMA) * first + EULER_GAMMA * second)


@dataclass(frozen=True)
class DeflatedSharpe:
    """The deflated Sharpe ratio and what went into it (Sharpe ratios per period)."""

    probability: float  # P(true Sharpe > threshold): the DSR itself
    sharpe: float
    threshold: float  # expected maximum Sharpe of n_trials skill-less strategies
    n_trials: int
    n_observations: int
    skewness: float
    kurtosis: float


def deflated_sharpe_ratio(
    returns: ArrayLike,
    n_trials: int,
    trial_sharpes: ArrayLike | None = None,
    sharpe_variance: float | None = None,
) -> DeflatedSharpe:
    """DSR of the selected strategy's per-bar ``returns`` after trying ``n_trials`` configs.

    The variance of the trials' per-period Sharpe ratios comes from ``trial_sharpes`` (every
    configuration tried, ddof=1) or is given as ``sharpe_variance``. A DSR above 0.95 is the
    usual bar for "unlikely to be a selection artefact".
    """
    r = np.asarray(returns, dtype=np.float64)
    if sharpe_variance is None:
        if trial_sharpes is None:
            raise ValueError("give trial_sharpes or sharpe_variance")
        sharpes = np.asarray(trial_sharpes, dtype=np.float64)
        sharpes = sharpes[np.isfinite(sharpes)]
        sharpe_variance = float(np.var(sharpes, ddof=1)) if sharpes.size > 1 else 0.0
    threshold = expected_max_sharpe(n_trials, sharpe_variance)
    sharpe, skew, kurt = _moments(r) if r.size >= 3 else (math.nan, math.nan, math.nan)
    return DeflatedSharpe(
        probability=probabilistic_sharpe_ratio(r, threshold),
        sharpe=sharpe,
        threshold=threshold,
        n_trials=n_trials,
        n_observations=int(r.size),
        skewness=skew,
        kurtosis=kurt,
    )


@dataclass(frozen=True)
class Overfitting:
    """Result of CSCV: ``pbo`` is the share of splits whose in-sample best ranks at or below
    the out-of-sample median; ``logits`` holds lambda = ln(w / (1 - w)) for every split."""

    pbo: float
    logits: FloatArray
    n_splits: int
    n_combinations: int
    n_configurations: int


def probability_of_backtest_overfitting(returns: ArrayLike, n_splits: int = 16) -> Overfitting:
    """PBO by combinatorially symmetric cross-validation.

    ``returns`` is (bars, configurations): the per-bar returns of every configuration tried on
    the same bars. The bars are cut into ``n_splits`` (even) contiguous blocks; for each choice
    of half the blocks as in-sample, the configuration with the best in-sample Sharpe is ranked
    among all out of sample (w = rank / (N + 1)). PBO = share of choices with lambda <= 0.
    """
    matrix = np.asarray(returns, dtype=np.float64)
    if matrix.ndim != 2 or matrix.shape[1] < 2:
        raise ValueError("returns must be (bars, configurations) with at least 2 configurations")
    if n_splits < 2 or n_splits % 2:
        raise ValueError("n_splits must be an even number >= 2")
    if matrix.shape[0] < 2 * n_splits:
        raise ValueError(f"need at least {2 * n_splits} bars for {n_splits} splits")
    if not np.isfinite(matrix).all():
        raise ValueError("returns must be finite")
    n_configs = matrix.shape[1]
    blocks = np.array_split(np.arange(matrix.shape[0]), n_splits)
    sums = np.stack([matrix[b].sum(axis=0) for b in blocks])
    squares = np.stack([(matrix[b] ** 2).sum(axis=0) for b in blocks])
    counts = np.array([b.size for b in blocks], dtype=np.float64)
    chosen = np.array(list(combinations(range(n_splits), n_splits // 2)), dtype=np.int64)
    mask = np.zeros((chosen.shape[0], n_splits), dtype=np.float64)
    np.put_along_axis(mask, chosen, 1.0, axis=1)

    def sharpe(weights: FloatArray) -> FloatArray:
        n = (weights @ counts)[:, None]
        total = weights @ sums
        mean = total / n
        variance = (weights @ squares - n * mean**2) / (n - 1)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = mean / np.sqrt(np.maximum(variance, 0.0))
        return np.nan_to_num(ratio, nan=-np.inf)

    in_sample = sharpe(mask)
    out_of_sample = sharpe(1.0 - mask)
    best = np.argmax(in_sample, axis=1)
    best_oos = out_of_sample[np.arange(best.size), best]
    rank = (out_of_sample < best_oos[:, None]).sum(axis=1) + 1
    omega = rank / (n_configs + 1.0)
    logits = np.log(omega / (1.0 - omega))
    return Overfitting(
        pbo=float((logits <= 0).mean()),
        logits=logits,
        n_splits=n_splits,
        n_combinations=int(chosen.shape[0]),
        n_configurations=n_configs,
    )


@dataclass(frozen=True)
class MonteCarlo:
    """Distributions over simulated paths, and the share of paths that hit ruin."""

    method: str
    seed: int
    final_equity: FloatArray
    max_drawdown: FloatArray  # negative fractions, the start counted as a peak
    probability_of_ruin: float
    ruin_level: float  # ruin = equity at or below ruin_level x initial at any point
    percentiles: dict[str, dict[str, float]] = field(default_factory=dict)


def _summarise(
    method: str,
    seed: int,
    final: FloatArray,
    drawdown: FloatArray,
    ruined: NDArray[np.bool_],
    ruin_level: float,
) -> MonteCarlo:
    points = (5, 25, 50, 75, 95)
    return MonteCarlo(
        method=method,
        seed=seed,
        final_equity=final,
        max_drawdown=drawdown,
        probability_of_ruin=float(ruined.mean()),
        ruin_level=ruin_level,
        percentiles={
            "final_equity": {f"p{p}": float(np.percentile(final, p)) for p in points},
            "max_drawdown": {f"p{p}": float(np.percentile(drawdown, p)) for p in points},
        },
    )


@nb.njit(cache=True, nogil=True)
def _additive_paths(
    pnl: FloatArray,
    order: NDArray[np.int64],
    initial: float,
    ruin: float,
    final: FloatArray,
    drawdown: FloatArray,
    ruined: NDArray[np.bool_],
    offset: int,
) -> None:
    for sim in range(order.shape[0]):
        equity = initial
        peak = initial
        worst = 0.0
        hit = equity <= ruin
        for j in range(order.shape[1]):
            equity += pnl[order[sim, j]]
            if equity > peak:
                peak = equity
            if peak > 0:
                fall = equity / peak - 1.0
                if fall < worst:
                    worst = fall
            if equity <= ruin:
                hit = True
        final[offset + sim] = equity
        drawdown[offset + sim] = max(worst, -1.0)
        ruined[offset + sim] = hit


@nb.njit(cache=True, nogil=True)
def _compounded_paths(
    returns: FloatArray,
    starts: NDArray[np.int64],
    block: int,
    horizon: int,
    initial: float,
    ruin: float,
    final: FloatArray,
    drawdown: FloatArray,
    ruined: NDArray[np.bool_],
    offset: int,
) -> None:
    for sim in range(starts.shape[0]):
        equity = initial
        peak = initial
        worst = 0.0
        hit = False
        taken = 0
        for b in range(starts.shape[1]):
            start = starts[sim, b]
            for j in range(block):
                if taken == horizon:
                    break
                equity *= 1.0 + returns[start + j]
                taken += 1
                if equity > peak:
                    peak = equity
                fall = equity / peak - 1.0
                if fall < worst:
                    worst = fall
                if equity <= ruin:
                    hit = True
        final[offset + sim] = equity
        drawdown[offset + sim] = worst
        ruined[offset + sim] = hit


def _check_sims(n_sims: int, ruin_level: float) -> None:
    if n_sims < 1:
        raise ValueError("n_sims must be >= 1")
    if not 0.0 <= ruin_level < 1.0:
        raise ValueError("ruin_level must be in [0, 1)")


def monte_carlo_trades(
    pnl: ArrayLike,
    *,
    initial_cash: float,
    n_sims: int = 1_000,
    seed: int = 0,
    method: str = "reshuffle",
    ruin_level: float = 0.5,
) -> MonteCarlo:
    """Replay the trades' net pnl (quote currency, added to ``initial_cash``) in random orders.

    ``reshuffle``: every path uses each trade once in a random order, so the final equity is
    the same on every path and only the path (drawdown, ruin) changes. ``bootstrap``: trades
    drawn with replacement, so the final equity varies too.
    """
    _check_sims(n_sims, ruin_level)
    values = np.ascontiguousarray(pnl, dtype=np.float64)
    if values.ndim != 1 or values.size == 0:
        raise ValueError("pnl must be a non-empty 1-D array of trade results")
    if method not in ("reshuffle", "bootstrap"):
        raise ValueError("method must be reshuffle or bootstrap")
    rng = np.random.default_rng(seed)
    final = np.empty(n_sims)
    drawdown = np.empty(n_sims)
    ruined = np.empty(n_sims, dtype=np.bool_)
    chunk = max(1, 2_000_000 // values.size)
    for offset in range(0, n_sims, chunk):
        rows = min(chunk, n_sims - offset)
        if method == "reshuffle":
            order = rng.permuted(np.tile(np.arange(values.size), (rows, 1)), axis=1)
        else:
            order = rng.integers(0, values.size, size=(rows, values.size))
        _additive_paths(
            values,
            order.astype(np.int64),
            float(initial_cash),
            ruin_level * initial_cash,
            final,
            drawdown,
            ruined,
            offset,
        )
    return _summarise(f"trades_{method}", seed, final, drawdown, ruined, ruin_level)


def monte_carlo_returns(
    returns: ArrayLike,
    *,
    initial_cash: float = 1.0,
    n_sims: int = 1_000,
    seed: int = 0,
    block: int = 1,
    horizon: int | None = None,
    ruin_level: float = 0.5,
) -> MonteCarlo:
    """Bootstrap of per-bar returns, compounded from ``initial_cash`` over ``horizon`` bars
    (default: as many as given). ``block`` > 1 draws contiguous blocks (moving-block bootstrap),
    which keeps short-range dependence such as volatility clustering."""
    _check_sims(n_sims, ruin_level)
    values = np.ascontiguousarray(returns, dtype=np.float64)
    if values.ndim != 1 or values.size == 0 or not np.isfinite(values).all():
        raise ValueError("returns must be a non-empty 1-D array of finite values")
    if not 1 <= block <= values.size:
        raise ValueError(f"block must be in [1, {values.size}]")
    horizon = values.size if horizon is None else horizon
    if horizon < 1:
        raise ValueError("horizon must be >= 1")
    n_blocks = math.ceil(horizon / block)
    rng = np.random.default_rng(seed)
    final = np.empty(n_sims)
    drawdown = np.empty(n_sims)
    ruined = np.empty(n_sims, dtype=np.bool_)
    chunk = max(1, 2_000_000 // n_blocks)
    for offset in range(0, n_sims, chunk):
        rows = min(chunk, n_sims - offset)
        starts = rng.integers(0, values.size - block + 1, size=(rows, n_blocks))
        _compounded_paths(
            values,
            starts.astype(np.int64),
            block,
            horizon,
            float(initial_cash),
            ruin_level * initial_cash,
            final,
            drawdown,
            ruined,
            offset,
        )
    return _summarise(
        "returns_bootstrap" if block == 1 else "returns_block_bootstrap",
        seed,
        final,
        drawdown,
        ruined,
        ruin_level,
    )
