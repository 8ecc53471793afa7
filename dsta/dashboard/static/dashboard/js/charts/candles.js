// Candlestick chart with a volume pane, drawn on a canvas.
// Wheel zooms, drag pans, double-click returns to the latest candles; the crosshair shows
// the candle under the pointer in the legend. Candles: {t (open time, ms UTC), o, h, l, c, v}.

import { formatCompact, formatPrice } from "../format.js";
import {
  Surface, axisLabel, crisp, formatAxisValue, formatCrosshairTime, formatTick, niceTicks, theme, tickDecimals,
  timeTicks,
} from "./common.js";

const AXIS_WIDTH = 74;
const TIME_AXIS_HEIGHT = 24;
const LEGEND_HEIGHT = 22;
const VOLUME_SHARE = 0.22;
const MIN_SPACING = 2;
const MAX_SPACING = 40;

export class CandleChart {
  constructor(container) {
    this.candles = [];
    this.spacing = 8; // pixels per candle
    this.offset = 0; // candles hidden to the right of the newest (panning back in time)
    this.pointer = null; // {x, y} in CSS pixels while the pointer is over the chart
    this.drag = null;
    this.colors = theme();
    this.surface = new Surface(container, (ctx, width, height) => this.draw(ctx, width, height));
    this.listen(this.surface.canvas);
  }

  /** Replace every candle (sorted by open time here, duplicates keep the last). */
  setCandles(candles) {
    const byTime = new Map();
    for (const candle of candles) byTime.set(candle.t, candle);
    this.candles = [...byTime.values()].sort((a, b) => a.t - b.t);
    this.offset = 0;
    this.surface.requestDraw();
  }

  /** Apply a live candle: replaces the one with the same open time or appends a newer one. */
  upsert(candle) {
    const last = this.candles.at(-1);
    if (!last || candle.t > last.t) {
      this.candles.push(candle);
      if (this.offset > 0) this.offset += 1; // keep a panned view where the user left it
    } else if (candle.t === last.t) {
      this.candles[this.candles.length - 1] = candle;
    } else {
      const index = this.candles.findIndex((item) => item.t === candle.t);
      if (index < 0) return "ignored"; // older than the window and not loaded: skip
      this.candles[index] = candle;
    }
    this.surface.requestDraw();
    return "applied";
  }

  destroy() {
    this.surface.destroy();
  }

  // --- interaction ---------------------------------------------------------------------
  listen(canvas) {
    canvas.addEventListener("pointermove", (event) => {
      const rect = canvas.getBoundingClientRect();
      this.pointer = { x: event.clientX - rect.left, y: event.clientY - rect.top };
      if (this.drag) {
        const moved = Math.round((this.pointer.x - this.drag.x) / this.spacing);
        this.offset = this.clampOffset(this.drag.offset + moved);
      }
      this.surface.requestDraw();
    });
    canvas.addEventListener("pointerleave", () => {
      this.pointer = null;
      this.surface.requestDraw();
    });
    canvas.addEventListener("pointerdown", (event) => {
      const rect = canvas.getBoundingClientRect();
      this.drag = { x: event.clientX - rect.left, offset: this.offset };
      canvas.setPointerCapture(event.pointerId);
    });
    const endDrag = () => { this.drag = null; };
    canvas.addEventListener("pointerup", endDrag);
    canvas.addEventListener("pointercancel", endDrag);
    canvas.addEventListener("wheel", (event) => {
      event.preventDefault();
      const factor = event.deltaY < 0 ? 1.15 : 1 / 1.15;
      this.spacing = Math.min(MAX_SPACING, Math.max(MIN_SPACING, this.spacing * factor));
      this.offset = this.clampOffset(this.offset);
      this.surface.requestDraw();
    }, { passive: false });
    canvas.addEventListener("dblclick", () => {
      this.offset = 0;
      this.spacing = 8;
      this.surface.requestDraw();
    });
  }

  clampOffset(offset) {
    return Math.max(0, Math.min(offset, Math.max(0, this.candles.length - 5)));
  }

  // --- drawing ---------------------------------------------------------------------------
  draw(ctx, width, height) {
    const colors = this.colors;
    const plotWidth = width - AXIS_WIDTH;
    const chartBottom = height - TIME_AXIS_HEIGHT;
    const volumeHeight = Math.round((chartBottom - LEGEND_HEIGHT) * VOLUME_SHARE);
    const priceTop = LEGEND_HEIGHT + 6;
    const priceBottom = chartBottom - volumeHeight - 8;
    const volumeTop = chartBottom - volumeHeight;
    ctx.font = colors.font;

    if (this.candles.length === 0 || plotWidth < 40 || priceBottom - priceTop < 40) return;

    const spacing = this.spacing;
    const newest = this.candles.length - 1 - this.offset;
    const count = Math.max(1, Math.ceil(plotWidth / spacing));
    const oldest = Math.max(0, newest - count + 1);
    const visible = this.candles.slice(oldest, newest + 1);
    // x of candle i's centre: the newest sits 1.5 candles in from the axis.
    const xOf = (index) => plotWidth - spacing * (newest - index + 1.5);

    let low = Infinity;
    let high = -Infinity;
    let maxVolume = 0;
    for (const candle of visible) {
      low = Math.min(low, candle.l);
      high = Math.max(high, candle.h);
      maxVolume = Math.max(maxVolume, candle.v || 0);
    }
    if (high === low) {
      const pad = Math.abs(high) * 0.01 || 1;
      high += pad;
      low -= pad;
    }
    const margin = (high - low) * 0.06;
    high += margin;
    low -= margin;
    const yOf = (price) => priceTop + ((high - price) / (high - low)) * (priceBottom - priceTop);
    const priceAt = (y) => high - ((y - priceTop) / (priceBottom - priceTop)) * (high - low);

    // Grid: price ticks, time ticks.
    const ticks = niceTicks(low, high, Math.max(2, Math.round((priceBottom - priceTop) / 55)));
    const decimals = tickDecimals(ticks);
    ctx.strokeStyle = colors.grid;
    ctx.lineWidth = 1;
    ctx.beginPath();
    for (const tick of ticks) {
      const y = crisp(yOf(tick));
      ctx.moveTo(0, y);
      ctx.lineTo(plotWidth, y);
    }
    const firstTime = visible[0].t;
    const lastTime = visible.at(-1).t;
    const msPerCandle = visible.length > 1 ? (lastTime - firstTime) / (visible.length - 1) : 60_000;
    const timeAt = (x) => lastTime + ((x - xOf(newest)) / spacing) * msPerCandle;
    const times = timeTicks(timeAt(0), timeAt(plotWidth), plotWidth);
    const xOfTime = (time) => xOf(newest) + ((time - lastTime) / msPerCandle) * spacing;
    for (const time of times.ticks) {
      const x = crisp(xOfTime(time));
      ctx.moveTo(x, priceTop - 6);
      ctx.lineTo(x, chartBottom);
    }
    ctx.stroke();

    // Volume bars, then candles.
    const bodyWidth = Math.max(1, Math.floor(spacing * 0.68));
    visible.forEach((candle, position) => {
      const index = oldest + position;
      const x = xOf(index);
      // Made-up bars (synthetic gap filling) are grey: they are not market prices.
      const color = candle.synthetic ? colors.synthetic : candle.c >= candle.o ? colors.up : colors.down;
      if (maxVolume > 0 && candle.v > 0) {
        const barHeight = Math.max(1, (candle.v / maxVolume) * (volumeHeight - 2));
        ctx.fillStyle = color;
        ctx.globalAlpha = 0.35;
        ctx.fillRect(Math.round(x - bodyWidth / 2), chartBottom - barHeight, bodyWidth, barHeight);
        ctx.globalAlpha = 1;
      }
      ctx.strokeStyle = color;
      ctx.fillStyle = color;
      ctx.beginPath();
      ctx.moveTo(crisp(x), Math.round(yOf(candle.h)));
      ctx.lineTo(crisp(x), Math.round(yOf(candle.l)));
      ctx.stroke();
      const top = yOf(Math.max(candle.o, candle.c));
      const bodyHeight = Math.max(1, yOf(Math.min(candle.o, candle.c)) - top);
      ctx.fillRect(Math.round(x - bodyWidth / 2), Math.round(top), bodyWidth, Math.round(bodyHeight) || 1);
    });

    // Axes: separators, price labels, time labels.
    ctx.strokeStyle = colors.border;
    ctx.beginPath();
    ctx.moveTo(crisp(plotWidth), 0);
    ctx.lineTo(crisp(plotWidth), chartBottom);
    ctx.moveTo(0, crisp(chartBottom));
    ctx.lineTo(width, crisp(chartBottom));
    ctx.moveTo(0, crisp(volumeTop - 4));
    ctx.lineTo(plotWidth, crisp(volumeTop - 4));
    ctx.stroke();
    ctx.fillStyle = colors.text;
    ctx.textBaseline = "middle";
    ctx.textAlign = "left";
    for (const tick of ticks) {
      const y = yOf(tick);
      if (y > priceTop - 2 && y < priceBottom + 2) {
        ctx.fillText(formatAxisValue(tick, decimals), plotWidth + 6, y);
      }
    }
    ctx.textAlign = "center";
    for (const time of times.ticks) {
      const x = xOfTime(time);
      if (x > 20 && x < plotWidth - 20) ctx.fillText(formatTick(time, times.step), x, chartBottom + 12);
    }
    ctx.textAlign = "left";
    ctx.fillText(formatCompact(maxVolume), plotWidth + 6, volumeTop + 6);

    // The newest close: a dashed line and its label on the axis.
    const latest = this.candles.at(-1);
    const latestY = yOf(latest.c);
    if (latestY >= priceTop && latestY <= priceBottom) {
      const color = latest.c >= latest.o ? colors.up : colors.down;
      ctx.strokeStyle = color;
      ctx.setLineDash([3, 3]);
      ctx.beginPath();
      ctx.moveTo(0, crisp(latestY));
      ctx.lineTo(plotWidth, crisp(latestY));
      ctx.stroke();
      ctx.setLineDash([]);
      axisLabel(ctx, formatPrice(latest.c), plotWidth + 1, latestY, { background: color, font: colors.font });
    }

    // Crosshair and legend.
    let focus = latest;
    const pointer = this.pointer;
    if (pointer && pointer.x < plotWidth && pointer.y < chartBottom) {
      const index = Math.round(newest - ((plotWidth - pointer.x) / spacing - 1.5));
      if (index >= oldest && index <= newest) focus = this.candles[index];
      const x = crisp(xOf(Math.min(Math.max(index, oldest), newest)));
      ctx.strokeStyle = colors.crosshair;
      ctx.setLineDash([4, 4]);
      ctx.beginPath();
      ctx.moveTo(x, 0);
      ctx.lineTo(x, chartBottom);
      ctx.moveTo(0, crisp(pointer.y));
      ctx.lineTo(plotWidth, crisp(pointer.y));
      ctx.stroke();
      ctx.setLineDash([]);
      if (pointer.y >= priceTop && pointer.y <= priceBottom) {
        axisLabel(ctx, formatPrice(priceAt(pointer.y)), plotWidth + 1, pointer.y, { background: "#334155", font: colors.font });
      }
      axisLabel(ctx, formatCrosshairTime(focus.t), x, chartBottom + 12, { background: "#334155", align: "center", font: colors.font });
    }
    this.drawLegend(ctx, focus);
  }

  drawLegend(ctx, candle) {
    const colors = this.colors;
    const valueColor = candle.c >= candle.o ? colors.up : colors.down;
    const parts = [
      ["O", formatPrice(candle.o)], ["H", formatPrice(candle.h)], ["L", formatPrice(candle.l)],
      ["C", formatPrice(candle.c)], ["V", formatCompact(candle.v)],
    ];
    const change = candle.o ? ((candle.c - candle.o) / candle.o) * 100 : 0;
    parts.push(["", `${change >= 0 ? "+" : ""}${change.toFixed(2)}%`]);
    ctx.font = this.colors.font;
    ctx.textBaseline = "middle";
    ctx.textAlign = "left";
    let x = 6;
    for (const [name, value] of parts) {
      if (name) {
        ctx.fillStyle = colors.text;
        ctx.fillText(name, x, 11);
        x += ctx.measureText(name).width + 4;
      }
      ctx.fillStyle = valueColor;
      ctx.fillText(value, x, 11);
      x += ctx.measureText(value).width + 12;
    }
  }
}
