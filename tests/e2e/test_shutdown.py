"""SIGTERM ends the daemon within ``shutdown_timeout_s`` whatever the journal does; an outcome
the journal could not take is then in the log at ERROR, whole. A journal that refuses writes is
logged at ERROR once, probed with backoff, and its recovery logged once.

Real ``claimbridge run`` processes, the simulator over HTTP, a real SQLite file locked by
another process (bench.faults.JournalLocker).
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect

from bench.faults import JournalLocker
from tests.daemon_harness import FRONT_DESK, Client, Sim, claim_request

pytestmark = pytest.mark.e2e

WAITING = "Waiting for health fund response"
SHUTDOWN_TIMEOUT_S = 5


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Proc:
    proc: subprocess.Popen[bytes]
    port: int
    state: Path
    log: Path

    async def client(self) -> Client:
        token = (self.state / "token").read_text().strip()
        ws = await connect(f"ws://127.0.0.1:{self.port}/v1", additional_headers={"Authorization": f"Bearer {token}"})
        return Client(ws)

    def text(self) -> str:
        return self.log.read_text(errors="replace")


@contextlib.asynccontextmanager
async def _daemon(tmp_path: Path, sim: Sim) -> AsyncIterator[Proc]:
    port = _free_port()
    name, mid, tid = FRONT_DESK
    config = tmp_path / "claimbridge.toml"
    config.write_text(
        f'listen = "127.0.0.1:{port}"\nstate_dir = "{tmp_path / "state"}"\n'
        f'iclient_url = "{sim.base}/iclient-v1.js"\nshutdown_timeout_s = {SHUTDOWN_TIMEOUT_S}\n'
        f'transaction_timeout_s = 20\n[terminals.{name}]\nmid = {mid}\ntid = {tid}\n'
    )
    log = tmp_path / "daemon.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-c", "from bridge.cli import main; main()", "--config", str(config), "run"],
            stdout=out, stderr=subprocess.STDOUT,
        )
    running = Proc(proc, port, tmp_path / "state", log)
    try:
        async with httpx.AsyncClient() as http:
            for _ in range(300):
                assert proc.poll() is None, running.text()
                with contextlib.suppress(httpx.HTTPError):
                    if (await http.get(f"http://127.0.0.1:{port}/readyz")).status_code == 200:
                        break
                await asyncio.sleep(0.1)
        c = await running.client()
        pairing = asyncio.ensure_future(c.call("terminal.pair", {"terminal": name, "mid": mid, "tid": tid}))
        while not pairing.done():
            await asyncio.sleep(0.05)
            if await sim.authorise(mid, tid) < 300:
                break
        assert (await pairing)["status"] == "success"
        await c.close()
        yield running
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


def _sigterm_and_time(proc: subprocess.Popen[bytes]) -> float:
    t0 = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(SHUTDOWN_TIMEOUT_S + 10)
    except subprocess.TimeoutExpired:
        return float("inf")
    return time.monotonic() - t0


def _errors(text: str) -> list[str]:
    return [line for line in text.splitlines() if "ERROR" in line]


async def test_sigterm_with_the_journal_locked_and_an_outcome_held_ends_in_time(tmp_path: Path, sim: Sim) -> None:
    locker: JournalLocker | None = None
    async with _daemon(tmp_path, sim) as d:
        try:
            c = await d.client()
            await sim.scenario(fundDelayMs=15_000)
            claim = asyncio.ensure_future(c.call("healthpoint.claim", claim_request(requestId="held-at-exit")))
            job_id: Any = None
            while job_id is None:
                with contextlib.suppress(Exception):
                    job_id = (await c.call("job.get", {"requestId": "held-at-exit"}))["jobId"]
            await c.wait_note(lambda n: n["method"] == "job.status" and n["params"]["jobId"] == job_id and n["params"]["message"] == WAITING)
            locker = await asyncio.to_thread(JournalLocker, d.state / "claimbridge.db")
            job = await claim
            assert job["state"] == "unknown"  # approved at the fund, held in memory
            took = await asyncio.to_thread(_sigterm_and_time, d.proc)
            assert took <= SHUTDOWN_TIMEOUT_S + 3, f"SIGTERM took {took:.1f} s\n{d.text()[-3000:]}"
        finally:
            if locker is not None:
                await asyncio.to_thread(locker.release)
        held = [line for line in _errors(d.text()) if job_id in line and "APPROVED" in line and "refTag" in line]
        assert held, d.text()[-3000:]  # the whole outcome: result, refTag, items, as it was held
        assert any("not written" in line for line in held), held  # and again as the daemon stops


async def test_sigterm_while_idle_with_the_journal_locked_ends_in_time_and_logs_once(tmp_path: Path, sim: Sim) -> None:
    locker: JournalLocker | None = None
    async with _daemon(tmp_path, sim) as d:
        try:
            c = await d.client()
            locker = await asyncio.to_thread(JournalLocker, d.state / "claimbridge.db")

            async def refused() -> bool:
                return not (await c.call("system.health"))["journal"]["ok"]

            for _ in range(200):
                if await refused():
                    break
                await asyncio.sleep(0.1)
            await asyncio.sleep(4)  # several probes with the journal locked
            await asyncio.to_thread(locker.release)
            locker = None
            for _ in range(200):
                if not await refused():
                    break
                await asyncio.sleep(0.1)
            locker = await asyncio.to_thread(JournalLocker, d.state / "claimbridge.db")
            for _ in range(200):
                if await refused():
                    break
                await asyncio.sleep(0.1)
            took = await asyncio.to_thread(_sigterm_and_time, d.proc)
            assert took <= SHUTDOWN_TIMEOUT_S + 3, f"SIGTERM took {took:.1f} s\n{d.text()[-3000:]}"
        finally:
            if locker is not None:
                await asyncio.to_thread(locker.release)
        text = d.text()
        refusals = [line for line in _errors(text) if "refuses writes" in line]
        assert len(refusals) == 2, refusals  # once per fault (two faults), not once per probe
        assert text.count("the journal accepts writes again") == 1, text[-3000:]


async def test_sigterm_with_a_claim_waiting_for_the_card_and_the_journal_locked_ends_in_time(tmp_path: Path, sim: Sim) -> None:
    """Draining waits for the running claim only until the deadline: the card is presented
    minutes later (simulated), the journal is locked; the process still ends within ``shutdown_timeout_s``, and the job is
    left ``running`` on disk for the next start to re-attach (never sent twice)."""
    locker: JournalLocker | None = None
    async with _daemon(tmp_path, sim) as d:
        try:
            c = await d.client()
            await sim.scenario(cardDelayMs=1_500_000)  # 30 s of real time at the test clock's scale
            claim = asyncio.ensure_future(c.call("healthpoint.claim", claim_request(requestId="at-a-slow-fund")))
            job_id: Any = None
            while job_id is None:
                with contextlib.suppress(Exception):
                    job_id = (await c.call("job.get", {"requestId": "at-a-slow-fund"}))["jobId"]
            while (await c.call("job.get", {"jobId": job_id}))["state"] != "running":
                await asyncio.sleep(0.05)
            locker = await asyncio.to_thread(JournalLocker, d.state / "claimbridge.db")
            took = await asyncio.to_thread(_sigterm_and_time, d.proc)
            claim.cancel()
            assert took <= SHUTDOWN_TIMEOUT_S + 3, f"SIGTERM took {took:.1f} s\n{d.text()[-3000:]}"
        finally:
            if locker is not None:
                await asyncio.to_thread(locker.release)
        assert any("shutdown_timeout_s" in line for line in _errors(d.text())), d.text()[-3000:]


async def test_sigterm_while_idle_with_the_disk_full_ends_in_time(tmp_path: Path, sim: Sim) -> None:
    """A full disk fails writes at once (no lock to wait on): the probe backs off instead of
    spinning, the failure is one ERROR line, and SIGTERM still ends the daemon in time (before:
    ~0.5 of a core while idle, and SIGTERM hung in 1 run of 3)."""
    state = tmp_path / "state"
    state.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(state)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        async with _daemon(tmp_path, sim) as d:
            c = await d.client()
            filler = state / "filler"
            with contextlib.suppress(OSError), filler.open("wb") as fh:  # full already, or filled here
                while True:
                    fh.write(b"\0" * 65536)
                    fh.flush()
            for _ in range(100):
                if not (await c.call("system.health"))["journal"]["ok"]:
                    break
                await asyncio.sleep(0.1)
            await asyncio.sleep(3)  # several probes while the disk is full
            took = await asyncio.to_thread(_sigterm_and_time, d.proc)
            assert took <= SHUTDOWN_TIMEOUT_S + 3, f"SIGTERM took {took:.1f} s\n{d.text()[-3000:]}"
            refusals = [line for line in _errors(d.text()) if "refuses writes" in line]
            assert len(refusals) == 1, refusals
    finally:
        subprocess.run(["umount", "-l", str(state)], check=False)
