// claimbridge console: how values are written for a person. Amounts are AUD from integer cents;
// times are Australia/Sydney with the zone named (AEDT/AEST), whatever the browser's own locale
// and time zone: the clinic and its funds live in Sydney time. A Healthcode bill is a UK bill:
// pounds from integer pence, Europe/London time (GMT/BST) — see jobTime and jobMoney.
"use strict";

const SYDNEY = "Australia/Sydney";
const AUD = new Intl.NumberFormat("en-AU", { style: "currency", currency: "AUD" });
const SYDNEY_TIME = new Intl.DateTimeFormat("en-AU", {
  timeZone: SYDNEY, day: "numeric", month: "short", year: "numeric",
  hour: "numeric", minute: "2-digit", second: "2-digit", hour12: true, timeZoneName: "short",
});

/** Integer cents as AUD: 12060 -> "$120.60"; null stays empty. */
function aud(cents) {
  if (cents === null || cents === undefined || cents === "") return "";
  return AUD.format(Number(cents) / 100);
}

/** An ISO 8601 time as Sydney time with its zone: "23 Nov 2026, 10:00:37 am AEDT". */
function sydney(iso) {
  if (!iso) return "";
  const when = new Date(iso);
  if (Number.isNaN(when.getTime())) return String(iso);
  return SYDNEY_TIME.format(when);
}

const LONDON = "Europe/London";
const GBP = new Intl.NumberFormat("en-GB", { style: "currency", currency: "GBP" });
const LONDON_TIME = new Intl.DateTimeFormat("en-GB", {
  timeZone: LONDON, day: "numeric", month: "short", year: "numeric",
  hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false, timeZoneName: "short",
});

/** Integer pence as pounds: 16450 -> "£164.50"; null stays empty. */
function gbp(pence) {
  if (pence === null || pence === undefined || pence === "") return "";
  return GBP.format(Number(pence) / 100);
}

/** An ISO 8601 time as UK time with its zone: "23 Nov 2026, 10:00:37 GMT". */
function london(iso) {
  if (!iso) return "";
  const when = new Date(iso);
  if (Number.isNaN(when.getTime())) return String(iso);
  return LONDON_TIME.format(when);
}

/** A job's time in its clinic's zone: a Healthcode bill's is the UK's, every other job's Sydney's. */
function jobTime(job, iso) {
  return job && job.kind === "healthcodeBill" ? london(iso) : sydney(iso);
}

/** A job's amount in its currency: a Healthcode bill's in pounds (pence), others' in AUD (cents). */
function jobMoney(job, minor) {
  return job && job.kind === "healthcodeBill" ? gbp(minor) : aud(minor);
}

/** A report's "YYYYMMDDhhmmss" (already Sydney wall time) as "23 Nov 2026, 10:00:37 Sydney". */
function reportTime(text) {
  const m = /^(\d{4})(\d{2})(\d{2})(\d{2})?(\d{2})?(\d{2})?$/.exec(String(text || ""));
  if (!m) return text ? String(text) : "";
  const months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  const day = `${Number(m[3])} ${months[Number(m[2]) - 1]} ${m[1]}`;
  return m[4] ? `${day}, ${m[4]}:${m[5]}:${m[6]} Sydney` : day;
}

/** A report's "YYYYMMDD" or an ISO date as "YYYY-MM-DD". */
function isoDay(text) {
  const m = /^(\d{4})-?(\d{2})-?(\d{2})/.exec(String(text || ""));
  return m ? `${m[1]}-${m[2]}-${m[3]}` : "";
}

/** Today's date in Sydney as YYYY-MM-DD (the day a claim can still be cancelled). */
function sydneyToday(now) {
  return new Intl.DateTimeFormat("en-CA", { timeZone: SYDNEY }).format(now || new Date());
}

/** A byte count for a person: "897 KB". */
function bytes(n) {
  if (n === null || n === undefined) return "";
  const units = ["bytes", "KB", "MB", "GB"];
  let value = Number(n);
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit += 1; }
  return `${unit ? value.toFixed(value < 10 ? 1 : 0) : value} ${units[unit]}`;
}

/** Seconds as "2 h 5 min" / "3 min 20 s". */
function duration(seconds) {
  const s = Math.round(Number(seconds) || 0);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (h) return `${h} h ${m} min`;
  if (m) return `${m} min ${s % 60} s`;
  return `${s} s`;
}
