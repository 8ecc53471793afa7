// A line chart for one value over time (closes, an equity curve): area fill, price axis,
// UTC time axis, crosshair with the value under the pointer. Points: {t (ms UTC), v}.

import {
  Surface, axisLabel, crisp, formatAxisValue, formatCrosshairTime, formatTick, niceTicks, theme, tickDecimals,
  timeTicks,
} from "./common.js";

const AXIS_WIDTH = 74;
const TIME_AXIS_HEIGHT = 24;
const TOP = 14;

export class LineChart {
  /** options: color (CSS colour; default the accent), formatValue(v) -> text, fill (area). */
  constructor(container, { color, formatValue = (value) => String(value), fill = true } = {}) {
    this.points = [];
    this.colors = theme();
    this.color = color ?? this.colors.accent;
    this.formatValue = formatValue;
    this.fill = fill;
    this.pointer = null;
    this.surface = new Surface(container, (ctx, width, height) => this.draw(ctx, width, height));
    const canvas = this.surface.canvas;
    canvas.addEventListener("pointermove", (event) => {
      const rect = canvas.getBoundingClientRect();
      this.pointer = { x: event.clientX - rect.left, y: event.clientY - rect.top };
      this.surface.requestDraw();
    });
    canvas.addEventListener("pointerleave", () => {
      this.pointer = null;
      this.surface.requestDraw();
    });
  }

  /** Replace the points (sorted by time here). */
  setPoints(points) {
    this.points = [...points].filter((point) => Number.isFinite(point.v)).sort((a, b) => a.t - b.t);
    this.surface.requestDraw();
  }

  /** Redraw after the container became visible again (a hidden canvas has no size). */
  refresh() {
    this.surface.resize();
  }

  destroy() {
    this.surface.destroy();
  }

  draw(ctx, width, height) {
    const points = this.points;
    const colors = this.colors;
    const plotWidth = width - AXIS_WIDTH;
    const bottom = height - TIME_AXIS_HEIGHT;
    if (points.length < 2 || plotWidth < 40 || bottom - TOP < 40) return;
    const t0 = points[0].t;
    const t1 = points.at(-1).t;
    let low = Infinity;
    let high = -Infinity;
    for (const point of points) {
      low = Math.min(low, point.v);
      high = Math.max(high, point.v);
    }
    if (high === low) {
      high += Math.abs(high) * 0.01 || 1;
      low -= Math.abs(low) * 0.01 || 1;
    }
    const margin = (high - low) * 0.08;
    high += margin;
    low -= margin;
    const xOf = (time) => ((time - t0) / (t1 - t0 || 1)) * (plotWidth - 8) + 4;
    const yOf = (value) => TOP + ((high - value) / (high - low)) * (bottom - TOP);

    ctx.font = colors.font;
    const ticks = niceTicks(low, high, Math.max(2, Math.round((bottom - TOP) / 55)));
    const decimals = tickDecimals(ticks);
    const times = timeTicks(t0, t1, plotWidth);
    ctx.strokeStyle = colors.grid;
    ctx.lineWidth = 1;
    ctx.beginPath();
    for (const tick of ticks) {
      ctx.moveTo(0, crisp(yOf(tick)));
      ctx.lineTo(plotWidth, crisp(yOf(tick)));
    }
    for (const time of times.ticks) {
      ctx.moveTo(crisp(xOf(time)), TOP);
      ctx.lineTo(crisp(xOf(time)), bottom);
    }
    ctx.stroke();

    const path = new Path2D();
    points.forEach((point, index) => {
      const x = xOf(point.t);
      const y = yOf(point.v);
      if (index === 0) path.moveTo(x, y);
      else path.lineTo(x, y);
    });
    if (this.fill) {
      const area = new Path2D(path);
      area.lineTo(xOf(t1), bottom);
      area.lineTo(xOf(t0), bottom);
      area.closePath();
      const gradient = ctx.createLinearGradient(0, TOP, 0, bottom);
      gradient.addColorStop(0, `${this.color}55`);
      gradient.addColorStop(1, `${this.color}00`);
      ctx.fillStyle = gradient;
      ctx.fill(area);
    }
    ctx.strokeStyle = this.color;
    ctx.lineWidth = 1.6;
    ctx.stroke(path);
    ctx.lineWidth = 1;

    ctx.strokeStyle = colors.border;
    ctx.beginPath();
    ctx.moveTo(crisp(plotWidth), 0);
    ctx.lineTo(crisp(plotWidth), bottom);
    ctx.moveTo(0, crisp(bottom));
    ctx.lineTo(width, crisp(bottom));
    ctx.stroke();
    ctx.fillStyle = colors.text;
    ctx.textBaseline = "middle";
    ctx.textAlign = "left";
    for (const tick of ticks) {
      const y = yOf(tick);
      if (y > TOP - 2 && y < bottom + 2) ctx.fillText(formatAxisValue(tick, decimals), plotWidth + 6, y);
    }
    ctx.textAlign = "center";
    for (const time of times.ticks) {
      const x = xOf(time);
      if (x > 20 && x < plotWidth - 20) ctx.fillText(formatTick(time, times.step), x, bottom + 12);
    }
    const last = points.at(-1);
    axisLabel(ctx, this.formatValue(last.v), plotWidth + 1, yOf(last.v), { background: this.color, font: colors.font });

    if (this.pointer && this.pointer.x < plotWidth && this.pointer.y < bottom) {
      const time = t0 + ((this.pointer.x - 4) / (plotWidth - 8)) * (t1 - t0);
      const nearest = nearestPoint(points, time);
      const x = xOf(nearest.t);
      const y = yOf(nearest.v);
      ctx.strokeStyle = colors.crosshair;
      ctx.setLineDash([4, 4]);
      ctx.beginPath();
      ctx.moveTo(crisp(x), TOP);
      ctx.lineTo(crisp(x), bottom);
      ctx.stroke();
      ctx.setLineDash([]);
      ctx.fillStyle = this.color;
      ctx.beginPath();
      ctx.arc(x, y, 3.5, 0, Math.PI * 2);
      ctx.fill();
      axisLabel(ctx, this.formatValue(nearest.v), plotWidth + 1, y, { background: "#334155", font: colors.font });
      axisLabel(ctx, formatCrosshairTime(nearest.t), x, bottom + 12, { background: "#334155", align: "center", font: colors.font });
    }
  }
}

/** The point closest in time (binary search: points are sorted). */
export function nearestPoint(points, time) {
  let lo = 0;
  let hi = points.length - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (points[mid].t <= time) lo = mid;
    else hi = mid;
  }
  return Math.abs(points[lo].t - time) <= Math.abs(points[hi].t - time) ? points[lo] : points[hi];
}
