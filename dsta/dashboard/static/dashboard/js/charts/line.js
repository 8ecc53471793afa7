// A line chart for one value over time (closes, an equity curve): area fill, price axis,
// UTC time axis, crosshair with the value under the pointer. Points: {t (ms UTC), v}.
// An optional lower pane shares the time axis and is filled from zero to its values: an
// equity curve's drawdown (values <= 0) under the curve itself.

import {
  Surface, axisLabel, crisp, formatAxisValue, formatCrosshairTime, formatTick, niceTicks, theme, tickDecimals,
  timeTicks,
} from "./common.js";

const AXIS_WIDTH = 74;
const TIME_AXIS_HEIGHT = 24;
const TOP = 14;
const PANE_GAP = 10;

export class LineChart {
  /**
   * options: color (CSS colour; default the accent), formatValue(v) -> text, fill (area),
   * pane: a lower pane {share (of the plot height, default 0.3), color (default the "down"
   * colour), formatValue(v) -> text}, fed with setPanePoints().
   */
  constructor(container, { color, formatValue = (value) => String(value), fill = true, pane = null } = {}) {
    this.points = [];
    this.panePoints = [];
    this.colors = theme();
    this.color = color ?? this.colors.accent;
    this.formatValue = formatValue;
    this.fill = fill;
    this.pane = pane
      ? {
        share: Math.min(0.6, Math.max(0.1, pane.share ?? 0.3)),
        color: pane.color ?? this.colors.down,
        formatValue: pane.formatValue ?? formatValue,
      }
      : null;
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
    this.points = sortedFinite(points);
    this.surface.requestDraw();
  }

  /** Replace the lower pane's points (a chart made with the `pane` option). */
  setPanePoints(points) {
    this.panePoints = sortedFinite(points);
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
    // With a pane: the main plot above, the pane below, one time axis under both.
    const pane = this.pane && this.panePoints.length >= 2 ? this.pane : null;
    const paneHeight = pane ? Math.round((bottom - TOP) * pane.share) : 0;
    const mainBottom = pane ? bottom - paneHeight - PANE_GAP : bottom;
    const paneTop = mainBottom + PANE_GAP;
    const t0 = points[0].t;
    const t1 = points.at(-1).t;
    const xOf = (time) => ((time - t0) / (t1 - t0 || 1)) * (plotWidth - 8) + 4;
    const main = valueScale(points, TOP, mainBottom, { margin: 0.08 });
    const lower = pane ? valueScale(this.panePoints, paneTop, bottom, { margin: 0.06, includeZero: true }) : null;

    ctx.font = colors.font;
    const ticks = niceTicks(main.low, main.high, Math.max(2, Math.round((mainBottom - TOP) / 55)));
    const decimals = tickDecimals(ticks);
    const paneTicks = lower ? niceTicks(lower.low, lower.high, Math.max(1, Math.round(paneHeight / 40))) : [];
    const times = timeTicks(t0, t1, plotWidth);
    ctx.strokeStyle = colors.grid;
    ctx.lineWidth = 1;
    ctx.beginPath();
    for (const tick of ticks) {
      ctx.moveTo(0, crisp(main.yOf(tick)));
      ctx.lineTo(plotWidth, crisp(main.yOf(tick)));
    }
    for (const tick of paneTicks) {
      ctx.moveTo(0, crisp(lower.yOf(tick)));
      ctx.lineTo(plotWidth, crisp(lower.yOf(tick)));
    }
    for (const time of times.ticks) {
      ctx.moveTo(crisp(xOf(time)), TOP);
      ctx.lineTo(crisp(xOf(time)), bottom);
    }
    ctx.stroke();

    const path = linePath(points, xOf, main.yOf);
    if (this.fill) {
      const area = new Path2D(path);
      area.lineTo(xOf(t1), mainBottom);
      area.lineTo(xOf(t0), mainBottom);
      area.closePath();
      const gradient = ctx.createLinearGradient(0, TOP, 0, mainBottom);
      gradient.addColorStop(0, `${this.color}55`);
      gradient.addColorStop(1, `${this.color}00`);
      ctx.fillStyle = gradient;
      ctx.fill(area);
    }
    ctx.strokeStyle = this.color;
    ctx.lineWidth = 1.6;
    ctx.stroke(path);
    ctx.lineWidth = 1;

    if (lower) {
      // Filled between the zero line and the values: a drawdown hangs below zero.
      const panePath = linePath(this.panePoints, xOf, lower.yOf);
      const zero = lower.yOf(0);
      const area = new Path2D(panePath);
      area.lineTo(xOf(this.panePoints.at(-1).t), zero);
      area.lineTo(xOf(this.panePoints[0].t), zero);
      area.closePath();
      ctx.fillStyle = `${pane.color}40`;
      ctx.fill(area);
      ctx.strokeStyle = pane.color;
      ctx.lineWidth = 1.2;
      ctx.stroke(panePath);
      ctx.lineWidth = 1;
      ctx.strokeStyle = colors.crosshair;
      ctx.beginPath();
      ctx.moveTo(0, crisp(zero));
      ctx.lineTo(plotWidth, crisp(zero));
      ctx.stroke();
    }

    ctx.strokeStyle = colors.border;
    ctx.beginPath();
    ctx.moveTo(crisp(plotWidth), 0);
    ctx.lineTo(crisp(plotWidth), bottom);
    ctx.moveTo(0, crisp(bottom));
    ctx.lineTo(width, crisp(bottom));
    if (lower) {
      ctx.moveTo(0, crisp(mainBottom + PANE_GAP / 2));
      ctx.lineTo(width, crisp(mainBottom + PANE_GAP / 2));
    }
    ctx.stroke();
    ctx.fillStyle = colors.text;
    ctx.textBaseline = "middle";
    ctx.textAlign = "left";
    for (const tick of ticks) {
      const y = main.yOf(tick);
      if (y > TOP - 2 && y < mainBottom + 2) ctx.fillText(formatAxisValue(tick, decimals), plotWidth + 6, y);
    }
    for (const tick of paneTicks) {
      const y = lower.yOf(tick);
      if (y > paneTop - 2 && y < bottom + 2) ctx.fillText(pane.formatValue(tick), plotWidth + 6, y);
    }
    ctx.textAlign = "center";
    for (const time of times.ticks) {
      const x = xOf(time);
      if (x > 20 && x < plotWidth - 20) ctx.fillText(formatTick(time, times.step), x, bottom + 12);
    }
    const last = points.at(-1);
    axisLabel(ctx, this.formatValue(last.v), plotWidth + 1, main.yOf(last.v), { background: this.color, font: colors.font });
    if (lower) {
      const lastPane = this.panePoints.at(-1);
      axisLabel(ctx, pane.formatValue(lastPane.v), plotWidth + 1, lower.yOf(lastPane.v), { background: pane.color, font: colors.font });
    }

    if (this.pointer && this.pointer.x < plotWidth && this.pointer.y < bottom) {
      const time = t0 + ((this.pointer.x - 4) / (plotWidth - 8)) * (t1 - t0);
      const nearest = nearestPoint(points, time);
      const x = xOf(nearest.t);
      const y = main.yOf(nearest.v);
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
      if (lower) {
        const under = nearestPoint(this.panePoints, nearest.t);
        const paneY = lower.yOf(under.v);
        ctx.fillStyle = pane.color;
        ctx.beginPath();
        ctx.arc(xOf(under.t), paneY, 3, 0, Math.PI * 2);
        ctx.fill();
        axisLabel(ctx, pane.formatValue(under.v), plotWidth + 1, paneY, { background: "#334155", font: colors.font });
      }
      axisLabel(ctx, formatCrosshairTime(nearest.t), x, bottom + 12, { background: "#334155", align: "center", font: colors.font });
    }
  }
}

function sortedFinite(points) {
  return [...points].filter((point) => Number.isFinite(point.v) && Number.isFinite(point.t)).sort((a, b) => a.t - b.t);
}

/** The vertical scale of one pane: its padded low/high and yOf(value) between top and bottom. */
export function valueScale(points, top, bottom, { margin = 0.08, includeZero = false } = {}) {
  let low = includeZero ? 0 : Infinity;
  let high = includeZero ? 0 : -Infinity;
  for (const point of points) {
    low = Math.min(low, point.v);
    high = Math.max(high, point.v);
  }
  if (high === low) {
    high += Math.abs(high) * 0.01 || (includeZero ? 0 : 1);
    low -= Math.abs(low) * 0.01 || 1;
  }
  const pad = (high - low) * margin;
  // A pane anchored at zero keeps zero on its edge (a drawdown's top is the zero line).
  if (!(includeZero && high === 0)) high += pad;
  if (!(includeZero && low === 0)) low -= pad;
  return { low, high, yOf: (value) => top + ((high - value) / (high - low)) * (bottom - top) };
}

function linePath(points, xOf, yOf) {
  const path = new Path2D();
  points.forEach((point, index) => {
    const x = xOf(point.t);
    const y = yOf(point.v);
    if (index === 0) path.moveTo(x, y);
    else path.lineTo(x, y);
  });
  return path;
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
