// Venues panel: every venue's health from GET /api/v1/exchange/health, polled every 5 s while
// the tab is visible: state, breaker, websocket, latency, last error, rate-limit use per
// bucket, and the clock offset when the server reports one. There is no health WebSocket:
// polling is the feed. The figures are the serving process's own (see docs/domains/exchange.md).

import { apiFetch, isMissingEndpoint } from "../api.js";
import { emptyState, flash, h, replaceChildren } from "../dom.js";
import { formatPeriod, limitLevel, limitShare, normalizeHealth } from "../exchange.js";
import { formatAge, formatNumber, formatTime } from "../format.js";
import { toast, toastError } from "../toast.js";

const POLL_MS = 5000;
const STATE_TEXT = { up: "up", degraded: "degraded", down: "down", unknown: "no traffic yet" };

export function mount(section) {
  const tools = section.querySelector('[data-role="tools"]');
  const body = section.querySelector('[data-role="body"]');
  const cards = new Map(); // venue -> {card, update(status)}
  let timer = null;
  let failing = false;
  let inFlight = false;

  const updated = h("span", { class: "muted", id: "venues-updated" }, "");
  tools.append(updated);
  const list = h("div", { class: "venues", id: "venues-list" });
  const host = h("div", { class: "panel-scroll venues-scroll" }, emptyState("Loading venues…"));
  replaceChildren(body, host);

  async function poll() {
    clearTimeout(timer);
    if (inFlight) return;
    inFlight = true;
    try {
      const venues = normalizeHealth(await apiFetch("/api/v1/exchange/health"));
      render(venues);
      updated.textContent = `updated ${formatTime(Date.now())}`;
      if (failing) toast("Venue health is loading again.", { kind: "success" });
      failing = false;
    } catch (error) {
      if (isMissingEndpoint(error)) {
        section.dataset.available = "false";
        replaceChildren(host, emptyState("Not available", "This server does not report venue health."));
        return;
      }
      if (!failing) toastError(error, "Venues");
      failing = true;
      updated.textContent = "not updating";
    } finally {
      inFlight = false;
      if (section.dataset.available !== "false") timer = setTimeout(tick, POLL_MS);
    }
  }

  function tick() {
    if (document.hidden) {
      timer = setTimeout(tick, POLL_MS);
      return;
    }
    poll();
  }
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden && section.dataset.available !== "false") poll();
  });

  function render(venues) {
    if (venues.length === 0) {
      replaceChildren(host, emptyState("No venues configured."));
      return;
    }
    const seen = new Set();
    venues.forEach((status, index) => {
      seen.add(status.venue);
      let entry = cards.get(status.venue);
      if (!entry) {
        entry = venueCard(status.venue);
        cards.set(status.venue, entry);
      }
      entry.update(status);
      if (list.children[index] !== entry.card) list.insertBefore(entry.card, list.children[index] ?? null);
    });
    for (const [venue, entry] of cards) {
      if (!seen.has(venue)) {
        entry.card.remove();
        cards.delete(venue);
      }
    }
    if (host.firstChild !== list) replaceChildren(host, list);
  }

  poll();
}

/** One venue's card; update(status) refreshes it and flashes it when its state changed. */
export function venueCard(venue) {
  const state = h("span", { class: "badge venue-state", dataset: { role: "state" } });
  const facts = h("dl", { class: "venue-facts" });
  const error = h("div", { class: "venue-error", dataset: { role: "error" }, hidden: true });
  const limits = h("div", { class: "venue-limits", dataset: { role: "limits" } });
  const card = h(
    "article", { class: "venue", dataset: { venue } },
    h("header", { class: "venue-head" }, h("span", { class: "venue-name" }, venue), state),
    facts, error, limits,
  );
  let previous = null;

  function update(status) {
    const stateName = status.enabled === false ? "disabled" : status.state ?? "unknown";
    card.dataset.state = stateName;
    card.dataset.breaker = status.breaker ?? "";
    state.className = `badge venue-state state-${stateName}`;
    state.textContent = stateName === "disabled" ? "switched off" : STATE_TEXT[stateName] ?? stateName;

    const rows = [
      ["breaker", status.breaker ?? "–", `breaker-${status.breaker}`],
      ["websocket", status.websocket ?? "not running", status.websocket ? `ws-${status.websocket}` : "muted"],
      ["latency", status.latency_ewma_ms === null || status.latency_ewma_ms === undefined ? "–" : `${formatNumber(status.latency_ewma_ms, status.latency_ewma_ms < 10 ? 1 : 0)} ms`, ""],
    ];
    // Shown only where the server reports it (our clock against the venue's, measured for
    // signed requests); the simulated paper venue has no clock of its own.
    if ("clock_offset_ms" in status && (status.clock_offset_ms !== null || status.venue !== "paper")) {
      const offset = status.clock_offset_ms;
      rows.push(["clock offset", offset === null || offset === undefined ? "not measured" : `${offset > 0 ? "+" : ""}${formatNumber(Number(offset), 0)} ms`,
        offset !== null && Math.abs(offset) >= 1000 ? "warn" : ""]);
    }
    if (status.active_host) rows.push(["host", status.active_host, "mono"]);
    rows.push(["last success", formatAge(status.last_success_at), ""]);
    replaceChildren(facts, rows.map(([label, value, tone]) =>
      h("div", { class: "venue-fact", dataset: { fact: label.replace(" ", "-") } }, h("dt", {}, label), h("dd", { class: tone }, value))));

    error.hidden = !status.last_error;
    replaceChildren(error, status.last_error
      ? [h("span", { class: "muted" }, `last error ${formatAge(status.last_error_at)}: `), status.last_error]
      : []);

    const buckets = status.rate_limits ?? [];
    replaceChildren(limits, buckets.length
      ? buckets.map((rate) => limitBar(rate))
      : h("div", { class: "muted venue-nolimits" }, "no rate limits (simulated venue)"));

    const signature = `${stateName}|${status.breaker}|${status.websocket}`;
    if (previous !== null && previous !== signature) flash(card);
    previous = signature;
  }

  return { card, update };
}

function limitBar(rate) {
  const share = limitShare(rate);
  const percent = Math.round(share * 1000) / 10;
  const used = Number(rate.in_use);
  const fill = h("span");
  fill.style.width = `${percent}%`; // CSSOM, not a style attribute: the CSP allows it
  const text = `${formatNumber(Number.isFinite(used) ? used : 0, used % 1 === 0 ? 0 : 1)} / ${formatNumber(Number(rate.limit), 0)} per ${formatPeriod(rate.period_seconds)}`;
  return h(
    "div", { class: "limit", dataset: { bucket: rate.bucket, level: limitLevel(share) } },
    h("div", { class: "limit-head" },
      h("span", { title: `${rate.unit ?? ""} (${rate.scope ?? ""} scope)` }, rate.bucket),
      h("span", { class: "num muted" }, text)),
    h("div", { class: "progress limit-bar", role: "progressbar", "aria-label": `${rate.bucket} in use`, "aria-valuemin": "0", "aria-valuemax": "100", "aria-valuenow": String(percent) },
      fill),
  );
}
