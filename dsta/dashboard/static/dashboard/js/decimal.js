// Exact arithmetic on the API's decimal strings ("19784.90", "0.00100000", "1E-8"): sums,
// differences, the mid and a ratio in basis points, computed on BigInt units so a shown total
// or spread is never a float's approximation. Floats are for chart geometry only.

const DECIMAL = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;

/** {units: BigInt, scale: n} (value = units / 10^scale) from a decimal string, or null. */
export function parseDecimal(text) {
  if (text === null || text === undefined) return null;
  const match = DECIMAL.exec(String(text).trim());
  if (!match || (match[2] === "" && (match[3] ?? "") === "")) return null;
  const [, sign, whole, fraction = "", exponentText] = match;
  const exponent = exponentText ? Number(exponentText) : 0;
  if (!Number.isSafeInteger(exponent) || Math.abs(exponent) > 1000) return null;
  let units = BigInt((whole || "0") + fraction);
  let scale = fraction.length - exponent;
  if (scale < 0) {
    units *= 10n ** BigInt(-scale);
    scale = 0;
  }
  return { units: sign === "-" ? -units : units, scale };
}

/** The exact text of a parsed decimal, without trailing zeros ("0.3", "19784.9", "-2"). */
export function decimalText(value) {
  if (!value) return "";
  const negative = value.units < 0n;
  let digits = (negative ? -value.units : value.units).toString();
  let text = digits;
  if (value.scale > 0) {
    digits = digits.padStart(value.scale + 1, "0");
    const whole = digits.slice(0, digits.length - value.scale);
    const fraction = digits.slice(digits.length - value.scale).replace(/0+$/, "");
    text = fraction ? `${whole}.${fraction}` : whole;
  }
  return negative && text !== "0" ? `-${text}` : text;
}

function rescale(value, scale) {
  return value.units * 10n ** BigInt(scale - value.scale);
}

function binary(a, b, combine) {
  const left = typeof a === "object" && a !== null ? a : parseDecimal(a);
  const right = typeof b === "object" && b !== null ? b : parseDecimal(b);
  if (!left || !right) return null;
  const scale = Math.max(left.scale, right.scale);
  return combine(rescale(left, scale), rescale(right, scale), scale);
}

/** a + b of two decimal strings, as a decimal string ("" when either is not a number). */
export function addDecimal(a, b) {
  return decimalText(binary(a, b, (x, y, scale) => ({ units: x + y, scale })));
}

/** a - b, as a decimal string. */
export function subtractDecimal(a, b) {
  return decimalText(binary(a, b, (x, y, scale) => ({ units: x - y, scale })));
}

/** -1, 0 or 1 as a < b, a = b, a > b (null when either is not a number). */
export function compareDecimal(a, b) {
  return binary(a, b, (x, y) => (x < y ? -1 : x > y ? 1 : 0));
}

/** (a + b) / 2, exact (one more decimal at most). */
export function midDecimal(a, b) {
  return decimalText(binary(a, b, (x, y, scale) => ({ units: (x + y) * 5n, scale: scale + 1 })));
}

/**
 * numerator / denominator × 10,000 (basis points) with `digits` decimals, rounded half away
 * from zero: the spread's share of the mid. "" when the denominator is zero or not a number.
 */
export function ratioBps(numerator, denominator, digits = 2) {
  const top = parseDecimal(numerator);
  const bottom = parseDecimal(denominator);
  if (!top || !bottom || bottom.units === 0n) return "";
  // top/10^ts ÷ bottom/10^bs × 10^4 × 10^digits = top × 10^(bs + 4 + digits) / (bottom × 10^ts)
  let scaledTop = top.units * 10n ** BigInt(bottom.scale + 4 + digits);
  let scaledBottom = bottom.units * 10n ** BigInt(top.scale);
  if (scaledBottom < 0n) {
    scaledTop = -scaledTop;
    scaledBottom = -scaledBottom;
  }
  const negative = scaledTop < 0n;
  const magnitude = negative ? -scaledTop : scaledTop;
  let quotient = magnitude / scaledBottom;
  if ((magnitude % scaledBottom) * 2n >= scaledBottom) quotient += 1n;
  const text = decimalText({ units: quotient, scale: digits });
  const [whole, fraction = ""] = text.split(".");
  const padded = digits > 0 ? `${whole}.${fraction.padEnd(digits, "0")}` : whole;
  return negative && quotient !== 0n ? `-${padded}` : padded;
}
