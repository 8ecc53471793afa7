// The connection indicator in the top bar: one dot summarising every live stream, with a
// per-stream list on click. Streams the server lacks ("unavailable") are listed but do not
// turn the dot red: the page works without them.

import { h, replaceChildren } from "./dom.js";

const LABELS = {
  open: "Live", connecting: "Connecting", reconnecting: "Reconnecting", offline: "Offline",
  idle: "Idle",
};
const STATE_TEXT = {
  open: "connected", connecting: "connecting…", reconnecting: "reconnecting…",
  unavailable: "not available", unauthorized: "signed out", rejected: "refused", closed: "closed",
};

export class ConnectionStatus {
  constructor(button, details) {
    this.button = button;
    this.details = details;
    this.streams = new Map();
    button?.addEventListener("click", () => {
      const open = this.details.hidden;
      this.details.hidden = !open;
      this.button.setAttribute("aria-expanded", String(open));
    });
    document.addEventListener("click", (event) => {
      if (!this.details || this.details.hidden) return;
      if (!this.button.contains(event.target) && !this.details.contains(event.target)) {
        this.details.hidden = true;
        this.button.setAttribute("aria-expanded", "false");
      }
    });
    this.render();
  }

  /** Record a stream's state (a ReconnectingSocket's onState). */
  update(name, state) {
    if (state === "closed") this.streams.delete(name);
    else this.streams.set(name, state);
    this.render();
  }

  /** The overall state: open, connecting, reconnecting, offline or idle. */
  overall() {
    const states = [...this.streams.values()].filter((state) => state !== "unavailable");
    if (states.length === 0) return "idle";
    if (states.every((state) => state === "open")) return "open";
    if (states.some((state) => state === "reconnecting")) return "reconnecting";
    if (states.some((state) => state === "connecting")) return "connecting";
    if (states.some((state) => state === "open")) return "reconnecting";
    return "offline";
  }

  render() {
    if (!this.button) return;
    const overall = this.overall();
    this.button.dataset.state = overall;
    this.button.querySelector(".conn-label").textContent = LABELS[overall];
    this.button.title = [...this.streams].map(([name, state]) => `${name}: ${STATE_TEXT[state] ?? state}`).join("\n") || "No live streams";
    replaceChildren(
      this.details,
      this.streams.size === 0 ? h("div", { class: "conn-row" }, "No live streams") : null,
      [...this.streams].map(([name, state]) =>
        h("div", { class: "conn-row", dataset: { stream: name, state } },
          h("span", {}, name),
          h("span", { class: `state state-${state}` }, STATE_TEXT[state] ?? state))),
    );
  }
}
