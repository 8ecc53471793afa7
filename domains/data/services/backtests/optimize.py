"""Parameter optimisation fanned out over the workers, with its overfitting report.

The parent job (``data.backtest.optimize``) plans the combinations, stores them as chunks and
sends one message per chunk; the chunks are claimed, heartbeaten, cancelled and re-sent by the
shared fan-out (``fanout.py``, also used by walk-forward), which runs :func:`_evaluate_combos`
for each. The parent finally aggregates: the best ``top`` configurations by ``metric``, and
for every optimisation the deflated Sharpe ratio of the best one (given how many were tried)
and the probability of backtest overfitting over all of them (dsta.quant.robustness).

Each evaluation keeps its per-bar returns compounded into at most ``PBO_PERIODS`` equal
periods (what CSCV needs, at a fixed memory cost); the deflated Sharpe ratio uses the best
configuration's full per-bar returns (re-run at the end).
"""

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.db import transaction
from django.utils import timezone

from domains.data.models import ChunkStatus, Optimization, OptimizationChunk, RunStatus
from domains.data.services.backtests.candles import check_range
from domains.data.services.backtests.evaluation import evaluate_one
from domains.data.services.backtests.fanout import (
    Dispatch,
    Heartbeat,
    Progress,
    bars_for,
    base_spec,
    checked_bars,
    drive,
    register_chunk_work,
    run_study,
)
from domains.data.services.backtests.manifest import clean_json
from domains.data.services.backtests.search_space import (
    bayes_proposals,
    grid_combinations,
    random_combinations,
    search_axes,
)
from domains.data.services.backtests.selectors import unpack_arrays
from domains.data.services.backtests.spec import (
    RunSpec,
    checked_style,
    engine_config,
    run_spec,
    series_keys,
    strategy_class,
)
from dsta.kernel.errors import InvalidInput
from dsta.kernel.jobs.api import start_job
from dsta.quant import evaluate, periods_per_year
from dsta.quant.robustness import deflated_sharpe_ratio, probability_of_backtest_overfitting

OPTIMIZE_JOB_KIND = "data.backtest.optimize"
METHODS = ("grid", "random", "bayes")
METRICS = (
    "sharpe",
    "sortino",
    "calmar",
    "total_return",
    "annualised_return",
    "profit_factor",
    "expectancy",
    "win_rate",
    "final_equity",
    "max_drawdown",
)
DEFAULT_CHUNK = 25
MAX_SAMPLES = 100_000
PBO_SPLITS = 16


@dataclass(frozen=True)
class SearchRequest:
    """A checked optimisation request."""

    base: RunSpec
    method: str
    space: dict[str, Any]
    n_samples: int
    metric: str
    chunk_size: int
    top: int

    def as_json(self) -> dict[str, Any]:
        """What the Optimization row stores (and workers rebuild the request from)."""
        return clean_json(
            {
                "strategy": self.base.strategy,
                "params": self.base.params,
                "series": self.base.series_dicts(),
                "start_ms": self.base.start_ms,
                "end_ms": self.base.end_ms,
                "config": self.base.config,
                "style": self.base.style,
                "allow_gaps": self.base.allow_gaps,
                "seed": self.base.seed,
                "method": self.method,
                "space": self.space,
                "n_samples": self.n_samples,
                "metric": self.metric,
                "chunk_size": self.chunk_size,
                "top": self.top,
            }
        )


def search_request(
    *,
    strategy: object,
    series: object,
    space: object,
    params: object = None,
    method: str = "grid",
    n_samples: int = 100,
    metric: str = "sharpe",
    chunk_size: int = DEFAULT_CHUNK,
    top: int = 20,
    start_ms: int | None = None,
    end_ms: int | None = None,
    config: object = None,
    style: str = "auto",
    allow_gaps: bool = False,
    seed: int = 0,
) -> SearchRequest:
    """Check an optimisation request (4xx kernel errors naming the problem)."""
    base = run_spec(
        strategy=strategy,
        params=params,
        series=series,
        start_ms=start_ms,
        end_ms=end_ms,
        config=config,
        style=style,
        allow_gaps=allow_gaps,
        bias_checks=False,
        seed=seed,
    )
    if method not in METHODS:
        raise InvalidInput(f"method must be one of {list(METHODS)}", details={"method": method})
    if metric not in METRICS:
        raise InvalidInput(f"metric must be one of {list(METRICS)}", details={"metric": metric})
    if not 1 <= n_samples <= MAX_SAMPLES:
        raise InvalidInput(
            f"n_samples must be in [1, {MAX_SAMPLES}]", details={"n_samples": n_samples}
        )
    if not 1 <= chunk_size <= 10_000:
        raise InvalidInput("chunk_size must be in [1, 10000]", details={"chunk_size": chunk_size})
    if not 1 <= top <= 1_000:
        raise InvalidInput("top must be in [1, 1000]", details={"top": top})
    axes = search_axes(strategy_class(base.strategy), space)
    if method == "grid":
        combos, _ = grid_combinations(strategy_class(base.strategy), axes, base.params)
        if not combos:
            raise InvalidInput("no combination of the grid satisfies the strategy's rules")
    return SearchRequest(
        base=base,
        method=method,
        space={axis.name: axis.describe() for axis in axes},
        n_samples=n_samples,
        metric=metric,
        chunk_size=chunk_size,
        top=top,
    )


def optimize_start(*, request: SearchRequest, owner_id: int | None) -> Optimization:
    """Check the range and queue the optimisation's parent job."""
    base = request.base
    check_range(
        series=base.series, start_ms=base.start_ms, end_ms=base.end_ms, allow_gaps=base.allow_gaps
    )
    with transaction.atomic():
        study = Optimization.objects.create(
            owner_id=owner_id,
            request=request.as_json(),
            method=request.method,
            metric=request.metric,
        )
        info = start_job(OPTIMIZE_JOB_KIND, params={"study_id": str(study.id)}, owner_id=owner_id)
        Optimization.objects.filter(pk=study.pk).update(job_id=info.id)
        study.job_id = info.id
    return study


# --- evaluating ---------------------------------------------------------------------------------


def _evaluate_combos(
    chunk: OptimizationChunk, study: Optimization, beat: Heartbeat
) -> tuple[list[dict[str, Any]], np.ndarray]:
    """A chunk of an optimisation: every combination of ``chunk.combos`` on the study's bars."""
    request = study.request
    loaded = checked_bars(study)
    cls = strategy_class(request["strategy"])
    config = engine_config(request["config"])
    style = checked_style(cls, request["style"])
    evaluations: list[dict[str, Any]] = []
    rows = []
    for j, combo in enumerate(chunk.combos):
        # The engine's lookahead guard: once per chunk is enough for one strategy.
        evaluation, row = evaluate_one(
            cls, loaded.bars, combo, config, style=style, check_lookahead=(j == 0)
        )
        evaluations.append(evaluation)
        rows.append(row)
        beat(j + 1)
    return evaluations, np.vstack(rows) if rows else np.zeros((0, 0))


register_chunk_work("optimization", _evaluate_combos)


# --- the parent ---------------------------------------------------------------------------------


def _make_chunks(study: Optimization, combos: list[dict[str, Any]], round_: int) -> list[int]:
    size = int(study.request["chunk_size"])
    start = OptimizationChunk.objects.filter(optimization=study).count()
    chunks = [
        OptimizationChunk(
            optimization=study,
            number=start + k,
            round=round_,
            combos=clean_json(combos[i : i + size]),
        )
        for k, i in enumerate(range(0, len(combos), size))
    ]
    OptimizationChunk.objects.bulk_create(chunks)
    return list(
        OptimizationChunk.objects.filter(optimization=study, round=round_)
        .order_by("number")
        .values_list("pk", flat=True)
    )


def _score(evaluation: Mapping[str, Any], metric: str) -> float:
    value = (evaluation.get("metrics") or {}).get(metric)
    if value == "inf":
        return math.inf
    if value == "-inf" or value is None or isinstance(value, str):
        return -math.inf
    return float(value)


def _gather(study: Optimization) -> tuple[list[dict[str, Any]], np.ndarray]:
    evaluations: list[dict[str, Any]] = []
    blocks = []
    for chunk in OptimizationChunk.objects.filter(optimization=study).order_by("number"):
        evaluations += chunk.evaluations
        if chunk.returns:
            blocks.append(unpack_arrays(chunk.returns)["returns"])
    blocks = [b for b in blocks if b.size]
    matrix = np.vstack(blocks) if blocks else np.zeros((0, 0))
    return evaluations, matrix


def robustness_report(
    *,
    evaluations: list[dict[str, Any]],
    period_matrix: np.ndarray,
    best_returns: np.ndarray | None,
    timeframe: str,
) -> dict[str, Any]:
    """Deflated Sharpe ratio of the best configuration and PBO over all of them."""
    ann = periods_per_year(timeframe)
    trial_sharpes = np.array(
        [
            s / math.sqrt(ann)
            for s in (_score(e, "sharpe") for e in evaluations if "metrics" in e)
            if math.isfinite(s)
        ]
    )
    report: dict[str, Any] = {"n_trials": len(evaluations)}
    if best_returns is not None and best_returns.size >= 3:
        dsr = deflated_sharpe_ratio(
            best_returns, n_trials=max(len(evaluations), 1), trial_sharpes=trial_sharpes
        )
        report["deflated_sharpe"] = {
            "probability": dsr.probability,
            "sharpe_per_period": dsr.sharpe,
            "threshold_per_period": dsr.threshold,
            "n_trials": dsr.n_trials,
            "observations": dsr.n_observations,
            "skewness": dsr.skewness,
            "kurtosis": dsr.kurtosis,
            "passed": bool(dsr.probability > 0.95) if math.isfinite(dsr.probability) else None,
            "note": "P(true Sharpe > the best Sharpe of n_trials skill-less strategies); "
            "above 0.95 the edge is unlikely to be a selection artefact",
        }
    else:
        report["deflated_sharpe"] = {"probability": None, "note": "fewer than 3 returns"}
    rows = period_matrix.shape[1] if period_matrix.ndim == 2 else 0
    splits = min(PBO_SPLITS, (rows // 2) // 2 * 2)
    if period_matrix.ndim == 2 and period_matrix.shape[0] >= 2 and splits >= 2:
        pbo = probability_of_backtest_overfitting(
            np.nan_to_num(period_matrix.T, nan=0.0, posinf=0.0, neginf=0.0), n_splits=splits
        )
        report["pbo"] = {
            "probability": pbo.pbo,
            "n_splits": pbo.n_splits,
            "n_combinations": pbo.n_combinations,
            "n_configurations": pbo.n_configurations,
            "periods": rows,
            "logit_median": float(np.median(pbo.logits)),
            "note": "share of CSCV splits whose in-sample best ranks at or below the "
            "out-of-sample median; above 0.5 the selection is likely overfit",
        }
    else:
        report["pbo"] = {"probability": None, "note": "needs >= 2 configurations and >= 4 periods"}
    return clean_json(report)


def optimize_execute(
    *,
    study_id: str,
    worker: str,
    progress: Progress,
    check_cancelled: Callable[[], None],
    dispatch: Dispatch,
) -> dict[str, Any]:
    """The parent job's body: plan, fan out, aggregate, report (errors stored on the row)."""
    study = Optimization.objects.get(pk=study_id)
    return run_study(study, lambda: _optimize(study, worker, progress, check_cancelled, dispatch))


def _optimize(
    study: Optimization,
    worker: str,
    progress: Progress,
    check_cancelled: Callable[[], None],
    dispatch: Dispatch,
) -> dict[str, Any]:
    request = study.request
    base = base_spec(request)
    cls = strategy_class(base.strategy)
    axes = search_axes(cls, request["space"])
    progress(0, 1, "loading candles")
    loaded = bars_for(study)
    Optimization.objects.filter(pk=study.pk).update(
        status=RunStatus.RUNNING, candles_sha256=loaded.digest
    )
    study.candles_sha256 = loaded.digest
    rng = np.random.default_rng(base.seed)
    method = request["method"]
    skipped = 0

    def run_round(combos: list[dict[str, Any]], round_: int, total: int) -> None:
        chunk_ids = _make_chunks(study, combos, round_)
        drive(
            study,
            chunk_ids,
            worker=worker,
            total=total,
            unit="combinations evaluated",
            progress=progress,
            check_cancelled=check_cancelled,
            dispatch=dispatch,
        )

    if method in ("grid", "random"):
        if method == "grid":
            combos, skipped = grid_combinations(cls, axes, base.params)
        else:
            combos, skipped = random_combinations(cls, axes, base.params, request["n_samples"], rng)
        total = len(combos)
        Optimization.objects.filter(pk=study.pk).update(combinations=total)
        run_round(combos, 0, total)
    else:
        total = int(request["n_samples"])
        Optimization.objects.filter(pk=study.pk).update(combinations=total)
        first = max(2, min(total, max(5, total // 4)))
        batch = max(1, min(total, max(4, total // 5)))
        combos, skipped = random_combinations(cls, axes, base.params, first, rng)
        round_ = 0
        while True:
            run_round(combos, round_, total)
            evaluations, _ = _gather(study)
            remaining = total - len(evaluations)
            if remaining <= 0:
                break
            scored = [(e["params"], _score(e, request["metric"])) for e in evaluations]
            combos = bayes_proposals(
                cls, axes, base.params, scored, min(batch, remaining), rng, base.seed
            )
            if not combos:
                break  # the space is exhausted
            round_ += 1
    evaluations, matrix = _gather(study)
    succeeded = [e for e in evaluations if "metrics" in e]
    if not succeeded:
        failures = [e["error"] for e in evaluations if "error" in e]
        first_error = failures[0] if failures else {"code": "no_result", "message": "nothing ran"}
        raise InvalidInput(
            f"no combination could be evaluated; first error: {first_error['message']}",
            details={"error": first_error},
        )
    failed_chunks = OptimizationChunk.objects.filter(
        optimization=study, status=ChunkStatus.FAILED
    ).values_list("error", flat=True)
    ranked = sorted(succeeded, key=lambda e: _score(e, request["metric"]), reverse=True)
    best = ranked[0]
    progress(len(evaluations), max(total, len(evaluations)), "robustness report")
    best_eval = evaluate(
        cls,
        loaded.bars,
        best["params"],
        engine_config(request["config"]),
        style=checked_style(cls, request["style"]),
        keep_returns=True,
        check_lookahead=False,
    )
    robustness = robustness_report(
        evaluations=evaluations,
        period_matrix=matrix,
        best_returns=best_eval.returns,
        timeframe=series_keys(request["series"])[0].timeframe.code,
    )
    robustness["skipped_invalid_combinations"] = skipped
    robustness["failed_evaluations"] = len(evaluations) - len(succeeded)
    robustness["failed_chunks"] = list(failed_chunks)
    top = [
        {"rank": i + 1, "params": e["params"], "metrics": e["metrics"]}
        for i, e in enumerate(ranked[: int(request["top"])])
    ]
    Optimization.objects.filter(pk=study.pk).update(
        status=RunStatus.SUCCEEDED,
        evaluated=len(evaluations),
        best_params=clean_json(best["params"]),
        best_metrics=clean_json(best["metrics"]),
        results=clean_json(top),
        robustness=robustness,
        finished_at=timezone.now(),
    )
    return clean_json(
        {
            "study_id": str(study.pk),
            "evaluated": len(evaluations),
            "best_params": best["params"],
            "best_metric": best["metrics"].get(request["metric"]),
            "deflated_sharpe": robustness["deflated_sharpe"].get("probability"),
            "pbo": robustness["pbo"].get("probability"),
        }
    )
