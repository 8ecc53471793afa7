// The market-data wire formats (domains/data/http, domains/data/consumers.py), turned into
// what the charts draw. Kept apart from the panel: a change of the endpoints' shapes is one
// edit here. A chart candle is {t (open time, UTC ms), o, h, l, c, v, closed, synthetic}.

/** Milliseconds from epoch milliseconds, epoch seconds or an ISO-8601 string. */
export function toMillis(value) {
  if (typeof value === "number") return value < 1e11 ? value * 1000 : value;
  if (typeof value === "string" && value.trim() !== "") {
    const numeric = Number(value);
    if (Number.isFinite(numeric)) return toMillis(numeric);
    const parsed = Date.parse(value);
    return Number.isNaN(parsed) ? null : parsed;
  }
  return null;
}

/** GET /series -> {"results": [SeriesSummary...]}; each series gets a stable id. */
export function normalizeSeriesList(payload) {
  return (payload?.results ?? []).map((item) => {
    const series = {
      venue: item.venue,
      symbol: item.symbol,
      urlSymbol: item.url_symbol ?? item.symbol.replace("/", "-"),
      marketType: item.market_type ?? "spot",
      priceType: item.price_type ?? "trades",
      timeframe: item.timeframe,
      candleCount: item.candle_count ?? null,
      firstOpenTime: toMillis(item.first_open_time),
      lastOpenTime: toMillis(item.last_open_time),
      coverage: item.coverage ?? null,
      synthetic: Boolean(item.synthetic),
      keepUp: Boolean(item.keep_up),
    };
    series.id = [series.venue, series.marketType, series.symbol, series.priceType, series.timeframe].join("|");
    return series;
  });
}

/** A human label: "binance · BTC/USDT · 1h" (+ market and price type when not the usual). */
export function seriesLabel(series) {
  const parts = [series.venue, series.symbol, series.timeframe];
  if (series.marketType && series.marketType !== "spot") parts.push(series.marketType);
  if (series.priceType && series.priceType !== "trades") parts.push(series.priceType);
  return parts.join(" · ");
}

/** One candle object of the API ({open_time, open, high, low, close, volume, ...}). */
export function normalizeCandle(raw, { closed = true, synthetic = false } = {}) {
  if (!raw || typeof raw !== "object") return null;
  const candle = {
    t: toMillis(raw.open_time ?? raw.time),
    o: Number(raw.open),
    h: Number(raw.high),
    l: Number(raw.low),
    c: Number(raw.close),
    // Mark, index and funding series have no volume (null): draw none.
    v: raw.volume === null || raw.volume === undefined ? 0 : Number(raw.volume),
    closed: raw.complete === undefined ? closed : Boolean(raw.complete) && closed,
    synthetic: Boolean(raw.synthetic ?? synthetic),
  };
  const finite = [candle.t, candle.o, candle.h, candle.l, candle.c].every(Number.isFinite);
  return finite ? candle : null;
}

/** GET /ohlcv/{symbol} -> {series, synthetic, count, candles: [...]} as {candles, synthetic}. */
export function normalizeOhlcv(payload) {
  const candles = (payload?.candles ?? []).map((raw) => normalizeCandle(raw)).filter(Boolean);
  return { candles, synthetic: Boolean(payload?.synthetic) || candles.some((c) => c.synthetic) };
}

/**
 * One frame of WS /market-data/stream/{symbol}:
 * {"type": "candle", "closed", "series", "candle", "synthetic"} carries a bar (closed or in
 * progress); {"type": "subscribed"} none; {"error": {...}} (before a 4400 close) an error.
 * Returns {kind: "candle" | "subscribed" | "error" | "other", candle?, error?}.
 */
export function parseStreamFrame(frame) {
  if (frame?.error) return { kind: "error", error: frame.error };
  if (frame?.type === "subscribed") return { kind: "subscribed" };
  if (frame?.type === "candle") {
    const candle = normalizeCandle(frame.candle, { closed: Boolean(frame.closed), synthetic: Boolean(frame.synthetic) });
    return candle ? { kind: "candle", candle } : { kind: "other" };
  }
  return { kind: "other" };
}
