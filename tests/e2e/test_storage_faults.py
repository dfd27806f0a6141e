"""Storage faults while a claim is at the fund: the journal locked by another process, and a
full filesystem (a small tmpfs, mounted by the test when it runs as root).

Each time: the caller is answered ``unknown`` (the outcome is held in memory), new work gets
-32005 and reaches no terminal, ``/readyz`` is 503 and ``journal.ok`` false; once the disk takes
writes again the held outcome is committed, and the worker goes on with the next claim.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bench.faults import JournalLocker
from tests.daemon_harness import FRONT_DESK, Client, Running, Sim, claim_request, make_settings, start_daemon, stop_daemon

pytestmark = pytest.mark.e2e

WAITING = "Waiting for health fund response"

async def _until(pred: Any, timeout: float = 30.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await pred():
        if loop.time() > deadline:
            raise AssertionError("condition not reached")
        await asyncio.sleep(0.05)


async def _readyz(running: Running) -> int:
    async with httpx.AsyncClient() as http:
        return (await http.get(f"http://127.0.0.1:{running.daemon.server.port}/readyz")).status_code  # type: ignore[union-attr]


def _disk_state(db: Path, job_id: str) -> str:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return str(conn.execute("SELECT state FROM jobs WHERE job_id = ?", (job_id,)).fetchone()[0])
    finally:
        conn.close()


async def _claim_meets_a_fault(running: Running, fault: Any, heal: Any) -> None:
    """Start a claim, inject ``fault`` while the fund decides, check every promise, ``heal``."""
    sim = running.sim
    c: Client = await running.client()
    await sim.scenario(fundDelayMs=15_000)
    claim = asyncio.ensure_future(c.call("healthpoint.claim", claim_request(requestId="at-the-fund")))
    await c.wait_note(lambda n: n["method"] == "job.status" and n["params"]["message"] == WAITING)
    # The simulator's clock all but stands still while the fault is put in place (a frozen clock,
    # scale 0, would end the fund's wait at once): on a loaded machine the fund's 15 simulated
    # seconds (0.3 s real) could pass before it, and the claim complete.
    scale = sim.clock.scale
    sim.clock.set(scale=0.001)
    try:
        await asyncio.to_thread(fault)
    finally:
        sim.clock.set(scale=scale)
    try:
        job = await claim
        assert job["state"] == "unknown", job  # approved at the fund, not on disk: never a guess
        assert (await c.call("job.get", {"jobId": job["jobId"]}))["state"] == "unknown"
        health = await c.call("system.health")
        assert health["journal"]["ok"] is False
        assert await _readyz(running) == 503
        refused = await c.request("healthpoint.claim", claim_request(requestId="while-faulty"))
        assert refused["error"]["code"] == -32005 and refused["error"]["data"]["retryAfterMs"] > 0
        assert [r["kind"] for r in await sim.ledger()] == ["claim"]  # nothing else was sent
        db = running.daemon.state_dir / "claimbridge.db"
        assert _disk_state(db, job["jobId"]) == "running"
    finally:
        await asyncio.to_thread(heal)

    async def committed() -> bool:
        return _disk_state(db, job["jobId"]) == "completed"

    await _until(committed)
    final = await c.call("job.get", {"jobId": job["jobId"]})
    assert final["state"] == "completed" and final["result"]["result"] == "APPROVED"
    await _until(lambda: _ok(c))
    assert await _readyz(running) == 200
    # the worker did not die: the next claim runs
    after = await c.call("healthpoint.claim", claim_request(requestId="after-the-fault"))
    assert after["state"] == "completed"
    assert [r["kind"] for r in await sim.ledger()] == ["claim", "claim"]


async def _ok(c: Client) -> bool:
    return bool((await c.call("system.health"))["journal"]["ok"])


async def test_journal_locked_by_another_process_while_the_claim_is_at_the_fund(tmp_path: Path, sim: Sim) -> None:
    running = await start_daemon(make_settings(tmp_path, sim, transaction_timeout_s=20), sim)
    locker: list[JournalLocker] = []

    def lock() -> None:
        locker.append(JournalLocker(tmp_path / "claimbridge.db"))

    def unlock() -> None:
        for held in locker:
            held.release()

    try:
        assert (await running.pair(*FRONT_DESK))["status"] == "success"
        await _claim_meets_a_fault(running, lock, unlock)
    finally:
        unlock()
        await stop_daemon(running)


@contextlib.contextmanager
def _tmpfs(where: Path, size: str) -> Iterator[Path]:
    where.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


async def test_full_filesystem_while_the_claim_is_at_the_fund(tmp_path: Path, sim: Sim) -> None:
    with _tmpfs(tmp_path / "small", "4m") as disk:
        running = await start_daemon(make_settings(disk, sim, transaction_timeout_s=20), sim)
        filler = disk / "filler"

        def fill() -> None:
            with filler.open("wb") as fh, contextlib.suppress(OSError):
                while True:
                    fh.write(b"\0" * 65536)
                    fh.flush()
                    os.fsync(fh.fileno())

        def free() -> None:
            filler.unlink(missing_ok=True)

        try:
            assert (await running.pair(*FRONT_DESK))["status"] == "success"
            await _claim_meets_a_fault(running, fill, free)
        finally:
            free()
            await stop_daemon(running)
