// Alerts panel: the signed-in user's notifications, the latest from
// GET /api/v1/notifications/history, new ones pushed by WS /api/v1/notifications/stream.
// Either may be absent on a server without notifications: the panel then says so.

import { apiFetch, isMissingEndpoint } from "../api.js";
import { emptyState, flash, h, replaceChildren } from "../dom.js";
import { formatAge } from "../format.js";
import { toast, toastError } from "../toast.js";
import { ReconnectingSocket } from "../ws.js";

const HISTORY_LIMIT = 30;
const MAX_SHOWN = 100;
const LOUD = new Set(["high", "critical"]);

export function mount(section, context) {
  const tools = section.querySelector('[data-role="tools"]');
  const body = section.querySelector('[data-role="body"]');
  const shown = new Map(); // notification id (text) -> <li>
  let historyAvailable = null; // null: not known yet
  let streamState = "connecting";

  const live = h("span", { class: "badge", id: "alerts-live" }, "…");
  tools.append(live);
  const list = h("ul", { class: "alerts", id: "alerts-list" });
  const host = h("div", { class: "panel-scroll" }, emptyState("Loading alerts…"));
  replaceChildren(body, host);

  function renderEmptyOrList() {
    if (historyAvailable === false && streamState === "unavailable") {
      section.dataset.available = "false";
      replaceChildren(host, emptyState("Not available", "Notifications are not available on this server."));
      return;
    }
    if (shown.size === 0) {
      replaceChildren(host, emptyState("No alerts.", "Notifications sent to you appear here as they happen."));
      return;
    }
    if (host.firstChild !== list) replaceChildren(host, list);
  }

  function add(notification, { prepend, announce }) {
    const id = String(notification?.id ?? "");
    if (!notification || !id || shown.has(id)) return;
    const item = alertItem(notification);
    shown.set(id, item);
    if (prepend) list.prepend(item);
    else list.append(item);
    while (list.children.length > MAX_SHOWN) {
      const last = list.lastElementChild;
      shown.delete(last.dataset.id);
      last.remove();
    }
    renderEmptyOrList();
    if (announce) {
      flash(item);
      if (LOUD.has(notification.priority)) {
        toast(notification.subject || "Alert", {
          kind: notification.priority === "critical" ? "error" : "warning", code: notification.priority,
        });
      }
    }
  }

  async function loadHistory() {
    try {
      const page = await apiFetch(`/api/v1/notifications/history?limit=${HISTORY_LIMIT}`);
      historyAvailable = true;
      for (const notification of page.results ?? []) add(notification, { prepend: false, announce: false });
    } catch (error) {
      if (isMissingEndpoint(error)) historyAvailable = false;
      else toastError(error, "Alerts");
    }
    renderEmptyOrList();
  }

  const socket = new ReconnectingSocket("/api/v1/notifications/stream", {
    name: "Alerts",
    onMessage: (frame) => {
      if (frame?.type === "notification") add(frame.notification, { prepend: true, announce: true });
    },
    onState: (state) => {
      streamState = state;
      section.dataset.wsState = state;
      live.textContent = state === "open" ? "live" : state === "unavailable" ? "not available" : state;
      live.className = `badge ${state === "open" ? "badge-live" : "badge-stale"}`;
      context.status.update("Alerts", state);
      renderEmptyOrList();
    },
  });
  loadHistory();
  socket.start();
}

function alertItem(notification) {
  const priority = notification.priority || "normal";
  return h(
    "li", { class: `alert alert-${priority}`, dataset: { id: String(notification.id), priority } },
    h("div", { class: "alert-head" },
      h("span", { class: "alert-subject" }, notification.subject || "(no subject)"),
      h("span", { class: "alert-time", title: notification.created_at ?? "" }, formatAge(notification.created_at))),
    notification.body ? h("div", { class: "alert-body" }, notification.body) : null,
  );
}
