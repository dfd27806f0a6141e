"""Crash campaign: kill the daemon (SIGKILL of its process), or its Chromium, or lose the
terminal's answer (``dropResponse``), at random points of a claim's life; restart; replay every
client request with its same ``requestId``; then compare the journal with the simulator's ledger.

Two more faults leave every process alive: ``journal-lock`` (another process holds
``BEGIN EXCLUSIVE`` on the journal for a random 0.3–2.5 s) and ``hung-page`` (every renderer is
SIGSTOPped for a random 0.5–3 s; the liveness probe restarts the browser).

An answer is *untruthful* when the job's final state in the journal disagrees with what a
caller was told (``unknown`` excepted: it promises nothing), or an APPROVED answer disagrees
with the journal's result.

Run ``python -m bench.crash [--daemon-kills 50] [--chromium-kills 20] [--drops 10]
[--journal-locks 10] [--hung-pages 10] [--journal-behind 10] [--seed N]`` from the project root. It prints the counts; it asserts nothing (tests/crash/test_crash_harness.py
runs a short campaign and asserts on the same tally).

Kill points (``PHASES``), each followed by a random extra delay inside its window:
``before-journal`` (right after the request is sent, before or while the job is written),
``queued`` (a second claim waits behind a first), ``card`` (the terminal waits for the card),
``fund`` (the fund is deciding), ``question`` (the accept question is pending),
``approved`` (the patient accepted: the fund has approved, the journal does not know yet).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import os
import random
import signal
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

if __package__ in (None, ""):  # run as a script: make the project importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import SubprocessDaemon, default_terminals, running_sim
from bench.faults import hang_renderers, hold_journal_lock
from tests.daemon_harness import Client, RpcError, Running, Sim, claim_request, make_settings, start_daemon, stop_daemon

__all__ = ["PHASES", "Tally", "run_campaign", "main"]

PHASES = ("before-journal", "queued", "card", "fund", "question", "approved")
SWIPE = "Swipe or tap health fund card"
WAITING = "Waiting for health fund response"
FINAL = {"completed", "failed", "unknown", "resolved"}
#: Simulated milliseconds of the card and fund windows (x scale 50: 300 ms real each).
WINDOW_MS = 15_000

_amounts = itertools.count(12_000)


@dataclass
class Tally:
    """What a campaign saw."""

    kill_points: Counter[str] = field(default_factory=Counter)
    requests: int = 0
    states: Counter[str] = field(default_factory=Counter)
    results: Counter[str] = field(default_factory=Counter)
    unknown_then_completed: int = 0
    unknown_resolved_by_operator: int = 0
    unknown_settled_by_reconciliation: int = 0
    wrongly_settled: int = 0
    double_claims: int = 0
    lost: int = 0
    untruthful: int = 0
    mismatches: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def lines(self) -> list[str]:
        return [
            f"kill points: {sum(self.kill_points.values())} {dict(sorted(self.kill_points.items()))}",
            f"client requests: {self.requests}, final states {dict(self.states)}, results {dict(self.results)}",
            f"unknown -> completed by continueLastTransaction: {self.unknown_then_completed}",
            f"unknown -> completed by the fund's claims report (healthpoint.reconcile): {self.unknown_settled_by_reconciliation}",
            f"unknown -> resolved from the ledger (operator; what the report could not prove): {self.unknown_resolved_by_operator}",
            f"settled wrongly by the report (checked against the ledger): {self.wrongly_settled}",
            f"claims approved/sent at the fund twice: {self.double_claims}",
            f"claims lost: {self.lost}",
            f"untruthful answers: {self.untruthful}",
            f"journal/ledger disagreements: {len(self.mismatches)}",
            *(f"  - {m}" for m in self.mismatches[:20]),
            f"seconds: {self.seconds:.1f}",
        ]


@dataclass
class Req:
    """One client request and what became of it."""

    params: dict[str, Any]
    amount: int
    job: dict[str, Any] | None = None
    was_unknown: bool = False
    #: The first call's answer, while the fault happens (None: it never came).
    first: asyncio.Future[Any] | None = None
    #: Every job a caller was answered with, in order.
    told: list[dict[str, Any]] = field(default_factory=list)

    @property
    def rid(self) -> str:
        return str(self.params["requestId"])


def new_request(tag: str, on_approved: str) -> Req:
    """A claim whose first item's amount is unique in the run (so the ledger can be matched)."""
    amount = next(_amounts)
    params = claim_request(requestId=f"{tag}-{amount}", onApproved=on_approved)
    params["items"] = [dict(params["items"][0], claimAmount=amount), params["items"][1]]
    return Req(params, amount)


class Answerer:
    """Answers ACCEPT (or the only option) to every question on this client's jobs."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self._next = 0
        self.task = asyncio.ensure_future(self._loop())

    async def _loop(self) -> None:
        while True:
            while self._next < len(self.client.notes):
                n = self.client.notes[self._next]
                self._next += 1
                if n["method"] != "job.question":
                    continue
                options = n["params"]["options"]
                answer = "ACCEPT" if "ACCEPT" in options else options[0]
                with contextlib.suppress(RpcError, TimeoutError):
                    await self.client.call("job.answer", {"jobId": n["params"]["jobId"], "answer": answer}, timeout=5)
            self.client.note_event.clear()
            await self.client.note_event.wait()

    def stop(self) -> None:
        self.task.cancel()


async def _note(c: Client, pred: Callable[[dict[str, Any]], bool], timeout: float = 15) -> dict[str, Any]:
    return await c.wait_note(pred, timeout)


def _status(job_of: Callable[[], str | None], message: str) -> Callable[[dict[str, Any]], bool]:
    return lambda n: n["method"] == "job.status" and n["params"]["message"] == message and n["params"]["jobId"] == job_of()


def _job_id_for(c: Client, rid: str) -> str | None:
    for n in c.notes:
        if n["method"] == "job.updated" and n["params"]["job"]["requestId"] == rid:
            return str(n["params"]["job"]["jobId"])
    return None


async def _wait_terminal_idle(sim: Sim, timeout: float = 15.0) -> None:
    """Wait until no simulated terminal has a transaction in progress."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        terminals = (await sim.http.get("/_sim/terminals")).json()["terminals"]
        if not any(t.get("busy") for t in terminals):
            return
        await asyncio.sleep(0.05)


async def drive_to(phase: str, c: Client, sim: Sim, rng: random.Random, tag: str) -> list[Req]:
    """Start claims and return once ``phase`` is reached plus a random delay inside its window."""
    await sim.scenario(cardDelayMs=WINDOW_MS, fundDelayMs=WINDOW_MS)
    on_approved = "ask" if phase in ("question", "approved") else rng.choice(["accept", "ask"])
    first = new_request(tag, on_approved)
    reqs = [first]
    c.notes.clear()
    window = WINDOW_MS / 1000 / sim.clock.scale
    call = asyncio.ensure_future(c.call("healthpoint.claim", first.params, timeout=120))
    call.add_done_callback(lambda f: f.cancelled() or f.exception())
    first.first = call
    def jid() -> str | None:
        return _job_id_for(c, first.rid)
    if phase == "before-journal":
        await asyncio.sleep(rng.uniform(0, 0.008))
    elif phase == "queued":
        await _note(c, _status(jid, SWIPE))
        second = new_request(tag, "accept")
        reqs.append(second)
        call2 = asyncio.ensure_future(c.call("healthpoint.claim", second.params, timeout=120))
        call2.add_done_callback(lambda f: f.cancelled() or f.exception())
        second.first = call2
        await _note(c, lambda n: n["method"] == "job.updated" and n["params"]["job"]["requestId"] == second.rid)
        await asyncio.sleep(rng.uniform(0, window * 0.5))
    elif phase == "card":
        await _note(c, _status(jid, SWIPE))
        await asyncio.sleep(rng.uniform(0, window * 0.8))
    elif phase == "fund":
        await _note(c, _status(jid, WAITING))
        await asyncio.sleep(rng.uniform(0, window * 0.8))
    elif phase == "question":
        await _note(c, lambda n: n["method"] == "job.question" and n["params"]["jobId"] == jid())
        await asyncio.sleep(rng.uniform(0, 0.1))
    elif phase == "approved":
        q = await _note(c, lambda n: n["method"] == "job.question" and n["params"]["jobId"] == jid())
        await c.call("job.answer", {"jobId": q["params"]["jobId"], "answer": "ACCEPT"}, timeout=10)
        await asyncio.sleep(rng.uniform(0, 0.015))
    else:
        raise ValueError(phase)
    return reqs


async def replay(c: Client, reqs: list[Req], settle_s: float) -> None:
    """Send every request again with its requestId; wait for an outcome; give unknown jobs time
    to be completed through continueLastTransaction."""
    answerer = Answerer(c)
    try:
        for r in reqs:
            r.told.extend(await _first_answer(r))
        jobs = await asyncio.gather(*(_call_retrying(c, r.params) for r in reqs))
        for r, job in zip(reqs, jobs, strict=True):
            r.job = job
            r.told.append(job)
            r.was_unknown = job["state"] == "unknown"
        deadline = time.monotonic() + settle_s
        while any(r.job and r.job["state"] in ("unknown", "queued", "running") for r in reqs):
            if time.monotonic() > deadline:
                break
            await asyncio.sleep(0.1)
            for r in reqs:
                r.job = await c.call("job.get", {"requestId": r.rid})
    finally:
        answerer.stop()


async def _first_answer(r: Req, timeout: float = 30.0) -> list[dict[str, Any]]:
    """The first call's job, when it was answered with one (an error or a dead socket: none)."""
    if r.first is None:
        return []
    with contextlib.suppress(RpcError, TimeoutError, ConnectionError, asyncio.CancelledError):
        job = await asyncio.wait_for(asyncio.shield(r.first), timeout)
        if isinstance(job, dict) and "state" in job:
            return [job]
    return []


async def _call_retrying(c: Client, params: dict[str, Any], attempts: int = 100) -> dict[str, Any]:
    """Re-send a request as a PMS would: -32005 means "try again after retryAfterMs"."""
    for attempt in range(attempts):
        try:
            job: dict[str, Any] = await c.call("healthpoint.claim", params, timeout=120)
            return job
        except RpcError as exc:
            if exc.code != -32005 or attempt == attempts - 1:
                raise
            await asyncio.sleep(min(2.0, float((exc.data or {}).get("retryAfterMs", 500)) / 1000))
    raise AssertionError("unreachable")


def _untruthful(told: list[dict[str, Any]], final: dict[str, Any]) -> list[str]:
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
    ledger = await sim.ledger()
    claims: dict[int, list[dict[str, Any]]] = {}
    voids: set[str] = set()
    for row in ledger:
        if row["kind"] == "claim" and row.get("items"):
            claims.setdefault(int(row["items"][0]["claimAmount"]), []).append(row)
        elif row["kind"] in ("void", "autovoid"):
            voids.add(str(row["refTag"]))
    for r in reqs:
        tally.requests += 1
        try:
            job = await c.call("job.get", {"requestId": r.rid})
        except RpcError:
            tally.lost += 1
            tally.mismatches.append(f"{r.rid}: no job in the journal")
            continue
        for why in _untruthful(r.told, job):
            tally.untruthful += 1
            tally.mismatches.append(f"{r.rid}: untruthful answer: {why}")
        sent = claims.get(r.amount, [])
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
            job, state = await _reconcile(c, job, rec, approved_at_fund, tally)
            reconciled = state == "completed"
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


async def _reconcile(
    c: Client, job: dict[str, Any], rec: dict[str, Any] | None, approved_at_fund: bool, tally: Tally
) -> tuple[dict[str, Any], str]:
    """Settle an unknown job as the daemon does by itself: the fund's claims report of its day.
    Whatever it settles is checked against the ledger (the same claim, the same outcome)."""
    day = datetime.fromisoformat(job["createdAt"]).astimezone(ZoneInfo("Australia/Sydney")).date().isoformat()
    await c.call("healthpoint.reconcile", {"terminal": job["terminal"], "date": day}, timeout=120)
    job = await c.call("job.get", {"jobId": job["jobId"]})
    if job["state"] == "completed":
        _judge_settlement(job, rec, approved_at_fund, tally)
    return job, str(job["state"])


def _judge_settlement(job: dict[str, Any], rec: dict[str, Any] | None, approved_at_fund: bool, tally: Tally) -> None:
    """Count a job the report settled; wrong when it names another claim or another outcome."""
    tally.unknown_settled_by_reconciliation += 1
    result = job["result"] or {}
    same_claim = rec is not None and str(rec["refTag"]) == str(result.get("refTag"))
    if not same_claim or (result.get("result") == "APPROVED") != approved_at_fund:
        tally.wrongly_settled += 1
        tally.mismatches.append(f"{job['requestId']}: settled {result.get('result')} refTag {result.get('refTag')}, ledger {rec}")


async def _daemon_campaign(sim: Sim, workdir: Path, kills: int, rng: random.Random, tally: Tally) -> None:
    d = SubprocessDaemon(workdir / "daemon", sim, default_terminals(1))
    d.workdir.mkdir(parents=True, exist_ok=True)
    await d.start()
    await d.pair_all()
    try:
        for i in range(kills):
            phase = PHASES[i % len(PHASES)] if i < len(PHASES) else rng.choice(PHASES)
            await _wait_terminal_idle(sim)
            c = await d.client()
            reqs = await drive_to(phase, c, sim, rng, "daemon")
            d.kill()
            tally.kill_points[f"daemon/{phase}"] += 1
            for r in reqs:
                r.first = None  # its connection died with the daemon: no answer will come
            await c.close()
            await d.start()
            c2 = await d.client()
            await replay(c2, reqs, settle_s=6.0)
            await check(c2, sim, reqs, tally)
            await c2.close()
    finally:
        d.stop()


async def _inprocess_campaign(
    sim: Sim, workdir: Path, kills: int, drops: int, rng: random.Random, tally: Tally
) -> None:
    running = await start_daemon(make_settings(workdir / "inproc", sim, transaction_timeout_s=2.5), sim)
    try:
        assert (await running.pair("front-desk", 2187, 1))["status"] == "success"
        browser = running.daemon.browser
        assert browser is not None
        for i in range(kills):
            phase = PHASES[i % len(PHASES)] if i < len(PHASES) else rng.choice(PHASES)
            await _wait_terminal_idle(sim)
            await _wait_up(running)
            pid = await browser.process_id()
            assert pid is not None
            c = await running.client()
            reqs = await drive_to(phase, c, sim, rng, "chromium")
            os.kill(pid, signal.SIGKILL)
            tally.kill_points[f"chromium/{phase}"] += 1
            await replay(c, reqs, settle_s=6.0)
            await check(c, sim, reqs, tally)
        for _ in range(drops):
            await _wait_terminal_idle(sim)
            await _wait_up(running)
            c = await running.client()
            # Half the terminals also forget the transaction: only the fund's report can settle it.
            await sim.scenario(dropResponse=True, cardDelayMs=rng.randint(0, WINDOW_MS), fundDelayMs=rng.randint(0, WINDOW_MS),
                               noLastTransaction=rng.random() < 0.5)
            req = new_request("drop", "accept")
            tally.kill_points["dropResponse"] += 1
            await replay(c, [req], settle_s=8.0)
            await check(c, sim, [req], tally)
    finally:
        await stop_daemon(running)


#: Phases a fault that leaves the daemon alive is injected in.
LIVE_PHASES = ("card", "fund", "question", "approved")


async def _live_fault_campaign(
    sim: Sim, workdir: Path, locks: int, hangs: int, rng: random.Random, tally: Tally
) -> None:
    """Faults the daemon survives: a locked journal, hung pages. Every process stays up."""
    settings = make_settings(workdir / "live", sim, transaction_timeout_s=2.5, page_probe_timeout_s=1.0)
    running = await start_daemon(settings, sim)
    try:
        assert (await running.pair("front-desk", 2187, 1))["status"] == "success"
        browser = running.daemon.browser
        assert browser is not None
        faults = ["journal-lock"] * locks + ["hung-page"] * hangs
        rng.shuffle(faults)
        for i, fault in enumerate(faults):
            phase = LIVE_PHASES[i % len(LIVE_PHASES)] if i < len(LIVE_PHASES) else rng.choice(LIVE_PHASES)
            await _wait_terminal_idle(sim)
            await _wait_up(running)
            c = await running.client()
            reqs = await drive_to(phase, c, sim, rng, fault)
            if fault == "journal-lock":
                await hold_journal_lock(settings.state_dir / "claimbridge.db", rng.uniform(0.3, 2.5))
            else:
                pid = await browser.process_id()
                assert pid is not None
                await hang_renderers(pid, rng.uniform(0.5, 3.0))
            tally.kill_points[f"{fault}/{phase}"] += 1
            await _wait_up(running)
            await replay(c, reqs, settle_s=8.0)
            await check(c, sim, reqs, tally)
            await c.close()
    finally:
        await stop_daemon(running)


async def _wait_up(running: Running, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _ = await running.daemon._readiness()
        if ready:
            return
        await asyncio.sleep(0.05)


async def run_campaign(
    sim: Sim, workdir: Path, *, daemon_kills: int, chromium_kills: int, drops: int,
    journal_locks: int = 0, hung_pages: int = 0, journal_behind: int = 0, seed: int = 0,
) -> Tally:
    """Run every kind of fault and return the tally (prints nothing)."""
    tally = Tally()
    rng = random.Random(seed)
    start = time.monotonic()
    if daemon_kills:
        await _daemon_campaign(sim, workdir, daemon_kills, rng, tally)
    if chromium_kills or drops:
        await _inprocess_campaign(sim, workdir, chromium_kills, drops, rng, tally)
    if journal_locks or hung_pages:
        await _live_fault_campaign(sim, workdir, journal_locks, hung_pages, rng, tally)
    if journal_behind:
        from bench.crash_journal import journal_behind_campaign  # it builds on this module

        await journal_behind_campaign(sim, workdir, journal_behind, rng, tally)
    tally.seconds = time.monotonic() - start
    return tally


async def _main(args: argparse.Namespace) -> Tally:
    async with running_sim(scale=50.0) as sim:
        with tempfile.TemporaryDirectory(prefix="claimbridge-crash-") as tmp:
            return await run_campaign(
                sim, Path(tmp), daemon_kills=args.daemon_kills, chromium_kills=args.chromium_kills,
                drops=args.drops, journal_locks=args.journal_locks, hung_pages=args.hung_pages,
                journal_behind=args.journal_behind, seed=args.seed,
            )


def main(argv: list[str] | None = None) -> None:
    """Command line entry: run the campaign and print the tally."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--daemon-kills", type=int, default=50)
    parser.add_argument("--chromium-kills", type=int, default=20)
    parser.add_argument("--drops", type=int, default=10)
    parser.add_argument("--journal-locks", type=int, default=10)
    parser.add_argument("--hung-pages", type=int, default=10)
    parser.add_argument("--journal-behind", type=int, default=10,
                        help="points where the journal forgets: a backup restored, or the -wal deleted (bench/crash_journal.py)")
    parser.add_argument("--seed", type=int, default=int(time.time()))
    args = parser.parse_args(argv)
    print(f"seed {args.seed}")
    tally = asyncio.run(_main(args))
    print("\n".join(tally.lines()))


if __name__ == "__main__":
    main()
