"""Walk-forward analysis: optimise in sample, test out of sample, roll forward, stitch.

Windows are counted in bars: ``train_bars`` in sample then ``test_bars`` out of sample, the
whole pair moved on by ``step_bars`` (default: ``test_bars``, so the test windows tile the range
without overlap). ``anchored`` keeps every training window starting at the first bar
(expanding window) instead of rolling it. In each window the search (grid or random, as for
``optimize``) runs on the training bars only; the best configuration by ``metric`` then runs on
the test bars alone, from flat and with fresh indicators (they warm up inside the test window:
conservative, no information crosses the boundary). The test windows' per-bar returns are
chained into one out-of-sample equity curve starting from the initial cash.

Walk-forward efficiency = annualised out-of-sample return / mean annualised in-sample return of
the chosen configurations (Pardo); near or above 0.5 is usually read as robust.
"""

import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
from django.db import transaction
from django.utils import timezone

from domains.data.models import RunStatus, WalkForward
from domains.data.services.backtests.candles import check_range, load_bars
from domains.data.services.backtests.errors import from_quant
from domains.data.services.backtests.manifest import clean_json
from domains.data.services.backtests.optimize import METRICS
from domains.data.services.backtests.search_space import (
    grid_combinations,
    random_combinations,
    search_axes,
)
from domains.data.services.backtests.selectors import coverage, pack_arrays
from domains.data.services.backtests.spec import checked_style, run_spec, strategy_class
from domains.data.services.validation import iso
from dsta.kernel.errors import DstaError, InvalidInput
from dsta.kernel.jobs.api import JobCancelled, start_job
from dsta.quant import Bars, QuantError, evaluate
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

Progress = Callable[[int, int, str], None]


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


def _base(request: Mapping[str, Any]) -> Any:
    return run_spec(
        strategy=request["strategy"],
        params=request["params"],
        series=request["series"],
        start_ms=request["start_ms"],
        end_ms=request["end_ms"],
        config=request["config"],
        style=request["style"],
        allow_gaps=request["allow_gaps"],
        bias_checks=False,
        seed=request["seed"],
    )


def walk_forward_start(*, request: dict[str, Any], owner_id: int | None) -> WalkForward:
    """Check the range holds at least one window and queue the job."""
    base = _base(request)
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
    cls: Any,
    bars: Bars,
    combos: list[dict[str, Any]],
    request: Mapping[str, Any],
    config: Any,
    style: str,
    tick: Callable[[], None],
) -> tuple[dict[str, Any], dict[str, Any]]:
    best: tuple[float, dict[str, Any], dict[str, Any]] | None = None
    for j, combo in enumerate(combos):
        tick()
        result = evaluate(cls, bars, combo, config, style=style, check_lookahead=(j == 0))
        score = _score(result.metrics, request["metric"])
        if best is None or score > best[0]:
            best = (score, result.params, result.metrics)
    assert best is not None
    return best[1], best[2]


def walk_forward_execute(
    *, study_id: str, progress: Progress, check_cancelled: Callable[[], None]
) -> dict[str, Any]:
    """The job's body: every window's search and test, the stitched curve (errors stored)."""
    study = WalkForward.objects.get(pk=study_id)
    WalkForward.objects.filter(pk=study.pk).update(status=RunStatus.RUNNING)
    try:
        return _walk(study, progress, check_cancelled)
    except JobCancelled:
        WalkForward.objects.filter(pk=study.pk).update(
            status=RunStatus.CANCELLED, finished_at=timezone.now()
        )
        raise
    except QuantError as error:
        failure: DstaError = from_quant(error)
    except DstaError as error:
        failure = error
    except Exception as error:
        WalkForward.objects.filter(pk=study.pk).update(
            status=RunStatus.FAILED,
            error={"code": "internal_error", "message": f"{type(error).__name__}: {error}"},
            finished_at=timezone.now(),
        )
        raise
    WalkForward.objects.filter(pk=study.pk).update(
        status=RunStatus.FAILED,
        error={"code": failure.code, "message": failure.message},
        finished_at=timezone.now(),
    )
    raise failure from None


def _walk(
    study: WalkForward, progress: Progress, check_cancelled: Callable[[], None]
) -> dict[str, Any]:
    request = study.request
    base = _base(request)
    cls = strategy_class(base.strategy)
    config = base.engine_config()
    style = checked_style(cls, base.style)
    loaded = load_bars(
        series=base.series, start_ms=base.start_ms, end_ms=base.end_ms, allow_gaps=base.allow_gaps
    )
    bars = loaded.bars
    windows = windows_for(
        len(bars),
        request["train_bars"],
        request["test_bars"],
        request["step_bars"],
        request["anchored"],
    )
    if not windows:
        raise InvalidInput(
            f"{len(bars)} bars hold no window of train_bars + test_bars",
            details={"bars": len(bars)},
        )
    axes = search_axes(cls, request["space"])
    rng = np.random.default_rng(base.seed)
    per_window = (
        grid_combinations(cls, axes, base.params)[0] if request["method"] == "grid" else None
    )
    size = len(per_window) if per_window is not None else int(request["n_samples"])
    total = len(windows) * (size + 1)
    done = 0

    def tick() -> None:
        nonlocal done
        check_cancelled()
        done += 1
        progress(done, total, f"window {min(done // (size + 1) + 1, len(windows))}/{len(windows)}")

    rows = []
    oos_returns = []
    oos_stamps = []
    is_cagrs = []
    for number, (train_start, test_start, test_end) in enumerate(windows):
        combos = per_window
        if combos is None:
            combos, _ = random_combinations(cls, axes, base.params, request["n_samples"], rng)
        train = bars.slice(train_start, test_start)
        best_params, is_metrics = _window_search(cls, train, combos, request, config, style, tick)
        tick()
        test = bars.slice(test_start, test_end)
        oos = evaluate(
            cls, test, best_params, config, style=style, keep_returns=True, check_lookahead=False
        )
        assert oos.returns is not None
        oos_returns.append(oos.returns)
        oos_stamps.append(test.timestamps)
        is_cagrs.append(is_metrics.get("annualised_return"))
        rows.append(
            {
                "window": number,
                "train": {
                    "start": iso(int(bars.timestamps[train_start])),
                    "end": iso(int(bars.timestamps[test_start])),
                    "bars": test_start - train_start,
                },
                "test": {
                    "start": iso(int(bars.timestamps[test_start])),
                    "end": iso(int(bars.timestamps[test_end - 1]) + loaded.timeframe_ms),
                    "bars": test_end - test_start,
                },
                "combinations": len(combos),
                "best_params": best_params,
                "in_sample": {k: is_metrics.get(k) for k in _KEPT},
                "out_of_sample": {k: oos.metrics.get(k) for k in _KEPT},
            }
        )
    returns = np.concatenate(oos_returns)
    stamps = np.concatenate(oos_stamps)
    initial = float(config.initial_cash)
    equity = initial * np.cumprod(1.0 + returns)
    ann = float(bars.periods_per_year() or math.nan)
    oos_cagr = cagr(returns, ann)
    finite_is = [v for v in is_cagrs if isinstance(v, float) and math.isfinite(v)]
    mean_is = float(np.mean(finite_is)) if finite_is else math.nan
    oos_metrics = {
        "bars": int(returns.size),
        "windows": len(windows),
        "initial_cash": initial,
        "final_equity": float(equity[-1]),
        "total_return": total_return(returns),
        "annualised_return": oos_cagr,
        "annualised_volatility": annual_volatility(returns, ann),
        "sharpe": sharpe_ratio(returns, ann),
        "sortino": sortino_ratio(returns, ann),
        "max_drawdown": max_drawdown(returns),
        "mean_in_sample_annualised_return": mean_is,
        "walk_forward_efficiency": oos_cagr / mean_is if mean_is and mean_is > 0 else None,
    }
    WalkForward.objects.filter(pk=study.pk).update(
        status=RunStatus.SUCCEEDED,
        windows=clean_json(rows),
        oos_metrics=clean_json(oos_metrics),
        oos_equity=pack_arrays(timestamps=stamps, equity=equity),
        candles_sha256=loaded.digest,
        finished_at=timezone.now(),
    )
    return clean_json(
        {
            "study_id": str(study.pk),
            "windows": len(windows),
            "final_equity": float(equity[-1]),
            "walk_forward_efficiency": oos_metrics["walk_forward_efficiency"],
        }
    )
