"""Walk-forward analysis: optimise in sample, test out of sample, roll forward, stitch.

Windows are counted in bars: ``train_bars`` in sample then ``test_bars`` out of sample, the
whole pair moved on by ``step_bars`` (default: ``test_bars``, so the test windows tile the range
without overlap). ``anchored`` keeps every training window starting at the first bar
(expanding window) instead of rolling it. In each window the search (grid or random, as for
``optimize``) runs on the training bars only; the best configuration by ``metric`` then runs on
the test bars alone, from flat and with fresh indicators (they warm up inside the test window:
conservative, no information crosses the boundary). The test windows' per-bar returns are
chained into one out-of-sample equity curve starting from the initial cash.

The windows are independent, so each one (its in-sample search and out-of-sample run) is a
chunk of the shared fan-out (``fanout.py``, the optimisation's mechanism): the parent job plans
the windows, sends one chunk message per window, helps while it waits, reports windows done /
total, and stitches the windows in order once all are done. :func:`walk_forward_local` is the
same computation in one process, the reference the fan-out must reproduce exactly.

Walk-forward efficiency = annualised out-of-sample return / mean annualised in-sample return of
the chosen configurations (Pardo); near or above 0.5 is usually read as robust.
"""

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.db import transaction
from django.utils import timezone

from domains.data.models import ChunkStatus, OptimizationChunk, RunStatus, WalkForward
from domains.data.services.backtests.candles import check_range
from domains.data.services.backtests.fanout import (
    Dispatch,
    Heartbeat,
    Progress,
    bars_for,
    base_spec,
    checked_bars,
    chunks_of,
    drive,
    register_chunk_work,
    run_study,
)
from domains.data.services.backtests.manifest import clean_json
from domains.data.services.backtests.optimize import METRICS
from domains.data.services.backtests.search_space import (
    grid_combinations,
    random_combinations,
    search_axes,
)
from domains.data.services.backtests.selectors import coverage, pack_arrays, unpack_arrays
from domains.data.services.backtests.spec import (
    checked_style,
    engine_config,
    run_spec,
    strategy_class,
)
from domains.data.services.validation import iso
from dsta.kernel.errors import InvalidInput, error_class_for
from dsta.kernel.jobs.api import start_job
from dsta.quant import Bars, EngineConfig, Strategy, evaluate
from dsta.quant.metrics import (
    annual_volatility,
    cagr,
    max_drawdown,
    sharpe_ratio,
    sortino_ratio,
    total_return,
)

WALK_FORWARD_JOB_KIND = "data.backtest.walk_forward"
MAX_WINDOWS = 500
MAX_COMBOS_PER_WINDOW = 10_000
_KEPT = ("total_return", "annualised_return", "sharpe", "max_drawdown", "trades", "final_equity")

Window = tuple[int, int, int]  # (train_start, test_start, test_end) bar indices


def walk_forward_request(
    *,
    strategy: object,
    series: object,
    space: object,
    train_bars: int,
    test_bars: int,
    step_bars: int | None = None,
    anchored: bool = False,
    params: object = None,
    method: str = "grid",
    n_samples: int = 50,
    metric: str = "sharpe",
    start_ms: int | None = None,
    end_ms: int | None = None,
    config: object = None,
    style: str = "auto",
    allow_gaps: bool = False,
    seed: int = 0,
) -> dict[str, Any]:
    """The checked request as stored on the row (4xx kernel errors otherwise)."""
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
    if method not in ("grid", "random"):
        raise InvalidInput("method must be grid or random", details={"method": method})
    if metric not in METRICS:
        raise InvalidInput(f"metric must be one of {list(METRICS)}", details={"metric": metric})
    if train_bars < 10 or test_bars < 2:
        raise InvalidInput(
            "train_bars must be >= 10 and test_bars >= 2",
            details={"train_bars": train_bars, "test_bars": test_bars},
        )
    step = test_bars if step_bars is None else step_bars
    if step < 1:
        raise InvalidInput("step_bars must be >= 1", details={"step_bars": step})
    if not 1 <= n_samples <= MAX_COMBOS_PER_WINDOW:
        raise InvalidInput(
            f"n_samples must be in [1, {MAX_COMBOS_PER_WINDOW}]", details={"n_samples": n_samples}
        )
    cls = strategy_class(base.strategy)
    axes = search_axes(cls, space)
    if method == "grid":
        combos, _ = grid_combinations(cls, axes, base.params)
        if not combos:
            raise InvalidInput("no combination of the grid satisfies the strategy's rules")
        if len(combos) > MAX_COMBOS_PER_WINDOW:
            raise InvalidInput(
                f"{len(combos)} combinations per window; at most {MAX_COMBOS_PER_WINDOW}",
                details={"combinations": len(combos)},
            )
    return clean_json(
        {
            "strategy": base.strategy,
            "params": base.params,
            "series": base.series_dicts(),
            "start_ms": base.start_ms,
            "end_ms": base.end_ms,
            "config": base.config,
            "style": base.style,
            "allow_gaps": base.allow_gaps,
            "seed": base.seed,
            "space": {axis.name: axis.describe() for axis in axes},
            "method": method,
            "n_samples": n_samples,
            "metric": metric,
            "train_bars": train_bars,
            "test_bars": test_bars,
            "step_bars": step,
            "anchored": anchored,
        }
    )


def windows_for(
    n: int, train: int, test: int, step: int, anchored: bool
) -> list[tuple[int, int, int]]:
    """(train_start, test_start, test_end) bar indices of every full window."""
    out: list[tuple[int, int, int]] = []
    start = 0
    while start + train + test <= n and len(out) < MAX_WINDOWS:
        out.append((0 if anchored else start, start + train, start + train + test))
        start += step
    return out


def walk_forward_start(*, request: dict[str, Any], owner_id: int | None) -> WalkForward:
    """Check the range holds at least one window and queue the job."""
    base = base_spec(request)
    check_range(
        series=base.series, start_ms=base.start_ms, end_ms=base.end_ms, allow_gaps=base.allow_gaps
    )
    stored = min(
        coverage(series=key, start_ms=base.start_ms, end_ms=base.end_ms).count
        for key in base.series
    )
    needed = request["train_bars"] + request["test_bars"]
    if stored < needed:
        raise InvalidInput(
            f"the range holds {stored} bars; one window needs train_bars + test_bars = {needed}",
            details={"bars": stored, "needed": needed},
        )
    with transaction.atomic():
        study = WalkForward.objects.create(owner_id=owner_id, request=request)
        info = start_job(
            WALK_FORWARD_JOB_KIND, params={"study_id": str(study.id)}, owner_id=owner_id
        )
        WalkForward.objects.filter(pk=study.pk).update(job_id=info.id)
        study.job_id = info.id
    return study


def _score(metrics: Mapping[str, Any], metric: str) -> float:
    value = metrics.get(metric)
    if isinstance(value, float | int) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return math.inf if value == math.inf else -math.inf


def _window_search(
    cls: type[Strategy],
    bars: Bars,
    combos: list[dict[str, Any]],
    metric: str,
    config: EngineConfig,
    style: str,
    tick: Callable[[], None],
) -> tuple[dict[str, Any], dict[str, Any]]:
    best: tuple[float, dict[str, Any], dict[str, Any]] | None = None
    for j, combo in enumerate(combos):
        tick()
        result = evaluate(cls, bars, combo, config, style=style, check_lookahead=(j == 0))
        score = _score(result.metrics, metric)
        if best is None or score > best[0]:
            best = (score, result.params, result.metrics)
    assert best is not None
    return best[1], best[2]


def plan_windows(
    cls: type[Strategy], n_bars: int, request: Mapping[str, Any]
) -> list[tuple[Window, list[dict[str, Any]]]]:
    """Every window and the combinations searched in it (random draws: one seeded stream,
    window after window)."""
    windows = windows_for(
        n_bars,
        request["train_bars"],
        request["test_bars"],
        request["step_bars"],
        request["anchored"],
    )
    if not windows:
        raise InvalidInput(
            f"{n_bars} bars hold no window of train_bars + test_bars", details={"bars": n_bars}
        )
    base = base_spec(request)
    axes = search_axes(cls, request["space"])
    if request["method"] == "grid":
        combos = grid_combinations(cls, axes, base.params)[0]
        return [(window, combos) for window in windows]
    rng = np.random.default_rng(base.seed)
    return [
        (window, random_combinations(cls, axes, base.params, request["n_samples"], rng)[0])
        for window in windows
    ]


def run_window(
    cls: type[Strategy],
    bars: Bars,
    number: int,
    window: Window,
    combos: list[dict[str, Any]],
    *,
    metric: str,
    config: EngineConfig,
    style: str,
    timeframe_ms: int,
    tick: Callable[[], None],
) -> tuple[dict[str, Any], np.ndarray]:
    """One window: the search on its training bars, the best configuration on its test bars.

    Returns the window's row (ranges, best parameters, in- and out-of-sample metrics) and the
    test bars' per-bar returns. ``tick`` is called before every backtest.
    """
    train_start, test_start, test_end = window
    train = bars.slice(train_start, test_start)
    best_params, is_metrics = _window_search(cls, train, combos, metric, config, style, tick)
    tick()
    test = bars.slice(test_start, test_end)
    oos = evaluate(
        cls, test, best_params, config, style=style, keep_returns=True, check_lookahead=False
    )
    assert oos.returns is not None
    row = {
        "window": number,
        "train": {
            "start": iso(int(bars.timestamps[train_start])),
            "end": iso(int(bars.timestamps[test_start])),
            "bars": test_start - train_start,
        },
        "test": {
            "start": iso(int(bars.timestamps[test_start])),
            "end": iso(int(bars.timestamps[test_end - 1]) + timeframe_ms),
            "bars": test_end - test_start,
        },
        "combinations": len(combos),
        "best_params": best_params,
        "in_sample": {k: is_metrics.get(k) for k in _KEPT},
        "out_of_sample": {k: oos.metrics.get(k) for k in _KEPT},
    }
    return row, oos.returns


@dataclass(frozen=True)
class Stitched:
    """A walk-forward's outcome: window rows, the out-of-sample curve and its metrics."""

    windows: list[dict[str, Any]]
    timestamps: np.ndarray
    equity: np.ndarray
    oos_metrics: dict[str, Any]


def stitch(
    bars: Bars,
    windows: list[Window],
    rows: list[dict[str, Any]],
    returns: list[np.ndarray],
    config: EngineConfig,
) -> Stitched:
    """Chain the windows' out-of-sample returns (in window order) into one curve."""
    chained = np.concatenate(returns)
    stamps = np.concatenate([bars.timestamps[start:end] for _, start, end in windows])
    initial = float(config.initial_cash)
    equity = initial * np.cumprod(1.0 + chained)
    ann = float(bars.periods_per_year() or math.nan)
    oos_cagr = cagr(chained, ann)
    is_cagrs = [row["in_sample"].get("annualised_return") for row in rows]
    finite_is = [v for v in is_cagrs if isinstance(v, float) and math.isfinite(v)]
    mean_is = float(np.mean(finite_is)) if finite_is else math.nan
    oos_metrics = {
        "bars": int(chained.size),
        "windows": len(windows),
        "initial_cash": initial,
        "final_equity": float(equity[-1]),
        "total_return": total_return(chained),
        "annualised_return": oos_cagr,
        "annualised_volatility": annual_volatility(chained, ann),
        "sharpe": sharpe_ratio(chained, ann),
        "sortino": sortino_ratio(chained, ann),
        "max_drawdown": max_drawdown(chained),
        "mean_in_sample_annualised_return": mean_is,
        "walk_forward_efficiency": oos_cagr / mean_is if mean_is and mean_is > 0 else None,
    }
    return Stitched(
        windows=clean_json(rows), timestamps=stamps, equity=equity, oos_metrics=oos_metrics
    )


def walk_forward_local(
    request: Mapping[str, Any],
    bars: Bars,
    timeframe_ms: int,
    tick: Callable[[], None] = lambda: None,
) -> Stitched:
    """The whole walk-forward in this process, window after window (no database, no workers):
    what the fanned-out job computes, and the reference it is tested against."""
    cls = strategy_class(request["strategy"])
    config = engine_config(request["config"])
    style = checked_style(cls, request["style"])
    plan = plan_windows(cls, len(bars), request)
    rows, returns = [], []
    for number, (window, combos) in enumerate(plan):
        row, oos = run_window(
            cls, bars, number, window, combos, metric=request["metric"], config=config,
            style=style, timeframe_ms=timeframe_ms, tick=tick,
        )  # fmt: skip
        rows.append(clean_json(row))
        returns.append(oos)
    return stitch(bars, [window for window, _ in plan], rows, returns, config)


def _window_work(
    chunk: OptimizationChunk, study: WalkForward, beat: Heartbeat
) -> tuple[list[dict[str, Any]], np.ndarray]:
    """A walk-forward chunk: one window, on the study's bars."""
    request = study.request
    loaded = checked_bars(study)
    cls = strategy_class(request["strategy"])
    spec = chunk.window or {}
    row, returns = run_window(
        cls,
        loaded.bars,
        int(spec["number"]),
        (int(spec["train_start"]), int(spec["test_start"]), int(spec["test_end"])),
        chunk.combos,
        metric=request["metric"],
        config=engine_config(request["config"]),
        style=checked_style(cls, request["style"]),
        timeframe_ms=loaded.timeframe_ms,
        tick=beat,
    )
    return [row], returns


register_chunk_work("walk_forward", _window_work)


def walk_forward_execute(
    *,
    study_id: str,
    worker: str,
    progress: Progress,
    check_cancelled: Callable[[], None],
    dispatch: Dispatch,
) -> dict[str, Any]:
    """The parent job's body: plan the windows, fan them out, stitch (errors stored)."""
    study = WalkForward.objects.get(pk=study_id)
    WalkForward.objects.filter(pk=study.pk).update(status=RunStatus.RUNNING)
    return run_study(study, lambda: _walk(study, worker, progress, check_cancelled, dispatch))


def _walk(
    study: WalkForward,
    worker: str,
    progress: Progress,
    check_cancelled: Callable[[], None],
    dispatch: Dispatch,
) -> dict[str, Any]:
    request = study.request
    cls = strategy_class(request["strategy"])
    checked_style(cls, request["style"])
    config = engine_config(request["config"])
    progress(0, 1, "loading candles")
    loaded = bars_for(study)
    WalkForward.objects.filter(pk=study.pk).update(candles_sha256=loaded.digest)
    study.candles_sha256 = loaded.digest
    plan = plan_windows(cls, len(loaded.bars), request)
    OptimizationChunk.objects.bulk_create(
        OptimizationChunk(
            walk_forward=study,
            number=number,
            combos=clean_json(combos),
            window={
                "number": number,
                "train_start": window[0],
                "test_start": window[1],
                "test_end": window[2],
            },
        )
        for number, (window, combos) in enumerate(plan)
    )
    chunk_ids = list(chunks_of(study).order_by("number").values_list("pk", flat=True))
    drive(
        study,
        chunk_ids,
        worker=worker,
        total=len(plan),
        unit="windows done",
        progress=progress,
        check_cancelled=check_cancelled,
        dispatch=dispatch,
        stop_on_failure=True,
    )
    chunks = list(chunks_of(study).order_by("number"))
    failed = [chunk for chunk in chunks if chunk.status == ChunkStatus.FAILED]
    if failed:
        error = failed[0].error or {}
        code = str(error.get("code", "internal_error"))
        message = str(error.get("message", "a window failed"))
        raise error_class_for(code)(f"window {failed[0].number}: {message}")
    stitched = stitch(
        loaded.bars,
        [window for window, _ in plan],
        [chunk.evaluations[0] for chunk in chunks],
        [unpack_arrays(chunk.returns or b"")["returns"] for chunk in chunks],
        config,
    )
    WalkForward.objects.filter(pk=study.pk).update(
        status=RunStatus.SUCCEEDED,
        windows=stitched.windows,
        oos_metrics=clean_json(stitched.oos_metrics),
        oos_equity=pack_arrays(timestamps=stitched.timestamps, equity=stitched.equity),
        candles_sha256=loaded.digest,
        finished_at=timezone.now(),
    )
    return clean_json(
        {
            "study_id": str(study.pk),
            "windows": len(plan),
            "final_equity": float(stitched.equity[-1]),
            "walk_forward_efficiency": stitched.oos_metrics["walk_forward_efficiency"],
        }
    )
