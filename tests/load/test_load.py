"""Load: 50 concurrent clients on one terminal, then 50 spread over four terminals.

Every client sends claims with a unique ``requestId``; some repeat a ``requestId`` (on the same
connection or from a new one, while the claim waits or after it ended) and some drop their
socket while the claim waits, reconnect and send the same ``requestId`` again to learn the
outcome. Afterwards the daemon's journal, the simulator's ledger and every connection's
notifications must agree:

- all served: every ``requestId`` ends as one ``completed`` job, APPROVED;
- no claim twice and none lost: the ledger holds exactly one claim per ``requestId``, its
  ``transactionId`` being the job's id (the daemon sends the job id as the custom transactionId);
- FIFO per terminal: the ledger's order per (mid, tid) is the order in which the journal created
  the jobs (``createdAt``, then insertion order);
- notifications reach the right clients only: a connection hears of a job only if it sent that
  job's ``requestId``, and a connection that waited for an outcome heard the job complete.

Randomness is seeded; only the event loop's interleaving varies between runs, and every check
holds for any interleaving.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections import defaultdict
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.daemon_harness import Client, Running, Sim, claim_request, make_settings, start_daemon, stop_daemon

__all__: list[str] = []

pytestmark = pytest.mark.e2e

#: Concurrent clients per test, and the claims each sends (one after the other, as a front desk does).
CLIENTS = 50
CLAIMS_PER_CLIENT = 2
#: Simulated seconds per real second once the terminals are paired (pairing runs at the harness's scale).
LOAD_SCALE = 1000.0
#: The patient-approval question never times out in these tests (the daemon answers ACCEPT itself).
NO_ANSWER_TIMEOUT_MS = 3_600_000
#: Real seconds a single call may wait: 50 claims queued on one terminal must fit well inside.
CALL_TIMEOUT_S = 45.0
#: How a claim is sent, with weights.
PLANS = {
    "plain": 35,
    "repeat-same-connection": 10,
    "repeat-new-connection": 15,
    "drop-and-resend": 30,
    "resend-after-outcome": 10,
}

ONE_TERMINAL = {"front-desk": (2187, 1)}
FOUR_TERMINALS = {"front-desk": (2187, 1), "room-2": (2187, 2), "room-3": (2187, 3), "room-4": (2187, 4)}


def _job_id_of(note: dict[str, Any]) -> str | None:
    params = note.get("params") or {}
    if note.get("method") == "job.updated":
        return str(params["job"]["jobId"])
    if note.get("method") in ("job.status", "job.question"):
        return str(params["jobId"])
    return None


@dataclass
class Conn:
    """One websocket connection and the requestIds it sent."""

    client: Client
    label: str
    request_ids: set[str] = field(default_factory=set)
    #: requestIds whose outcome this connection received as a call result.
    awaited: set[str] = field(default_factory=set)
    dropped: bool = False
    #: whether the socket was dropped while the daemon held the claim's job and had not answered.
    dropped_while_waiting: bool = False


@dataclass
class Load:
    """The load run: connections, what each call returned, and the plan each claim followed."""

    running: Running
    conns: list[Conn] = field(default_factory=list)
    outcomes: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    plans: dict[str, str] = field(default_factory=dict)
    terminal_of: dict[str, str] = field(default_factory=dict)
    #: the connection each claim was first sent on.
    origin: dict[str, Conn] = field(default_factory=dict)

    async def connect(self, label: str) -> Conn:
        conn = Conn(await self.running.client(), label)
        self.conns.append(conn)
        return conn

    async def call(self, conn: Conn, rid: str) -> dict[str, Any]:
        """Send the claim for ``rid`` on ``conn`` and wait for its outcome."""
        conn.request_ids.add(rid)
        job: dict[str, Any] = await conn.client.call("healthpoint.claim", self._params(rid), timeout=CALL_TIMEOUT_S)
        conn.awaited.add(rid)
        self.outcomes[rid].append(job)
        return job

    def _params(self, rid: str) -> dict[str, Any]:
        return claim_request(requestId=rid, terminal=self.terminal_of[rid], onApproved="accept")

    async def _until_queued_or(self, conn: Conn, rid: str, seconds: float) -> None:
        """Wait until the connection heard that the daemon holds the claim's job, or ``seconds`` passed."""
        with contextlib.suppress(TimeoutError):
            await conn.client.wait_note(
                lambda n: n["method"] == "job.updated" and n["params"]["job"]["requestId"] == rid, timeout=seconds,
            )

    async def drop(self, conn: Conn, rid: str, pending: asyncio.Future[Any]) -> None:
        """The client's socket goes away while its claim waits."""
        conn.dropped = True
        held = any(
            n["method"] == "job.updated" and n["params"]["job"]["requestId"] == rid for n in conn.client.notes
        )
        conn.dropped_while_waiting = held and not pending.done()
        await conn.client.close()
        pending.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await pending

    async def claim(self, conn: Conn, client_no: int, rid: str, rng: random.Random) -> Conn:
        """One claim by one client, following its plan; returns the client's connection after it."""
        plan = self.plans[rid]
        self.origin[rid] = conn
        if plan == "plain":
            await self.call(conn, rid)
        elif plan == "repeat-same-connection":
            first = asyncio.ensure_future(self.call(conn, rid))
            await asyncio.sleep(rng.uniform(0, 0.05))
            await asyncio.gather(first, self.call(conn, rid))
        elif plan == "repeat-new-connection":
            first = asyncio.ensure_future(self.call(conn, rid))
            await asyncio.sleep(rng.uniform(0, 0.05))
            other = await self.connect(f"client-{client_no}-repeat-{rid}")
            await asyncio.gather(first, self.call(other, rid))
            await other.client.close()
        elif plan == "drop-and-resend":
            pending = asyncio.ensure_future(self.call(conn, rid))
            # 10 s: until the daemon holds the claim (the note comes as soon as it does), which on
            # a loaded machine can take longer than any fixed short wait.
            wait = rng.choice((0.0, 0.005, 0.05, 10.0))
            if wait:
                await self._until_queued_or(conn, rid, wait)
            await self.drop(conn, rid, pending)
            conn = await self.connect(f"client-{client_no}-after-drop-{rid}")
            await self.call(conn, rid)
        elif plan == "resend-after-outcome":
            await self.call(conn, rid)
            other = await self.connect(f"client-{client_no}-late-{rid}")
            await self.call(other, rid)
            await other.client.close()
        return conn

    async def client(self, client_no: int, rids: list[str], seed: int) -> None:
        """One client: connect, then send its claims one after the other.

        Each client draws its delays from its own generator, so what it does does not depend on
        how the event loop interleaves the clients.
        """
        rng = random.Random(seed * 1000 + client_no)
        await asyncio.sleep(rng.uniform(0, 0.1))
        conn = await self.connect(f"client-{client_no}")
        for rid in rids:
            conn = await self.claim(conn, client_no, rid, rng)


async def _running_load_daemon(tmp_path: Path, sim: Sim, terminals: dict[str, tuple[int, int]]) -> Running:
    running = await start_daemon(make_settings(tmp_path, sim, terminals=terminals, transaction_timeout_s=30), sim)
    try:
        for name, (mid, tid) in terminals.items():
            result = await running.pair(name, mid, tid)
            assert result["status"] == "success", (name, result)
    except BaseException:
        await stop_daemon(running)
        raise
    return running


async def _run_load(tmp_path: Path, sim: Sim, terminals: dict[str, tuple[int, int]], seed: int) -> None:
    running = await _running_load_daemon(tmp_path, sim, terminals)
    try:
        load = Load(running)
        rng = random.Random(seed)
        names = sorted(terminals)
        per_client: list[list[str]] = []
        per_terminal: dict[str, int] = defaultdict(int)
        for client_no in range(CLIENTS):
            rids = []
            for k in range(CLAIMS_PER_CLIENT):
                rid = f"load-{seed}-c{client_no:02d}-{k}"
                terminal = names[rng.randrange(len(names))]
                load.terminal_of[rid] = terminal
                load.plans[rid] = rng.choices(list(PLANS), weights=list(PLANS.values()))[0]
                per_terminal[terminal] += 1
                rids.append(rid)
            per_client.append(rids)
        # Every transaction: no card or fund wait and a question that never times out, so the
        # fast clock only shortens the fixed card-read and printing steps.
        for terminal, count in per_terminal.items():
            mid, tid = terminals[terminal]
            for _ in range(count):
                await sim.scenario(mid=mid, tid=tid, fundDelayMs=0, cardDelayMs=0, answerTimeoutMs=NO_ANSWER_TIMEOUT_MS)
        sim.clock.set(scale=LOAD_SCALE)

        await asyncio.gather(*(load.client(n, rids, seed) for n, rids in enumerate(per_client)))
        await _check(load, sim, terminals)
    finally:
        await stop_daemon(running)


async def _check(load: Load, sim: Sim, terminals: dict[str, tuple[int, int]]) -> None:
    rids = set(load.terminal_of)
    journal = load.running.daemon.journal
    assert journal is not None
    # The plans ran as meant: sockets really were dropped while claims waited.
    held = sum(c.dropped_while_waiting for c in load.conns)
    assert held >= 5, f"only {held} sockets dropped while the daemon held their claim: {load.plans}"
    assert set(load.plans.values()) == set(PLANS)

    # All served, and every repeat of a requestId got the same job.
    assert set(load.outcomes) == rids, f"no outcome for {sorted(rids - set(load.outcomes))}"
    job_of: dict[str, str] = {}
    for rid, jobs in load.outcomes.items():
        assert {j["jobId"] for j in jobs} == {jobs[0]["jobId"]}, f"{rid} ({load.plans[rid]}): several jobs {jobs}"
        for j in jobs:
            assert j["state"] == "completed" and j["result"]["result"] == "APPROVED", (rid, load.plans[rid], j)
            assert j["requestId"] == rid and j["terminal"] == load.terminal_of[rid]
        job_of[rid] = jobs[0]["jobId"]
    rid_of = {job: rid for rid, job in job_of.items()}

    # No job lost and none extra: the journal holds exactly one completed job per requestId.
    stored = await journal.list_jobs(oldest_first=True)
    assert sorted(j.request_id for j in stored) == sorted(rids)
    assert {j.job_id for j in stored} == set(job_of.values())
    assert {str(j.state) for j in stored} == {"completed"}

    # No claim twice: one ledger claim per requestId, identified by its transactionId = jobId.
    ledger = await sim.ledger()
    assert [r["kind"] for r in ledger] == ["claim"] * len(rids), [r["kind"] for r in ledger]
    assert sorted(r["transactionId"] for r in ledger) == sorted(job_of.values())
    for r in ledger:
        assert r["status"] == "APPROVED", r
        assert (r["mid"], r["tid"]) == terminals[load.terminal_of[rid_of[r["transactionId"]]]], r

    # FIFO per terminal: the terminal ran the jobs in the order the journal created them.
    for name, (mid, tid) in terminals.items():
        created = await journal.list_jobs(terminal=name, oldest_first=True)
        assert [j.created_at for j in created] == sorted(j.created_at for j in created)
        ran = [r["transactionId"] for r in ledger if (r["mid"], r["tid"]) == (mid, tid)]
        assert ran == [j.job_id for j in created], (
            f"{name}: ledger order differs from creation order\n"
            f" created: {[j.request_id for j in created]}\n ran:     {[rid_of[t] for t in ran]}"
        )

    # The terminals are idle and their queues empty (a page may first be replaced by a fresh one
    # after its 50th transaction, which holds the terminal for a moment: busy, nothing queued).
    async with _one_client(load.running) as c:
        for _ in range(100):
            listed = await c.call("terminal.list")
            if all(not t["busy"] for t in listed):
                break
            await asyncio.sleep(0.1)
    assert all(not t["busy"] and t["queued"] == 0 and t["paired"] for t in listed), listed

    # Notifications: only of the connection's own jobs; every outcome waited for was also announced.
    for conn in load.conns:
        own = {job_of[rid] for rid in conn.request_ids}
        for note in conn.client.notes:
            job_id = _job_id_of(note)
            if job_id is None:
                continue
            assert job_id in own, (
                f"{conn.label} (sent {sorted(conn.request_ids)}) heard {note['method']} of "
                f"{rid_of.get(job_id, job_id)}: {note}"
            )
        if conn.dropped:
            continue
        # A connection that heard anything of a job owns it until it closes: it hears the end too.
        heard = {job_id for n in conn.client.notes if (job_id := _job_id_of(n)) is not None}
        must_hear = heard | {job_of[rid] for rid in conn.awaited if load.origin[rid] is conn and
                             load.plans[rid] in ("plain", "repeat-same-connection", "resend-after-outcome")}
        for job in must_hear:
            try:
                await conn.client.wait_note(_completed(job), timeout=5)
            except TimeoutError:
                pytest.fail(f"{conn.label} never heard that {rid_of[job]} ({load.plans[rid_of[job]]}) completed")


def _completed(job_id: str) -> Callable[[dict[str, Any]], bool]:
    """Matches the notification that the job completed."""

    def match(note: dict[str, Any]) -> bool:
        job = (note.get("params") or {}).get("job") or {}
        return bool(note.get("method") == "job.updated" and job.get("jobId") == job_id and job.get("state") == "completed")

    return match


@contextlib.asynccontextmanager
async def _one_client(running: Running) -> AsyncIterator[Client]:
    c = await running.client()
    try:
        yield c
    finally:
        await c.close()


@pytest.mark.timeout(120)
async def test_fifty_clients_on_one_terminal(tmp_path: Path, sim: Sim) -> None:
    await _run_load(tmp_path, sim, ONE_TERMINAL, seed=5031)


@pytest.mark.timeout(120)
async def test_fifty_clients_over_four_terminals(tmp_path: Path, sim: Sim) -> None:
    await _run_load(tmp_path, sim, FOUR_TERMINALS, seed=5032)
