// The exchange wire shapes (domains/exchange/http/serializers.py, consumers.py,
// services/stream_push.py) turned into what the venues, orders and depth panels show. One
// place to adapt when the endpoints change. Amounts, prices and fees arrive as decimal strings
// and stay strings: they are shown, and any sum or spread of them is computed exactly
// (decimal.js); floats only place things on a chart.

import { addDecimal, compareDecimal, midDecimal, ratioBps, subtractDecimal } from "./decimal.js";

/** Orders that can still fill or be cancelled. */
export const OPEN_ORDER_STATUSES = new Set(["pending_trigger", "open", "partially_filled"]);
const FINAL_ORDER_STATUSES = new Set(["filled", "canceled", "expired", "rejected"]);

/** The share of a rate-limit bucket in use, within [0, 1] (0 when the limit is unknown). */
export function limitShare(rate) {
  const limit = Number(rate?.limit);
  const used = Number(rate?.in_use);
  if (!Number.isFinite(limit) || limit <= 0 || !Number.isFinite(used)) return 0;
  return Math.min(1, Math.max(0, used / limit));
}

/** "ok" under 70 %, "busy" under 90 %, "full" from there (the bar's colour). */
export function limitLevel(share) {
  return share >= 0.9 ? "full" : share >= 0.7 ? "busy" : "ok";
}

/** "6000 weight / 60 s" style text for a bucket's period. */
export function formatPeriod(seconds) {
  const value = Number(seconds);
  if (!Number.isFinite(value) || value <= 0) return "";
  if (value % 86400 === 0) return `${value / 86400} d`;
  if (value % 3600 === 0) return `${value / 3600} h`;
  if (value % 60 === 0 && value >= 60) return `${value / 60} min`;
  return `${value} s`;
}

/** GET /health -> the venues, in the API's order. */
export function normalizeHealth(payload) {
  const venues = Array.isArray(payload) ? payload : payload?.venues;
  return Array.isArray(venues) ? venues.filter((venue) => venue && typeof venue.venue === "string") : [];
}

/** An order list in whichever envelope the endpoint uses: a list, {results} or {orders}. */
export function normalizeOrderList(payload) {
  const list = Array.isArray(payload) ? payload : payload?.results ?? payload?.orders ?? [];
  return list.filter((order) => order && typeof order.client_order_id === "string");
}

/** A fill list likewise: a list, {results} or {fills}. */
export function normalizeFillList(payload) {
  const list = Array.isArray(payload) ? payload : payload?.results ?? payload?.fills ?? payload?.trades ?? [];
  return list.filter((fill) => fill && (fill.fill_id !== undefined || fill.id !== undefined));
}

function timeOf(value) {
  const time = value ? Date.parse(value) : Number.NaN;
  return Number.isNaN(time) ? null : time;
}

/**
 * An order's newest state from what is known (`current`, maybe undefined) and what just came
 * (an ack from REST or a stream frame, which lacks some fields). Frames can arrive twice or
 * late: a final state is never replaced by an open one, nor a newer state by an older one.
 */
export function mergeOrder(current, incoming) {
  if (!current) return { ...incoming };
  const currentFinal = FINAL_ORDER_STATUSES.has(current.status);
  const incomingFinal = FINAL_ORDER_STATUSES.has(incoming.status);
  const currentTime = timeOf(current.updated_at);
  const incomingTime = timeOf(incoming.updated_at);
  const stale = (currentFinal && !incomingFinal)
    || (currentTime !== null && incomingTime !== null && incomingTime < currentTime);
  const merged = { ...current };
  for (const [key, value] of Object.entries(incoming)) {
    if (value === undefined) continue;
    // A stale update may still fill in fields the known state lacks, never overwrite them.
    if (stale && merged[key] !== undefined && merged[key] !== null) continue;
    merged[key] = value;
  }
  return merged;
}

/**
 * One frame of WS /api/v1/exchange/{venue}/stream:
 * {type: "order", order}, {type: "fill", fill}, {type: "orderbook", book}, {type: "trade",
 * trade}, {type: "ticker", ticker}, {type: "subscribed" | "unsubscribed", symbols},
 * {type: "error", error}; anything else (or a frame without its object) is "other".
 */
export function parseExchangeFrame(frame) {
  if (frame?.type === "order" && frame.order?.client_order_id) return { kind: "order", order: frame.order };
  if (frame?.type === "fill" && frame.fill) return { kind: "fill", fill: frame.fill };
  if (frame?.type === "orderbook" && frame.book && typeof frame.book === "object") {
    return { kind: "orderbook", book: normalizeBook(frame.book) };
  }
  if (frame?.type === "trade" && frame.trade?.trade_id !== undefined) return { kind: "trade", trade: normalizeTrade(frame.trade) };
  if (frame?.type === "ticker" && frame.ticker && typeof frame.ticker === "object") return { kind: "ticker", ticker: frame.ticker };
  if ((frame?.type === "subscribed" || frame?.type === "unsubscribed") && Array.isArray(frame.symbols)) {
    return { kind: frame.type, symbols: frame.symbols.map(urlSymbol) };
  }
  if (frame?.type === "error" || frame?.error) return { kind: "error", error: frame.error ?? {} };
  return { kind: "other" };
}

// --- market depth: books and the public tape ------------------------------------------------

function level(raw) {
  const price = Array.isArray(raw) ? raw[0] : raw?.price;
  const amount = Array.isArray(raw) ? raw[1] : raw?.amount;
  if (price === null || price === undefined || amount === null || amount === undefined) return null;
  const p = Number(price);
  const a = Number(amount);
  if (!Number.isFinite(p) || !Number.isFinite(a)) return null;
  return { price: String(price), amount: String(amount), p, a };
}

/**
 * A book from REST (GET {venue}/orderbook/{symbol}: levels {price, amount}, `timestamp`) or
 * from a stream frame (levels [price, amount], `occurred_at`), as
 * {venue, symbol (URL form), bids, asks, sequence, time (ms or null)}. Levels keep the API's
 * strings (price, amount) and add floats (p, a) for the chart; bids best (highest) first, asks
 * best (lowest) first.
 */
export function normalizeBook(payload) {
  const side = (levels) => (Array.isArray(levels) ? levels.map(level).filter(Boolean) : []);
  const time = timeOf(payload?.timestamp ?? payload?.occurred_at);
  return {
    venue: payload?.venue ?? "",
    symbol: urlSymbol(payload?.symbol),
    bids: side(payload?.bids).sort((x, y) => y.p - x.p),
    asks: side(payload?.asks).sort((x, y) => x.p - y.p),
    sequence: Number.isFinite(payload?.sequence) ? payload.sequence : null,
    time,
  };
}

/**
 * Whether a stream frame may replace the book shown (`current`, maybe null): frames come in
 * the order they were published, so yes, unless both carry the venue's sequence and the
 * incoming one is older. (Timestamps are no guide: a seeded paper book carries its candle's
 * close, older than the empty book it replaces.)
 */
export function isNewerBook(current, incoming) {
  if (!current || current.sequence === null || incoming.sequence === null) return true;
  return incoming.sequence >= current.sequence;
}

/**
 * One side's levels (best first) with the running total: each level gets `total` (the exact
 * decimal sum of its amount and every better level's) and `cum` (the same as a float, for the
 * chart's geometry).
 */
export function cumulativeDepth(levels) {
  let total = "0";
  let cum = 0;
  return levels.map((item) => {
    total = addDecimal(total, item.amount) || total;
    cum += item.a;
    return { ...item, total, cum };
  });
}

/**
 * Best bid and ask, the spread (ask - bid) exactly and in basis points of the mid, all from
 * the API's decimal strings. Missing sides give null fields; `crossed` when bid >= ask.
 */
export function bookSummary(book) {
  const bid = book?.bids?.[0] ?? null;
  const ask = book?.asks?.[0] ?? null;
  if (!bid || !ask) return { bid, ask, spread: null, mid: null, spreadBps: null, crossed: false };
  const spread = subtractDecimal(ask.price, bid.price);
  const mid = midDecimal(bid.price, ask.price);
  return {
    bid, ask, spread, mid,
    spreadBps: ratioBps(spread, mid, 2),
    crossed: compareDecimal(bid.price, ask.price) >= 0,
  };
}

/**
 * The cumulative size at `price` on the side it falls (a chart coordinate): bids at or above
 * it when it is at most the mid, asks at or below it otherwise. {side, level (the deepest one
 * counted, with its exact total) or null when the price is inside the spread}.
 */
export function depthAt(bids, asks, mid, price) {
  if (price <= mid) {
    let found = null;
    for (const item of bids) {
      if (item.p >= price) found = item;
      else break;
    }
    return { side: "bid", level: found };
  }
  let found = null;
  for (const item of asks) {
    if (item.p <= price) found = item;
    else break;
  }
  return { side: "ask", level: found };
}

/** A tape print ({trade_id, price, amount, side, traded_at} from the stream, or `timestamp`
 * instead of traded_at from GET {venue}/trades/{symbol}) with the symbol in URL form. */
export function normalizeTrade(raw) {
  return {
    id: String(raw.trade_id),
    venue: raw.venue ?? "",
    symbol: urlSymbol(raw.symbol),
    price: raw.price === null || raw.price === undefined ? "" : String(raw.price),
    amount: raw.amount === null || raw.amount === undefined ? "" : String(raw.amount),
    side: raw.side === "buy" || raw.side === "sell" ? raw.side : "",
    time: timeOf(raw.traded_at ?? raw.timestamp),
  };
}

/** BTC-USDT (URL form) for BTC/USDT; the API takes either in bodies. */
export function urlSymbol(symbol) {
  return String(symbol ?? "").trim().toUpperCase().replace("/", "-");
}

/** Sort orders newest first (created, else updated). */
export function compareOrders(a, b) {
  const ta = timeOf(a.created_at) ?? timeOf(a.updated_at) ?? 0;
  const tb = timeOf(b.created_at) ?? timeOf(b.updated_at) ?? 0;
  return tb - ta;
}
