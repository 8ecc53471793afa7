// Number and time formatting shared by panels and charts.

const timeFormat = new Intl.DateTimeFormat(undefined, {
  hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false,
});
const dateTimeFormat = new Intl.DateTimeFormat(undefined, {
  year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit",
  hour12: false,
});

/** A price with as many decimals as its size needs (BTC 2, a 0.00001234 coin 8). */
export function formatPrice(value) {
  if (value === null || value === undefined || !Number.isFinite(value)) return "–";
  const magnitude = Math.abs(value);
  const decimals = magnitude >= 1000 ? 2 : magnitude >= 1 ? 4 : magnitude >= 0.01 ? 6 : 8;
  return value.toLocaleString(undefined, {
    minimumFractionDigits: Math.min(decimals, 2), maximumFractionDigits: decimals,
  });
}

/** A volume or count, compacted: 1.2K, 3.4M. */
export function formatCompact(value) {
  if (value === null || value === undefined || !Number.isFinite(value)) return "–";
  return value.toLocaleString(undefined, { notation: "compact", maximumFractionDigits: 2 });
}

/** Milliseconds (or an ISO string) as a local date and time. */
export function formatDateTime(value) {
  if (value === null || value === undefined || value === "") return "–";
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? String(value) : dateTimeFormat.format(date);
}

/** "12s ago", "5m ago", "3h ago", or the date for anything older than a day. */
export function formatAge(value, now = Date.now()) {
  if (!value) return "–";
  const time = new Date(value).getTime();
  if (Number.isNaN(time)) return String(value);
  const seconds = Math.max(0, Math.round((now - time) / 1000));
  if (seconds < 60) return `${seconds}s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m ago`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)}h ago`;
  return formatDateTime(time);
}

/** A clock time, for "updated at" lines. */
export function formatTime(value) {
  return timeFormat.format(new Date(value));
}

/** A JSON value as compact text for a table cell. */
export function formatJson(value) {
  if (typeof value === "string") return JSON.stringify(value);
  return JSON.stringify(value) ?? "null";
}

/** A fraction as a percentage: 0.1234 -> "12.34%" (signed: "+12.34%"). */
export function formatPercent(value, { digits = 2, signed = false } = {}) {
  if (value === null || value === undefined || !Number.isFinite(value)) return "–";
  const text = `${(value * 100).toFixed(digits)}%`;
  return signed && value > 0 ? `+${text}` : text;
}

/** A plain number with a fixed number of decimals and the reader's digit grouping. */
export function formatNumber(value, digits = 2) {
  if (value === null || value === undefined || !Number.isFinite(value)) return "–";
  return value.toLocaleString(undefined, { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/**
 * A decimal string from the API ("0.010000000000000000") shown exactly, without trailing
 * zeros ("0.01"): money travels as text and is never turned into a float to be shown.
 */
export function formatDecimal(text) {
  if (text === null || text === undefined || text === "") return "–";
  const value = String(text).trim();
  if (!/^-?\d+(\.\d+)?$/.test(value)) return value;
  if (!value.includes(".")) return value;
  const trimmed = value.replace(/0+$/, "").replace(/\.$/, "");
  return trimmed === "-0" ? "0" : trimmed;
}
