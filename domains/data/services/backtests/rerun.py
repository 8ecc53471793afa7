"""Re-running a run from its manifest, and the comparison that says whether it reproduced.

A rerun takes everything from the original's manifest: the strategy and its full parameters,
the series and the exact range of candles used (not the range asked for, which may since hold
more candles), the engine config and style, and the seed. Its results must be identical: the
same metrics and, bit for bit, the same equity curve (sha256). When they are not, the inputs
that changed are named: the candles (their sha256 differs: data was corrected or re-ingested),
the strategy's code or version, the engine version.
"""

from typing import Any

from domains.data.models import BacktestResult, BacktestRun

_INPUTS = (
    (("data", "candles_sha256"), "candles", "the candles changed since the original run"),
    (("strategy", "code_sha256"), "strategy_code", "the strategy's class source changed"),
    (("strategy", "module_sha256"), "strategy_module", "the strategy's module source changed"),
    (("strategy", "version"), "strategy_version", "the strategy's version changed"),
    (("engine", "version"), "engine_version", "the engine version changed"),
    (("environment", "numpy"), "numpy", "numpy's version changed"),
    (("environment", "numba"), "numba", "numba's version changed"),
)


def _get(manifest: dict[str, Any], path: tuple[str, str]) -> Any:
    section = manifest.get(path[0]) or {}
    return section.get(path[1]) if isinstance(section, dict) else None


def _short(value: Any) -> str:
    text = str(value)
    return text[:12] if len(text) == 64 else text


def compare_runs(
    *,
    original: BacktestRun,
    manifest: dict[str, Any],
    metrics: dict[str, Any],
    equity_sha256: str,
) -> dict[str, Any]:
    """Compare a rerun (its cleaned manifest, metrics and equity hash) with ``original``.

    ``identical`` is about results (metrics and equity hash); ``changed_inputs`` names the
    inputs that differ, which explain a mismatch (or, with identical results, are harmless).
    """
    stored = BacktestResult.objects.filter(run=original).values_list("equity_sha256", flat=True)
    original_equity = stored.first()
    changed_inputs: list[dict[str, Any]] = []
    for path, name, text in _INPUTS:
        before, after = _get(original.manifest, path), _get(manifest, path)
        if before != after:
            changed_inputs.append(
                {
                    "input": name,
                    "original": before,
                    "rerun": after,
                    "message": f"{text}: {_short(before)} then, {_short(after)} now",
                }
            )
    differing = sorted(
        key
        for key in set(original.metrics) | set(metrics)
        if original.metrics.get(key) != metrics.get(key)
    )
    mismatches: list[dict[str, Any]] = []
    if original_equity != equity_sha256:
        mismatches.append(
            {
                "what": "equity",
                "original": original_equity,
                "rerun": equity_sha256,
                "message": f"equity curve differs (sha256 {_short(original_equity)} then, "
                f"{_short(equity_sha256)} now)",
            }
        )
    if differing:
        mismatches.append(
            {
                "what": "metrics",
                "keys": differing,
                "original": {key: original.metrics.get(key) for key in differing[:10]},
                "rerun": {key: metrics.get(key) for key in differing[:10]},
                "message": f"metrics differ: {', '.join(differing[:10])}",
            }
        )
    identical = not mismatches
    causes = "; ".join(str(item["message"]) for item in changed_inputs)
    if identical:
        summary = "identical results: same metrics and equity sha256"
        if changed_inputs:
            summary += f" (although {causes})"
    else:
        summary = "; ".join(str(item["message"]) for item in mismatches)
        summary += f". Because {causes}" if causes else ". No recorded input changed"
    return {
        "original_run": str(original.id),
        "identical": identical,
        "equity_sha256": {"original": original_equity, "rerun": equity_sha256},
        "candles_sha256": {
            "original": _get(original.manifest, ("data", "candles_sha256")),
            "rerun": _get(manifest, ("data", "candles_sha256")),
        },
        "mismatches": mismatches,
        "changed_inputs": changed_inputs,
        "message": summary,
    }
