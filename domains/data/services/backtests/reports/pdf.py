"""The PDF export: matplotlib's PDF backend (pure Python wheels, no GUI, no browser).

Page 1 is the text summary (setup, metrics, bias checks); then equity and drawdown, the
monthly-returns heat map, trades on price and the Monte Carlo fan. Figures are built with the
object API (``Figure``), never ``pyplot``: no global state, safe in worker threads.
"""

import io
from datetime import UTC, datetime

import numpy as np
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.colors import TwoSlopeNorm
from matplotlib.figure import Figure

from domains.data.services.backtests.reports.content import ReportContent
from domains.data.services.backtests.reports.html import METRIC_ROWS, MONTHS, fmt
from domains.data.services.validation import iso

A4_LANDSCAPE = (11.69, 8.27)


def _dates(ms: np.ndarray) -> np.ndarray:
    return np.array([datetime.fromtimestamp(t / 1000, tz=UTC) for t in ms])


def _summary_page(content: ReportContent) -> Figure:
    run = content.run
    manifest = run.manifest
    data, strategy, engine = manifest["data"], manifest["strategy"], manifest["engine"]
    figure = Figure(figsize=A4_LANDSCAPE)
    title = f"Backtest {strategy['name']} on {', '.join(data['symbols'])} {data['timeframe']}"
    figure.text(0.05, 0.94, title, fontsize=16, weight="bold")
    setup = [
        f"Strategy: {strategy['name']} v{strategy['version']}",
        "Parameters: " + (", ".join(f"{k}={v}" for k, v in strategy["params"].items()) or "-"),
        f"Range: {iso(data['start_ms'])} to {iso(data['end_ms'])} ({data['bars']:,} bars)",
        f"Fill timing: {engine['fill_timing']}   style: {engine['style']}",
        "Fees maker/taker: {maker} / {taker}".format(**engine["config"]["fees"]),
        f"Engine: {engine['name']} {engine['version']}",
        # Hashes shortened to fit beside the metrics (the HTML report and the API have them whole).
        f"Candles sha256: {data['candles_sha256'][:24]}...",
        f"Strategy code sha256: {strategy['code_sha256'][:24]}...",
        f"Run id: {run.id}",
    ]
    metrics = [f"{label}: {fmt(run.metrics.get(key), kind)}" for key, label, kind in METRIC_ROWS]
    bias = run.bias or {}
    checks = []
    for name, key in (("Lookahead", "lookahead"), ("Warm-up", "warmup")):
        check = bias.get(key) or {}
        passed = check.get("passed")
        verdict = "passed" if passed else ("n/a" if passed is None else "FAILED")
        checks.append(f"{name}: {verdict} {check.get('message') or check.get('skipped') or ''}")
    y = 0.86
    for line in setup:
        figure.text(0.05, y, line, fontsize=9, family="monospace")
        y -= 0.032
    y -= 0.02
    figure.text(0.05, y, "Bias checks", fontsize=11, weight="bold")
    y -= 0.035
    for line in checks:
        figure.text(0.05, y, line[:110], fontsize=8.5)
        y -= 0.03
    figure.text(0.64, 0.86, "Performance", fontsize=11, weight="bold")
    y = 0.82
    for line in metrics:
        figure.text(0.64, y, line, fontsize=9)
        y -= 0.032
    for i, note in enumerate(content.notes):
        figure.text(0.05, 0.05 + 0.025 * i, note, fontsize=8, color="#666666")
    return figure


def _equity_page(content: ReportContent) -> Figure:
    figure = Figure(figsize=A4_LANDSCAPE)
    top, bottom = figure.subplots(2, 1, sharex=True, height_ratios=(2, 1))
    when = _dates(content.timestamps)
    top.plot(when, content.equity, color="#1f5fa8", linewidth=1)
    top.set_title("Equity")
    top.grid(alpha=0.3)
    bottom.fill_between(when, content.drawdown * 100, 0, color="#b03a2e", alpha=0.4)
    bottom.set_title("Drawdown (%)")
    bottom.grid(alpha=0.3)
    figure.autofmt_xdate()
    return figure


def _monthly_page(content: ReportContent) -> Figure:
    figure = Figure(figsize=A4_LANDSCAPE)
    axes = figure.subplots()
    table = content.monthly
    values = table[list(range(1, 13))].to_numpy(dtype=float) * 100
    finite = values[np.isfinite(values)]
    scale = float(np.abs(finite).max()) if finite.size else 1.0
    image = axes.imshow(
        np.ma.masked_invalid(values),
        cmap="RdYlGn",
        norm=TwoSlopeNorm(vcenter=0.0, vmin=-scale or -1.0, vmax=scale or 1.0),
        aspect="auto",
    )
    axes.set_xticks(range(12), MONTHS)
    axes.set_yticks(range(len(table.index)), [str(y) for y in table.index])
    for (row, column), value in np.ndenumerate(values):
        if np.isfinite(value):
            axes.text(column, row, f"{value:.1f}", ha="center", va="center", fontsize=8)
    axes.set_title("Monthly returns (%)")
    figure.colorbar(image, ax=axes)
    return figure


def _price_page(content: ReportContent) -> Figure:
    figure = Figure(figsize=A4_LANDSCAPE)
    axes = figure.subplots()
    axes.plot(_dates(content.price_times), content.price, color="#555555", linewidth=0.8)
    longs = [(t, p) for t, p, d in content.entries if d > 0]
    shorts = [(t, p) for t, p, d in content.entries if d < 0]
    for points, marker, colour in ((longs, "^", "#1e8449"), (shorts, "v", "#b03a2e")):
        if points:
            times, prices = zip(*points, strict=True)
            axes.scatter(_dates(np.array(times)), prices, marker=marker, color=colour, s=22)
    if content.exits:
        times, prices = zip(*content.exits, strict=True)
        axes.scatter(
            _dates(np.array(times)), prices, marker="o", facecolors="none",
            edgecolors="#7d3c98", s=18,
        )  # fmt: skip
    axes.set_title(f"{content.price_symbol} close with trades")
    axes.grid(alpha=0.3)
    figure.autofmt_xdate()
    return figure


def _fan_page(content: ReportContent) -> Figure | None:
    summary = content.monte_carlo
    if not summary:
        return None
    fan = summary["fan"]
    x = np.asarray(fan["x"], dtype=float)
    if summary["method"] == "returns_bootstrap":
        x = _dates(x)
    figure = Figure(figsize=A4_LANDSCAPE)
    axes = figure.subplots()
    axes.fill_between(x, fan["p5"], fan["p95"], color="#1f5fa8", alpha=0.18, label="5-95%")
    axes.fill_between(x, fan["p25"], fan["p75"], color="#1f5fa8", alpha=0.35, label="25-75%")
    axes.plot(x, fan["p50"], color="#1f5fa8", linewidth=1.2, label="median")
    axes.plot(x, fan["actual"], color="#111111", linewidth=1, linestyle="--", label="this run")
    axes.set_title(
        f"Monte Carlo fan: {summary['method']}, {summary['n_sims']} paths, seed {summary['seed']}; "
        f"P(ruin) = {summary['probability_of_ruin'] * 100:.1f}%"
    )
    axes.legend(loc="upper left")
    axes.grid(alpha=0.3)
    return figure


def render_pdf(content: ReportContent) -> bytes:
    """The report as PDF bytes."""
    buffer = io.BytesIO()
    metadata = {"Title": f"Backtest {content.run.id}", "Creator": "DSTA"}
    with PdfPages(buffer, metadata=metadata) as pdf:
        for page in (
            _summary_page(content),
            _equity_page(content),
            _monthly_page(content),
            _price_page(content),
            _fan_page(content),
        ):
            if page is not None:
                pdf.savefig(page)
    return buffer.getvalue()
