// What every chart shares: a HiDPI canvas that redraws on resize, the theme colours (read
// from the CSS variables), "nice" price ticks and time ticks in UTC.

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
// Candidate spacings of time-axis labels, smallest first.
const TIME_STEPS = [
  MINUTE, 2 * MINUTE, 5 * MINUTE, 10 * MINUTE, 15 * MINUTE, 30 * MINUTE, HOUR, 2 * HOUR,
  3 * HOUR, 4 * HOUR, 6 * HOUR, 12 * HOUR, DAY, 2 * DAY, 7 * DAY, 14 * DAY, 30 * DAY, 91 * DAY,
  182 * DAY, 365 * DAY,
];

/** The theme colours, from the page's CSS variables (one place to restyle). */
export function theme() {
  const style = getComputedStyle(document.documentElement);
  const read = (name, fallback) => style.getPropertyValue(name).trim() || fallback;
  return {
    background: read("--panel", "#121823"),
    text: read("--muted", "#8393a8"),
    strong: read("--text", "#dbe3ee"),
    grid: read("--grid", "#1c2533"),
    border: read("--border", "#232d3d"),
    up: read("--up", "#22c55e"),
    down: read("--down", "#ef4444"),
    synthetic: read("--faint", "#56657a"),
    accent: read("--accent", "#4f8cff"),
    crosshair: read("--crosshair", "#6b7a90"),
    font: `11px ${read("--mono", "monospace")}`,
  };
}

/**
 * A canvas filling `container`, sized for the device pixel ratio. `draw(ctx, width, height)`
 * runs (in CSS pixels) after every resize and every requestDraw(), at most once a frame.
 */
export class Surface {
  constructor(container, draw) {
    this.container = container;
    this.drawCallback = draw;
    this.canvas = document.createElement("canvas");
    container.appendChild(this.canvas);
    this.ctx = this.canvas.getContext("2d");
    this.width = 0;
    this.height = 0;
    this.frame = 0;
    this.observer = new ResizeObserver(() => this.resize());
    this.observer.observe(container);
    this.resize();
  }

  resize() {
    const rect = this.container.getBoundingClientRect();
    const ratio = window.devicePixelRatio || 1;
    this.width = Math.max(0, Math.floor(rect.width));
    this.height = Math.max(0, Math.floor(rect.height));
    this.canvas.width = Math.round(this.width * ratio);
    this.canvas.height = Math.round(this.height * ratio);
    this.ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    this.drawNow();
  }

  requestDraw() {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.drawNow();
    });
  }

  drawNow() {
    if (this.width === 0 || this.height === 0) return;
    this.ctx.clearRect(0, 0, this.width, this.height);
    this.drawCallback(this.ctx, this.width, this.height);
  }

  destroy() {
    this.observer.disconnect();
    cancelAnimationFrame(this.frame);
    this.canvas.remove();
  }
}

/** 1, 2 or 5 times a power of ten, close to `value`. */
function niceStep(value) {
  const exponent = Math.floor(Math.log10(value));
  const fraction = value / 10 ** exponent;
  const nice = fraction < 1.5 ? 1 : fraction < 3 ? 2 : fraction < 7 ? 5 : 10;
  return nice * 10 ** exponent;
}

/** About `count` round values between min and max (price axis gridlines). */
export function niceTicks(min, max, count = 5) {
  if (!Number.isFinite(min) || !Number.isFinite(max) || max <= min) return [];
  const step = niceStep((max - min) / Math.max(1, count));
  const ticks = [];
  for (let value = Math.ceil(min / step) * step; value <= max + step * 1e-9; value += step) {
    ticks.push(Number(value.toPrecision(12)));
  }
  return ticks;
}

/** Decimals that make neighbouring ticks distinguishable. */
export function tickDecimals(ticks) {
  if (ticks.length < 2) return 2;
  const step = Math.abs(ticks[1] - ticks[0]);
  return Math.min(10, Math.max(0, -Math.floor(Math.log10(step)) + (step < 1 ? 1 : 0)));
}

/** An axis price with a fixed number of decimals and the reader's digit grouping. */
export function formatAxisValue(value, decimals) {
  return value.toLocaleString(undefined, { minimumFractionDigits: decimals, maximumFractionDigits: decimals });
}

/** Time-axis label times between t0 and t1 (ms) leaving at least minPixels between labels. */
export function timeTicks(t0, t1, pixelWidth, minPixels = 90) {
  if (!(t1 > t0) || pixelWidth <= 0) return { step: DAY, ticks: [] };
  const msPerPixel = (t1 - t0) / pixelWidth;
  const step = TIME_STEPS.find((candidate) => candidate / msPerPixel >= minPixels) ?? TIME_STEPS.at(-1);
  const ticks = [];
  for (let time = Math.ceil(t0 / step) * step; time <= t1; time += step) ticks.push(time);
  return { step, ticks };
}

const pad = (number) => String(number).padStart(2, "0");
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** A time-axis label in UTC: "14:30", "12 Mar" at midnight, the year on 1 January. */
export function formatTick(time, step) {
  const date = new Date(time);
  const midnight = date.getUTCHours() === 0 && date.getUTCMinutes() === 0;
  if (step >= DAY || midnight) {
    if (date.getUTCMonth() === 0 && date.getUTCDate() === 1) return String(date.getUTCFullYear());
    return `${date.getUTCDate()} ${MONTHS[date.getUTCMonth()]}`;
  }
  return `${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}`;
}

/** A full UTC time for the crosshair label. */
export function formatCrosshairTime(time) {
  const date = new Date(time);
  return `${date.getUTCFullYear()}-${pad(date.getUTCMonth() + 1)}-${pad(date.getUTCDate())} `
    + `${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())} UTC`;
}

/** A filled label box on an axis (the last price, the crosshair's price or time). */
export function axisLabel(ctx, text, x, y, { background, color = "#fff", align = "left", font }) {
  ctx.font = font;
  const width = ctx.measureText(text).width + 10;
  const left = align === "center" ? x - width / 2 : x;
  ctx.fillStyle = background;
  ctx.fillRect(left, y - 9, width, 18);
  ctx.fillStyle = color;
  ctx.textBaseline = "middle";
  ctx.textAlign = "left";
  ctx.fillText(text, left + 5, y);
}

/** Crisp 1px lines: canvas strokes sit on pixel centres. */
export const crisp = (value) => Math.round(value) + 0.5;
