"""A hung page: the renderer is SIGSTOPped while a claim is at the fund. The liveness probe
notices within ``page_probe_timeout_s``; the job is answered ``unknown``; the browser is
restarted; the job is completed through ``continueLastTransaction``; the fund saw one claim."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path
from typing import Any

import httpx
import pytest

from bench.common import process_tree
from tests.daemon_harness import FRONT_DESK, Sim, claim_request, make_settings, start_daemon, stop_daemon

pytestmark = pytest.mark.e2e

WAITING = "Waiting for health fund response"


def renderer_pids(browser_pid: int) -> list[int]:
    """The renderer processes under the browser process (from /proc)."""
    out = []
    for pid in process_tree(browser_pid):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        # Chromium rewrites its argv into one string: look for the flag anywhere in it.
        if b"--type=renderer" in cmdline:
            out.append(pid)
    return out


async def _poll(c: Any, job_id: str, until: set[str], timeout: float = 60) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        job: dict[str, Any] = await c.call("job.get", {"jobId": job_id})
        if job["state"] in until or loop.time() > deadline:
            return job
        await asyncio.sleep(0.1)


async def test_stopped_renderer_counts_as_dead_then_the_job_is_recovered(tmp_path: Path, sim: Sim) -> None:
    running = await start_daemon(make_settings(tmp_path, sim, transaction_timeout_s=30, page_probe_timeout_s=1.0), sim)
    stopped: list[int] = []
    try:
        assert (await running.pair(*FRONT_DESK))["status"] == "success"
        browser = running.daemon.browser
        assert browser is not None and browser.pid is not None
        await sim.scenario(fundDelayMs=30_000, answerTimeoutMs=3_600_000)
        c = await running.client()
        call = asyncio.ensure_future(c.call("healthpoint.claim", claim_request(requestId="hung-page")))
        await c.wait_note(lambda n: n["method"] == "job.status" and n["params"]["message"] == WAITING)
        stopped = renderer_pids(browser.pid)
        assert stopped, "no renderer found under the browser"
        for pid in stopped:
            os.kill(pid, signal.SIGSTOP)
        job = await call  # the probe failed: the page counts as dead, its job is unknown
        assert job["state"] == "unknown"
        seen_unready = False
        async with httpx.AsyncClient() as http:
            for _ in range(200):  # the browser restart is under way
                r = await http.get(f"http://127.0.0.1:{running.daemon.server.port}/readyz")  # type: ignore[union-attr]
                health = await c.call("system.health")
                if r.status_code == 503 and health["browser"]["ok"] is False:
                    seen_unready = True
                    break
                await asyncio.sleep(0.02)
        assert seen_unready
        final = await _poll(c, job["jobId"], {"completed", "resolved"})
        assert final["state"] == "completed" and final["result"]["result"] == "APPROVED"
        assert browser.restarts >= 1
        assert [r["kind"] for r in await sim.ledger()] == ["claim"]
        again = await c.call("healthpoint.claim", claim_request(requestId="after-hang"))
        assert again["state"] == "completed"
        await c.close()
    finally:
        for pid in stopped:
            try:
                os.kill(pid, signal.SIGCONT)
            except ProcessLookupError:
                pass
        await stop_daemon(running)
