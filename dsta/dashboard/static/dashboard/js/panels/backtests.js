// Backtests panel: the caller's runs (GET /api/v1/backtest/runs), polled while the tab is
// visible (every 2 s while one is queued or running, its job's progress from
// GET /api/v1/jobs/{id}/), and the selected run: metrics, equity curve with a drawdown pane
// (GET /api/v1/backtest/{id}/results), its HTML report (GET /api/v1/backtest/{id}/report).
// Analysts start runs from a form (POST /api/v1/backtest/run) and re-run finished ones.

import { ApiError, apiFetch, isMissingEndpoint } from "../api.js";
import {
  ACTIVE_RUN_STATUSES, curvePoints, formatDrawdown, formatEquity, metricRows, runMarket, runRequest, runTitle,
} from "../backtest.js";
import { LineChart } from "../charts/line.js";
import { emptyState, h, replaceChildren } from "../dom.js";
import { formatAge, formatDateTime, formatTime } from "../format.js";
import { normalizeSeriesList, seriesLabel } from "../market-data.js";
import { toast, toastError } from "../toast.js";

const LIMIT = 25;
const ACTIVE_POLL_MS = 2000;
const IDLE_POLL_MS = 10000;
const MAX_POINTS = 1500;
const REPORT_POLL_MS = 4000;

export function mount(section, context) {
  const tools = section.querySelector('[data-role="tools"]');
  const body = section.querySelector('[data-role="body"]');
  const canRun = context.hasRole("analyst");
  const rows = new Map(); // run id -> {row, update(run)}
  const jobs = new Map(); // run id -> job id (read once from the run's detail)
  let runs = [];
  let selectedId = null;
  let detailToken = 0;
  let timer = null;
  let inFlight = false;
  let again = false;
  let failing = false;
  let chart = null;

  // --- tools ---------------------------------------------------------------------------
  const updated = h("span", { class: "muted", id: "backtests-updated" }, "");
  const newButton = h("button", { type: "button", class: "btn btn-small btn-primary", id: "backtest-new", hidden: !canRun, "aria-expanded": "false" }, "New backtest");
  newButton.addEventListener("click", () => toggleForm());
  tools.append(updated, newButton);

  // --- body ------------------------------------------------------------------------------
  const form = backtestForm({ onSubmit: startRun, onCancel: () => toggleForm(false) });
  const tbody = h("tbody");
  const table = h(
    "table", { class: "data", id: "backtests-table" },
    h("thead", {}, h("tr", {}, h("th", {}, "Run"), h("th", {}, "Status"), h("th", { class: "num" }, "Return"), h("th", { class: "num" }, "Sharpe"))),
    tbody,
  );
  const listHost = h("div", { class: "panel-scroll bt-list" }, emptyState("Loading backtests…"));
  const detail = h("div", { class: "bt-detail", id: "backtest-detail" }, emptyState("Select a run", "Its metrics and equity curve show here."));
  replaceChildren(body, form.element, h("div", { class: "bt-layout" }, listHost, detail));

  function toggleForm(open = form.element.hidden) {
    form.element.hidden = !open;
    newButton.setAttribute("aria-expanded", String(open));
    if (open) form.open();
  }

  // --- the list --------------------------------------------------------------------------
  async function poll() {
    clearTimeout(timer);
    if (inFlight) {
      again = true; // asked for during a poll (a run just started): poll once more after it
      return;
    }
    inFlight = true;
    let next = IDLE_POLL_MS;
    try {
      const page = await apiFetch(`/api/v1/backtest/runs?limit=${LIMIT}`);
      runs = page.results ?? [];
      renderList();
      updated.textContent = `updated ${formatTime(Date.now())}`;
      if (failing) toast("Backtests are loading again.", { kind: "success" });
      failing = false;
      const active = runs.filter((run) => ACTIVE_RUN_STATUSES.has(run.status));
      if (active.length) {
        next = ACTIVE_POLL_MS;
        await Promise.all(active.map((run) => refreshProgress(run)));
      }
      if (selectedId === null) {
        const first = runs.find((run) => run.status === "succeeded") ?? runs[0];
        if (first) select(first.id);
      } else {
        const selected = runs.find((run) => run.id === selectedId);
        if (selected && selected.status !== detail.dataset.status) select(selected.id, { quiet: true });
      }
    } catch (error) {
      if (isMissingEndpoint(error) && runs.length === 0) {
        section.dataset.available = "false";
        replaceChildren(listHost, emptyState("Not available", "Backtests are not served by this server."));
        replaceChildren(detail);
        return;
      }
      if (!failing) toastError(error, "Backtests");
      failing = true;
      updated.textContent = "not updating";
    } finally {
      inFlight = false;
      if (section.dataset.available !== "false") timer = setTimeout(again ? poll : tick, again ? 0 : next);
      again = false;
    }
  }

  function tick() {
    if (document.hidden) {
      timer = setTimeout(tick, ACTIVE_POLL_MS);
      return;
    }
    poll();
  }
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden && section.dataset.available !== "false") poll();
  });

  function renderList() {
    if (runs.length === 0) {
      rows.clear();
      tbody.replaceChildren();
      replaceChildren(listHost, emptyState(
        "No backtests yet.",
        canRun ? "Start one with “New backtest”, or run manage.py backtest --owner <you>." : "Analysts start backtests; yours appear here.",
      ));
      return;
    }
    const seen = new Set();
    runs.forEach((run, index) => {
      seen.add(run.id);
      let entry = rows.get(run.id);
      if (!entry) {
        entry = runRow(run, () => select(run.id));
        rows.set(run.id, entry);
      }
      entry.update(run, run.id === selectedId);
      if (tbody.children[index] !== entry.row) tbody.insertBefore(entry.row, tbody.children[index] ?? null);
    });
    for (const [id, entry] of rows) {
      if (!seen.has(id)) {
        entry.row.remove();
        rows.delete(id);
      }
    }
    if (listHost.firstChild !== table) replaceChildren(listHost, table);
  }

  /** The job's progress of a queued or running run (its job id from the run's detail). */
  async function refreshProgress(run) {
    try {
      let jobId = jobs.get(run.id);
      if (!jobId) {
        const full = await apiFetch(run.url ?? `/api/v1/backtest/${encodeURIComponent(run.id)}`);
        jobId = full.job?.id;
        if (!jobId) return;
        jobs.set(run.id, jobId);
      }
      const job = await apiFetch(`/api/v1/jobs/${encodeURIComponent(jobId)}/`);
      rows.get(run.id)?.progress(job);
      if (run.id === selectedId) detailProgress?.(job);
    } catch (error) {
      if (!(error instanceof ApiError)) console.error(error);
    }
  }

  // --- the selected run ------------------------------------------------------------------
  let detailProgress = null;

  async function select(id, { quiet = false } = {}) {
    selectedId = id;
    for (const [runId, entry] of rows) entry.row.classList.toggle("selected", runId === id);
    const token = ++detailToken;
    if (!quiet) replaceChildren(detail, emptyState("Loading the run…"));
    let run;
    let results = null;
    try {
      run = await apiFetch(`/api/v1/backtest/${encodeURIComponent(id)}`);
      if (run.job?.id) jobs.set(id, run.job.id);
      if (run.status === "succeeded") {
        results = await apiFetch(`/api/v1/backtest/${encodeURIComponent(id)}/results?max_points=${MAX_POINTS}&trades_limit=10`);
      }
    } catch (error) {
      if (token !== detailToken) return;
      toastError(error, "Backtest");
      replaceChildren(detail, emptyState("This run could not be loaded.", error.message));
      return;
    }
    if (token !== detailToken) return; // another run was picked meanwhile
    renderDetail(run, results);
  }

  function renderDetail(run, results) {
    detail.dataset.runId = run.id;
    detail.dataset.status = run.status;
    detailProgress = null;
    chart?.destroy();
    chart = null;
    const data = run.manifest?.data ?? {};
    const range = data.start_ms !== undefined
      ? `${formatDateTime(data.start_ms)} → ${formatDateTime(data.end_ms)}`
      : run.start_ms || run.end_ms ? `${formatDateTime(run.start_ms)} → ${formatDateTime(run.end_ms)}` : "all stored candles";
    const status = h("span", { class: `status status-${run.status}` }, run.status);
    const head = h(
      "div", { class: "bt-head" },
      h("div", { class: "bt-title", id: "backtest-title" }, runTitle(run)),
      h("div", { class: "muted" }, status, " · ", runMarket(run), " · ", range,
        data.bars ? ` · ${data.bars.toLocaleString()} bars` : ""),
    );
    const parts = [head];

    if (ACTIVE_RUN_STATUSES.has(run.status)) {
      const bar = h("span");
      const progress = h("div", { class: "progress indeterminate", role: "progressbar", "aria-valuemin": "0", "aria-valuemax": "100", id: "backtest-progress" }, bar);
      const message = h("div", { class: "muted job-message" }, run.status === "queued" ? "Waiting for a worker…" : "Running…");
      const cancel = h("button", { type: "button", class: "btn btn-small btn-danger", hidden: !run.job?.cancel_url || !canRun }, "Cancel");
      cancel.addEventListener("click", async () => {
        cancel.disabled = true;
        try {
          await apiFetch(run.job.cancel_url, { method: "POST" });
          toast("Cancellation requested.", { kind: "success" });
        } catch (error) {
          cancel.disabled = false;
          toastError(error, "Cancel");
        }
        poll();
      });
      detailProgress = (job) => {
        const percent = Math.round(Math.min(1, Math.max(0, job.progress ?? 0)) * 100);
        progress.classList.toggle("indeterminate", percent === 0);
        progress.setAttribute("aria-valuenow", String(percent));
        bar.style.width = `${percent}%`;
        message.textContent = job.message || (job.status === "queued" ? "Waiting for a worker…" : `${percent}%`);
      };
      parts.push(h("div", { class: "bt-progress" }, progress, message, cancel));
    }

    if (run.status === "failed" || run.status === "cancelled") {
      const error = run.error ?? {};
      parts.push(h("div", { class: "bt-error", id: "backtest-error" },
        h("strong", {}, error.code ?? run.status), " ", error.message ?? ""));
    }

    if (results) {
      const metrics = metricRows(results.metrics ?? run.metrics);
      parts.push(h(
        "dl", { class: "metrics", id: "backtest-metrics" },
        metrics.map((metric) => h("div", { class: "metric", dataset: { metric: metric.key } },
          h("dt", {}, metric.label), h("dd", { class: `num ${metric.tone}` }, metric.text))),
      ));
      const equity = curvePoints(results.equity);
      const drawdown = curvePoints(results.drawdown);
      const host = h("div", { class: "chart chart-equity", id: "backtest-equity" });
      const legend = h("div", { class: "bt-legend muted" },
        h("span", { class: "legend-equity" }, "equity"), h("span", { class: "legend-drawdown" }, "drawdown"),
        results.downsampled ? ` · ${equity.length.toLocaleString()} of ${results.bars.toLocaleString()} bars drawn (every trough kept)` : "");
      parts.push(legend, host);
      parts.push(biasLine(results.bias ?? run.bias), tradesTable(results.trades));
      replaceChildren(detail, parts, actions(run));
      chart = new LineChart(host, { formatValue: formatEquity, pane: { share: 0.3, formatValue: formatDrawdown } });
      chart.setPoints(equity);
      chart.setPanePoints(drawdown);
      return;
    }
    replaceChildren(detail, parts, actions(run));
  }

  function biasLine(bias) {
    if (!bias || typeof bias !== "object") return null;
    const checks = ["lookahead", "warmup"].filter((name) => bias[name]);
    if (!checks.length) return null;
    return h("div", { class: "bt-bias", id: "backtest-bias" }, "Bias checks: ", checks.map((name, index) => {
      const passed = bias[name]?.passed;
      return [index ? ", " : "", h("span", { class: passed ? "up" : passed === false ? "down" : "muted" }, `${name} ${passed ? "passed" : passed === false ? "failed" : "not run"}`)];
    }));
  }

  function tradesTable(trades) {
    if (!trades) return null;
    const shown = trades.results ?? [];
    const count = trades.count ?? shown.length;
    const caption = h("div", { class: "muted bt-trades", id: "backtest-trades-count" },
      `${count.toLocaleString()} trade${count === 1 ? "" : "s"}`, shown.length && count > shown.length ? ` · the first ${shown.length}` : "");
    if (!shown.length) return caption;
    return [caption, h("div", { class: "panel-scroll bt-trades-scroll" }, h(
      "table", { class: "data compact", id: "backtest-trades" },
      h("thead", {}, h("tr", {}, h("th", {}, "#"), h("th", {}, "Side"), h("th", {}, "Entry"), h("th", {}, "Exit"),
        h("th", { class: "num" }, "P&L"), h("th", { class: "num" }, "Return"))),
      h("tbody", {}, shown.map((trade) => {
        const pnl = metricRows({ expectancy: trade.pnl }).at(0);
        const change = metricRows({ total_return: trade.return_pct }).at(0);
        return h("tr", {},
          h("td", { class: "num" }, trade.number ?? ""),
          h("td", {}, h("span", { class: trade.direction < 0 ? "down" : "up" }, tradeSide(trade.direction)), " ", trade.symbol ?? ""),
          h("td", { class: "num" }, formatDateTime(trade.entry_time_ms), h("div", { class: "muted" }, formatEquity(trade.entry_price))),
          h("td", { class: "num" }, trade.is_open ? "open" : formatDateTime(trade.exit_time_ms),
            h("div", { class: "muted" }, trade.is_open ? "" : `${formatEquity(trade.exit_price)}${trade.exit_reason ? ` · ${trade.exit_reason}` : ""}`)),
          h("td", { class: `num ${pnl?.tone ?? ""}` }, pnl?.text ?? "–"),
          h("td", { class: `num ${change?.tone ?? ""}` }, change?.text ?? "–"));
      })),
    ))];
  }

  function actions(run) {
    const buttons = [];
    if (run.status === "succeeded" && run.report_url) buttons.push(reportControl(run));
    if (canRun && (run.status === "succeeded")) {
      const rerun = h("button", { type: "button", class: "btn btn-small", id: "backtest-rerun", title: "Run again from the manifest and compare the results" }, "Re-run");
      rerun.addEventListener("click", async () => {
        rerun.disabled = true;
        try {
          const created = await apiFetch(`/api/v1/backtest/${encodeURIComponent(run.id)}/rerun`, { method: "POST" });
          toast("Re-run queued.", { kind: "success" });
          await select(created.id);
          poll();
        } catch (error) {
          toastError(error, "Re-run");
        } finally {
          rerun.disabled = false;
        }
      });
      buttons.push(rerun);
    }
    return buttons.length ? h("div", { class: "bt-actions" }, buttons) : null;
  }

  /**
   * The HTML report: asked for first (a stored one answers 200, otherwise the API queues its
   * rendering and answers 202 with the job), then offered as a link once it exists.
   */
  function reportControl(run) {
    const href = `${run.report_url}?format=html`;
    const link = h("a", { class: "btn btn-small", id: "backtest-report-link", href, target: "_blank", rel: "noopener", hidden: true }, "Open HTML report");
    const button = h("button", { type: "button", class: "btn btn-small", id: "backtest-report" }, "HTML report");
    async function check() {
      button.disabled = true;
      const controller = new AbortController();
      let response;
      try {
        response = await fetch(href, { credentials: "same-origin", headers: { Accept: "text/html, application/json" }, signal: controller.signal });
      } catch (error) {
        button.disabled = false;
        toastError(new ApiError(0, "network_error", "The server cannot be reached."), "Report");
        return;
      }
      if (response.status === 200) {
        controller.abort(); // the status is all this needs: the link opens the file
        button.hidden = true;
        link.hidden = false;
        toast("The report is ready.", { kind: "success" });
        return;
      }
      const payload = await response.json().catch(() => null);
      if (response.status === 202) {
        // Rendering is queued (a worker makes it): ask again until it is stored.
        if (!button.dataset.rendering) {
          toast("Rendering the report: the link appears here when it is done.", { kind: "info", code: payload?.job?.id ? `job ${payload.job.id}` : "" });
        }
        button.dataset.rendering = "true";
        button.textContent = "Rendering report…";
        if (detail.dataset.runId === run.id && detail.contains(button)) setTimeout(check, REPORT_POLL_MS);
        return;
      }
      button.disabled = false;
      const error = payload?.error ?? {};
      toastError(new ApiError(response.status, error.code ?? `http_${response.status}`, error.message ?? response.statusText, error.details ?? null), "Report");
    }
    button.addEventListener("click", check);
    return [button, link];
  }

  // --- starting a run --------------------------------------------------------------------
  async function startRun(request, submit) {
    submit.disabled = true;
    try {
      const run = await apiFetch("/api/v1/backtest/run", { method: "POST", body: request });
      toast(`Backtest queued: ${runTitle(run)}.`, { kind: "success" });
      toggleForm(false);
      await select(run.id);
      poll();
    } catch (error) {
      toastError(error, "Backtest");
    } finally {
      submit.disabled = false;
    }
  }

  poll();
}

/** One run's row; update(run) refreshes it, progress(job) animates an active run's bar. */
function runRow(run, onSelect) {
  const title = h("div", { class: "bt-run-title" });
  const market = h("div", { class: "muted bt-run-market" });
  const status = h("span", { class: "status" });
  const age = h("div", { class: "muted" });
  const bar = h("span");
  const progress = h("div", { class: "progress indeterminate", role: "progressbar", "aria-valuemin": "0", "aria-valuemax": "100", hidden: true }, bar);
  const totalReturn = h("td", { class: "num" });
  const sharpe = h("td", { class: "num" });
  const row = h("tr", { dataset: { runId: run.id }, tabindex: "0", class: "clickable" },
    h("td", {}, title, market), h("td", {}, status, age, progress), totalReturn, sharpe);
  row.addEventListener("click", onSelect);
  row.addEventListener("keydown", (event) => {
    if (event.key === "Enter" || event.key === " ") {
      event.preventDefault();
      onSelect();
    }
  });

  function update(next, selected) {
    row.dataset.status = next.status;
    row.classList.toggle("selected", selected);
    title.textContent = runTitle(next);
    market.textContent = runMarket(next);
    status.className = `status status-${next.status}`;
    status.textContent = next.status;
    age.textContent = formatAge(next.created_at);
    progress.hidden = !ACTIVE_RUN_STATUSES.has(next.status);
    const metrics = metricRows({ total_return: next.total_return, sharpe: next.sharpe });
    const byKey = Object.fromEntries(metrics.map((metric) => [metric.key, metric]));
    totalReturn.textContent = byKey.total_return.text;
    totalReturn.className = `num ${byKey.total_return.tone}`;
    sharpe.textContent = byKey.sharpe.text;
  }

  function showProgress(job) {
    const percent = Math.round(Math.min(1, Math.max(0, job.progress ?? 0)) * 100);
    progress.classList.toggle("indeterminate", percent === 0);
    progress.setAttribute("aria-valuenow", String(percent));
    bar.style.width = `${percent}%`;
  }

  return { row, update, progress: showProgress };
}

/**
 * The "New backtest" form: strategy (GET /api/v1/backtest/strategies, parameters from their
 * declarations), a stored series (GET /api/v1/market-data/series), optional range and
 * starting cash. Loaded the first time it opens.
 */
function backtestForm({ onSubmit, onCancel }) {
  let strategies = [];
  let seriesList = [];
  let loaded = null;
  const strategySelect = h("select", { id: "backtest-strategy", name: "strategy", required: true });
  const description = h("div", { class: "muted bt-form-hint" });
  const paramsHost = h("div", { class: "bt-params", id: "backtest-params" });
  const seriesSelect = h("select", { id: "backtest-series", name: "series", required: true });
  const start = h("input", { type: "date", id: "backtest-start", name: "start" });
  const end = h("input", { type: "date", id: "backtest-end", name: "end" });
  const cash = h("input", { type: "number", id: "backtest-cash", name: "initial_cash", min: "0", step: "any", placeholder: "10000" });
  const allowGaps = h("input", { type: "checkbox", id: "backtest-allow-gaps", name: "allow_gaps" });
  const submit = h("button", { type: "submit", class: "btn btn-primary btn-small", id: "backtest-submit" }, "Start backtest");
  const cancel = h("button", { type: "button", class: "btn btn-small btn-ghost" }, "Close");
  cancel.addEventListener("click", onCancel);
  const element = h(
    "form", { class: "bt-form", id: "backtest-form", hidden: true, novalidate: true },
    field("Strategy", strategySelect, description),
    paramsHost,
    field("Series", seriesSelect, { wide: true }),
    field("From", start), field("To (exclusive)", end), field("Starting cash", cash),
    h("label", { class: "check" }, allowGaps, " allow gaps"),
    h("div", { class: "bt-form-actions" }, submit, cancel),
  );

  strategySelect.addEventListener("change", renderParams);
  element.addEventListener("submit", (event) => {
    event.preventDefault();
    const strategy = strategies.find((item) => item.name === strategySelect.value);
    const series = seriesList.find((item) => item.id === seriesSelect.value);
    if (!strategy || !series) {
      toast("Pick a strategy and a stored series first.", { kind: "warning" });
      return;
    }
    const values = {};
    for (const input of paramsHost.querySelectorAll("[data-param]")) values[input.dataset.param] = input.value;
    onSubmit(runRequest({
      strategy: strategy.name, declarations: strategy.params, values, series,
      start: start.value, end: end.value, initialCash: cash.value, allowGaps: allowGaps.checked,
    }), submit);
  });

  function renderParams() {
    const strategy = strategies.find((item) => item.name === strategySelect.value);
    description.textContent = strategy?.description ?? "";
    replaceChildren(paramsHost, Object.entries(strategy?.params ?? {}).map(([name, declaration]) => {
      let input;
      if (declaration.type === "ChoiceParam") {
        input = h("select", { dataset: { param: name } },
          (declaration.choices ?? []).map((choice) => h("option", { value: choice, selected: choice === declaration.default }, choice)));
      } else {
        input = h("input", {
          type: "number", dataset: { param: name }, value: declaration.default ?? "",
          step: declaration.type === "IntParam" ? "1" : "any", min: declaration.low ?? null, max: declaration.high ?? null,
        });
      }
      input.title = declaration.doc ?? "";
      input.id = `backtest-param-${name}`;
      return field(name, input);
    }));
  }

  async function open() {
    loaded ??= Promise.all([
      apiFetch("/api/v1/backtest/strategies"),
      apiFetch("/api/v1/market-data/series"),
    ]).then(([strategyPage, seriesPage]) => {
      strategies = strategyPage.results ?? [];
      seriesList = normalizeSeriesList(seriesPage);
      strategySelect.replaceChildren(...strategies.map((item) => h("option", { value: item.name }, item.name)));
      seriesSelect.replaceChildren(...seriesList.map((item) => h("option", { value: item.id }, seriesLabel(item) + (item.synthetic ? " (synthetic)" : ""))));
      const preferred = strategies.find((item) => item.name === "sma_crossover") ?? strategies[0];
      if (preferred) strategySelect.value = preferred.name;
      renderParams();
      if (!seriesList.length) toast("No stored series to backtest on: import candles first.", { kind: "warning" });
    }).catch((error) => {
      loaded = null;
      toastError(error, "Backtest form");
    });
    return loaded;
  }

  return { element, open };
}

/** The engine's direction (1 long, -1 short) as a word. */
function tradeSide(direction) {
  if (direction === 1 || direction === "long") return "long";
  if (direction === -1 || direction === "short") return "short";
  return String(direction ?? "");
}

/** A labelled input; a last argument {wide: true} makes it span two columns of the form. */
function field(label, input, ...extra) {
  const wide = extra.at(-1)?.wide === true;
  if (wide) extra.pop();
  return h("label", { class: wide ? "field field-wide" : "field" }, h("span", { class: "field-label" }, label), input, extra);
}
