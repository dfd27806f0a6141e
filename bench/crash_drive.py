"""Driving claims for the crash campaign: requests with amounts unique in the run (so the
fund's ledger can be matched), a claim brought to a phase of its life, and a PMS's replay of every
request with its same ``requestId`` afterwards."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tests.daemon_harness import Client, RpcError, Running, Sim, claim_request

__all__ = [
    "PHASES", "SWIPE", "WAITING", "WINDOW_MS", "WINDOW_REAL_S", "Answerer", "Req", "call_retrying", "drive_to", "job_id_for",
    "new_request", "note", "replay", "status_note", "wait_terminal_idle", "wait_up", "window_ms",
]

PHASES = ("before-journal", "queued", "card", "fund", "question", "approved")
SWIPE = "Swipe or tap health fund card"
WAITING = "Waiting for health fund response"
#: Simulated milliseconds of the card and fund windows (x scale 50: 300 ms real each).
WINDOW_MS = 15_000
#: Real seconds of a window whatever the simulator's scale.
WINDOW_REAL_S = WINDOW_MS / 1000 / 50


def window_ms(sim: Sim) -> int:
    """The card and fund windows in simulated ms: :data:`WINDOW_REAL_S` of real time."""
    return max(1, int(WINDOW_REAL_S * 1000 * sim.clock.scale))

_amounts = itertools.count(12_000)


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
    #: ``job.abort`` answered ``{aborted: true}``: nothing may have reached the terminal or fund.
    aborted: bool = False

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


async def note(c: Client, pred: Callable[[dict[str, Any]], bool], timeout: float = 15) -> dict[str, Any]:
    return await c.wait_note(pred, timeout)


def status_note(job_of: Callable[[], str | None], message: str) -> Callable[[dict[str, Any]], bool]:
    return lambda n: n["method"] == "job.status" and n["params"]["message"] == message and n["params"]["jobId"] == job_of()


def job_id_for(c: Client, rid: str) -> str | None:
    for n in c.notes:
        if n["method"] == "job.updated" and n["params"]["job"]["requestId"] == rid:
            return str(n["params"]["job"]["jobId"])
    return None


async def wait_terminal_idle(sim: Sim, timeout: float = 15.0) -> None:
    """Wait until no simulated terminal has a transaction in progress."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        terminals = (await sim.http.get("/_sim/terminals")).json()["terminals"]
        if not any(t.get("busy") for t in terminals):
            return
        await asyncio.sleep(0.05)


async def drive_to(phase: str, c: Client, sim: Sim, rng: random.Random, tag: str) -> list[Req]:
    """Start claims and return once ``phase`` is reached plus a random delay inside its window."""
    # The patient's question waits at most 10 s of real time (the terminal's 120 s at scale 1
    # would hold every later point behind a question nobody answered).
    await sim.scenario(cardDelayMs=window_ms(sim), fundDelayMs=window_ms(sim),
                       answerTimeoutMs=min(120_000, int(10_000 * sim.clock.scale)))
    on_approved = "ask" if phase in ("question", "approved") else rng.choice(["accept", "ask"])
    first = new_request(tag, on_approved)
    reqs = [first]
    c.notes.clear()
    window = WINDOW_REAL_S
    call = asyncio.ensure_future(c.call("healthpoint.claim", first.params, timeout=120))
    call.add_done_callback(lambda f: f.cancelled() or f.exception())
    first.first = call
    def jid() -> str | None:
        return job_id_for(c, first.rid)
    if phase == "before-journal":
        await asyncio.sleep(rng.uniform(0, 0.008))
    elif phase == "queued":
        await note(c, status_note(jid, SWIPE))
        second = new_request(tag, "accept")
        reqs.append(second)
        call2 = asyncio.ensure_future(c.call("healthpoint.claim", second.params, timeout=120))
        call2.add_done_callback(lambda f: f.cancelled() or f.exception())
        second.first = call2
        await note(c, lambda n: n["method"] == "job.updated" and n["params"]["job"]["requestId"] == second.rid)
        await asyncio.sleep(rng.uniform(0, window * 0.5))
    elif phase == "card":
        await note(c, status_note(jid, SWIPE))
        await asyncio.sleep(rng.uniform(0, window * 0.8))
    elif phase == "fund":
        await note(c, status_note(jid, WAITING))
        await asyncio.sleep(rng.uniform(0, window * 0.8))
    elif phase == "question":
        await note(c, lambda n: n["method"] == "job.question" and n["params"]["jobId"] == jid())
        await asyncio.sleep(rng.uniform(0, 0.1))
    elif phase == "approved":
        q = await note(c, lambda n: n["method"] == "job.question" and n["params"]["jobId"] == jid())
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
        jobs = await asyncio.gather(*(call_retrying(c, r.params) for r in reqs))
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


async def call_retrying(c: Client, params: dict[str, Any], attempts: int = 100) -> dict[str, Any]:
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



async def wait_up(running: Running, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _ = await running.daemon._readiness()
        if ready:
            return
        await asyncio.sleep(0.05)

