// Configuration panel: every key with its effective value in one environment, kept current
// by WS /api/v1/config/watch, and the trading kill switch (writable by admins: PUT
// /api/v1/config/trading.kill_switch with the CSRF token).

import { ApiError, apiFetch, query } from "../api.js";
import { emptyState, flash, h, replaceChildren } from "../dom.js";
import { formatAge, formatJson } from "../format.js";
import { toast, toastError } from "../toast.js";
import { ReconnectingSocket } from "../ws.js";

export const KILL_SWITCH_KEY = "trading.kill_switch";
const ENVIRONMENTS = ["default", "paper", "live"];
const VALUE_PREVIEW_CHARS = 120;
const SOURCE_TEXT = { environment: "set here", default: "from default", key_default: "built-in" };

export function mount(section, context) {
  const tools = section.querySelector('[data-role="tools"]');
  const body = section.querySelector('[data-role="body"]');
  const items = new Map(); // key -> {key, description, schema, is_secret, current: {...}}
  const rows = new Map(); // key -> <tr>
  let environment = context.configEnvironment;
  let loading = null;

  // --- tools: the environment shown --------------------------------------------------------
  const environments = [...new Set([environment, ...ENVIRONMENTS])];
  const select = h(
    "select", { "aria-label": "Configuration environment", id: "config-environment" },
    environments.map((name) => h("option", { value: name, selected: name === environment }, name)),
  );
  select.addEventListener("change", () => {
    environment = select.value;
    socket.setPath(watchPath(environment));
    load();
  });
  tools.append(select);

  // --- the kill switch card ------------------------------------------------------------------
  const killSwitch = h("button", {
    type: "button", class: "switch", role: "switch", id: "kill-switch", "aria-checked": "false",
    "aria-label": "Trading kill switch", disabled: !context.canWriteConfig,
    title: context.canWriteConfig ? "Halt or resume all trading" : "Only administrators can change this",
  });
  const killState = h("div", { class: "killswitch-state", id: "kill-switch-state" }, "…");
  const killCard = h(
    "div", { class: "killswitch", id: "kill-switch-card", hidden: true },
    h("div", {}, h("div", { class: "killswitch-title" }, "Trading kill switch"), killState),
    killSwitch,
  );
  killSwitch.addEventListener("click", () => toggleKillSwitch());

  const tbody = h("tbody");
  const table = h(
    "table", { class: "data", id: "config-table" },
    h("thead", {}, h("tr", {}, h("th", {}, "Key"), h("th", {}, "Value"), h("th", {}, "Version"))),
    tbody,
  );
  const listHost = h("div", { class: "panel-scroll" });
  replaceChildren(body, killCard, listHost);

  // --- data ------------------------------------------------------------------------------
  async function load() {
    const asked = environment;
    const request = apiFetch(`/api/v1/config/${query({ environment: asked })}`);
    loading = request;
    try {
      const list = await request;
      if (loading !== request || asked !== environment) return; // a newer load won
      items.clear();
      for (const item of list) items.set(item.key, item);
      renderAll();
    } catch (error) {
      if (loading !== request) return;
      toastError(error, "Configuration");
      if (items.size === 0) replaceChildren(listHost, emptyState("Configuration could not be loaded.", error.message));
    }
  }

  async function reloadKey(key) {
    try {
      const entry = await apiFetch(`/api/v1/config/${encodeURIComponent(key)}${query({ environment })}`);
      const item = items.get(key);
      if (item) applyEntry(item, entry);
    } catch (error) {
      toastError(error, `Configuration ${key}`);
    }
  }

  function applyEntry(item, entry) {
    item.current = { ...item.current, ...entry };
    renderRow(item, true);
    if (item.key === KILL_SWITCH_KEY) renderKillSwitch(true);
  }

  function onFrame(frame) {
    if (frame?.type !== "config.changed") return;
    const item = items.get(frame.key);
    if (!item) {
      load(); // a key declared after the page loaded
      return;
    }
    if (frame.environment === environment) {
      applyEntry(item, {
        environment: frame.environment, value: frame.value, version: frame.version,
        source: "environment", updated_at: new Date().toISOString(),
      });
    } else {
      // A write to "default": it shows here only where this environment has no own value.
      reloadKey(frame.key);
    }
  }

  // --- rendering -----------------------------------------------------------------------
  function renderAll() {
    tbody.replaceChildren();
    rows.clear();
    if (items.size === 0) {
      replaceChildren(listHost, emptyState("No configuration keys are declared."));
    } else {
      for (const item of [...items.values()].sort((a, b) => a.key.localeCompare(b.key))) renderRow(item, false);
      replaceChildren(listHost, table);
    }
    renderKillSwitch(false);
  }

  function renderRow(item, changed) {
    const current = item.current ?? {};
    const text = item.is_secret ? "••••••" : formatJson(current.value);
    const preview = text.length > VALUE_PREVIEW_CHARS ? `${text.slice(0, VALUE_PREVIEW_CHARS)}…` : text;
    const row = h(
      "tr", { dataset: { key: item.key, version: String(current.version ?? 0) } },
      h("td", {},
        h("div", { class: "config-key" }, item.key),
        item.description ? h("div", { class: "config-desc" }, item.description) : null),
      h("td", {},
        h("div", { class: "config-value", title: item.is_secret ? "secret" : text, dataset: { role: "value" } }, preview),
        h("div", { class: "source" }, SOURCE_TEXT[current.source] ?? current.source ?? "")),
      h("td", { class: "num", title: current.updated_at ? `updated ${formatAge(current.updated_at)}` : "" }, `v${current.version ?? 0}`),
    );
    const existing = rows.get(item.key);
    if (existing) existing.replaceWith(row);
    else tbody.appendChild(row);
    rows.set(item.key, row);
    if (changed) flash(row);
  }

  function renderKillSwitch(changed) {
    const item = items.get(KILL_SWITCH_KEY);
    killCard.hidden = !item;
    if (!item) return;
    const halted = item.current?.value === true;
    killCard.dataset.halted = String(halted);
    killSwitch.setAttribute("aria-checked", String(halted));
    killState.textContent = halted
      ? `TRADING HALTED in "${environment}": no new orders are placed.`
      : `Trading enabled in "${environment}".`;
    if (changed) flash(killCard);
  }

  async function toggleKillSwitch() {
    const item = items.get(KILL_SWITCH_KEY);
    if (!item || !context.canWriteConfig) return;
    const current = item.current ?? {};
    const halt = current.value !== true;
    killSwitch.disabled = true;
    try {
      const entry = await apiFetch(`/api/v1/config/${encodeURIComponent(KILL_SWITCH_KEY)}`, {
        method: "PUT",
        body: {
          value: halt,
          environment,
          reason: halt ? "dashboard: halt trading" : "dashboard: resume trading",
          // The environment's own version we saw (0: none yet); a 409 means someone else won.
          expected_version: current.source === "environment" ? current.version : 0,
        },
      });
      applyEntry(item, entry);
      toast(halt ? "Trading halted." : "Trading resumed.", { kind: halt ? "warning" : "success" });
    } catch (error) {
      toastError(error, "Kill switch");
      if (error instanceof ApiError && error.status === 409) reloadKey(KILL_SWITCH_KEY);
    } finally {
      killSwitch.disabled = !context.canWriteConfig;
    }
  }

  // --- live updates ----------------------------------------------------------------------
  const socket = new ReconnectingSocket(watchPath(environment), {
    name: "Config watch",
    onMessage: onFrame,
    // Every (re)connect re-reads the list: changes made while disconnected are not replayed.
    onOpen: () => load(),
    onState: (state) => {
      section.dataset.wsState = state;
      context.status.update("Config watch", state);
    },
  });
  load();
  socket.start();
}

function watchPath(environment) {
  return `/api/v1/config/watch${query({ environment })}`;
}
