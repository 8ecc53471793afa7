// The exchange wire shapes (domains/exchange/http/serializers.py, consumers.py,
// services/stream_push.py) turned into what the venues and orders panels show. One place to
// adapt when the endpoints change. Amounts, prices and fees arrive as decimal strings and stay
// strings: they are shown, never computed with.

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
 * {type: "order", order}, {type: "fill", fill}, {type: "error", error}, others ignored.
 */
export function parseExchangeFrame(frame) {
  if (frame?.type === "order" && frame.order?.client_order_id) return { kind: "order", order: frame.order };
  if (frame?.type === "fill" && frame.fill) return { kind: "fill", fill: frame.fill };
  if (frame?.type === "error" || frame?.error) return { kind: "error", error: frame.error ?? {} };
  return { kind: "other" };
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
