// Orders panel: the signed-in user's orders and fills on one exchange account, live.
// Accounts: GET /api/v1/exchange/accounts. Orders and fills: GET /api/v1/exchange/{venue}/orders
// and /fills, then
// WS /api/v1/exchange/{venue}/stream pushes every change ({"type": "order"} and
// {"type": "fill"} frames). Balances: GET /api/v1/exchange/{venue}/balance. Traders cancel open
// orders (POST {venue}/cancel) and place paper orders from the ticket (POST {venue}/order);
// live accounts get no ticket here.

import { ApiError, apiFetch, isMissingEndpoint, query } from "../api.js";
import { emptyState, flash, h, replaceChildren } from "../dom.js";
import {
  OPEN_ORDER_STATUSES, compareOrders, mergeOrder, normalizeFillList, normalizeOrderList, parseExchangeFrame, urlSymbol,
} from "../exchange.js";
import { formatDateTime, formatDecimal } from "../format.js";
import { toast, toastError } from "../toast.js";
import { ReconnectingSocket } from "../ws.js";

const STORAGE_KEY = "dsta.dashboard.orders.account";
const STREAM_NAME = "Orders stream";
const LIST_LIMIT = 50;
const MAX_FILLS = 100;
const BALANCE_DEBOUNCE_MS = 400;
const PAPER_START = { USDT: "10000" };

export function mount(section, context) {
  const tools = section.querySelector('[data-role="tools"]');
  const body = section.querySelector('[data-role="body"]');
  const canTrade = context.hasRole("trader");
  let accounts = [];
  let account = null; // the account shown
  const orders = new Map(); // client_order_id -> order (merged state)
  const orderRows = new Map(); // client_order_id -> <tr>
  const fills = new Map(); // fill id -> fill
  let socket = null;
  let loadToken = 0;
  let balanceTimer = null;
  let listNote = "";
  let streamOpened = false;

  // --- tools -----------------------------------------------------------------------------
  const accountSelect = h("select", { "aria-label": "Exchange account", id: "orders-account", disabled: true });
  accountSelect.addEventListener("change", () => choose(accountSelect.value));
  const live = h("span", { class: "badge", id: "orders-live", hidden: true }, "");
  tools.append(live, accountSelect);

  // --- body ------------------------------------------------------------------------------
  const balances = h("div", { class: "balances", id: "orders-balances" });
  const ticket = orderTicket({ onPlace: place });
  const note = h("div", { class: "muted orders-note", id: "orders-note", hidden: true });
  const ordersBody = h("tbody");
  const ordersTable = h(
    "table", { class: "data", id: "orders-table" },
    h("thead", {}, h("tr", {}, h("th", {}, "Order"), h("th", { class: "num" }, "Price"), h("th", { class: "num" }, "Filled / amount"),
      h("th", {}, "Status"), h("th", {}, ""))),
    ordersBody,
  );
  const ordersHost = h("div", { class: "panel-scroll orders-list" });
  const fillsBody = h("tbody");
  const fillsTable = h(
    "table", { class: "data compact", id: "fills-table" },
    h("thead", {}, h("tr", {}, h("th", {}, "Fill"), h("th", { class: "num" }, "Price"), h("th", { class: "num" }, "Amount"), h("th", { class: "num" }, "Fee"))),
    fillsBody,
  );
  const fillsHost = h("div", { class: "panel-scroll fills-list" });
  const content = h(
    "div", { class: "orders-layout" },
    h("div", { class: "orders-side" }, balances, ticket.element),
    h("div", { class: "orders-main" }, note, h("h3", { class: "sub" }, "Orders"), ordersHost, h("h3", { class: "sub" }, "Fills"), fillsHost),
  );
  const message = h("div", {}, emptyState("Loading accounts…"));
  replaceChildren(body, message);

  function showMessage(...children) {
    replaceChildren(message, ...children);
    if (!message.isConnected) replaceChildren(body, message);
  }

  // --- accounts ----------------------------------------------------------------------------
  async function loadAccounts(preferId = null) {
    try {
      accounts = await apiFetch("/api/v1/exchange/accounts");
    } catch (error) {
      if (isMissingEndpoint(error) && error.code !== "unknown_venue") {
        section.dataset.available = "false";
        showMessage(emptyState("Not available", "This server has no exchange API."));
      } else {
        toastError(error, "Accounts");
        showMessage(emptyState("Accounts could not be loaded.", error.message));
      }
      return;
    }
    accounts = Array.isArray(accounts) ? accounts.filter((item) => item.enabled !== false) : [];
    if (accounts.length === 0) {
      showNoAccount();
      return;
    }
    // Paper first (the ticket works there), then by venue and name.
    accounts.sort((a, b) => (a.kind === "paper" ? 0 : 1) - (b.kind === "paper" ? 0 : 1)
      || a.venue.localeCompare(b.venue) || a.name.localeCompare(b.name));
    accountSelect.replaceChildren(...accounts.map((item) => h("option", { value: item.id },
      `${item.venue} · ${item.name}${item.kind === "paper" ? " (paper)" : ""}${item.is_default ? " · default" : ""}`)));
    accountSelect.disabled = accounts.length < 2;
    const remembered = preferId ?? localStorage.getItem(STORAGE_KEY);
    const initial = accounts.find((item) => item.id === remembered)
      ?? accounts.find((item) => item.kind === "paper" && item.venue === "paper" && item.is_default)
      ?? accounts.find((item) => item.kind === "paper")
      ?? accounts.find((item) => item.is_default)
      ?? accounts[0];
    accountSelect.value = initial.id;
    replaceChildren(body, content);
    choose(initial.id);
  }

  function showNoAccount() {
    const open = h("button", { type: "button", class: "btn btn-primary", id: "orders-open-paper" }, "Open a paper account with 10,000 USDT");
    open.addEventListener("click", async () => {
      open.disabled = true;
      try {
        const created = await apiFetch("/api/v1/exchange/paper/accounts", {
          method: "POST", body: { name: "Paper", venue: "paper", balances: PAPER_START, default: true },
        });
        toast(`Paper account “${created.name}” opened.`, { kind: "success" });
        loadAccounts(created.id);
      } catch (error) {
        open.disabled = false;
        toastError(error, "Paper account");
      }
    });
    showMessage(
      emptyState("No exchange account yet.", canTrade
        ? "Open a paper account to trade without money: it simulates the paper venue's markets (BTC-USDT, ETH-USDT, SOL-USDT…)."
        : "A trader opens one (POST /api/v1/exchange/paper/accounts), or an operator runs manage.py paper_account create --name main --balance USDT=10000 --owner-id <your user id>."),
      canTrade ? h("div", { class: "center" }, open) : null,
    );
  }

  async function choose(id) {
    const next = accounts.find((item) => item.id === id);
    if (!next) return;
    account = next;
    localStorage.setItem(STORAGE_KEY, id);
    section.dataset.venue = next.venue;
    const token = ++loadToken;
    orders.clear();
    orderRows.clear();
    fills.clear();
    ordersBody.replaceChildren();
    fillsBody.replaceChildren();
    ticket.setAccount(canTrade && next.kind === "paper" ? next : null, canTrade ? "" : "Only traders place orders.");
    subscribe(next.venue); // before the list: nothing that happens meanwhile is missed
    renderOrders();
    renderFills();
    refreshBalances();
    await loadOrders(token);
  }

  // Past fills, newest first from the API; each row is prepended, so the oldest goes first.
  async function loadFills(token) {
    const params = query({ account_id: account.id, limit: LIST_LIMIT });
    try {
      const payload = await apiFetch(`/api/v1/exchange/${encodeURIComponent(account.venue)}/fills${params}`);
      if (token !== loadToken) return;
      for (const fill of normalizeFillList(payload).reverse()) addFill(fill, { announce: false });
    } catch (error) {
      if (token !== loadToken || isMissingEndpoint(error)) return;
      toastError(error, "Fills");
    }
  }

  async function loadOrders(token) {
    const params = query({ account_id: account.id, limit: LIST_LIMIT });
    try {
      const payload = await apiFetch(`/api/v1/exchange/${encodeURIComponent(account.venue)}/orders${params}`);
      if (token !== loadToken) return;
      for (const order of normalizeOrderList(payload)) upsertOrder(order, { announce: false });
      listNote = "";
      await loadFills(token);
    } catch (error) {
      if (token !== loadToken) return;
      if (isMissingEndpoint(error) && !["unknown_venue", "unknown_account"].includes(error.code)) {
        listNote = "This server does not list past orders: the orders placed or changed while this page is open appear here.";
      } else {
        toastError(error, "Orders");
        listNote = `Orders could not be loaded: ${error.message}`;
      }
    }
    note.textContent = listNote;
    note.hidden = !listNote;
    renderOrders();
  }

  // --- live stream -----------------------------------------------------------------------
  function subscribe(venue) {
    const path = `/api/v1/exchange/${encodeURIComponent(venue)}/stream`;
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
      // Changes made while disconnected are not replayed: a reconnect reads the list again.
      onOpen: () => {
        if (streamOpened && account) loadOrders(loadToken);
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

  function onFrame(frame) {
    if (!account) return;
    const parsed = parseExchangeFrame(frame);
    if (parsed.kind === "order" && parsed.order.account_id === account.id) {
      upsertOrder(parsed.order, { announce: true });
      scheduleBalances();
    } else if (parsed.kind === "fill" && parsed.fill.account_id === account.id) {
      addFill(parsed.fill, { announce: true });
      scheduleBalances();
    } else if (parsed.kind === "error") {
      toast(`${STREAM_NAME}: ${parsed.error.message ?? "refused"}`, { kind: "error", code: parsed.error.code ?? "" });
    }
  }

  // --- orders and fills ------------------------------------------------------------------
  function upsertOrder(incoming, { announce }) {
    const id = incoming.client_order_id;
    const merged = mergeOrder(orders.get(id), incoming);
    orders.set(id, merged);
    const row = orderRow(merged);
    const existing = orderRows.get(id);
    if (existing) existing.replaceWith(row);
    orderRows.set(id, row);
    renderOrders();
    if (announce) flash(row);
  }

  function renderOrders() {
    if (orders.size === 0) {
      replaceChildren(ordersHost, emptyState("No orders.", ticket.shown() ? "Place one with the ticket." : ""));
      return;
    }
    const sorted = [...orders.values()].sort(compareOrders);
    sorted.forEach((order, index) => {
      const row = orderRows.get(order.client_order_id);
      if (ordersBody.children[index] !== row) ordersBody.insertBefore(row, ordersBody.children[index] ?? null);
    });
    if (ordersHost.firstChild !== ordersTable) replaceChildren(ordersHost, ordersTable);
  }

  function orderRow(order) {
    const open = OPEN_ORDER_STATUSES.has(order.status);
    const cancel = h("button", { type: "button", class: "btn btn-small btn-danger", hidden: !open || !canTrade }, "Cancel");
    cancel.addEventListener("click", () => cancelOrder(order.client_order_id, cancel));
    return h(
      "tr", { dataset: { clientOrderId: order.client_order_id, status: order.status ?? "", outcome: order.outcome ?? "" } },
      h("td", {},
        h("div", {}, h("span", { class: order.side === "buy" ? "up" : "down" }, order.side ?? ""), " ", order.symbol ?? "", " ",
          h("span", { class: "muted" }, order.type ?? "")),
        h("div", { class: "muted mono small order-id", title: order.client_order_id }, formatDateTime(order.created_at ?? order.updated_at), " · ", order.client_order_id)),
      h("td", { class: "num" }, order.price ? formatDecimal(order.price) : "market",
        order.average_price ? h("div", { class: "muted" }, `avg ${formatDecimal(order.average_price)}`) : null),
      h("td", { class: "num" }, `${formatDecimal(order.filled ?? "0")} / ${formatDecimal(order.amount)}`),
      h("td", {}, h("span", { class: `status order-${order.status ?? `outcome-${order.outcome}`}` }, orderState(order)),
        order.reason ? h("div", { class: "muted small" }, order.reason) : null),
      h("td", {}, cancel),
    );
  }

  function addFill(fill, { announce }) {
    const id = String(fill.fill_id ?? fill.id);
    if (fills.has(id)) return;
    fills.set(id, fill);
    const row = fillRow(fill);
    fillsBody.prepend(row);
    while (fillsBody.children.length > MAX_FILLS) fillsBody.lastElementChild.remove();
    renderFills();
    if (announce) flash(row);
  }

  function renderFills() {
    if (fills.size === 0) {
      replaceChildren(fillsHost, emptyState("No fills yet.", "Fills are pushed here as they happen."));
      return;
    }
    if (fillsHost.firstChild !== fillsTable) replaceChildren(fillsHost, fillsTable);
  }

  async function cancelOrder(clientOrderId, button) {
    const order = orders.get(clientOrderId);
    if (!order || !account) return;
    button.disabled = true;
    try {
      const ack = await apiFetch(`/api/v1/exchange/${encodeURIComponent(account.venue)}/cancel`, {
        method: "POST",
        body: { client_order_id: clientOrderId, symbol: urlSymbol(order.symbol), account_id: account.id },
      });
      upsertOrder(ack, { announce: true });
      toast(`Order ${clientOrderId} ${ack.status}.`, { kind: "success" });
      scheduleBalances();
    } catch (error) {
      button.disabled = false;
      toastError(error, "Cancel");
    }
  }

  async function place(request, submit) {
    if (!account) return;
    submit.disabled = true;
    try {
      const ack = await apiFetch(`/api/v1/exchange/${encodeURIComponent(account.venue)}/order`, {
        method: "POST", body: { ...request, account_id: account.id },
      });
      upsertOrder(ack, { announce: true });
      toast(`Order ${ack.client_order_id}: ${ack.status.replace("_", " ")}.`, { kind: ack.status === "rejected" ? "warning" : "success" });
      scheduleBalances();
    } catch (error) {
      toastError(error, "Order");
    } finally {
      submit.disabled = false;
    }
  }

  // --- balances ----------------------------------------------------------------------------
  function scheduleBalances() {
    clearTimeout(balanceTimer);
    balanceTimer = setTimeout(refreshBalances, BALANCE_DEBOUNCE_MS);
  }

  async function refreshBalances() {
    if (!account) return;
    const shown = account;
    try {
      const payload = await apiFetch(`/api/v1/exchange/${encodeURIComponent(shown.venue)}/balance${query({ account_id: shown.id })}`);
      if (shown !== account) return;
      const rows = (payload.balances ?? []).filter((item) => formatDecimal(item.total) !== "0" || formatDecimal(item.locked) !== "0");
      replaceChildren(balances,
        h("div", { class: "balances-head" }, h("span", {}, shown.name), h("span", { class: "muted" }, `${shown.kind} · ${shown.venue}`)),
        rows.length
          ? h("table", { class: "data compact" },
            h("thead", {}, h("tr", {}, h("th", {}, "Asset"), h("th", { class: "num" }, "Free"), h("th", { class: "num" }, "Locked"))),
            h("tbody", {}, rows.map((item) => h("tr", { dataset: { asset: item.asset } },
              h("td", {}, item.asset), h("td", { class: "num" }, formatDecimal(item.free)), h("td", { class: "num" }, formatDecimal(item.locked))))))
          : h("div", { class: "muted" }, "No balances."));
    } catch (error) {
      if (shown !== account) return;
      replaceChildren(balances, h("div", { class: "muted" }, `Balances unavailable: ${error instanceof ApiError ? error.code : error.message}`));
    }
  }

  loadAccounts();
}

/** One fill's row (a stream frame's fill or a listed one): side, market, price, amount, fee. */
export function fillRow(fill) {
  return h(
    "tr", { dataset: { fillId: String(fill.fill_id ?? fill.id) } },
    h("td", {}, h("div", {}, h("span", { class: fill.side === "buy" ? "up" : "down" }, fill.side ?? ""), " ", fill.symbol ?? "",
      fill.liquidity ? h("span", { class: "muted" }, ` ${fill.liquidity}`) : null),
    h("div", { class: "muted small" }, formatDateTime(fill.filled_at ?? fill.timestamp))),
    h("td", { class: "num" }, formatDecimal(fill.price)),
    h("td", { class: "num" }, formatDecimal(fill.amount)),
    h("td", { class: "num" }, `${formatDecimal(fill.fee)} ${fill.fee_currency ?? ""}`.trim()),
  );
}

/**
 * An order's state as text: its status, or for a live order the venue has not answered yet
 * (status null) the ledger's outcome ("unknown": placed but unconfirmed, being reconciled).
 */
function orderState(order) {
  if (order.status) return order.status.replace("_", " ");
  return order.outcome ? `outcome ${order.outcome}` : "pending";
}

/** The paper order ticket: symbol, side, type, amount, limit price. Amounts stay text. */
function orderTicket({ onPlace }) {
  let side = "buy";
  const symbol = h("input", { type: "text", id: "ticket-symbol", value: "BTC-USDT", autocomplete: "off", spellcheck: "false", "aria-label": "Symbol" });
  const sideButtons = ["buy", "sell"].map((name) => {
    const button = h("button", { type: "button", class: `side-${name}`, "aria-pressed": String(name === side), dataset: { side: name } }, name === "buy" ? "Buy" : "Sell");
    button.addEventListener("click", () => {
      side = name;
      for (const item of sideButtons) item.setAttribute("aria-pressed", String(item.dataset.side === side));
      renderSubmit();
    });
    return button;
  });
  const type = h("select", { id: "ticket-type", "aria-label": "Order type" },
    h("option", { value: "limit" }, "Limit"), h("option", { value: "market" }, "Market"));
  const amount = h("input", { type: "text", id: "ticket-amount", inputmode: "decimal", placeholder: "0.01", autocomplete: "off", "aria-label": "Amount" });
  const price = h("input", { type: "text", id: "ticket-price", inputmode: "decimal", placeholder: "limit price", autocomplete: "off", "aria-label": "Limit price" });
  const submit = h("button", { type: "submit", class: "btn btn-primary", id: "ticket-submit" }, "Buy");
  const label = h("div", { class: "ticket-title" }, "Paper order");
  const element = h(
    "form", { class: "ticket", id: "order-ticket", hidden: true, novalidate: true },
    label,
    h("div", { class: "segmented ticket-side", role: "group", "aria-label": "Side" }, sideButtons),
    h("label", { class: "field" }, h("span", { class: "field-label" }, "Symbol"), symbol),
    h("label", { class: "field" }, h("span", { class: "field-label" }, "Type"), type),
    h("label", { class: "field" }, h("span", { class: "field-label" }, "Amount"), amount),
    h("label", { class: "field" }, h("span", { class: "field-label" }, "Price"), price),
    submit,
  );
  const notice = h("div", { class: "muted ticket-notice", id: "ticket-notice", hidden: true });

  function renderSubmit() {
    submit.textContent = `${side === "buy" ? "Buy" : "Sell"} ${urlSymbol(symbol.value) || ""}`.trim();
    submit.className = `btn ${side === "buy" ? "btn-buy" : "btn-sell"}`;
  }
  type.addEventListener("change", () => {
    price.disabled = type.value === "market";
  });
  symbol.addEventListener("input", renderSubmit);
  element.addEventListener("submit", (event) => {
    event.preventDefault();
    const request = {
      symbol: urlSymbol(symbol.value), side, type: type.value, amount: amount.value.trim(),
    };
    if (type.value !== "market") request.price = price.value.trim();
    onPlace(request, submit);
  });
  renderSubmit();

  const wrapper = h("div", { class: "ticket-host" }, element, notice);
  return {
    element: wrapper,
    shown: () => !element.hidden,
    /** Show the ticket for a paper account (null: hide it, saying why). */
    setAccount(account, reason) {
      element.hidden = !account;
      if (account) label.textContent = `Paper order · ${account.name}`;
      notice.hidden = Boolean(account);
      notice.textContent = account ? "" : reason || "Orders on live accounts are not placed from the dashboard.";
    },
  };
}
