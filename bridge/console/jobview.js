// claimbridge console: one job's whole story (amounts, fund, member, refTag, status lines,
// question, receipts, history, linked jobs) and a day's reconciliation as a table.
// Uses format.js (aud, gbp, sydney, jobTime, reportTime) and console.js (rpc, $, cell, showError).
"use strict";

/** What the console heard about jobs while open: status lines and pending questions. */
const heard = { status: new Map(), question: new Map() };

function onJobStatus(params) {
  const lines = heard.status.get(params.jobId) || [];
  lines.push({ at: new Date().toISOString(), message: params.message });
  heard.status.set(params.jobId, lines);
  if (viewing === params.jobId) renderStatusLines(params.jobId, null);
}

function onJobQuestion(params) {
  heard.question.set(params.jobId, { text: params.text, options: params.options });
  if (viewing === params.jobId) openJob(params.jobId);
}

let viewing = null;

function fact(dl, name, value, key) {
  if (value === null || value === undefined || value === "") return;
  const dt = document.createElement("dt");
  dt.textContent = name;
  const dd = document.createElement("dd");
  if (value instanceof Node) dd.appendChild(value); else dd.textContent = String(value);
  if (key) dd.dataset.fact = key;
  dl.append(dt, dd);
}

function claimedTotal(job) {
  const items = (job.request && job.request.items) || [];
  return items.reduce((sum, item) => sum + (Number(item.claimAmount) || 0), 0);
}

/** The state line a person needs: "completed: APPROVED", "resolved: notProcessed". */
function outcomeText(job, links) {
  const r = job.result || {};
  if (job.state === "resolved" && r.resolution) return `resolved by hand: ${r.resolution.outcome}`;
  let text = r.result || r.status || (job.error && job.error.message) || "";
  const cancel = (links || []).find((l) => l.kind === "cancel" && l.state === "completed"
    && l.result && l.result.result === "CANCELLED");
  if (cancel && text === "APPROVED") text = "APPROVED, then CANCELLED";
  if (r.source === "reconciliation") text += " (from the fund's report)";
  return text;
}

/** A claim voided on the day (cancelled, reversed): it paid no benefit and leaves no gap. */
function voided(job, links) {
  const r = job.result || {};
  if (["CANCELLED", "REVERSED"].includes(r.result)) return true;
  return (links || []).some((l) => l.kind === "cancel" && l.state === "completed"
    && l.result && l.result.result === "CANCELLED");
}

function jobLink(job) {
  const button = document.createElement("button");
  button.type = "button";
  button.className = "link";
  button.textContent = `${job.kind} ${shortId(job.jobId)}`;
  button.title = job.jobId;
  button.setAttribute("aria-label", `Show job ${job.jobId}`);
  button.addEventListener("click", () => openJob(job.jobId));
  return button;
}

/** Jobs that point at this one (its cancel, gap, refund) or that it points at (the claim). */
async function linkedJobs(job) {
  const all = await rpc.call("job.list", { limit: 1000 });
  const own = job.request || {};
  return all.filter((other) => {
    if (other.jobId === job.jobId) return false;
    const req = other.request || {};
    return req.claimJobId === job.jobId || req.paymentJobId === job.jobId
      || other.jobId === own.claimJobId || other.jobId === own.paymentJobId
      || req.replaces === job.jobId || other.jobId === own.replaces;
  });
}

async function fetchJob(jobId) {
  try {
    return await rpc.call("job.get", { jobId, history: true });
  } catch (err) {
    if (err.code !== -32602) throw err;
    return rpc.call("job.get", { jobId }); // a daemon without job history
  }
}

function renderItems(job) {
  const table = $("job-items");
  const body = table.tBodies[0];
  body.replaceChildren();
  const asked = (job.request && job.request.items) || [];
  const items = (job.result && job.result.items && job.result.items.length ? job.result.items : asked);
  table.hidden = items.length === 0;
  items.forEach((item, i) => {
    const row = body.insertRow();
    const date = item.serviceDate || (!item.bonus && asked[i] ? asked[i].serviceDate : "");
    cell(row, item.serviceCode); cell(row, item.description); cell(row, item.patientId);
    cell(row, isoDay(date)); cell(row, aud(item.claimAmount)); cell(row, aud(item.benefit));
    cell(row, item.responseText ? `${item.responseCode || ""} ${item.responseText}`.trim() : "");
    cell(row, item.bonus ? "added by the fund" : "");
  });
}

function renderStatusLines(jobId, history) {
  const list = $("job-status-lines");
  list.replaceChildren();
  const lines = history
    ? history.filter((h) => h.event === "status").map((h) => ({ at: h.at, message: h.message }))
    : [];
  for (const line of lines.length ? lines : heard.status.get(jobId) || []) {
    const li = document.createElement("li");
    li.textContent = `${sydney(line.at)}: ${line.message}`;
    list.appendChild(li);
  }
  if (!list.children.length) list.innerHTML = "<li>None recorded.</li>";
}

function renderQuestion(job) {
  const box = $("job-question");
  box.replaceChildren();
  const final = ["completed", "failed", "resolved"].includes(job.state);
  const question = job.question || (final ? null : heard.question.get(job.jobId));
  if (!question) {
    box.textContent = "No question pending.";
    return;
  }
  const p = document.createElement("p");
  p.textContent = question.text;
  box.appendChild(p);
  for (const option of question.options) {
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = option;
    button.dataset.answer = option;
    button.addEventListener("click", () => answer(job.jobId, option));
    box.appendChild(button);
  }
}

async function answer(jobId, option) {
  const out = $("job-answer-result");
  out.textContent = "";
  out.classList.remove("error");
  const operator = $("operator").value.trim();
  if (!$("operator").reportValidity()) return;
  localStorage.setItem("claimbridge.operator", operator);
  try {
    await rpc.call("job.answer", { jobId, answer: option, operator });
    heard.question.delete(jobId);
    out.textContent = `Answered ${option} as ${operator}.`;
  } catch (err) {
    showError(out, err);
  }
}

function renderReceipts(job) {
  const box = $("job-receipts");
  box.replaceChildren();
  const receipts = job.receipts || {};
  for (const [who, text] of Object.entries(receipts)) {
    if (!text) continue;
    const h = document.createElement("h5");
    h.textContent = who === "merchant" ? "Merchant copy" : who === "customer" ? "Customer copy" : who;
    const pre = document.createElement("pre");
    pre.textContent = text;
    box.append(h, pre);
  }
  if (!box.children.length) box.textContent = "No receipt recorded.";
}

/** A Healthcode bill's money, in pounds: invoiced, paid, the shortfall and the insurer's reason. */
function renderBillMoney(dl, job, r) {
  const bill = (job.request || {}).bill || {};
  const invoiced = (bill.lines || []).reduce((sum, line) => sum + line.fee * (line.quantity || 1), 0);
  if (invoiced) fact(dl, "Invoiced", gbp(invoiced), "invoiced");
  if (r.paid !== undefined && r.paid !== null) fact(dl, "Paid", gbp(r.paid), "paid");
  if (r.shortfall !== undefined && r.shortfall !== null) fact(dl, "Shortfall", gbp(r.shortfall), "shortfall");
  if (r.rejected) fact(dl, "Rejected", "the insurer paid nothing", "rejected");
  if (r.reason) fact(dl, "Insurer's reason", r.reason, "reason");
  if (r.datePaid) fact(dl, "Paid on", r.datePaid, "datePaid");
}

function renderHistory(history, job) {
  const list = $("job-history");
  list.replaceChildren();
  for (const entry of history || []) {
    const li = document.createElement("li");
    const parts = [jobTime(job, entry.at), entry.event];
    if (entry.state) parts.push(entry.state);
    if (entry.message) parts.push(entry.message);
    if (entry.by) parts.push(`by ${entry.by}`);
    li.textContent = parts.join(" · ");
    list.appendChild(li);
  }
  if (!list.children.length) list.innerHTML = "<li>Not available from this daemon.</li>";
}

async function openJob(jobId) {
  viewing = jobId;
  const job = await fetchJob(jobId);
  const links = await linkedJobs(job);
  const r = job.result || {};
  $("job-detail").hidden = false;
  $("job-detail").dataset.jobId = job.jobId;
  $("job-detail").dataset.state = job.state;
  $("job-detail-id").textContent = job.jobId;
  const dl = $("job-facts");
  dl.replaceChildren();
  fact(dl, "Kind", job.kind);
  fact(dl, "State", job.state, "state");
  fact(dl, "Outcome", outcomeText(job, links), "outcome");
  fact(dl, "Terminal", job.terminal);
  fact(dl, "Request id", job.requestId);
  fact(dl, "Created", jobTime(job, job.createdAt), "createdAt");
  fact(dl, "Updated", jobTime(job, job.updatedAt), "updatedAt");
  fact(dl, "Provider", job.request && job.request.providerId);
  if (r.fund) fact(dl, "Fund", `${r.fund.name || ""} (${r.fund.id || "?"})`, "fund");
  fact(dl, "Member", r.memberNumber, "member");
  fact(dl, "refTag", r.refTag, "refTag");
  fact(dl, "Transaction", r.transactionId);
  const claimed = claimedTotal(job);
  if (claimed) fact(dl, "Claimed", aud(claimed), "claimed");
  if (voided(job, links)) {
    fact(dl, "Benefit", "none: the claim was voided", "benefit");
  } else {
    fact(dl, "Benefit", aud(r.totalBenefit), "benefit");
    fact(dl, "Gap", aud(r.gap), "gap");
  }
  if (job.kind === "gap" || job.kind === "refund") {
    fact(dl, "Amount", aud(r.amount !== undefined ? r.amount : job.request.amount), "amount");
    fact(dl, "Card", [r.cardType, r.elidedPan].filter(Boolean).join(" "), "card");
    fact(dl, "Authorisation code", r.authorisationCode);
    fact(dl, "RRN", r.rrn);
  }
  fact(dl, "Settlement", sydney(r.settlementAt), "settlement");
  if (r.status) fact(dl, "Healthcode status", r.status, "billStatus");
  fact(dl, "Healthcode reference", r.reference);
  if (job.kind === "healthcodeBill") renderBillMoney(dl, job, r);
  if (r.resolution) fact(dl, "Resolution", `${r.resolution.outcome}: ${r.resolution.note} (${sydney(r.resolution.at)})`);
  if (job.error) fact(dl, "Error", `${job.error.message}${job.error.code ? ` (${job.error.code})` : ""}`, "error");
  renderNext(job, links);
  renderItems(job);
  renderQuestion(job);
  renderStatusLines(job.jobId, job.history);
  renderReceipts(job);
  renderHistory(job.history, job);
  const linkList = $("job-links");
  linkList.replaceChildren();
  for (const other of links) {
    const li = document.createElement("li");
    li.append(jobLink(other), ` ${other.state} ${outcomeText(other, [])}`);
    linkList.appendChild(li);
  }
  if (!links.length) linkList.innerHTML = "<li>None.</li>";
  $("job-detail").dataset.ready = "true";
  $("job-detail-title").focus();
}

function closeJob() {
  viewing = null;
  closeResolve();
  $("job-detail").hidden = true;
}

// -- an unknown job: why, what the evidence is, what to do next ---------------------------------

/** The fund's or the terminal's own error for a job, in its words ("1015 Error on Autovoid"). */
function theirError(job) {
  const r = job.result || {};
  const code = r.errorCode || r.healthpointErrorCode || (job.error && job.error.code) || "";
  const text = r.errorText || r.healthpointErrorDescription || (job.error && job.error.message) || "";
  return [code, text].filter(Boolean).join(" ").trim();
}

/** What is known of an unknown job's outcome, from its history. */
function evidence(job) {
  const history = job.history || [];
  const moved = [...history].reverse().find((h) => h.state === "unknown");
  const said = (job.result || {}).result;
  const lines = [];
  if (said) lines.push(`The terminal answered ${said}: the claim may have reached the fund.`);
  if (moved && moved.message) lines.push(`Recorded when it became unknown: ${moved.message}.`);
  const statuses = history.filter((h) => h.event === "status").map((h) => h.message);
  if (statuses.length) lines.push(`The terminal's last status line: "${statuses[statuses.length - 1]}".`);
  if (!lines.length) lines.push("The daemon lost the terminal's answer: it may or may not have reached the fund.");
  return lines;
}

function renderNext(job, links) {
  const box = $("job-next");
  box.replaceChildren();
  if (job.state !== "unknown") {
    box.hidden = true;
    closeResolve();
    return;
  }
  box.hidden = false;
  const h = document.createElement("h4");
  h.textContent = "Why its outcome is unknown, and what to do";
  box.appendChild(h);
  const error = theirError(job);
  const why = document.createElement("p");
  why.dataset.fact = "unknown-error";
  why.textContent = error ? `The fund's or terminal's error: ${error}` : "No error was given.";
  box.appendChild(why);
  const ev = document.createElement("ul");
  ev.dataset.fact = "evidence";
  for (const line of evidence(job)) {
    const li = document.createElement("li");
    li.textContent = line;
    ev.appendChild(li);
  }
  box.appendChild(ev);
  const day = isoDay((job.request && job.request.items && job.request.items[0] && job.request.items[0].serviceDate) || job.createdAt);
  const steps = document.createElement("ol");
  steps.dataset.fact = "next-steps";
  const step = (text, button) => {
    const li = document.createElement("li");
    li.textContent = text;
    if (button) li.append(" ", button);
    steps.appendChild(li);
  };
  const reconcile = document.createElement("button");
  reconcile.type = "button";
  reconcile.textContent = "Reconcile that day";
  reconcile.addEventListener("click", () => {
    $("recon-terminal").value = job.terminal || "";
    $("recon-date").value = day;
    $("recon-form").requestSubmit();
    $("recon-title").scrollIntoView();
  });
  step(`Reconcile: hold the fund's claims report of ${day} for terminal ${job.terminal || "?"} against the journal; `
    + "if the fund has it, the job is settled by itself.", reconcile);
  step("Look at the terminal: its last transactions (and the receipt, if one printed) say whether it was approved.");
  step("Resolve: once you know, record what happened below, with how you found out.");
  box.appendChild(steps);
  openResolve(job.jobId);
}

// -- reconciliation as a table ---------------------------------------------------------------

function mark(row, text) {
  row.classList.add("discrepancy");
  const td = cell(row, text, "discrepancy-text");
  td.setAttribute("role", "note");
}

/** The fund's claims report held against the jobs, row by row. With healthpoint.reconcile the
 * daemon's own verdicts (settled, discrepancies, ambiguous) then mark the rows. */
async function reconcileInPage(terminal, date) {
  const report = await rpc.call("healthpoint.reconciliation", { terminal, date, type: "claims" });
  const jobs = await rpc.call("job.list", { terminal, limit: 1000 });
  const byRefTag = new Map();
  for (const job of jobs) if (job.result && job.result.refTag && job.kind === "claim") byRefTag.set(job.result.refTag, job);
  const cancelled = new Set(jobs.filter((j) => j.kind === "cancel" && j.result && j.result.result === "CANCELLED")
    .map((j) => j.request.claimJobId));
  const rows = (report.claims || []).map((claim) => {
    const job = byRefTag.get(claim.refTag) || null;
    let problem = "";
    if (!job) {
      problem = "not in the journal";
    } else {
      const approvedHere = job.result.result === "APPROVED" && !cancelled.has(job.jobId);
      const approvedThere = claim.status === "APP";
      if (approvedHere !== approvedThere) {
        problem = `${claim.status} at the fund, ${approvedHere ? "APPROVED" : outcomeText(job, [])} here`;
      } else if (approvedHere && claim.privateHealthFundTotalBenefitAmount !== job.result.totalBenefit) {
        problem = `benefit differs: ${aud(job.result.totalBenefit)} here`;
      } else if (claim.totalClaimAmount !== claimedTotal(job)) {
        problem = `claimed amount differs: ${aud(claimedTotal(job))} here`;
      }
    }
    if (job) byRefTag.delete(claim.refTag);
    return { claim, job, problem };
  });
  for (const job of byRefTag.values()) {
    const items = (job.request && job.request.items) || [];
    if (job.result.result === "APPROVED" && !cancelled.has(job.jobId) && items.length
        && isoDay(items[0].serviceDate) === date) {
      rows.push({ claim: null, job, problem: "approved here, missing at the fund" });
    }
  }
  return { report, rows, jobs };
}

const DISCREPANCY_TEXT = {
  missingAtFund: "approved here, missing at the fund",
  notInJournal: "not in the journal",
  statusDiffers: "status differs",
  amountDiffers: "amount differs",
};

function reconRow(body, claim, job, problem) {
  const row = body.insertRow();
  if (job) row.dataset.jobId = job.jobId;
  cell(row, claim ? reportTime(claim.terminalDateTime) : "");
  cell(row, claim ? claim.refTag : (job && job.result && job.result.refTag));
  cell(row, claim ? claim.status : "");
  cell(row, claim ? aud(claim.totalClaimAmount) : aud(claimedTotal(job)));
  cell(row, claim ? aud(claim.privateHealthFundTotalBenefitAmount) : "");
  const jobCell = cell(row, "");
  if (job) jobCell.appendChild(jobLink(job)); else jobCell.textContent = "no job";
  if (problem) mark(row, problem); else cell(row, "matches");
}

async function reconciliation(event) {
  event.preventDefault();
  const out = $("recon-summary");
  const body = $("recon-table").tBodies[0];
  body.replaceChildren();
  out.classList.remove("error");
  out.textContent = "Asking the terminal...";
  const terminal = $("recon-terminal").value.trim();
  const date = $("recon-date").value;
  try {
    if (hasMethod("healthpoint.reconcile")) {
      // First the daemon's verdicts (this settles unknown claims), then every row of the report.
      const rec = await rpc.call("healthpoint.reconcile", { terminal, date });
      const { rows, jobs } = await reconcileInPage(terminal, date);
      const verdicts = new Map();
      for (const d of rec.discrepancies || []) if (d.refTag) verdicts.set(d.refTag, DISCREPANCY_TEXT[d.kind] || d.kind);
      for (const s of rec.settled || []) if (!verdicts.has(s.refTag)) verdicts.set(s.refTag, "");
      const settled = new Set((rec.settled || []).map((s) => s.refTag));
      for (const { claim, job, problem } of rows) {
        const ref = claim ? claim.refTag : job && job.result && job.result.refTag;
        // The row's own words say most; the daemon's verdict marks what the page did not see.
        const verdict = problem || verdicts.get(ref) || "";
        reconRow(body, claim, job, verdict);
        if (settled.has(ref)) body.rows[body.rows.length - 1].classList.add("settled");
      }
      const byId = new Map(jobs.map((j) => [j.jobId, j]));
      for (const a of rec.ambiguous || []) {
        const tags = a.refTags || [];
        reconRow(body, null, byId.get(a.jobId) || null, tags.length
          ? `unknown here; it could be any of the report's rows ${tags.join(", ")}`
          : "unknown here; no row of the report can be told to be it");
      }
      const t = rec.totals || {};
      const bad = body.querySelectorAll("tr.discrepancy").length;
      out.textContent = rec.available === false ? "No report for that day." :
        `Fund: ${t.fund.claims} claims, ${aud(t.fund.claimed)} claimed, ${aud(t.fund.benefit)} benefit; `
        + `journal: ${t.journal.claims} claims, ${aud(t.journal.claimed)} claimed, ${aud(t.journal.benefit)} benefit; `
        + `${(rec.settled || []).length} settled from the report; `
        + (bad ? `${bad} discrepanc${bad === 1 ? "y" : "ies"} marked.` : "every row matches a job.");
      return;
    }
    const { report, rows } = await reconcileInPage(terminal, date);
    for (const { claim, job, problem } of rows) reconRow(body, claim, job, problem);
    if (!report.available) {
      out.textContent = report.message || (report.error && report.error.message) || "No report for that day.";
      return;
    }
    const t = report.totals || {};
    const bad = rows.filter((r) => r.problem).length;
    out.textContent = `Terminal ${report.terminalId}, ${isoDay(report.date)}: ${t.totalNumberClaims} claims, `
      + `${aud(t.sumClaimAmount)} claimed, ${aud(t.sumBenefitAmount)} benefit; `
      + (bad ? `${bad} discrepanc${bad === 1 ? "y" : "ies"} marked.` : "every row matches a job.");
  } catch (err) {
    showError(out, err);
  }
}
