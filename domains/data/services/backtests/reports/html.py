"""The self-contained HTML report: inline CSS and inline SVG, no script, no external reference.

It opens offline from a file, an e-mail attachment or object storage alike.
"""

from html import escape
from typing import Any

import numpy as np

from domains.data.services.backtests.reports import svg
from domains.data.services.backtests.reports.content import ReportContent
from domains.data.services.validation import iso

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px;color:#222;
max-width:960px}
h1{font-size:22px;margin-bottom:4px}h2{font-size:17px;margin-top:28px;border-bottom:1px solid
#ddd;padding-bottom:4px}.sub{color:#666;font-size:13px}table{border-collapse:collapse;
font-size:13px}td,th{padding:3px 8px;border:1px solid #e3e3e3;text-align:right}
th{background:#f6f6f6}td.l,th.l{text-align:left}.ok{color:#1e8449}.bad{color:#b03a2e}
.grid{display:grid;grid-template-columns:1fr 1fr;gap:0 24px}.note{color:#666;font-size:12px}
"""

# (key, label, kind): kind says how to print the value.
METRIC_ROWS = (
    ("initial_cash", "Initial cash", "money"),
    ("final_equity", "Final equity", "money"),
    ("total_return", "Total return", "pct"),
    ("annualised_return", "Annualised return (CAGR)", "pct"),
    ("annualised_volatility", "Annualised volatility", "pct"),
    ("sharpe", "Sharpe", "num"),
    ("sortino", "Sortino", "num"),
    ("calmar", "Calmar", "num"),
    ("max_drawdown", "Max drawdown", "pct"),
    ("max_drawdown_bars", "Max drawdown duration (bars)", "int"),
    ("trades", "Closed trades", "int"),
    ("open_trades", "Open trades", "int"),
    ("win_rate", "Win rate", "pct"),
    ("profit_factor", "Profit factor", "num"),
    ("expectancy", "Expectancy (per trade)", "money"),
    ("exposure", "Exposure", "pct"),
    ("turnover", "Turnover", "num"),
    ("fees_paid", "Fees paid", "money"),
)


def fmt(value: Any, kind: str) -> str:
    """A metric for people (None: "-", infinities spelled out)."""
    if value is None:
        return "-"
    if isinstance(value, str):
        return "∞" if value == "inf" else ("-∞" if value == "-inf" else value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if kind == "pct":
        return f"{value * 100:.2f}%"
    if kind == "money":
        return f"{value:,.2f}"
    if kind == "int":
        return f"{int(value):,}"
    return f"{value:.3f}"


def _table(rows: list[tuple[str, str]]) -> str:
    body = "".join(f'<tr><th class="l">{escape(k)}</th><td>{escape(v)}</td></tr>' for k, v in rows)
    return f"<table>{body}</table>"


def _monthly_table(content: ReportContent) -> str:
    table = content.monthly
    values = table.to_numpy(dtype=float)
    finite = values[np.isfinite(values)]
    scale = float(np.abs(finite).max()) if finite.size else 0.0
    head = "".join(f"<th>{m}</th>" for m in MONTHS) + "<th>Year</th>"
    rows = []
    for year, row in table.iterrows():
        cells = []
        for column in [*range(1, 13), "year"]:
            value = row[column]
            shown = "" if not np.isfinite(value) else f"{value * 100:.1f}%"
            colour = svg.heat_colour(float(value), scale)
            cells.append(f'<td style="background:{colour}">{shown}</td>')
        rows.append(f'<tr><th class="l">{year}</th>{"".join(cells)}</tr>')
    return f'<table><tr><th class="l">Year</th>{head}</tr>{"".join(rows)}</table>'


def _check(name: str, check: dict[str, Any] | None) -> tuple[str, str]:
    if not check:
        return name, "not run"
    passed = check.get("passed")
    verdict = "passed" if passed else ("not applicable" if passed is None else "FAILED")
    detail = check.get("message") or check.get("skipped") or ""
    if isinstance(check.get("error"), dict):
        detail = check["error"].get("message", "")
    return name, f"{verdict}: {detail}" if detail else verdict


def _monte_carlo(summary: dict[str, Any] | None) -> str:
    if not summary:
        return '<p class="note">No Monte Carlo study.</p>'
    fan = summary["fan"]
    time_axis = summary["method"] == "returns_bootstrap"
    chart = svg.fan_chart(
        np.asarray(fan["x"], dtype=float),
        {k: np.asarray(fan[k], dtype=float) for k in ("p5", "p25", "p50", "p75", "p95")},
        np.asarray(fan["actual"], dtype=float),
        title="Monte Carlo fan",
        time_axis=time_axis,
    )
    final, drawdown = summary["final_equity"], summary["max_drawdown"]
    rows = [
        ("Method", f"{summary['method']} ({summary['n_sims']} paths, seed {summary['seed']})"),
        (
            "Final equity p5 / p50 / p95",
            f"{fmt(final['p5'], 'money')} / {fmt(final['p50'], 'money')} / "
            f"{fmt(final['p95'], 'money')}",
        ),
        (
            "Max drawdown p5 / p50 / p95",
            f"{fmt(drawdown['p5'], 'pct')} / {fmt(drawdown['p50'], 'pct')} / "
            f"{fmt(drawdown['p95'], 'pct')}",
        ),
        (
            f"Probability of ruin (equity <= {summary['ruin_level'] * 100:.0f}% of start)",
            fmt(summary["probability_of_ruin"], "pct"),
        ),
    ]
    axis = "time" if time_axis else "trade number"
    return (
        f"{chart}<p class='note'>Bands: 5-95 and 25-75 percentiles, line: median, dashed: "
        f"the run itself; x axis: {axis}.</p>{_table(rows)}"
    )


def render_html(content: ReportContent) -> str:
    """The report as one HTML document (UTF-8)."""
    run = content.run
    manifest = run.manifest
    data, strategy, engine = manifest["data"], manifest["strategy"], manifest["engine"]
    metrics = run.metrics
    title = f"Backtest {strategy['name']} on {', '.join(data['symbols'])} {data['timeframe']}"
    equity_chart = svg.line_chart(
        content.timestamps.astype(float),
        [("equity", content.equity, svg.LINE)],
        title="Equity",
    )
    drawdown_chart = svg.area_chart(
        content.timestamps.astype(float), content.drawdown, title="Drawdown"
    )
    price_chart = svg.price_with_trades(
        content.price_times.astype(float),
        content.price,
        content.entries,
        content.exits,
        title=f"{content.price_symbol} close with trades",
    )
    metric_rows = [(label, fmt(metrics.get(key), kind)) for key, label, kind in METRIC_ROWS]
    setup_rows = [
        ("Strategy", f"{strategy['name']} v{strategy['version']}"),
        ("Parameters", ", ".join(f"{k}={v}" for k, v in strategy["params"].items()) or "-"),
        ("Symbols", ", ".join(data["symbols"])),
        ("Range", f"{iso(data['start_ms'])} to {iso(data['end_ms'])} ({data['bars']:,} bars)"),
        ("Fill timing", engine["fill_timing"]),
        ("Style", engine["style"]),
        ("Fees (maker / taker)", "{maker} / {taker}".format(**engine["config"]["fees"])),
        ("Engine", f"{engine['name']} {engine['version']}"),
        ("Candles sha256", data["candles_sha256"]),
        ("Strategy code sha256", strategy["code_sha256"]),
        ("Run id", str(run.id)),
    ]
    bias = run.bias or {}
    bias_rows = [
        _check("Lookahead (truncation)", bias.get("lookahead")),
        _check("Indicator warm-up", bias.get("warmup")),
    ]
    attribution = metrics.get("symbols") or []
    attribution_rows = "".join(
        f'<tr><td class="l">{escape(str(row["symbol"]))}</td><td>{fmt(row["pnl"], "money")}</td>'
        f"<td>{fmt(row['fees'], 'money')}</td><td>{fmt(row['trades'], 'int')}</td>"
        f"<td>{fmt(row['win_rate'], 'pct')}</td></tr>"
        for row in attribution
    )
    notes = "".join(f'<p class="note">{escape(n)}</p>' for n in content.notes)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)}</title><style>{CSS}</style></head>
<body>
<h1>{escape(title)}</h1>
<p class="sub">Range {escape(iso(data["start_ms"]))} to {escape(iso(data["end_ms"]))};
generated by DSTA. All times UTC.</p>
<div class="grid"><div><h2>Performance</h2>{_table(metric_rows)}</div>
<div><h2>Setup</h2>{_table(setup_rows)}<h2>Bias checks</h2>{_table(bias_rows)}</div></div>
<h2>Equity</h2>{equity_chart}
<h2>Drawdown</h2>{drawdown_chart}
<h2>Monthly returns</h2>{_monthly_table(content)}
<h2>Trades on price</h2>{price_chart}
<p class="note">Triangles: entries (up long, down short); circles: exits.
{content.trades_shown} of {content.trades_total} trades of {escape(content.price_symbol)} shown.</p>
<h2>Per-symbol attribution</h2>
<table><tr><th class="l">Symbol</th><th>PnL</th><th>Fees</th><th>Trades</th><th>Win rate</th>
</tr>{attribution_rows}</table>
<h2>Monte Carlo</h2>{_monte_carlo(content.monte_carlo)}
{notes}
</body></html>
"""
