// Jobs panel: the caller's jobs (staff: everyone's) from GET /api/v1/jobs/, polled every
// 2 s while the tab is visible, with progress bars and a cancel button
// (POST /api/v1/jobs/{id}/cancel/). There is no jobs WebSocket: polling is the feed.

import { apiFetch } from "../api.js";
import { emptyState, h, replaceChildren } from "../dom.js";
import { formatAge, formatTime } from "../format.js";
import { toast, toastError } from "../toast.js";

const POLL_MS = 2000;
const LIMIT = 25;
const ACTIVE = new Set(["queued", "running"]);
const FILTERS = { all: [], active: ["queued", "running"], finished: ["succeeded", "failed", "cancelled"] };

export function mount(section, context) {
  const tools = section.querySelector('[data-role="tools"]');
  const body = section.querySelector('[data-role="body"]');
  const rows = new Map(); // job id -> {row, update(job)}
  let filter = "all";
  let timer = null;
  let failing = false;
  let inFlight = false;

  const updated = h("span", { class: "muted", id: "jobs-updated" }, "");
  const select = h(
    "select", { "aria-label": "Which jobs", id: "jobs-filter" },
    h("option", { value: "all" }, "All"), h("option", { value: "active" }, "Active"),
    h("option", { value: "finished" }, "Finished"),
  );
  select.addEventListener("change", () => {
    filter = select.value;
    tbody.replaceChildren();
    rows.clear();
    poll();
  });
  tools.append(updated, select);

  const tbody = h("tbody");
  const table = h(
    "table", { class: "data", id: "jobs-table" },
    h("thead", {}, h("tr", {}, h("th", {}, "Job"), h("th", {}, "Progress"), h("th", {}, ""))),
    tbody,
  );
  const host = h("div", { class: "panel-scroll" }, emptyState("Loading jobs…"));
  replaceChildren(body, host);

  async function poll() {
    clearTimeout(timer);
    if (inFlight) return;
    inFlight = true;
    try {
      const params = new URLSearchParams({ limit: String(LIMIT) });
      for (const status of FILTERS[filter]) params.append("status", status);
      const page = await apiFetch(`/api/v1/jobs/?${params}`);
      render(page.results ?? []);
      updated.textContent = `updated ${formatTime(Date.now())}`;
      if (failing) toast("Jobs are loading again.", { kind: "success" });
      failing = false;
    } catch (error) {
      // One toast when polling starts failing, not one every two seconds.
      if (!failing) toastError(error, "Jobs");
      failing = true;
      updated.textContent = "not updating";
    } finally {
      inFlight = false;
      timer = setTimeout(tick, POLL_MS);
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
    if (!document.hidden) poll();
  });

  function render(jobs) {
    if (jobs.length === 0) {
      rows.clear();
      tbody.replaceChildren();
      replaceChildren(host, emptyState(
        filter === "active" ? "No job is running." : "No jobs yet.",
        "Ingestion, backtests, reports and training runs appear here with their progress.",
      ));
      return;
    }
    const seen = new Set();
    jobs.forEach((job, index) => {
      seen.add(job.id);
      let entry = rows.get(job.id);
      if (!entry) {
        entry = jobRow(job, cancel);
        rows.set(job.id, entry);
      }
      entry.update(job);
      // Newest first, as the API orders them; move only rows that are out of place.
      if (tbody.children[index] !== entry.row) tbody.insertBefore(entry.row, tbody.children[index] ?? null);
    });
    for (const [id, entry] of rows) {
      if (!seen.has(id)) {
        entry.row.remove();
        rows.delete(id);
      }
    }
    if (host.firstChild !== table) replaceChildren(host, table);
  }

  async function cancel(job, button) {
    button.disabled = true;
    try {
      await apiFetch(`/api/v1/jobs/${encodeURIComponent(job.id)}/cancel/`, { method: "POST" });
      toast(`Cancellation of ${job.kind} requested.`, { kind: "success" });
    } catch (error) {
      button.disabled = false;
      toastError(error, "Cancel");
    }
    poll();
  }

  poll();
}

/** One job's row; update(job) refreshes it in place so the progress bar animates. */
function jobRow(job, cancel) {
  const kind = h("div", { class: "job-kind" }, job.kind);
  const status = h("span", { class: "status" });
  const age = h("span", { class: "muted" });
  const message = h("div", { class: "job-message" });
  const bar = h("span");
  const progress = h("div", { class: "progress", role: "progressbar", "aria-valuemin": "0", "aria-valuemax": "100" }, bar);
  const counts = h("div", { class: "muted num" });
  const button = h("button", { type: "button", class: "btn btn-small btn-danger" }, "Cancel");
  let current = job;
  button.addEventListener("click", () => cancel(current, button));
  const row = h(
    "tr", { dataset: { jobId: job.id } },
    h("td", {}, kind, h("div", {}, status, " · ", age), message),
    h("td", {}, progress, counts),
    h("td", {}, button),
  );

  function update(next) {
    current = next;
    row.dataset.status = next.status;
    status.className = `status status-${next.status}`;
    status.textContent = next.cancel_requested && ACTIVE.has(next.status) ? `${next.status} · cancelling` : next.status;
    age.textContent = formatAge(next.finished_at ?? next.started_at ?? next.created_at);
    const error = next.error?.message;
    message.textContent = error || next.message || "";
    message.classList.toggle("error", Boolean(error));
    const percent = Math.round(Math.min(1, Math.max(0, next.progress ?? 0)) * 100);
    const unknownTotal = next.status === "running" && !next.total && percent === 0;
    progress.classList.toggle("indeterminate", unknownTotal);
    progress.setAttribute("aria-valuenow", String(percent));
    bar.style.width = `${next.status === "succeeded" ? 100 : percent}%`;
    counts.textContent = next.total ? `${next.done} / ${next.total} · ${percent}%` : `${percent}%`;
    button.hidden = !ACTIVE.has(next.status) || next.cancel_requested;
  }

  update(job);
  return { row, update };
}
