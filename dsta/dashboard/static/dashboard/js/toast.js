// Toasts: short-lived messages in the corner. API errors show their message, their code,
// and their details (field -> messages, or a list), so a user can act on them.

import { ApiError } from "./api.js";
import { h } from "./dom.js";

const DEFAULT_TIMEOUT_MS = { error: 9000, warning: 7000, success: 3500, info: 5000 };
const MAX_TOASTS = 5;

function container() {
  let element = document.getElementById("toasts");
  if (!element) {
    element = h("div", { class: "toasts", id: "toasts", "aria-live": "polite" });
    document.body.appendChild(element);
  }
  return element;
}

/** Show a toast; kind is "error" | "warning" | "success" | "info". Returns the element. */
export function toast(title, { kind = "info", code = "", details = [], timeout } = {}) {
  const close = h("button", { class: "toast-close", type: "button", "aria-label": "Dismiss" }, "×");
  const element = h(
    "div",
    { class: `toast toast-${kind}`, role: kind === "error" ? "alert" : "status", dataset: { kind } },
    h("div", { class: "toast-title" }, title),
    close,
    code ? h("div", { class: "toast-code" }, code) : null,
    details.length ? h("ul", { class: "toast-details" }, details.map((line) => h("li", {}, line))) : null,
  );
  const remove = () => element.remove();
  close.addEventListener("click", remove);
  const host = container();
  host.appendChild(element);
  while (host.children.length > MAX_TOASTS) host.firstElementChild.remove();
  const delay = timeout ?? DEFAULT_TIMEOUT_MS[kind] ?? 5000;
  if (delay > 0) setTimeout(remove, delay);
  return element;
}

/** Flatten an error's details into readable lines ("value: must be a boolean"). */
export function detailLines(details) {
  if (details === null || details === undefined) return [];
  if (typeof details === "string") return [details];
  if (Array.isArray(details)) return details.flatMap((item) => detailLines(item));
  if (typeof details === "object") {
    return Object.entries(details).flatMap(([field, value]) => {
      if (typeof value === "object" && value !== null) {
        return detailLines(value).map((line) => `${field}: ${line}`);
      }
      return [`${field}: ${value}`];
    });
  }
  return [String(details)];
}

/** Show any error: an ApiError with its code and details, anything else by its message. */
export function toastError(error, context = "") {
  if (error?.name === "AbortError") return null;
  const prefix = context ? `${context}: ` : "";
  if (error instanceof ApiError) {
    return toast(prefix + error.message, {
      kind: "error", code: error.code, details: detailLines(error.details).slice(0, 6),
    });
  }
  console.error(error);
  return toast(prefix + (error?.message ?? String(error)), { kind: "error" });
}
