// Boot: read who is signed in from <body data-*>, start the connection indicator, mount
// every panel the page declares (<section data-panel="name">). A panel is a module with
// `mount(section, context)`; adding one (positions, risk...) is a new module here plus a
// <section> in the template.

import { ConnectionStatus } from "./status.js";
import { toast } from "./toast.js";
import * as alerts from "./panels/alerts.js";
import * as backtests from "./panels/backtests.js";
import * as config from "./panels/config.js";
import * as depth from "./panels/depth.js";
import * as jobs from "./panels/jobs.js";
import * as market from "./panels/market.js";
import * as orders from "./panels/orders.js";
import * as venues from "./panels/venues.js";

const PANELS = { market, depth, backtests, orders, venues, config, jobs, alerts };
// The roles in rank order (dsta.kernel.principal.ROLE_RANK): each includes those before it.
const ROLE_RANK = ["viewer", "analyst", "trader", "admin"];

function readContext() {
  const data = document.body.dataset;
  const role = data.role ?? "none";
  return {
    username: data.username ?? "",
    role,
    /** Whether the user acts with `minimum` or a higher role (hides controls; the API decides). */
    hasRole: (minimum) => ROLE_RANK.indexOf(role) >= ROLE_RANK.indexOf(minimum) && ROLE_RANK.includes(role),
    canWriteConfig: data.canWriteConfig === "true",
    configEnvironment: data.configEnvironment || "default",
    loginUrl: data.loginUrl || "/dashboard/login/",
  };
}

function boot() {
  const context = readContext();
  context.status = new ConnectionStatus(
    document.getElementById("connection-status"),
    document.getElementById("connection-details"),
  );

  // The session ended (expired, signed out in another tab): say so, then go to the login.
  let leaving = false;
  document.addEventListener("dsta:unauthenticated", () => {
    if (leaving) return;
    leaving = true;
    toast("Your session has ended. Sign in again.", { kind: "warning", timeout: 0 });
    const next = encodeURIComponent(window.location.pathname);
    setTimeout(() => window.location.assign(`${context.loginUrl}?next=${next}`), 1500);
  });

  if (context.role === "none") {
    // Every endpoint needs a role: without one each panel would only show refusals.
    toast("Your account has no role yet, so the API refuses its data. Ask an administrator to give you one.", { kind: "warning", timeout: 0 });
  }

  for (const section of document.querySelectorAll("[data-panel]")) {
    const panel = PANELS[section.dataset.panel];
    if (!panel) continue;
    try {
      panel.mount(section, context);
      section.dataset.mounted = "true";
    } catch (error) {
      console.error(error);
      toast(`The ${section.dataset.panel} panel failed to start: ${error.message}`, { kind: "error" });
    }
  }
  document.body.dataset.ready = "true";
}

boot();
