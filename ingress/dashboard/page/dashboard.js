// The batch-gpt dashboard: asks for the key once (kept in localStorage), then polls the JSON figures
// (/v1/dashboard/...) every 2 s and redraws in place. No framework, no build step, nothing from outside.
"use strict";

(function () {
  const KEY_ITEM = "batchgpt.dashboard.key";
  const POLL_MS = 2000;
  const STATES = ["queued", "submitted", "in_progress", "completed", "failed"];
  const TOTAL_COLUMNS = [
    ["key", "", false], ["requests", "requests", true], ["failed", "failed", true],
    ["input_tokens", "input tokens", true], ["output_tokens", "output tokens", true],
    ["synchronous_usd", "sync cost", true], ["cost_usd", "cost", true], ["saving_usd", "saving", true],
  ];

  const $ = (id) => document.getElementById(id);
  const state = { key: null, generation: 0, after: null, lastId: null, windowName: "all_time", summary: null, detailId: null, timer: null };

  function el(tag, text, className) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (className) node.className = className;
    return node;
  }

  function usd(value) {
    if (value === null || value === undefined) return "—";
    const digits = Math.abs(value) >= 1 ? 2 : 6;
    return "$" + value.toFixed(digits);
  }

  function count(value) {
    return value === null || value === undefined ? "—" : Number(value).toLocaleString("en-US");
  }

  function duration(seconds) {
    if (seconds === null || seconds === undefined) return "—";
    const s = Math.round(seconds);
    if (s < 60) return s + "s";
    if (s < 3600) return Math.floor(s / 60) + "m " + (s % 60) + "s";
    if (s < 86400) return Math.floor(s / 3600) + "h " + Math.floor((s % 3600) / 60) + "m";
    return Math.floor(s / 86400) + "d " + Math.floor((s % 86400) / 3600) + "h";
  }

  function setStatus(text, isError) {
    const node = $("status");
    node.textContent = text;
    node.classList.toggle("error", Boolean(isError));
  }

  class Unauthorized extends Error {}

  async function getJson(path) {
    const headers = { Accept: "application/json" };
    if (state.key) headers.Authorization = "Bearer " + state.key;
    const response = await fetch(path, { headers, cache: "no-store" });
    if (response.status === 401) throw new Unauthorized("the key was refused");
    const body = await response.json();
    if (!response.ok) throw new Error((body.error && body.error.message) || "HTTP " + response.status);
    return body;
  }

  function fill(tbody, rows) {
    tbody.replaceChildren(...rows);
  }

  function row(cells) {
    const tr = el("tr");
    for (const [text, className] of cells) tr.append(el("td", text, className));
    return tr;
  }

  function drawStates(byState) {
    const cards = STATES.map((name) => {
      const card = el("div", null, "card");
      card.dataset.state = name;
      card.append(el("div", count(byState[name] || 0), "value"), el("div", name.replace("_", " "), "label"));
      return card;
    });
    $("states").replaceChildren(...cards);
  }

  function drawErrors(errors) {
    const rows = errors.map((e) => row([[e.code, "code"], [count(e.count), "num"]]));
    if (!rows.length) rows.push(row([["no failed requests", "muted"], ["", "num"]]));
    fill($("errors").tBodies[0], rows);
  }

  function drawTotals(table, entries, label) {
    const head = el("tr");
    TOTAL_COLUMNS.forEach(([, title, numeric], i) => head.append(el("th", i === 0 ? label : title, numeric ? "num" : "")));
    table.tHead.replaceChildren(head);
    const rows = entries.map((entry) =>
      row(TOTAL_COLUMNS.map(([field, , numeric]) => {
        const value = entry[field];
        const text = field.endsWith("_usd") ? usd(value) : numeric ? count(value) : value || "(none)";
        return [text, (numeric ? "num" : "") + (field === "saving_usd" ? " saving" : "")];
      })),
    );
    if (!rows.length) rows.push(row([["no answered requests in this window", "muted"]]));
    fill(table.tBodies[0], rows);
  }

  function drawSummary() {
    const summary = state.summary;
    if (!summary) return;
    $("scope").textContent = summary.scope === "all" ? "all tenants (administrator)" : "tenant " + summary.tenant;
    drawStates(summary.requests_by_state);
    drawErrors(summary.errors_by_code);
    const totals = summary.totals[state.windowName];
    drawTotals($("by-model"), totals.by_model, "model");
    drawTotals($("by-tenant"), totals.by_tenant, "key (tenant)");
    for (const button of document.querySelectorAll("[data-window]")) {
      button.classList.toggle("active", button.dataset.window === state.windowName);
    }
  }

  function progressCell(batch) {
    const td = el("td", null, "progress");
    const bar = el("div", null, "bar");
    const total = Math.max(batch.total, 1);
    const done = el("div", null, "done");
    done.style.width = (100 * batch.completed) / total + "%";
    const failed = el("div", null, "failed");
    failed.style.width = (100 * batch.failed) / total + "%";
    bar.append(done, failed);
    bar.setAttribute("role", "progressbar");
    bar.setAttribute("aria-valuemin", "0");
    bar.setAttribute("aria-valuemax", String(batch.total));
    bar.setAttribute("aria-valuenow", String(batch.completed + batch.failed));
    td.append(bar, el("span", batch.completed + "/" + batch.failed + "/" + batch.total, "progress-text"));
    td.title = batch.completed + " completed, " + batch.failed + " failed, " + batch.total + " in all";
    return td;
  }

  function drawBatches(page) {
    const rows = page.data.map((b) => {
      const tr = el("tr");
      tr.dataset.batchId = b.id;
      tr.dataset.status = b.status;
      tr.append(
        el("td", b.id, "batch-id"), el("td", b.provider), el("td", b.endpoint), el("td", b.model || "—"),
        el("td", b.status, "status status-" + b.status), progressCell(b),
        el("td", duration(b.age_seconds), "num"), el("td", duration(b.eta_seconds), "num"),
        el("td", count(b.input_tokens + b.output_tokens), "num"), el("td", usd(b.synchronous_usd), "num"),
        el("td", usd(b.cost_usd), "num"), el("td", usd(b.saving_usd), "num saving"),
      );
      tr.addEventListener("click", () => openDetail(b.id));
      return tr;
    });
    if (!rows.length) rows.push(row([["no batches yet", "muted"]]));
    fill($("batches").tBodies[0], rows);
    $("newer").disabled = state.after === null;
    $("older").disabled = !page.has_more;
    state.lastId = page.last_id;
  }

  function drawDetail(detail) {
    const b = detail.batch;
    $("detail-id").textContent = b.id;
    const fields = [
      ["status", b.status], ["provider", b.provider], ["endpoint", b.endpoint], ["model", b.model || "—"],
      ["progress", b.completed + " completed, " + b.failed + " failed of " + b.total],
      ["upstream batch", detail.upstream.batch_id || "—"], ["input file", detail.upstream.input_file_id || "—"],
      ["output file", detail.upstream.output_file_id || "—"], ["error file", detail.upstream.error_file_id || "—"],
      ["tokens", count(b.input_tokens) + " in, " + count(b.output_tokens) + " out"],
      ["money", usd(b.synchronous_usd) + " sync, " + usd(b.cost_usd) + " batch, " + usd(b.saving_usd) + " saved"],
    ];
    const dl = $("detail-fields");
    dl.replaceChildren();
    for (const [name, value] of fields) dl.append(el("dt", name), el("dd", value));
    const errors = detail.errors.map((e) => el("li", (e.code || "error") + ": " + (e.message || "") + (e.line ? " (line " + e.line + ")" : "")));
    if (!errors.length) errors.push(el("li", "none", "muted"));
    $("detail-errors").replaceChildren(...errors);
    const answers = detail.answers.map((a) => {
      const tr = row([
        [a.request_id, "batch-id"], [a.status, "status-" + a.status], [a.status_code, ""], [a.error_code || "", ""],
        [a.error_message || "", ""], [a.upstream_request_id || "—", "batch-id"],
        [a.input_tokens === null ? "—" : count(a.input_tokens + a.output_tokens), "num"],
      ]);
      tr.dataset.requestId = a.request_id;
      return tr;
    });
    if (!answers.length) answers.push(row([["no answers yet", "muted"]]));
    fill($("detail-answers").tBodies[0], answers);
    $("detail").hidden = false;
  }

  async function refresh() {
    const query = "?limit=20" + (state.after ? "&after=" + encodeURIComponent(state.after) : "");
    const [summary, page] = await Promise.all([getJson("/v1/dashboard/summary"), getJson("/v1/dashboard/batches" + query)]);
    state.summary = summary;
    drawSummary();
    drawBatches(page);
    if (state.detailId) drawDetail(await getJson("/v1/dashboard/batches/" + encodeURIComponent(state.detailId)));
    setStatus("updated " + new Date().toLocaleTimeString());
  }

  async function tick(generation) {
    try {
      await refresh();
    } catch (error) {
      if (generation !== state.generation) return;
      if (error instanceof Unauthorized) {
        askForKey("That key was refused: enter another one.");
        return;
      }
      setStatus("update failed: " + error.message + " (retrying)", true);
    }
    if (generation === state.generation) state.timer = setTimeout(() => tick(generation), POLL_MS);
  }

  function poll() {
    // one polling loop at a time: a loop whose generation is over stops after its current round
    clearTimeout(state.timer);
    state.generation += 1;
    tick(state.generation);
  }

  function openDetail(id) {
    state.detailId = id;
    getJson("/v1/dashboard/batches/" + encodeURIComponent(id)).then(drawDetail, (error) => setStatus(error.message, true));
  }

  function askForKey(message) {
    clearTimeout(state.timer);
    state.generation += 1;
    $("board").hidden = true;
    $("change-key").hidden = true;
    $("key-form").hidden = false;
    if (message) setStatus(message, true);
    $("key-input").focus();
  }

  function start(key) {
    // a new key starts from a clean board: nothing of the previous key's stays on the page
    Object.assign(state, { key, after: null, lastId: null, summary: null, detailId: null });
    $("detail").hidden = true;
    for (const id of ["states", "detail-id", "detail-fields", "detail-errors", "scope"]) $(id).replaceChildren();
    for (const table of document.querySelectorAll("#board tbody")) table.replaceChildren();
    $("key-form").hidden = true;
    $("board").hidden = false;
    $("change-key").hidden = false;
    poll();
  }

  document.addEventListener("DOMContentLoaded", () => {
    $("key-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const key = $("key-input").value.trim();
      localStorage.setItem(KEY_ITEM, key);
      $("key-input").value = "";
      start(key);
    });
    $("change-key").addEventListener("click", () => {
      localStorage.removeItem(KEY_ITEM);
      askForKey("");
    });
    $("detail-close").addEventListener("click", () => {
      state.detailId = null;
      $("detail").hidden = true;
    });
    $("older").addEventListener("click", () => {
      state.after = state.lastId;
      poll();
    });
    $("newer").addEventListener("click", () => {
      state.after = null;
      poll();
    });
    for (const button of document.querySelectorAll("[data-window]")) {
      button.addEventListener("click", () => {
        state.windowName = button.dataset.window;
        drawSummary();
      });
    }
    const saved = localStorage.getItem(KEY_ITEM);
    if (saved === null) askForKey("");
    else start(saved);
  });
})();
