"""Writing a finished run: its arrays (one npz blob), its trades (rows), manifest and metrics."""

from typing import Any

import numpy as np
from django.db import transaction
from django.utils import timezone

from domains.data.models import BacktestResult, BacktestRun, BacktestTrade, RunStatus
from domains.data.services.backtests.manifest import clean_json, equity_sha256
from domains.data.services.backtests.selectors import pack_arrays
from dsta.quant import BacktestResult as QuantResult
from dsta.quant.engine.layout import REASON_NAMES

TRADE_BATCH = 2_000


def result_arrays(result: QuantResult) -> dict[str, np.ndarray]:
    """The per-bar arrays and logs stored with a run."""
    return {
        "timestamps": result.timestamps,
        "equity": result.equity,
        "cash": result.cash,
        "positions": result.positions,
        "close": result.close,
        "fills": result.fills,
        "orders": result.orders,
    }


def _trade_rows(run: BacktestRun, result: QuantResult) -> list[BacktestTrade]:
    rows = []
    for number, trade in enumerate(result.trades):
        reason = int(trade["exit_reason"])
        rows.append(
            BacktestTrade(
                run=run,
                number=number,
                symbol=result.symbols[int(trade["symbol"])],
                direction=int(trade["direction"]),
                entry_bar=int(trade["entry_bar"]),
                exit_bar=int(trade["exit_bar"]),
                entry_time_ms=int(trade["entry_time_ms"]),
                exit_time_ms=int(trade["exit_time_ms"]),
                size=float(trade["size"]),
                entry_price=float(trade["entry_price"]),
                exit_price=float(trade["exit_price"]),
                fees=float(trade["fees"]),
                pnl=float(trade["pnl"]),
                return_pct=float(trade["return"]),
                is_open=bool(trade["is_open"]),
                exit_reason=REASON_NAMES[reason] if 0 <= reason < len(REASON_NAMES) else "",
            )
        )
    return rows


def run_save_result(
    *,
    run: BacktestRun,
    result: QuantResult,
    manifest: dict[str, Any],
    metrics: dict[str, Any],
    bias: dict[str, Any],
    candles_sha256: str,
    status: str = RunStatus.SUCCEEDED,
    error: dict[str, Any] | None = None,
    reproduction: dict[str, Any] | None = None,
) -> str:
    """Store everything a finished run produced in one transaction; returns the equity hash."""
    digest = equity_sha256(result.equity)
    with transaction.atomic():
        BacktestResult.objects.filter(run=run).delete()
        BacktestTrade.objects.filter(run=run).delete()
        BacktestResult.objects.create(
            run=run,
            arrays=pack_arrays(**result_arrays(result)),
            bars=len(result.timestamps),
            symbols=list(result.symbols),
            equity_sha256=digest,
            candles_sha256=candles_sha256,
        )
        BacktestTrade.objects.bulk_create(_trade_rows(run, result), batch_size=TRADE_BATCH)
        run.manifest = clean_json(manifest)
        run.metrics = clean_json(metrics)
        run.bias = clean_json(bias)
        run.status = status
        run.error = error
        run.reproduction = clean_json(reproduction) if reproduction is not None else None
        run.finished_at = timezone.now()
        run.save(
            update_fields=[
                "manifest",
                "metrics",
                "bias",
                "status",
                "error",
                "reproduction",
                "finished_at",
            ]
        )
    return digest
