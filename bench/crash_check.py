"""Judging a crash point: the journal against the fund's ledger, request by request, and what
each caller was told against the journal's final word."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bench.crash_drive import Req
from tests.daemon_harness import Client, RpcError, Sim

__all__ = ["FINAL", "Tally", "check", "untruthful"]

FINAL = {"completed", "failed", "unknown", "resolved"}


@dataclass
class Tally:
    """What a campaign saw."""

    kill_points: Counter[str] = field(default_factory=Counter)
    requests: int = 0
    states: Counter[str] = field(default_factory=Counter)
    results: Counter[str] = field(default_factory=Counter)
    unknown_then_completed: int = 0
    unknown_resolved_by_operator: int = 0
    #: Why each job resolved from the ledger was left unknown (what the report said of it).
    left_to_ledger: list[str] = field(default_factory=list)
    unknown_settled_by_reconciliation: int = 0
    wrongly_settled: int = 0
    double_claims: int = 0
    lost: int = 0
    untruthful: int = 0
    mismatches: list[str] = field(default_factory=list)
    #: What ``job.abort`` answered in the abort races ("aborted" or "too late").
    abort_answers: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0

    def lines(self) -> list[str]:
        return [
            f"kill points: {sum(self.kill_points.values())} {dict(sorted(self.kill_points.items()))}",
            f"client requests: {self.requests}, final states {dict(self.states)}, results {dict(self.results)}",
            f"unknown -> completed by continueLastTransaction: {self.unknown_then_completed}",
            f"unknown -> completed by the fund's claims report (healthpoint.reconcile): {self.unknown_settled_by_reconciliation}",
            f"unknown -> resolved from the ledger (operator; what the report could not prove): {self.unknown_resolved_by_operator}",
            *(f"  - {m}" for m in self.left_to_ledger[:20]),
            f"settled wrongly by the report (checked against the ledger): {self.wrongly_settled}",
            f"claims approved/sent at the fund twice: {self.double_claims}",
            f"claims lost: {self.lost}",
            f"untruthful answers: {self.untruthful}",
            *([f"abort races: {dict(sorted(self.abort_answers.items()))}"] if self.abort_answers else []),
            f"journal/ledger disagreements: {len(self.mismatches)}",
            *(f"  - {m}" for m in self.mismatches[:20]),
            f"seconds: {self.seconds:.1f}",
        ]



def untruthful(told: list[dict[str, Any]], final: dict[str, Any]) -> list[str]:
    """What a caller was told that the journal's final word contradicts (``unknown`` excepted)."""
    out = []
    for job in told:
        state = job["state"]
        if state == "unknown":
            continue
        if state != final["state"]:
            out.append(f"told {state}, journal {final['state']}")
        elif state == "completed" and (job.get("result") or {}).get("result") != (final.get("result") or {}).get("result"):
            out.append(f"told {(job.get('result') or {}).get('result')}, journal {(final.get('result') or {}).get('result')}")
    return out


async def check(c: Client, sim: Sim, reqs: list[Req], tally: Tally) -> None:
    """Journal vs ledger, request by request; unknown jobs are resolved from the ledger."""
    claims, voids = await _fund_view(sim)
    for r in reqs:
        tally.requests += 1
        try:
            job = await c.call("job.get", {"requestId": r.rid})
        except RpcError:
            tally.lost += 1
            tally.mismatches.append(f"{r.rid}: no job in the journal")
            continue
        for why in untruthful(r.told, job):
            tally.untruthful += 1
            tally.mismatches.append(f"{r.rid}: untruthful answer: {why}")
        sent = claims.get(r.amount, [])
        if r.aborted and (job["state"] != "failed" or sent):
            tally.untruthful += 1
            tally.mismatches.append(f"{r.rid}: told aborted, yet the journal says {job['state']} and the fund saw {len(sent)} claim(s)")
        if len(sent) > 1:
            tally.double_claims += 1
            tally.mismatches.append(f"{r.rid}: {len(sent)} claims at the fund")
        state = job["state"]
        if state not in FINAL:
            tally.lost += 1
            tally.mismatches.append(f"{r.rid}: still {state}")
            continue
        rec: dict[str, Any] | None = sent[0] if sent else None
        approved_at_fund = rec is not None and rec["status"] == "APPROVED" and str(rec["refTag"]) not in voids
        reconciled = (job.get("result") or {}).get("source") == "reconciliation"
        if state == "unknown":
            out, job = await _reconcile(c, job)
            state, reconciled = job["state"], job["state"] == "completed"
            # The report waits for the terminal (a re-attached transaction may still be running):
            # what the fund holds is read again after it.
            claims, voids = await _fund_view(sim)
            sent = claims.get(r.amount, [])
            rec = sent[0] if sent else None
            approved_at_fund = rec is not None and rec["status"] == "APPROVED" and str(rec["refTag"]) not in voids
            if reconciled:
                _judge_settlement(job, rec, approved_at_fund, tally)
            elif state == "unknown":
                _left_to_ledger(out, job, rec, tally)
        elif reconciled:
            _judge_settlement(job, rec, approved_at_fund, tally)  # settled by a run for another job
        elif r.was_unknown and state == "completed":
            tally.unknown_then_completed += 1
        if state == "unknown":
            outcome = "approved" if approved_at_fund else "declined" if rec is not None and rec["status"] != "APPROVED" else "notProcessed"
            job = await c.call("job.resolve", {"jobId": job["jobId"], "outcome": outcome, "note": f"ledger: {rec and rec['status']}"})
            if job["state"] == "resolved":
                tally.unknown_resolved_by_operator += 1
            else:
                tally.mismatches.append(f"{r.rid}: could not resolve")
        tally.states[job["state"]] += 1
        result = (job.get("result") or {}).get("result")
        if state == "completed":
            tally.results[str(result)] += 1
            # A job the report settled is matched by refTag (_judge_settlement), not transactionId.
            same = reconciled or (rec is not None and rec["transactionId"] == job["result"]["transactionId"])
            if result == "APPROVED" and not (approved_at_fund and same):
                tally.mismatches.append(f"{r.rid}: journal APPROVED, ledger {rec and rec['status']}")
            if result != "APPROVED" and approved_at_fund:
                tally.mismatches.append(f"{r.rid}: journal {result}, but the fund approved and nothing voided it")
        if state == "failed" and rec is not None:
            tally.mismatches.append(f"{r.rid}: failed in the journal, yet the fund saw a claim")


async def _fund_view(sim: Sim) -> tuple[dict[int, list[dict[str, Any]]], set[str]]:
    """The fund's ledger now: its claims by their first item's amount, and the refTags voided."""
    claims: dict[int, list[dict[str, Any]]] = {}
    voids: set[str] = set()
    for row in await sim.ledger():
        if row["kind"] == "claim" and row.get("items"):
            claims.setdefault(int(row["items"][0]["claimAmount"]), []).append(row)
        elif row["kind"] in ("void", "autovoid") and row["status"] != "FAILED":  # a failed autovoid voided nothing
            voids.add(str(row["refTag"]))
    return claims, voids


async def _reconcile(c: Client, job: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Settle an unknown job as the daemon does by itself: the fund's claims report of its day.
    Returns the reconciliation and the job after it."""
    day = datetime.fromisoformat(job["createdAt"]).astimezone(ZoneInfo("Australia/Sydney")).date().isoformat()
    out: dict[str, Any] = await c.call("healthpoint.reconcile", {"terminal": job["terminal"], "date": day}, timeout=300)
    return out, await c.call("job.get", {"jobId": job["jobId"]})


def _left_to_ledger(out: dict[str, Any], job: dict[str, Any], rec: dict[str, Any] | None, tally: Tally) -> None:
    """Note why the report left a job unknown (what it said of it, and what the fund holds)."""
    ambiguous = [a["refTags"] for a in out["ambiguous"] if a["jobId"] == job["jobId"]]
    fund = f"fund {rec['status']} refTag {rec['refTag']} at {rec['at']}" if rec is not None else "nothing at the fund"
    tally.left_to_ledger.append(
        f"{job['requestId']}: report of {out['date']} (available {out['available']}) left it unknown, candidates "
        f"{ambiguous}; {fund}; job created {job['createdAt']}, refTag {(job.get('result') or {}).get('refTag')}"
    )


def _judge_settlement(job: dict[str, Any], rec: dict[str, Any] | None, approved_at_fund: bool, tally: Tally) -> None:
    """Count a job the report settled; wrong when it names another claim or another outcome."""
    tally.unknown_settled_by_reconciliation += 1
    result = job["result"] or {}
    same_claim = rec is not None and str(rec["refTag"]) == str(result.get("refTag"))
    if not same_claim or (result.get("result") == "APPROVED") != approved_at_fund:
        tally.wrongly_settled += 1
        tally.mismatches.append(f"{job['requestId']}: settled {result.get('result')} refTag {result.get('refTag')}, ledger {rec}")

