"""Crash campaign, fault kind "journal behind": the journal forgets what the fund remembers.

Each point: (``restore`` only) a backup with ``claimbridge journal backup``; one claim that
completes, then one driven to a random phase (``card``, ``fund``: the terminal and fund go on
without the daemon); the mark catches up; SIGKILL; then either the backup is put back
(``restore``) or the ``-wal`` and ``-shm`` are deleted (``wal``). The daemon starts again and
every request is re-sent as a PMS would (retrying -32005 unless it says ``journalBehind``):

- *double*: the fund saw a claim of that request more than once;
- *untruthful*: a caller was told something (before or after) that the journal's final word —
  or, for a request the journal lost, the fund's ledger — contradicts;
- *lost*: a claim the fund has that neither the journal nor the gap's reconciliation
  (``notInJournal`` of the fund's report after ``journal accept-gap``) knows.

Then the engineer's step: stop, ``journal accept-gap --note``, start (a clean start also leaves
the next point a checkpointed journal).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from bench.common import ROOT, SubprocessDaemon, default_terminals
from bench.crash_check import Tally, untruthful
from bench.crash_drive import SWIPE, WAITING, WINDOW_MS, Req, job_id_for, new_request, status_note, wait_terminal_idle
from tests.daemon_harness import Client, RpcError, Sim

__all__ = ["BEHIND_KINDS", "journal_behind_campaign"]

BEHIND_KINDS = ("restore", "wal")
_PHASES = ("card", "fund")


def _cli(d: SubprocessDaemon, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from bridge.cli import main; raise SystemExit(main())", "--config", str(d.config), *args],
        capture_output=True, text=True, timeout=120, cwd=ROOT,
    )


async def _listening(d: SubprocessDaemon, timeout: float = 60.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    async with httpx.AsyncClient() as http:
        while loop.time() < deadline:
            if d.proc is None or d.proc.poll() is not None:
                raise RuntimeError(f"daemon exited:\n{d.log_path.read_text()[-3000:]}")
            with contextlib.suppress(httpx.HTTPError):
                if (await http.get(f"http://127.0.0.1:{d.port}/healthz", timeout=2)).status_code == 200:
                    return
            await asyncio.sleep(0.05)
    raise RuntimeError("daemon not listening in time")


async def _resend(d: SubprocessDaemon, c: Client, r: Req) -> str:
    """Re-send until an answer: ``job`` (added to what the caller was told) or ``behind``."""
    for _ in range(300):
        try:
            job: dict[str, Any] = await c.call("healthpoint.claim", r.params, timeout=120)
        except RpcError as exc:
            if exc.code == -32003:  # the pairing went with the rest of the journal
                await d.pair_all()
                continue
            if exc.code != -32005:
                raise
            if (exc.data or {}).get("reason") == "journalBehind":
                return "behind"
            await asyncio.sleep(min(1.0, float((exc.data or {}).get("retryAfterMs", 500)) / 1000))
            continue
        r.told.append(job)
        return "job"
    raise RuntimeError(f"{r.rid}: no answer")


async def _point(d: SubprocessDaemon, sim: Sim, workdir: Path, kind: str, phase: str, rng: random.Random,
                 tally: Tally, index: int) -> None:
    db = d.state_dir / "claimbridge.db"
    backup = workdir / f"backup-{index}.db"
    await wait_terminal_idle(sim)
    if kind == "restore":
        done = _cli(d, "journal", "backup", str(backup))
        if done.returncode != 0:
            raise RuntimeError(done.stderr)
    await sim.scenario(cardDelayMs=WINDOW_MS, fundDelayMs=WINDOW_MS)
    c = await d.client()
    finished = new_request(f"behind{index}", "accept")
    finished.told.append(await c.call("healthpoint.claim", finished.params, timeout=120))
    await wait_terminal_idle(sim)
    c.notes.clear()
    killed = new_request(f"behind{index}", "accept")
    call = asyncio.ensure_future(c.call("healthpoint.claim", killed.params, timeout=120))
    call.add_done_callback(lambda f: f.cancelled() or f.exception())
    await c.wait_note(status_note(lambda: job_id_for(c, killed.rid), SWIPE if phase == "card" else WAITING), 30)
    await asyncio.sleep(rng.uniform(0, WINDOW_MS / 1000 / sim.clock.scale * 0.8))
    await asyncio.sleep(0.5)  # the mark is written a few times a second, off the claim's path
    d.kill()
    tally.kill_points[f"journal-{kind}/{phase}"] += 1
    await c.close()
    if kind == "restore":
        os.replace(backup, db)
    for suffix in ("-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    await wait_terminal_idle(sim)  # the fund finishes what the terminal had started
    d.spawn()
    await _listening(d)
    c2 = await d.client()
    reqs = [finished, killed]
    answers = [await _resend(d, c2, r) for r in reqs]
    await c2.close()
    d.stop()
    accepted = _cli(d, "journal", "accept-gap", "--note", f"crash campaign point {index}")
    if accepted.returncode != 0:
        raise RuntimeError(accepted.stderr)
    await d.start()
    c3 = await d.client()
    try:
        await _judge(c3, sim, reqs, answers, tally)
    finally:
        await c3.close()


async def _judge(c: Client, sim: Sim, reqs: list[Req], answers: list[str], tally: Tally) -> None:
    ledger = await sim.ledger()
    for r, answer in zip(reqs, answers, strict=True):
        tally.requests += 1
        sent = [row for row in ledger if row["kind"] == "claim" and row.get("items")
                and int(row["items"][0]["claimAmount"]) == r.amount]
        if len(sent) > 1:
            tally.double_claims += 1
            tally.mismatches.append(f"{r.rid}: {len(sent)} claims at the fund")
        rec = sent[0] if sent else None
        try:
            final: dict[str, Any] | None = await c.call("job.get", {"requestId": r.rid})
        except RpcError:
            final = None
        if final is not None:
            tally.states[str(final["state"])] += 1
            for why in untruthful(r.told, final):
                tally.untruthful += 1
                tally.mismatches.append(f"{r.rid}: untruthful answer: {why}")
            continue
        tally.states[f"forgotten ({answer})"] += 1
        for told in r.told:  # nothing in the journal: the fund's ledger is the final word
            approved = (told.get("result") or {}).get("result") == "APPROVED"
            if (told["state"] == "completed" and approved != (rec is not None and rec["status"] == "APPROVED")) or (
                    told["state"] == "failed" and rec is not None):
                tally.untruthful += 1
                tally.mismatches.append(f"{r.rid}: told {told['state']}, the fund has {rec and rec['status']}")
        if rec is None:
            continue
        sydney = datetime.fromisoformat(str(rec["at"])).astimezone(ZoneInfo("Australia/Sydney")).date().isoformat()
        report = await c.call("healthpoint.reconcile", {"terminal": "front-desk", "date": sydney}, timeout=120)
        listed = {str(x.get("refTag")) for x in report["discrepancies"] if x.get("kind") == "notInJournal"}
        if str(rec["refTag"]) not in listed:
            tally.lost += 1
            tally.mismatches.append(f"{r.rid}: the fund has refTag {rec['refTag']}; neither the journal nor the gap lists it")


async def journal_behind_campaign(sim: Sim, workdir: Path, points: int, rng: random.Random, tally: Tally) -> None:
    """Run ``points`` journal-behind faults (alternating ``restore`` and ``wal``) on one daemon."""
    d = SubprocessDaemon(workdir / "behind", sim, default_terminals(1))
    await d.start()
    await d.pair_all()
    d.stop()
    await d.start()  # a clean restart: the pairing is in the file itself, not only in the -wal
    try:
        for i in range(points):
            await _point(d, sim, workdir, BEHIND_KINDS[i % 2], _PHASES[(i // 2) % 2] if i < 4 else rng.choice(_PHASES),
                         rng, tally, i)
    finally:
        d.stop()
