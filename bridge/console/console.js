// claimbridge engineers' console. No build step, no libraries: everything goes through the
// JSON-RPC websocket at /v1, except the recent logs and product info (/console/*.json).
"use strict";

const PAIRING_TIMEOUT_S = 90;
const $ = (id) => document.getElementById(id);

// -- JSON-RPC over the websocket ------------------------------------------------------------

class Rpc {
  constructor(ws) {
    this.ws = ws;
    this.nextId = 1;
    this.pending = new Map();
    this.handlers = new Map();
    ws.addEventListener("message", (event) => this.receive(JSON.parse(event.data)));
    ws.addEventListener("close", () => {
      for (const { reject } of this.pending.values()) reject(new Error("connection closed"));
      this.pending.clear();
    });
  }

  receive(message) {
    if (message.id === undefined || message.id === null) {
      const handler = this.handlers.get(message.method);
      if (handler) handler(message.params);
      return;
    }
    const waiter = this.pending.get(message.id);
    if (!waiter) return;
    this.pending.delete(message.id);
    if (message.error) {
      const error = new Error(message.error.message);
      error.code = message.error.code;
      error.data = message.error.data;
      waiter.reject(error);
    } else {
      waiter.resolve(message.result);
    }
  }

  call(method, params) {
    const id = this.nextId++;
    const body = { jsonrpc: "2.0", id, method };
    if (params !== undefined) body.params = params;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.ws.send(JSON.stringify(body));
    });
  }

  on(method, handler) {
    this.handlers.set(method, handler);
  }
}

let rpc = null;
/** The methods this daemon serves (from rpc.discover). */
let methods = new Set();

function hasMethod(name) {
  return methods.has(name);
}

function wsUrl() {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${location.host}/v1`;
}

function open() {
  // The session cookie set at login goes along by itself (HttpOnly: this script never sees it).
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(wsUrl(), ["claimbridge.v1"]);
    ws.addEventListener("open", () => resolve(ws), { once: true });
    ws.addEventListener("error", () => reject(new Error("refused")), { once: true });
  });
}

async function createSession(token) {
  // The token goes once, in a header, to /console/session; the answer sets the session cookie.
  const response = await fetch("/console/session", { headers: { Authorization: `Bearer ${token}` } });
  if (response.status === 403) throw new Error("notEngineer");
  if (!response.ok) throw new Error("refused");
}

function setConnection(text) {
  $("connection").textContent = text;
}

async function start(ws) {
  rpc = new Rpc(ws);
  ws.addEventListener("close", () => {
    setConnection("Disconnected: reload the page to reconnect");
  });
  $("login").hidden = true;
  $("app").hidden = false;
  $("logout").hidden = false;
  setConnection("Connected");
  rpc.on("terminal.pairing", onPairing);
  rpc.on("job.updated", onJobUpdated);
  rpc.on("job.status", onJobStatus);
  rpc.on("job.question", onJobQuestion);
  await rpc.call("events.subscribe", { topics: ["job.updated", "job.status", "job.question", "terminal.pairing"] });
  try {
    methods = new Set((await rpc.call("rpc.discover")).methods.map((m) => m.name));
  } catch (err) {
    methods = new Set();
  }
  $("recon-date").value = sydneyToday(); // the clinic's day, not the browser's
  $("operator").value = localStorage.getItem("claimbridge.operator") || "";
  await Promise.allSettled([loadTerminals(), loadJobs(), loadSystem(), loadLogs()]);
  document.body.dataset.ready = "true";
}

async function login(event) {
  event.preventDefault();
  const token = $("token").value.trim();
  $("login-error").textContent = "";
  try {
    await createSession(token);
    $("token").value = "";
    await start(await open());
  } catch (err) {
    $("login-error").textContent = err.message === "notEngineer"
      ? "That token is not an engineer's: the console needs an engineer's token (state_dir/token, or a client made with --role engineer)."
      : "That token was refused. Copy it again from the token file.";
    $("token").focus();
  }
}

async function logout() {
  await fetch("/console/logout").catch(() => null);
  location.reload();
}

// -- rendering helpers ----------------------------------------------------------------------------

function cell(row, text, className) {
  const td = document.createElement("td");
  td.textContent = text === null || text === undefined ? "" : String(text);
  if (className) td.className = className;
  // Its column's name, shown beside the value when a narrow screen stacks a row's cells.
  const table = row.closest ? row.closest("table") : null;
  const head = table && table.tHead && table.tHead.rows[0] && table.tHead.rows[0].cells[row.cells.length];
  if (head) td.dataset.label = head.textContent.trim();
  row.appendChild(td);
  return td;
}

/** A long id shortened for the eye ("5f0c2a1b…"), the whole id on hover and in the copy. */
function shortId(id) {
  const text = String(id || "");
  return text.length > 12 ? `${text.slice(0, 8)}…` : text;
}

function copyButton(id) {
  const button = document.createElement("button");
  button.type = "button";
  button.className = "copy";
  button.textContent = "⧉";
  button.title = `Copy ${id}`;
  button.setAttribute("aria-label", `Copy job id ${id}`);
  button.addEventListener("click", () => {
    if (navigator.clipboard) navigator.clipboard.writeText(id).catch(() => {});
  });
  return button;
}

function showError(element, err) {
  // The refusal in words: the message, then every bad field or the reason (never raw JSON).
  const data = err.data || {};
  let detail = "";
  if (Array.isArray(data.errors)) detail = data.errors.map((e) => `${e.field} ${e.message}`).join("; ");
  else if (data.reason) detail = String(data.reason);
  element.textContent = `${err.message}${detail ? `: ${detail}` : ""}${err.code ? ` (${err.code})` : ""}`;
  element.classList.add("error");
}

// -- terminals and pairing --------------------------------------------------------------------

async function loadTerminals() {
  const terminals = await rpc.call("terminal.list");
  const body = $("terminals").tBodies[0];
  body.replaceChildren();
  for (const t of terminals) {
    const row = body.insertRow();
    row.dataset.terminal = t.name;
    cell(row, t.name); cell(row, t.mid); cell(row, t.tid);
    cell(row, t.paired ? "yes" : "no"); cell(row, t.busy ? "yes" : "no"); cell(row, t.queued);
  }
}

let pairing = null; // {terminal, deadline, timer}

function pairingLog(text) {
  const li = document.createElement("li");
  li.textContent = text;
  $("pair-log").appendChild(li);
}

function endPairing(status, message) {
  if (!pairing) return;
  clearInterval(pairing.timer);
  pairing = null;
  $("pair-countdown").textContent = "";
  $("pair-start").disabled = false;
  // iClient's success message is just "Paired": say it once, naming the terminal.
  const said = message && !/^paired\.?$/i.test(message.trim()) ? ` (${message})` : "";
  $("pair-message").textContent = status === "success" ? `Terminal paired${said}.` : `Pairing failed: ${message}`;
  $("pair-message").className = status === "success" ? "" : "error";
  $("pair-progress").dataset.status = status;
  $("pair-retry").hidden = status === "success";
  if (status !== "success") $("pair-retry").focus();
  loadTerminals();
}

function onPairing(params) {
  if (!pairing || params.terminal !== pairing.terminal) return;
  pairingLog(`${params.status}: ${params.message}`);
  if (params.status === "inProgress") {
    $("pair-message").textContent = params.message;
  } else {
    endPairing(params.status, params.message);
  }
}

async function pair(event) {
  if (event) event.preventDefault();
  const form = $("pair-form");
  if (!form.reportValidity()) return;
  const terminal = $("pair-terminal").value.trim();
  const mid = Number($("pair-mid").value);
  const tid = Number($("pair-tid").value);
  $("pair-log").replaceChildren();
  $("pair-retry").hidden = true;
  $("pair-start").disabled = true;
  $("pair-message").className = "";
  $("pair-message").textContent = "Waiting for the terminal: press Authorise POS on it now.";
  $("pair-progress").dataset.status = "inProgress";
  const deadline = Date.now() + PAIRING_TIMEOUT_S * 1000;
  const tick = () => {
    const left = Math.max(0, Math.round((deadline - Date.now()) / 1000));
    $("pair-countdown").textContent = `${left} s left`;
  };
  pairing = { terminal, deadline, timer: setInterval(tick, 1000) };
  tick();
  try {
    const result = await rpc.call("terminal.pair", { terminal, mid, tid });
    endPairing(result.status, result.message);
  } catch (err) {
    endPairing("failure", err.message);
  }
}

// -- jobs -------------------------------------------------------------------------------------

function jobFilters() {
  const params = {};
  const state = $("filter-state").value;
  const kind = $("filter-kind").value;
  const terminal = $("filter-terminal").value.trim();
  const limit = Number($("filter-limit").value);
  if (state) params.state = state;
  if (kind) params.kind = kind;
  if (terminal) params.terminal = terminal;
  if (limit) params.limit = limit;
  return params;
}

function matches(job, filters) {
  return (!filters.state || job.state === filters.state)
    && (!filters.kind || job.kind === filters.kind)
    && (!filters.terminal || job.terminal === filters.terminal);
}

function jobRow(job, links) {
  const row = document.createElement("tr");
  row.dataset.jobId = job.jobId;
  row.dataset.state = job.state;
  const r = job.result || {};
  cell(row, jobTime(job, job.createdAt));
  const idCell = cell(row, "", "id");
  idCell.appendChild(jobLink(job)).textContent = shortId(job.jobId);
  idCell.appendChild(copyButton(job.jobId));
  cell(row, job.kind);
  cell(row, job.terminal || "-");
  cell(row, job.state, `state-${job.state}`);
  cell(row, outcomeText(job, links), "outcome");
  if (job.kind === "healthcodeBill") {
    cell(row, gbp(r.paid)); // what the insurer paid, then what it did not (the shortfall)
    cell(row, gbp(r.shortfall));
  } else if (voided(job, links)) {
    cell(row, "none (voided)");
    cell(row, "");
  } else {
    cell(row, aud(job.kind === "gap" || job.kind === "refund" ? (r.amount ?? (job.request || {}).amount) : r.totalBenefit));
    cell(row, aud(r.gap));
  }
  const action = cell(row, "");
  if (job.state === "unknown") {
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = "Resolve";
    button.setAttribute("aria-label", `Resolve job ${job.jobId}`);
    button.addEventListener("click", () => openJob(job.jobId));
    action.appendChild(button);
  }
  return row;
}

/** Jobs by the claim or payment they act on, so a claim's row can say it was cancelled. */
function linksOf(jobs) {
  const links = new Map();
  for (const job of jobs) {
    const target = job.request && (job.request.claimJobId || job.request.paymentJobId);
    if (!target) continue;
    if (!links.has(target)) links.set(target, []);
    links.get(target).push(job);
  }
  return links;
}

let listed = [];

async function loadJobs(event) {
  if (event) event.preventDefault();
  const jobs = await rpc.call("job.list", jobFilters());
  listed = jobs;
  const links = linksOf(jobs);
  const body = $("jobs").tBodies[0];
  body.replaceChildren(...jobs.map((job) => jobRow(job, links.get(job.jobId))));
}

function onJobUpdated(params) {
  const job = params.job;
  const body = $("jobs").tBodies[0];
  const existing = body.querySelector(`tr[data-job-id="${CSS.escape(job.jobId)}"]`);
  if (!matches(job, jobFilters())) {
    if (existing) existing.remove();
    return;
  }
  listed = [job, ...listed.filter((j) => j.jobId !== job.jobId)];
  const links = linksOf(listed);
  const row = jobRow(job, links.get(job.jobId));
  if (existing) existing.replaceWith(row);
  else body.insertBefore(row, body.firstChild);
  // a cancel or gap changes how its claim reads: redraw that row too
  const target = job.request && (job.request.claimJobId || job.request.paymentJobId);
  const claimRow = target && body.querySelector(`tr[data-job-id="${CSS.escape(target)}"]`);
  const claim = target && listed.find((j) => j.jobId === target);
  if (claimRow && claim) claimRow.replaceWith(jobRow(claim, links.get(target)));
  $("jobs-live").textContent = `Job ${job.jobId} (${job.kind}) is now ${job.state}`;
  if (viewing === job.jobId || viewing === target) openJob(viewing);
}

let resolving = null;

function openResolve(jobId) {
  // On the job's own page, with no outcome chosen: the engineer picks what the evidence says.
  resolving = jobId;
  $("resolve-job").textContent = jobId;
  $("resolve-error").textContent = "";
  $("resolve-note").value = "";
  $("resolve-outcome").value = "";
  $("resolve").hidden = false;
}

function closeResolve() {
  resolving = null;
  $("resolve").hidden = true;
}

async function resolve(event) {
  event.preventDefault();
  if (!resolving || !$("resolve-form").reportValidity()) return;
  try {
    const job = await rpc.call("job.resolve", {
      jobId: resolving, outcome: $("resolve-outcome").value, note: $("resolve-note").value.trim(),
    });
    onJobUpdated({ job });
    $("jobs-live").textContent = `Job ${job.jobId} resolved`;
    closeResolve();
  } catch (err) {
    showError($("resolve-error"), err);
  }
}

// -- reconciliation, system, Healthcode, logs ---------------------------------------------------

function term(dl, name, value) {
  const dt = document.createElement("dt");
  dt.textContent = name;
  const dd = document.createElement("dd");
  dd.textContent = String(value);
  dl.append(dt, dd);
}

function component(part) {
  const parts = [part.ok ? "OK" : "NOT OK", part.message];
  return parts.filter(Boolean).join(": ");
}

async function loadSystem() {
  const dl = $("system");
  dl.replaceChildren();
  const health = await rpc.call("system.health");
  term(dl, "Version", health.version);
  term(dl, "Up for", duration(health.uptimeS));
  const j = health.journal;
  term(dl, "Journal", component(j));
  if (j.path) term(dl, "Journal file", `${j.path} (${bytes(j.sizeBytes)})`);
  if (j.jobs) term(dl, "Jobs by state", Object.entries(j.jobs).map(([state, n]) => `${n} ${state}`).join(", ") || "none");
  const b = health.browser;
  term(dl, "Browser", component(b));
  if (b.executable) term(dl, "Browser program", `${b.executable}${b.restarts ? `, restarted ${b.restarts} times` : ", never restarted"}`);
  const ic = health.iclient;
  if (ic) {
    term(dl, "iClient server", ic.ok ? `OK: reachable since ${sydney(ic.since)}`
      : `NOT OK: cannot be reached since ${sydney(ic.since)} (${ic.reason}); new claims are refused `
        + "until it is back, and the daemon retries by itself. Check this machine's internet connection.");
  }
  for (const t of health.terminals || []) {
    term(dl, `Terminal ${t.name}`, `MID ${t.mid}, TID ${t.tid}, ${t.paired ? "paired" : "not paired"}, `
      + `${t.pageReady === false ? "page loading, " : ""}${t.busy ? "busy" : "idle"}, ${t.queued} queued`);
  }
  const response = await fetch("/console/info.json", { credentials: "same-origin" });
  if (response.ok) {
    const info = await response.json();
    const p = info.posProduct;
    term(dl, "POS product", `${p.posProductVendor} / ${p.posProductName} ${p.posProductVersion}`);
    term(dl, "iClient URL", info.iclientUrl);
    term(dl, "State directory", info.stateDir);
    term(dl, "Healthcode", info.healthcode ? "configured" : "not configured");
    term(dl, "MQTT fleet link", info.mqtt ? "configured" : "off");
  }
}

async function checkHealthcode() {
  const out = $("healthcode-result");
  out.classList.remove("error");
  out.textContent = "Checking...";
  try {
    const result = await rpc.call("healthcode.checkCredentials");
    out.textContent = `${result.ok ? "OK" : "Failed"}: ${result.message}`;
    if (!result.ok) out.classList.add("error");
  } catch (err) {
    showError(out, err);
  }
}

const LOG_PAGE = 25;
let logs = [];
let logPage = 0;

async function loadLogs() {
  const response = await fetch("/console/logs.json", { credentials: "same-origin" });
  logs = response.ok ? await response.json() : [];
  logPage = Math.max(0, Math.ceil(logs.length / LOG_PAGE) - 1); // newest last: open on the last page
  showLogs();
}

function showLogs() {
  const body = $("logs").tBodies[0];
  body.replaceChildren();
  const pages = Math.max(1, Math.ceil(logs.length / LOG_PAGE));
  logPage = Math.min(Math.max(0, logPage), pages - 1);
  for (const rec of logs.slice(logPage * LOG_PAGE, (logPage + 1) * LOG_PAGE)) {
    const row = body.insertRow();
    cell(row, sydney(rec.ts)); cell(row, rec.level); cell(row, rec.logger);
    cell(row, rec.exc ? `${rec.msg}\n${rec.exc}` : rec.msg, "msg");
  }
  $("logs-page").textContent = `Page ${logPage + 1} of ${pages} (${logs.length} lines)`;
  $("logs-prev").disabled = logPage === 0;
  $("logs-next").disabled = logPage >= pages - 1;
}

// -- start ---------------------------------------------------------------------------------------

document.addEventListener("DOMContentLoaded", async () => {
  $("login-form").addEventListener("submit", login);
  $("logout").addEventListener("click", logout);
  $("terminals-refresh").addEventListener("click", loadTerminals);
  $("pair-form").addEventListener("submit", pair);
  $("pair-retry").addEventListener("click", () => pair());
  $("jobs-filter").addEventListener("submit", loadJobs);
  $("resolve-form").addEventListener("submit", resolve);
  $("resolve-cancel").addEventListener("click", closeResolve);
  $("recon-form").addEventListener("submit", reconciliation);
  $("system-refresh").addEventListener("click", loadSystem);
  $("healthcode-check").addEventListener("click", checkHealthcode);
  $("logs-refresh").addEventListener("click", loadLogs);
  $("logs-prev").addEventListener("click", () => { logPage -= 1; showLogs(); });
  $("logs-next").addEventListener("click", () => { logPage += 1; showLogs(); });
  $("job-detail-close").addEventListener("click", closeJob);
  try {
    await start(await open()); // still logged in (a reload)
    return;
  } catch (err) {
    // no session: log in
  }
  $("token").focus();
});
