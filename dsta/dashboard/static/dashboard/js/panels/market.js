// Market panel: pick a stored series (GET /api/v1/market-data/series), draw its candles and
// volume (GET /api/v1/market-data/ohlcv/{symbol}), keep the last candle moving from
// WS /api/v1/market-data/stream/{symbol}. Series made of made-up bars carry a badge.

import { apiFetch, isMissingEndpoint, query } from "../api.js";
import { CandleChart } from "../charts/candles.js";
import { LineChart } from "../charts/line.js";
import { emptyState, h, replaceChildren } from "../dom.js";
import { formatDateTime, formatPrice, formatTime } from "../format.js";
import { normalizeOhlcv, normalizeSeriesList, parseStreamFrame, seriesLabel } from "../market-data.js";
import { toast, toastError } from "../toast.js";
import { ReconnectingSocket } from "../ws.js";

const CANDLE_LIMIT = 500;
const STORAGE_KEY = "dsta.dashboard.market.series";
const STREAM_NAME = "Market stream";

export function mount(section, context) {
  const tools = section.querySelector('[data-role="tools"]');
  const body = section.querySelector('[data-role="body"]');
  let seriesList = [];
  let selected = null;
  let candles = [];
  let candleChart = null;
  let lineChart = null;
  let mode = "candles";
  let loadToken = 0;
  let socket = null;

  // --- tools ---------------------------------------------------------------------------
  const select = h("select", { "aria-label": "Series", id: "market-series", disabled: true });
  select.addEventListener("change", () => choose(select.value));
  const modeButtons = ["candles", "line"].map((name) => {
    const button = h("button", { type: "button", "aria-pressed": String(name === mode), dataset: { mode: name } }, name === "candles" ? "Candles" : "Line");
    button.addEventListener("click", () => setMode(name));
    return button;
  });
  const syntheticBadge = h("span", {
    class: "badge badge-synthetic", id: "market-synthetic", hidden: true,
    title: "Some or all of these candles were made up (demo sample or synthetic gap filling); they are not market prices.",
  }, "synthetic data");
  const liveBadge = h("span", { class: "badge", id: "market-live", hidden: true }, "");
  const chartTools = h("div", { class: "panel-tools", hidden: true },
    h("div", { class: "segmented", role: "group", "aria-label": "Chart type" }, modeButtons), select);
  tools.append(syntheticBadge, liveBadge, chartTools);

  // --- body ------------------------------------------------------------------------------
  const symbolText = h("span", { class: "market-symbol", id: "market-symbol" }, "");
  const priceText = h("span", { class: "market-price num", id: "market-price" }, "");
  const changeText = h("span", { class: "num" }, "");
  const metaText = h("span", { class: "market-meta", id: "market-meta" }, "");
  const head = h("div", { class: "market-head" }, symbolText, priceText, changeText, metaText);
  const candleHost = h("div", { class: "chart", id: "market-chart" });
  const lineHost = h("div", { class: "chart", id: "market-line", hidden: true });
  const message = h("div", {}, emptyState("Loading series…"));
  replaceChildren(body, message);

  function showChart() {
    if (message.isConnected) replaceChildren(body, head, candleHost, lineHost);
    candleChart ??= new CandleChart(candleHost);
    lineChart ??= new LineChart(lineHost, { formatValue: formatPrice });
  }

  function showMessage(title, hint) {
    replaceChildren(message, emptyState(title, hint));
    replaceChildren(body, message);
  }

  function setMode(name) {
    mode = name;
    for (const button of modeButtons) button.setAttribute("aria-pressed", String(button.dataset.mode === name));
    candleHost.hidden = name !== "candles";
    lineHost.hidden = name !== "line";
    if (name === "line") lineChart?.refresh();
  }

  // --- data ------------------------------------------------------------------------------
  async function loadSeries() {
    try {
      seriesList = normalizeSeriesList(await apiFetch("/api/v1/market-data/series"));
    } catch (error) {
      if (isMissingEndpoint(error)) {
        section.dataset.available = "false";
        showMessage("Not available", "Market data is not served by this server.");
      } else {
        toastError(error, "Market data");
        showMessage("Market data could not be loaded.", error.message);
      }
      return;
    }
    if (seriesList.length === 0) {
      showMessage("No market data stored yet.", "Import candles (manage.py import_candles) or let ingestion run; series appear here.");
      return;
    }
    select.replaceChildren(...seriesList.map((series) => h("option", { value: series.id }, seriesLabel(series) + (series.synthetic ? " (synthetic)" : ""))));
    select.disabled = false;
    chartTools.hidden = false;
    const remembered = localStorage.getItem(STORAGE_KEY);
    const initial = seriesList.find((series) => series.id === remembered) ?? seriesList[0];
    select.value = initial.id;
    choose(initial.id);
  }

  async function choose(id) {
    const series = seriesList.find((item) => item.id === id);
    if (!series) return;
    selected = series;
    localStorage.setItem(STORAGE_KEY, id);
    const token = ++loadToken;
    symbolText.textContent = seriesLabel(series);
    priceText.textContent = "";
    changeText.textContent = "";
    metaText.textContent = "loading…";
    let result;
    try {
      const params = query({
        venue: series.venue, timeframe: series.timeframe, limit: CANDLE_LIMIT,
        market_type: series.marketType !== "spot" ? series.marketType : "",
        price_type: series.priceType !== "trades" ? series.priceType : "",
      });
      result = normalizeOhlcv(await apiFetch(`/api/v1/market-data/ohlcv/${encodeURIComponent(series.urlSymbol)}${params}`));
    } catch (error) {
      if (token !== loadToken) return;
      toastError(error, seriesLabel(series));
      metaText.textContent = "could not load candles";
      return;
    }
    if (token !== loadToken) return; // the user picked another series meanwhile
    candles = result.candles;
    syntheticBadge.hidden = !(series.synthetic || result.synthetic);
    showChart();
    candleChart.setCandles(candles);
    lineChart.setPoints(candles.map((candle) => ({ t: candle.t, v: candle.c })));
    renderHead();
    subscribe(series);
  }

  function subscribe(series) {
    const path = `/api/v1/market-data/stream/${encodeURIComponent(series.urlSymbol)}${query({
      venue: series.venue, timeframe: series.timeframe,
      market_type: series.marketType !== "spot" ? series.marketType : "",
      price_type: series.priceType !== "trades" ? series.priceType : "",
    })}`;
    if (socket) {
      socket.setPath(path);
      return;
    }
    socket = new ReconnectingSocket(path, {
      name: STREAM_NAME,
      onMessage: onFrame,
      onState: (state) => {
        section.dataset.wsState = state;
        liveBadge.hidden = false;
        liveBadge.textContent = state === "open" ? "live" : state === "unavailable" ? "no live feed" : state;
        liveBadge.className = `badge ${state === "open" ? "badge-live" : "badge-stale"}`;
        context.status.update(STREAM_NAME, state);
      },
    }).start();
  }

  function onFrame(frame) {
    if (!selected || !candleChart) return;
    const parsed = parseStreamFrame(frame);
    if (parsed.kind === "error") {
      toast(`${STREAM_NAME}: ${parsed.error.message ?? "refused"}`, { kind: "error", code: parsed.error.code ?? "" });
      return;
    }
    if (parsed.kind !== "candle") return;
    const candle = parsed.candle;
    candleChart.upsert(candle);
    const last = candles.at(-1);
    if (!last || candle.t > last.t) candles.push(candle);
    else {
      const index = candles.findIndex((item) => item.t === candle.t);
      if (index < 0) return;
      candles[index] = candle;
    }
    if (candle.synthetic) syntheticBadge.hidden = false;
    lineChart.setPoints(candles.map((item) => ({ t: item.t, v: item.c })));
    renderHead(true);
  }

  function renderHead(live = false) {
    const last = candles.at(-1);
    const previous = candles.at(-2);
    if (!last) {
      metaText.textContent = "no candles in this series";
      return;
    }
    priceText.textContent = formatPrice(last.c);
    priceText.className = `market-price num ${last.c >= last.o ? "up" : "down"}`;
    if (previous) {
      const change = ((last.c - previous.c) / previous.c) * 100;
      changeText.textContent = `${change >= 0 ? "+" : ""}${change.toFixed(2)}%`;
      changeText.className = `num ${change >= 0 ? "up" : "down"}`;
    }
    const parts = [`${candles.length} candles`, `last open ${formatDateTime(last.t)}`];
    if (selected?.coverage !== null && selected?.coverage < 1) parts.push(`coverage ${(selected.coverage * 100).toFixed(1)}%`);
    if (live) parts.push(`tick ${formatTime(Date.now())}`);
    metaText.textContent = parts.join(" · ");
  }

  loadSeries();
}
