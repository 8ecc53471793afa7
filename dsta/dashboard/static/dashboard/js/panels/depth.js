// Market depth panel: one market's order book and public trades, live.
// Venues: GET /api/v1/exchange/health. Symbols: typed in the URL form (BTC-USDT), with the
// venue's active markets offered (GET /api/v1/exchange/{venue}/markets; the stored series'
// symbols when the venue cannot be asked). The book: GET /api/v1/exchange/{venue}/orderbook/{symbol}?depth=50, then
// WS /api/v1/exchange/{venue}/stream with {"action": "subscribe", "channels": ["orderbook",
// "trades"]}: every "orderbook" frame is a whole snapshot (top 50 levels), every "trade" frame
// one print of the tape. The tape starts from GET /api/v1/exchange/{venue}/trades/{symbol}?limit=60
// (oldest first; prints are deduplicated by trade id and kept newest on top, so a frame that
// arrived before the answer stays above it). Another symbol is unsubscribed first; a reconnect
// subscribes again and reads the book and the tape again (frames are not replayed). LAST is
// the newest print's price. The paper venue's book is seeded from
// the latest stored candle by the first call; each paper fill is a print on its tape, and the
// book its fills leave comes as an "orderbook" frame like any other.

import { apiFetch, isMissingEndpoint, query } from "../api.js";
import { DepthChart } from "../charts/depth.js";
import { decimalText, parseDecimal } from "../decimal.js";
import { emptyState, flash, h, replaceChildren } from "../dom.js";
import { bookSummary, cumulativeDepth, isNewerBook, normalizeBook, normalizeHealth, normalizeTrade, parseExchangeFrame, urlSymbol } from "../exchange.js";
import { formatTime } from "../format.js";
import { toast, toastError } from "../toast.js";
import { ReconnectingSocket } from "../ws.js";

const STORAGE_KEY = "dsta.dashboard.depth.market";
const STREAM_NAME = "Depth stream";
const BOOK_DEPTH = 50; // what the stream frames carry
const LADDER_LEVELS = 10;
const MAX_PRINTS = 60;
const CHANNELS = ["orderbook", "trades"];
const SYMBOL_FORM = /^[A-Z0-9]+-[A-Z0-9]+(:[A-Z0-9]+)?$/;
// Refusals that mean "this market is not there": stop listening to it.
const NO_MARKET = new Set(["unknown_symbol", "invalid_input", "unknown_venue"]);

/** A decimal string shown exactly, without trailing zeros ("19784.90" -> "19784.9"). */
export function exact(text) {
  return decimalText(parseDecimal(text)) || (text === null || text === undefined || text === "" ? "–" : String(text));
}

export function mount(section, context) {
  const tools = section.querySelector('[data-role="tools"]');
  const body = section.querySelector('[data-role="body"]');
  let venue = "";
  let symbol = "";
  let book = null; // the book shown (normalizeBook's shape)
  let socket = null;
  let subscribed = null; // the symbol subscribed on the current connection
  let streamOpened = false;
  let loadToken = 0;
  let renderFrame = 0;
  let framesApplied = 0; // book frames shown so far (a REST answer older than one is dropped)
  const prints = new Set(); // trade ids on the tape
  const remembered = readRemembered();

  // --- tools -----------------------------------------------------------------------------
  const venueSelect = h("select", { "aria-label": "Venue", id: "depth-venue", disabled: true });
  const symbolInput = h("input", {
    type: "text", id: "depth-symbol", list: "depth-symbols", autocomplete: "off", spellcheck: "false",
    "aria-label": "Symbol (e.g. BTC-USDT)", placeholder: "BTC-USDT", value: remembered.symbol, size: "11",
  });
  const symbolList = h("datalist", { id: "depth-symbols" });
  const symbolForm = h("form", { class: "depth-symbol-form", novalidate: true }, symbolInput, symbolList);
  const live = h("span", { class: "badge", id: "depth-live", hidden: true }, "");
  tools.append(live, venueSelect, symbolForm);
  venueSelect.addEventListener("change", () => choose(venueSelect.value, symbol));
  symbolForm.addEventListener("submit", (event) => {
    event.preventDefault();
    submitSymbol();
  });
  symbolInput.addEventListener("change", submitSymbol);

  // --- body ------------------------------------------------------------------------------
  const field = (label, id) => h("div", { class: "depth-stat" }, h("span", { class: "field-label" }, label), h("span", { class: "num", id }, "–"));
  const summary = h(
    "div", { class: "depth-summary", id: "depth-summary" },
    field("Best bid", "depth-bid"), field("Best ask", "depth-ask"), field("Spread", "depth-spread"),
    field("Spread (bps)", "depth-spread-bps"), field("Mid", "depth-mid"), field("Last", "depth-last"),
  );
  const readout = h("div", { class: "depth-readout muted num", id: "depth-readout" }, "Point at the chart to read the cumulative size at a price.");
  const chartHost = h("div", { class: "chart chart-depth", id: "depth-chart" });
  const ladderBody = h("tbody");
  const ladder = h(
    "table", { class: "data compact depth-ladder", id: "depth-ladder" },
    h("thead", {}, h("tr", {}, h("th", { class: "num" }, "Price"), h("th", { class: "num" }, "Amount"), h("th", { class: "num" }, "Total"))),
    ladderBody,
  );
  const bookView = h("div", { class: "depth-book" },
    h("div", { class: "depth-chart-col" }, chartHost, readout),
    h("div", { class: "depth-ladder-col" }, h("h3", { class: "sub" }, `Top ${LADDER_LEVELS} levels`), ladder));
  const bookMessage = h("div", { class: "depth-book-message", id: "depth-book-message", hidden: true });
  const tapeBody = h("tbody");
  const tapeTable = h(
    "table", { class: "data compact depth-tape", id: "depth-tape" },
    h("thead", {}, h("tr", {}, h("th", { class: "num" }, "Price"), h("th", { class: "num" }, "Amount"), h("th", { class: "num" }, "Time"))),
    tapeBody,
  );
  const tapeHost = h("div", { class: "panel-scroll depth-tape-scroll" });
  const content = h(
    "div", { class: "depth-layout" },
    h("div", { class: "depth-main" }, summary, bookView, bookMessage),
    h("div", { class: "depth-tape-col" }, h("h3", { class: "sub" }, "Trades"), tapeHost),
  );
  const message = h("div", {}, emptyState("Loading venues…"));
  replaceChildren(body, message);
  let chart = null;

  function showMessage(...children) {
    replaceChildren(message, ...children);
    if (!message.isConnected) replaceChildren(body, message);
  }

  function showContent() {
    if (!content.isConnected) replaceChildren(body, content);
    chart ??= new DepthChart(chartHost, { formatSize: exact, onPointer: showReadout });
  }

  // --- venues and symbols --------------------------------------------------------------------
  async function loadVenues() {
    let venues = [];
    try {
      venues = normalizeHealth(await apiFetch("/api/v1/exchange/health"));
    } catch (error) {
      if (isMissingEndpoint(error)) {
        section.dataset.available = "false";
        showMessage(emptyState("Not available", "This server has no exchange API."));
        return;
      }
      toastError(error, "Venues");
    }
    const names = venues.length ? venues.map((item) => item.venue) : [remembered.venue];
    venueSelect.replaceChildren(...names.map((name) => {
      const status = venues.find((item) => item.venue === name);
      return h("option", { value: name }, status?.enabled === false ? `${name} (switched off)` : name);
    }));
    venueSelect.disabled = names.length < 2;
    const initial = names.includes(remembered.venue) ? remembered.venue : names.includes("paper") ? "paper" : names[0];
    venueSelect.value = initial;
    showContent();
    choose(initial, remembered.symbol);
  }

  // Suggestions for the symbol input: the venue's active markets, or (when the venue cannot be
  // asked) the stored series' symbols. Optional either way: a symbol can always be typed.
  async function loadSymbols(forVenue) {
    let symbols = [];
    try {
      const markets = await apiFetch(`/api/v1/exchange/${encodeURIComponent(forVenue)}/markets`);
      symbols = (Array.isArray(markets) ? markets : []).filter((item) => (item.market_type ?? "spot") === "spot")
        .map((item) => urlSymbol(item.url_symbol ?? item.symbol));
    } catch {
      try {
        const payload = await apiFetch("/api/v1/market-data/series");
        symbols = (payload?.results ?? []).filter((item) => (item.market_type ?? "spot") === "spot")
          .map((item) => urlSymbol(item.url_symbol ?? item.symbol));
      } catch {
        // no suggestions: the symbol is typed
      }
    }
    if (forVenue !== venue) return; // another venue was chosen meanwhile
    symbolList.replaceChildren(...[...new Set(symbols)].sort().map((item) => h("option", { value: item })));
  }

  function submitSymbol() {
    const next = urlSymbol(symbolInput.value);
    if (!SYMBOL_FORM.test(next)) {
      toast(`“${symbolInput.value}” is not a symbol: write it as BASE-QUOTE, e.g. BTC-USDT.`, { kind: "warning" });
      symbolInput.value = symbol;
      return;
    }
    symbolInput.value = next;
    if (next !== symbol) choose(venue, next);
  }

  async function choose(nextVenue, nextSymbol) {
    const venueChanged = nextVenue !== venue;
    const previous = symbol;
    venue = nextVenue;
    symbol = nextSymbol;
    section.dataset.venue = venue;
    section.dataset.symbol = symbol;
    localStorage.setItem(STORAGE_KEY, JSON.stringify({ venue, symbol }));
    const token = ++loadToken;
    book = null;
    chart?.setBook(null, null);
    clearTape();
    renderBook();
    showBookMessage(emptyState("Loading the book…"));
    if (venueChanged) loadSymbols(venue);
    // Listen before reading, so nothing that happens meanwhile is missed.
    if (venueChanged || !socket) connect();
    else {
      if (subscribed && subscribed !== symbol) unsubscribe(previous);
      subscribe();
    }
    loadTape(token);
    await loadBook(token);
  }

  // The latest prints over REST; the book's load reports a market that is not there.
  async function loadTape(token) {
    const path = `/api/v1/exchange/${encodeURIComponent(venue)}/trades/${encodeURIComponent(symbol)}${query({ limit: MAX_PRINTS })}`;
    try {
      const payload = await apiFetch(path);
      if (token !== loadToken) return;
      for (const raw of Array.isArray(payload) ? payload : []) addPrint(normalizeTrade(raw), { live: false });
      section.dataset.tapeState = "ready";
    } catch {
      if (token !== loadToken) return;
      section.dataset.tapeState = "error"; // the stream's prints still arrive
    }
  }

  async function loadBook(token) {
    const path = `/api/v1/exchange/${encodeURIComponent(venue)}/orderbook/${encodeURIComponent(symbol)}${query({ depth: BOOK_DEPTH })}`;
    const shown = { venue, symbol };
    const framesBefore = framesApplied;
    try {
      const payload = await apiFetch(path);
      if (token !== loadToken) return;
      // A frame that arrived meanwhile is at least as new as this answer.
      if (framesApplied !== framesBefore && book !== null) return;
      applyBook(normalizeBook(payload));
    } catch (error) {
      if (token !== loadToken) return;
      toastError(error, `${shown.venue} ${shown.symbol}`);
      section.dataset.bookState = "error";
      showBookMessage(emptyState(`The book of ${shown.symbol} on ${shown.venue} could not be loaded.`, error.message));
      if (NO_MARKET.has(error.code) && subscribed === shown.symbol) unsubscribe(shown.symbol);
    }
  }

  // --- live stream -----------------------------------------------------------------------
  function connect() {
    const path = `/api/v1/exchange/${encodeURIComponent(venue)}/stream`;
    subscribed = null;
    if (socket) {
      if (socket.path !== path) {
        streamOpened = false; // another venue: its first open is not a reconnect
        socket.setPath(path);
      }
      return;
    }
    socket = new ReconnectingSocket(path, {
      name: STREAM_NAME,
      onMessage: onFrame,
      onOpen: () => {
        subscribed = null; // a new connection has no subscriptions
        subscribe();
        // Frames sent while disconnected are not replayed: read the book and the tape again.
        if (streamOpened) {
          loadBook(loadToken);
          loadTape(loadToken);
        }
        streamOpened = true;
      },
      onState: (state) => {
        section.dataset.wsState = state;
        live.hidden = false;
        live.textContent = state === "open" ? "live" : state === "unavailable" ? "no live feed" : state;
        live.className = `badge ${state === "open" ? "badge-live" : "badge-stale"}`;
        context.status.update(STREAM_NAME, state);
      },
    }).start();
  }

  function subscribe() {
    if (!socket || !symbol) return;
    if (socket.send({ action: "subscribe", symbols: [symbol], channels: CHANNELS })) subscribed = symbol;
  }

  function unsubscribe(old) {
    if (socket?.send({ action: "unsubscribe", symbols: [old] }) && subscribed === old) subscribed = null;
  }

  function onFrame(frame) {
    const parsed = parseExchangeFrame(frame);
    if (parsed.kind === "orderbook") {
      if (parsed.book.symbol !== symbol || (parsed.book.venue && parsed.book.venue !== venue)) return;
      if (!isNewerBook(book, parsed.book)) return;
      framesApplied += 1;
      applyBook(parsed.book);
    } else if (parsed.kind === "trade") {
      if (parsed.trade.symbol !== symbol || (parsed.trade.venue && parsed.trade.venue !== venue)) return;
      addPrint(parsed.trade, { live: true });
    } else if (parsed.kind === "subscribed") {
      section.dataset.subscribed = parsed.symbols.join(",");
    } else if (parsed.kind === "unsubscribed") {
      if (section.dataset.subscribed && parsed.symbols.includes(section.dataset.subscribed)) delete section.dataset.subscribed;
    } else if (parsed.kind === "error") {
      toast(`${STREAM_NAME}: ${parsed.error.message ?? "refused"}`, { kind: "error", code: parsed.error.code ?? "" });
    }
  }

  // --- the book ----------------------------------------------------------------------------
  function applyBook(incoming) {
    book = incoming;
    chart?.setBook(book, bookSummary(book));
    // The DOM (summary and ladder) at most once per animation frame, like the chart.
    if (!renderFrame) {
      renderFrame = requestAnimationFrame(() => {
        renderFrame = 0;
        renderBook();
      });
    }
  }

  function bookState() {
    if (!book) return "loading";
    return book.bids.length || book.asks.length ? "ready" : "empty";
  }

  function showBookMessage(...children) {
    replaceChildren(bookMessage, ...children);
    bookMessage.hidden = false;
    bookView.hidden = true;
  }

  function renderBook() {
    const state = bookState();
    const facts = bookSummary(book);
    setStat("depth-bid", facts.bid ? exact(facts.bid.price) : "–", "up", facts.bid ? `${exact(facts.bid.amount)} at the best bid` : "");
    setStat("depth-ask", facts.ask ? exact(facts.ask.price) : "–", "down", facts.ask ? `${exact(facts.ask.amount)} at the best ask` : "");
    setStat("depth-spread", facts.spread ?? "–", facts.crossed ? "warn" : "");
    setStat("depth-spread-bps", facts.spreadBps || "–", facts.crossed ? "warn" : "");
    setStat("depth-mid", facts.mid ?? "–", "");
    if (state !== "loading") renderBookView(state);
    section.dataset.bookState = state; // once the page shows it (tests wait on this)
  }

  function renderBookView(state) {
    if (state === "empty") {
      showBookMessage(venue === "paper"
        ? emptyState(`The paper book of ${symbol} is empty.`,
          "It is seeded from the latest stored candle of this symbol (import candles with manage.py import_candles, or let ingestion run) and then follows market data.")
        : emptyState(`No levels for ${symbol} on ${venue}: the book is empty or not synced yet.`,
          "Books arrive from the venue's market stream (manage.py exchange_stream); this panel shows the next one."));
      ladderBody.replaceChildren();
      return;
    }
    bookMessage.hidden = true;
    if (bookView.hidden) {
      bookView.hidden = false;
      chart?.refresh();
    }
    renderLadder();
  }

  function setStat(id, text, tone, title = "") {
    const element = summary.querySelector(`#${id}`);
    element.textContent = text;
    element.className = `num ${tone}`.trim();
    if (title) element.title = title;
    else element.removeAttribute("title");
  }

  function renderLadder() {
    const bids = cumulativeDepth(book.bids.slice(0, LADDER_LEVELS));
    const asks = cumulativeDepth(book.asks.slice(0, LADDER_LEVELS));
    const largest = Math.max(bids.at(-1)?.cum ?? 0, asks.at(-1)?.cum ?? 0) || 1;
    const row = (side, item, index) => {
      const bar = h("span", { class: `depth-bar depth-bar-${side}`, "aria-hidden": "true" });
      bar.style.width = `${Math.min(100, (item.cum / largest) * 100).toFixed(1)}%`; // CSSOM: the CSP allows it
      return h(
        "tr", { dataset: { side, level: String(index), price: item.price } },
        h("td", { class: `num ${side === "bid" ? "up" : "down"}` }, exact(item.price)),
        h("td", { class: "num" }, exact(item.amount)),
        h("td", { class: "num depth-total" }, bar, h("span", {}, exact(item.total))),
      );
    };
    const facts = bookSummary(book);
    const spreadRow = h("tr", { class: "depth-spread-row" },
      h("td", { colspan: "3", class: "muted small" },
        facts.spread === null ? "one-sided book" : `spread ${facts.spread}${facts.spreadBps ? ` · ${facts.spreadBps} bps` : ""}`));
    ladderBody.replaceChildren(
      ...asks.map((item, index) => row("ask", item, index)).reverse(),
      spreadRow,
      ...bids.map((item, index) => row("bid", item, index)),
    );
  }

  function showReadout(point) {
    if (!point) {
      delete readout.dataset.side;
      readout.textContent = "Point at the chart to read the cumulative size at a price.";
      return;
    }
    const base = symbol.split("-")[0];
    const price = point.price.toLocaleString(undefined, { minimumFractionDigits: point.decimals, maximumFractionDigits: point.decimals });
    readout.dataset.side = point.side;
    if (!point.level) {
      delete readout.dataset.total;
      delete readout.dataset.levelPrice;
      readout.textContent = `${price}: inside the spread`;
      return;
    }
    readout.dataset.total = point.level.total;
    readout.dataset.levelPrice = point.level.price;
    readout.textContent = `${price}: ${exact(point.level.total)} ${base} ${point.side === "bid" ? "bid at or above" : "offered at or below"} this price (down to ${exact(point.level.price)})`;
  }

  // --- the tape ----------------------------------------------------------------------------
  function clearTape() {
    prints.clear();
    tapeBody.replaceChildren();
    delete section.dataset.tapeState;
    setStat("depth-last", "–", "");
    renderTape();
  }

  function renderTape() {
    if (prints.size === 0) {
      replaceChildren(tapeHost, emptyState("No prints yet.", venue === "paper"
        ? "Trades appear here as they happen: each paper fill is a print on the paper venue's tape."
        : "Trades appear here as the venue's stream reports them."));
      return;
    }
    if (tapeHost.firstChild !== tapeTable) replaceChildren(tapeHost, tapeTable);
  }

  const toneOf = (side) => (side === "buy" ? "up" : side === "sell" ? "down" : "");

  // One print on the tape, newest on top: above every print no newer than it (REST prints come
  // oldest first, so one at the same time as another goes above it); a print without a time
  // counts as the newest. Live prints flash.
  function addPrint(trade, { live }) {
    if (prints.has(trade.id)) return;
    const tone = toneOf(trade.side);
    const time = trade.time ?? Infinity;
    const row = h(
      "tr", { dataset: { tradeId: trade.id, side: trade.side || "unknown", time: String(time) }, title: trade.side ? `${trade.side} aggressor` : "aggressor unknown" },
      h("td", { class: `num ${tone}` }, exact(trade.price)),
      h("td", { class: "num" }, exact(trade.amount)),
      h("td", { class: "num muted" }, trade.time === null ? "–" : formatTime(trade.time)),
    );
    const below = [...tapeBody.children].find((other) => Number(other.dataset.time) <= time) ?? null;
    if (below === null && tapeBody.children.length >= MAX_PRINTS) return; // older than all kept
    prints.add(trade.id);
    tapeBody.insertBefore(row, below);
    while (tapeBody.children.length > MAX_PRINTS) {
      prints.delete(tapeBody.lastElementChild.dataset.tradeId);
      tapeBody.lastElementChild.remove();
    }
    renderTape();
    if (live) flash(row);
    if (tapeBody.firstElementChild === row) {
      setStat("depth-last", exact(trade.price), tone);
      if (live) flash(summary.querySelector("#depth-last"));
    }
  }

  loadVenues();
}

function readRemembered() {
  try {
    const value = JSON.parse(localStorage.getItem(STORAGE_KEY) ?? "null");
    if (value && typeof value.venue === "string" && SYMBOL_FORM.test(value.symbol ?? "")) return value;
  } catch {
    // a damaged entry: start from the defaults
  }
  return { venue: "paper", symbol: "BTC-USDT" };
}
