"""Backtest runs: start one (checked, queued as a job), execute it (the job's body), re-run it.

``backtest_start`` checks everything it can synchronously (strategy, parameters, config,
style, series, the range: empty or gapped) so the API answers 4xx before a job exists. The job
(``backtest_execute``) loads the candles, checks the range again on what it loaded, runs the
engine, runs the bias checks and stores the results. Any failure is stored on the run and the
job with a stable code; the worker carries on with its next message.
"""

from collections.abc import Callable
from typing import Any

from django.db import transaction
from django.utils import timezone

from domains.data.models import BacktestRun, RunStatus
from domains.data.services.backtests.bias import lookahead_report, warmup_report
from domains.data.services.backtests.candles import check_range, load_bars
from domains.data.services.backtests.errors import NotFinished, NotReproducible, from_quant
from domains.data.services.backtests.manifest import build_manifest, clean_json, equity_sha256
from domains.data.services.backtests.rerun import compare_runs
from domains.data.services.backtests.spec import (
    RunSpec,
    checked_params,
    checked_style,
    engine_config,
    series_keys,
    strategy_class,
)
from domains.data.services.backtests.store import run_save_result
from dsta.kernel.errors import DstaError
from dsta.kernel.jobs.api import JobCancelled, start_job
from dsta.quant import QuantError, run_backtest
from dsta.quant.metrics import summary, symbol_attribution

RUN_JOB_KIND = "data.backtest.run"
Progress = Callable[[int, int, str], None]
STEPS = 5


def _no_progress(done: int, total: int, message: str) -> None:
    """Progress sink for runs nobody watches."""


def _not_cancelled() -> None:
    """Cancellation check for runs that cannot be cancelled (the command line)."""


def backtest_create(*, spec: RunSpec, owner_id: int | None, check: bool = True) -> BacktestRun:
    """A queued run row for ``spec`` (no job yet); ``check`` runs the range check first."""
    if check:
        check_range(
            series=spec.series,
            start_ms=spec.start_ms,
            end_ms=spec.end_ms,
            allow_gaps=spec.allow_gaps,
        )
    return BacktestRun.objects.create(
        owner_id=owner_id,
        strategy=spec.strategy,
        params=clean_json(spec.params),
        series=spec.series_dicts(),
        start_ms=spec.start_ms,
        end_ms=spec.end_ms,
        config=spec.config,
        style=spec.style,
        allow_gaps=spec.allow_gaps,
        bias_checks=spec.bias_checks,
        seed=spec.seed,
    )


def _queue(run: BacktestRun, owner_id: int | None) -> BacktestRun:
    info = start_job(RUN_JOB_KIND, params={"run_id": str(run.id)}, owner_id=owner_id)
    BacktestRun.objects.filter(pk=run.pk).update(job_id=info.id)
    run.job_id = info.id
    return run


def backtest_start(*, spec: RunSpec, owner_id: int | None) -> BacktestRun:
    """Check ``spec`` against the stored candles and queue the run as a job."""
    with transaction.atomic():
        run = backtest_create(spec=spec, owner_id=owner_id)
        return _queue(run, owner_id)


def backtest_rerun_start(*, original: BacktestRun, owner_id: int | None) -> BacktestRun:
    """Queue a run of ``original``'s manifest; its job compares the results with the original."""
    if original.status != RunStatus.SUCCEEDED or not original.manifest:
        raise NotFinished(
            f"backtest {original.id} has not succeeded (status {original.status}): "
            "there is nothing to reproduce",
            details={"status": original.status},
        )
    manifest = original.manifest
    cls = strategy_class(manifest["strategy"]["name"])
    params = checked_params(cls, manifest["strategy"]["params"])
    engine = manifest["engine"]
    data = manifest["data"]
    with transaction.atomic():
        run = BacktestRun.objects.create(
            owner_id=owner_id,
            strategy=cls.name,
            params=clean_json(params),
            series=data["series"],
            start_ms=data["start_ms"],
            end_ms=data["end_ms"],
            config=engine["config"],
            style=engine["style"],
            allow_gaps=data["allow_gaps"],
            bias_checks=original.bias_checks,
            seed=manifest.get("seed", 0),
            rerun_of=original,
        )
        return _queue(run, owner_id)


def _fail(run: BacktestRun, code: str, message: str, details: Any = None) -> None:
    BacktestRun.objects.filter(pk=run.pk).update(
        status=RunStatus.FAILED,
        error=clean_json({"code": code, "message": message, "details": details}),
        finished_at=timezone.now(),
    )


def backtest_execute(
    *,
    run_id: str,
    progress: Progress | None = None,
    check_cancelled: Callable[[], None] | None = None,
) -> dict[str, Any]:
    """Run a stored run (the body of the ``data.backtest.run`` job) and store its results.

    Errors are stored on the run and raised as kernel errors (so the job stores the same code):
    dsta.quant's errors keep their codes (``unknown_strategy``, ``invalid_parameters``,
    ``strategy_failed``, ``lookahead_detected``...); range problems are ``empty_range`` and
    ``gapped_range``; a rerun whose results differ is ``not_reproducible``.
    """
    run = BacktestRun.objects.get(pk=run_id)
    BacktestRun.objects.filter(pk=run.pk).update(status=RunStatus.RUNNING)
    try:
        return _execute(run, progress or _no_progress, check_cancelled or _not_cancelled)
    except JobCancelled:
        BacktestRun.objects.filter(pk=run.pk).update(
            status=RunStatus.CANCELLED, finished_at=timezone.now()
        )
        raise
    except QuantError as error:
        failure = from_quant(error)
    except NotReproducible:
        raise  # already stored with the results
    except DstaError as error:
        failure = error
    except Exception as error:
        _fail(run, "internal_error", f"{type(error).__name__}: {error}")
        raise
    _fail(run, failure.code, failure.message, failure.details)
    raise failure from None


def _execute(
    run: BacktestRun, progress: Progress, check_cancelled: Callable[[], None]
) -> dict[str, Any]:
    cls = strategy_class(run.strategy)
    params = checked_params(cls, run.params)
    config = engine_config(run.config)
    style = checked_style(cls, run.style)
    keys = series_keys(run.series)
    progress(0, STEPS, "loading candles")
    loaded = load_bars(
        series=keys, start_ms=run.start_ms, end_ms=run.end_ms, allow_gaps=run.allow_gaps
    )
    check_cancelled()
    progress(1, STEPS, f"running {cls.name} on {len(loaded.bars)} bars")
    result = run_backtest(
        cls, loaded.bars, params, config, style=style, check_lookahead=run.bias_checks
    )
    check_cancelled()
    progress(2, STEPS, "bias checks")
    bias: dict[str, Any] = {"engine_guard": result.manifest.get("lookahead_check")}
    if run.bias_checks:
        bias["lookahead"] = lookahead_report(cls, loaded.bars, params, config, style=style)
        bias["warmup"] = warmup_report(cls, loaded.bars, params, result)
    else:
        bias["skipped"] = "bias checks turned off for this run"
    check_cancelled()
    progress(3, STEPS, "metrics")
    metrics = {**summary(result), "symbols": symbol_attribution(result)}
    manifest = build_manifest(
        cls=cls,
        engine_manifest=result.manifest,
        series=[key.as_dict() for key in keys],
        first_ms=loaded.first_ms,
        end_ms=loaded.end_ms,
        bars=len(loaded.bars),
        candles_sha256=loaded.digest,
        seed=run.seed,
        allow_gaps=run.allow_gaps,
        gaps=loaded.gaps,
        dropped_bars=loaded.dropped_bars,
    )
    reproduction = None
    error = None
    status = RunStatus.SUCCEEDED
    if run.rerun_of_id is not None:
        original = BacktestRun.objects.get(pk=run.rerun_of_id)
        reproduction = compare_runs(
            original=original,
            manifest=manifest,
            metrics=clean_json(metrics),
            equity_sha256=equity_sha256(result.equity),
        )
        if not reproduction["identical"]:
            status = RunStatus.FAILED
            error = {
                "code": NotReproducible.code,
                "message": reproduction["message"],
                "details": {"mismatches": reproduction["mismatches"]},
            }
    progress(4, STEPS, "storing results")
    digest = run_save_result(
        run=run,
        result=result,
        manifest=manifest,
        metrics=metrics,
        bias=bias,
        candles_sha256=loaded.digest,
        status=status,
        error=clean_json(error),
        reproduction=reproduction,
    )
    progress(STEPS, STEPS, "done")
    if error is not None:
        raise NotReproducible(error["message"], details=error["details"])
    return {
        "run_id": str(run.id),
        "equity_sha256": digest,
        "candles_sha256": loaded.digest,
        "bars": len(loaded.bars),
        "final_equity": float(result.equity[-1]),
        "trades": int(result.trades.size),
        "reproduced": None if reproduction is None else reproduction["identical"],
    }
