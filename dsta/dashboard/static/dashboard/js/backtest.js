// The backtest wire shapes (domains/data/http/backtest_*.py, docs/domains/data.md
// "Backtesting") turned into what the backtests panel shows. One place to adapt when the
// endpoints change. Metrics are fractions (0.12 = 12 %); NaN arrives as null and infinity as
// "inf" / "-inf" (JSON has neither).

import { formatNumber, formatPercent, formatPrice } from "./format.js";

export const ACTIVE_RUN_STATUSES = new Set(["queued", "running"]);

/** The headline metrics, in the order they are shown: key, label, kind, whether higher is better. */
export const METRICS = [
  { key: "total_return", label: "Total return", kind: "pct-signed", good: "high" },
  { key: "annualised_return", label: "Annualised", kind: "pct-signed", good: "high" },
  { key: "sharpe", label: "Sharpe", kind: "ratio", good: "high" },
  { key: "sortino", label: "Sortino", kind: "ratio", good: "high" },
  { key: "calmar", label: "Calmar", kind: "ratio", good: "high" },
  { key: "max_drawdown", label: "Max drawdown", kind: "pct", good: "none" },
  { key: "trades", label: "Trades", kind: "int", good: "none" },
  { key: "win_rate", label: "Win rate", kind: "pct", good: "none" },
  { key: "profit_factor", label: "Profit factor", kind: "ratio", good: "none" },
  { key: "expectancy", label: "Expectancy", kind: "money", good: "high" },
  { key: "final_equity", label: "Final equity", kind: "money", good: "none" },
  { key: "annualised_volatility", label: "Volatility", kind: "pct", good: "none" },
  { key: "exposure", label: "Exposure", kind: "pct", good: "none" },
  { key: "fees_paid", label: "Fees paid", kind: "money", good: "none" },
];

/** A metric value as a number: null stays null, "inf" and "-inf" become infinities. */
export function metricNumber(value) {
  if (value === "inf") return Infinity;
  if (value === "-inf") return -Infinity;
  if (typeof value === "number") return value;
  if (typeof value === "string" && value.trim() !== "" && Number.isFinite(Number(value))) return Number(value);
  return null;
}

/** One metric as text ("12.34%", "1.52", "∞"). */
export function formatMetric(value, kind) {
  const number = metricNumber(value);
  if (number === null || Number.isNaN(number)) return "–";
  if (!Number.isFinite(number)) return number > 0 ? "∞" : "−∞";
  switch (kind) {
    case "pct-signed": return formatPercent(number, { signed: true });
    case "pct": return formatPercent(number);
    case "int": return Math.round(number).toLocaleString();
    case "money": return formatNumber(number, 2);
    default: return formatNumber(number, 2);
  }
}

/**
 * The metrics the run has, as rows {key, label, text, tone}; tone is "up"/"down" for metrics
 * where the sign means something (returns, ratios), "" otherwise. Keys the API did not send
 * are left out (an older run, another engine version).
 */
export function metricRows(metrics) {
  if (!metrics || typeof metrics !== "object") return [];
  return METRICS.filter((metric) => metric.key in metrics).map((metric) => {
    const number = metricNumber(metrics[metric.key]);
    let tone = "";
    if (metric.good === "high" && number !== null && number !== 0) tone = number > 0 ? "up" : "down";
    if (metric.key === "max_drawdown" && number !== null && number < 0) tone = "down";
    return { key: metric.key, label: metric.label, text: formatMetric(metrics[metric.key], metric.kind), tone };
  });
}

/** [[open_time_ms, value], ...] (values may be null) -> chart points [{t, v}]. */
export function curvePoints(pairs) {
  if (!Array.isArray(pairs)) return [];
  const points = [];
  for (const pair of pairs) {
    if (!Array.isArray(pair) || pair.length < 2) continue;
    const t = Number(pair[0]);
    const v = metricNumber(pair[1]);
    if (Number.isFinite(t) && v !== null && Number.isFinite(v)) points.push({ t, v });
  }
  return points;
}

/** "sma_crossover fast=10 slow=50". */
export function runTitle(run) {
  const params = Object.entries(run?.params ?? {}).map(([name, value]) => `${name}=${value}`);
  return [run?.strategy ?? "?", ...params].join(" ");
}

/** "binance BTC/USDT 1m" from a run summary (symbols, timeframe) or a run body (series). */
export function runMarket(run) {
  if (Array.isArray(run?.series) && run.series.length) {
    const first = run.series[0];
    const symbols = run.series.map((series) => series.symbol).join(", ");
    return [first.venue, symbols, first.timeframe].filter(Boolean).join(" ");
  }
  const symbols = (run?.symbols ?? []).filter(Boolean).join(", ");
  return [symbols, run?.timeframe].filter(Boolean).join(" ");
}

/** A money axis label for equity (no currency: the run's quote currency). */
export function formatEquity(value) {
  return formatPrice(value);
}

/** A drawdown axis label: -0.1234 -> "-12.3%". */
export function formatDrawdown(value) {
  return formatPercent(value, { digits: Math.abs(value) < 0.01 && value !== 0 ? 2 : 1 });
}

/**
 * The body of POST /api/v1/backtest/run from the form's values. Empty parameter fields are
 * left out (the strategy's defaults apply); integers and floats are parsed by declaration.
 */
export function runRequest({ strategy, declarations = {}, values = {}, series, start, end, initialCash, allowGaps }) {
  const params = {};
  for (const [name, declaration] of Object.entries(declarations)) {
    const raw = values[name];
    if (raw === undefined || raw === null || String(raw).trim() === "") continue;
    if (declaration.type === "IntParam") params[name] = Number.parseInt(raw, 10);
    else if (declaration.type === "FloatParam") params[name] = Number(raw);
    else params[name] = raw;
    // Not a number: send the text, so the API names the parameter in its refusal.
    if (typeof params[name] === "number" && !Number.isFinite(params[name])) params[name] = String(raw);
  }
  const body = {
    strategy,
    params,
    series: {
      venue: series.venue, symbol: series.symbol, timeframe: series.timeframe,
      market_type: series.marketType ?? "spot", price_type: series.priceType ?? "trades",
    },
    allow_gaps: Boolean(allowGaps),
  };
  if (start) body.start = start;
  if (end) body.end = end;
  if (initialCash !== undefined && initialCash !== null && String(initialCash).trim() !== "") {
    const cash = Number(initialCash);
    body.config = { initial_cash: Number.isFinite(cash) ? cash : String(initialCash) };
  }
  return body;
}
