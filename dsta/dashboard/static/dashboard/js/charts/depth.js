// A depth chart: cumulative bid size (left, "up" colour) and ask size (right, "down" colour)
// against price, as steps from the best level outwards; the spread shaded, the mid marked,
// and a crosshair reading the cumulative size at the pointer's price. Fed whole books
// (exchange.js normalizeBook); each setBook() asks for one redraw on the next animation frame,
// so a burst of stream frames draws once per frame.

import { cumulativeDepth, depthAt } from "../exchange.js";
import { Surface, axisLabel, crisp, formatAxisValue, niceTicks, theme, tickDecimals } from "./common.js";

const AXIS_WIDTH = 64;
const PRICE_AXIS_HEIGHT = 22;
const TOP = 22;

/** Decimals the book's prices are quoted with (at most 8), for the crosshair's price. */
function priceDecimals(levels) {
  let decimals = 0;
  for (const item of levels) {
    const fraction = item.price.split(".")[1]?.replace(/0+$/, "") ?? "";
    decimals = Math.max(decimals, fraction.length);
  }
  return Math.min(8, decimals);
}

export class DepthChart {
  /**
   * options: formatSize(total string) -> text for the crosshair's size label;
   * onPointer({price, side, level} | null) when the crosshair moves or leaves.
   */
  constructor(container, { formatSize = (text) => text, onPointer = () => {} } = {}) {
    this.colors = theme();
    this.formatSize = formatSize;
    this.onPointer = onPointer;
    this.bids = [];
    this.asks = [];
    this.summary = null;
    this.decimals = 2;
    this.pointer = null;
    this.draws = 0; // how many times the chart was drawn (a test reads it)
    this.geometry = null;
    this.surface = new Surface(container, (ctx, width, height) => this.draw(ctx, width, height));
    const canvas = this.surface.canvas;
    canvas.addEventListener("pointermove", (event) => {
      const rect = canvas.getBoundingClientRect();
      this.pointer = { x: event.clientX - rect.left, y: event.clientY - rect.top };
      this.surface.requestDraw();
    });
    canvas.addEventListener("pointerleave", () => {
      this.pointer = null;
      this.onPointer(null);
      this.surface.requestDraw();
    });
  }

  /** A new book (normalizeBook's shape) and its bookSummary(); drawn on the next frame. */
  setBook(book, summary) {
    this.bids = cumulativeDepth(book?.bids ?? []);
    this.asks = cumulativeDepth(book?.asks ?? []);
    this.summary = summary ?? null;
    this.decimals = priceDecimals([...this.bids.slice(0, 20), ...this.asks.slice(0, 20)]);
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
    this.draws += 1;
    this.geometry = null;
    const { bids, asks, colors } = this;
    const plotWidth = width - AXIS_WIDTH;
    const bottom = height - PRICE_AXIS_HEIGHT;
    if ((bids.length === 0 && asks.length === 0) || plotWidth < 60 || bottom - TOP < 40) return;

    const bestBid = bids[0]?.p;
    const bestAsk = asks[0]?.p;
    const mid = bids.length && asks.length ? (bestBid + bestAsk) / 2 : bestBid ?? bestAsk;
    let half = Math.max(bids.length ? mid - bids.at(-1).p : 0, asks.length ? asks.at(-1).p - mid : 0);
    half = half > 0 ? half * 1.04 : Math.abs(mid) * 0.001 || 1;
    const low = mid - half;
    const high = mid + half;
    const xOf = (price) => ((price - low) / (high - low)) * plotWidth;
    const maxCum = Math.max(bids.at(-1)?.cum ?? 0, asks.at(-1)?.cum ?? 0) * 1.12 || 1;
    const yOf = (cum) => bottom - (cum / maxCum) * (bottom - TOP);
    this.geometry = { plotWidth, bottom, low, high, mid };

    // Grid: sizes across, prices down.
    ctx.font = colors.font;
    const sizeTicks = niceTicks(0, maxCum, Math.max(2, Math.round((bottom - TOP) / 50)));
    const priceTicks = niceTicks(low, high, Math.max(2, Math.round(plotWidth / 120)));
    const priceTickDecimals = tickDecimals(priceTicks);
    const sizeDecimals = tickDecimals(sizeTicks);
    ctx.strokeStyle = colors.grid;
    ctx.lineWidth = 1;
    ctx.beginPath();
    for (const tick of sizeTicks) {
      ctx.moveTo(0, crisp(yOf(tick)));
      ctx.lineTo(plotWidth, crisp(yOf(tick)));
    }
    for (const tick of priceTicks) {
      ctx.moveTo(crisp(xOf(tick)), TOP);
      ctx.lineTo(crisp(xOf(tick)), bottom);
    }
    ctx.stroke();

    // The spread between the best bid and the best ask.
    if (bids.length && asks.length && bestAsk > bestBid) {
      ctx.fillStyle = `${colors.crosshair}26`;
      ctx.fillRect(xOf(bestBid), TOP, Math.max(1, xOf(bestAsk) - xOf(bestBid)), bottom - TOP);
    }

    // Each side as steps from its best level outwards, flat to the edge past the last level.
    this.drawSide(ctx, bids, { xOf, yOf, bottom, edge: 0, color: colors.up });
    this.drawSide(ctx, asks, { xOf, yOf, bottom, edge: plotWidth, color: colors.down });

    // The mid, dashed, with the spread above it.
    const midX = xOf(mid);
    ctx.strokeStyle = colors.crosshair;
    ctx.setLineDash([3, 3]);
    ctx.beginPath();
    ctx.moveTo(crisp(midX), TOP - 4);
    ctx.lineTo(crisp(midX), bottom);
    ctx.stroke();
    ctx.setLineDash([]);
    const summary = this.summary;
    if (summary?.spread) {
      const text = `spread ${summary.spread}${summary.spreadBps ? ` · ${summary.spreadBps} bps` : ""}`;
      ctx.font = colors.font;
      const textWidth = ctx.measureText(text).width + 10;
      const left = Math.min(Math.max(0, midX - textWidth / 2), Math.max(0, plotWidth - textWidth));
      axisLabel(ctx, text, left, TOP - 11, { background: colors.border, color: colors.strong, font: colors.font });
    }

    // Axes: sizes on the right, prices below.
    ctx.strokeStyle = colors.border;
    ctx.beginPath();
    ctx.moveTo(crisp(plotWidth), TOP - 4);
    ctx.lineTo(crisp(plotWidth), bottom);
    ctx.moveTo(0, crisp(bottom));
    ctx.lineTo(width, crisp(bottom));
    ctx.stroke();
    ctx.fillStyle = colors.text;
    ctx.textBaseline = "middle";
    ctx.textAlign = "left";
    for (const tick of sizeTicks) {
      const y = yOf(tick);
      if (y > TOP - 2 && y < bottom - 6) ctx.fillText(formatAxisValue(tick, sizeDecimals), plotWidth + 6, y);
    }
    ctx.textAlign = "center";
    for (const tick of priceTicks) {
      const x = xOf(tick);
      if (x > 30 && x < plotWidth - 30 && Math.abs(x - midX) > 50) ctx.fillText(formatAxisValue(tick, priceTickDecimals), x, bottom + 11);
    }
    const midText = summary?.mid ?? formatAxisValue(mid, this.decimals);
    axisLabel(ctx, midText, midX, bottom + 11, { background: colors.accent, align: "center", font: colors.font });

    this.drawCrosshair(ctx, { xOf, yOf, bottom, plotWidth, low, high, mid });
  }

  drawSide(ctx, levels, { xOf, yOf, bottom, edge, color }) {
    if (levels.length === 0) return;
    // Up from the baseline at the best level, then a step at each deeper level.
    const steps = (path) => {
      path.moveTo(xOf(levels[0].p), bottom);
      path.lineTo(xOf(levels[0].p), yOf(levels[0].cum));
      for (let index = 1; index < levels.length; index += 1) {
        path.lineTo(xOf(levels[index].p), yOf(levels[index - 1].cum));
        path.lineTo(xOf(levels[index].p), yOf(levels[index].cum));
      }
      path.lineTo(edge, yOf(levels.at(-1).cum));
      return path;
    };
    const area = steps(new Path2D());
    area.lineTo(edge, bottom);
    area.closePath();
    ctx.fillStyle = `${color}38`;
    ctx.fill(area);
    ctx.strokeStyle = color;
    ctx.lineWidth = 1.6;
    ctx.stroke(steps(new Path2D()));
    ctx.lineWidth = 1;
  }

  drawCrosshair(ctx, { xOf, yOf, bottom, plotWidth, low, high, mid }) {
    const pointer = this.pointer;
    if (!pointer || pointer.x < 0 || pointer.x >= plotWidth || pointer.y > bottom) {
      if (pointer) this.onPointer(null);
      return;
    }
    const colors = this.colors;
    const price = low + (pointer.x / plotWidth) * (high - low);
    const hit = depthAt(this.bids, this.asks, mid, price);
    ctx.strokeStyle = colors.crosshair;
    ctx.setLineDash([4, 4]);
    ctx.beginPath();
    ctx.moveTo(crisp(pointer.x), TOP);
    ctx.lineTo(crisp(pointer.x), bottom);
    if (hit.level) {
      const y = yOf(hit.level.cum);
      ctx.moveTo(0, crisp(y));
      ctx.lineTo(plotWidth, crisp(y));
    }
    ctx.stroke();
    ctx.setLineDash([]);
    if (hit.level) {
      const y = yOf(hit.level.cum);
      ctx.fillStyle = hit.side === "bid" ? colors.up : colors.down;
      ctx.beginPath();
      ctx.arc(xOf(hit.level.p), y, 3.5, 0, Math.PI * 2);
      ctx.fill();
      axisLabel(ctx, this.formatSize(hit.level.total), plotWidth + 1, y, { background: "#334155", font: colors.font });
    }
    axisLabel(ctx, formatAxisValue(price, this.decimals), pointer.x, bottom + 11, { background: "#334155", align: "center", font: colors.font });
    this.onPointer({ price, side: hit.side, level: hit.level, decimals: this.decimals });
  }
}
