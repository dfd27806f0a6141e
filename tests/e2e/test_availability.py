"""The start-up window: from the moment the daemon listens, reads and repeated requestIds are
answered from the journal, and new work gets -32005 with a reason; never -32602 or -32603.

The window is made wide on purpose: the browser executable is a script that waits for a file
before it becomes Chromium, so the pages stay down while the first connection fires requests.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect

from bridge.config import BrowserConfig
from bridge.daemon import Daemon
from bridge.jobs import JobKind, JobState
from bridge.protocol import ClaimParams
from bridge.journal import Journal
from tests.daemon_harness import (
    FRONT_DESK,
    Client,
    DaemonClock,
    RpcError,
    Sim,
    claim_request,
    make_settings,
    start_daemon,
    stop_daemon,
)

pytestmark = pytest.mark.e2e

CHROMIUM = "/usr/bin/chromium-headless-shell"


class HeldBrowser:
    """A browser executable that waits for a gate file before it becomes Chromium: the daemon
    listens, but its browser (hence every page) is not up until :meth:`release`."""

    def __init__(self, tmp: Path) -> None:
        self.gate = tmp / "browser-may-start"
        self.executable = tmp / "held-chromium"
        self.executable.write_text(
            f"#!/bin/sh\nwhile [ ! -e {self.gate} ]; do sleep 0.05; done\nexec {CHROMIUM} \"$@\"\n"
        )
        self.executable.chmod(0o755)

    def hold(self) -> None:
        self.gate.unlink(missing_ok=True)

    def release(self) -> None:
        self.gate.touch()


async def _first_client(daemon: Daemon) -> Client:
    await asyncio.wait_for(daemon.listening.wait(), 30)
    ws = await connect(daemon.url, additional_headers={"Authorization": f"Bearer {daemon.token}"})
    return Client(ws)


async def _answer(c: Client, method: str, params: Any = None) -> dict[str, Any]:
    return await c.request(method, params, timeout=30)


async def test_from_the_first_connection_reads_answer_and_new_work_is_minus_32005(tmp_path: Path, sim: Sim) -> None:
    held = HeldBrowser(tmp_path)
    held.release()
    settings = make_settings(
        tmp_path / "state", sim, transaction_timeout_s=20, browser=BrowserConfig(executable_path=str(held.executable)),
    )
    if True:
        first = await start_daemon(settings, sim)
        assert (await first.pair(*FRONT_DESK))["status"] == "success"
        c = await first.client()
        done = await c.call("healthpoint.claim", claim_request(requestId="before-restart"))
        assert done["state"] == "completed"
        await stop_daemon(first)
        # The previous process's live job, as a SIGKILL would have left it (real SQLite file).
        async with Journal(tmp_path / "state" / "claimbridge.db") as journal:
            left, _ = await journal.create_job(
                kind=JobKind.CLAIM, request_id="left-running", terminal="front-desk",
                request=ClaimParams.model_validate({**claim_request(requestId="left-running"), "terminal": "front-desk"}),
            )
            await journal.move(left.job_id, JobState.RUNNING)
        ledger_before = await sim.ledger()

        held.hold()  # the browser, hence the pages, cannot start until the test says so
        daemon = Daemon(settings, now=DaemonClock(sim.clock))
        task = asyncio.get_running_loop().create_task(daemon.run(install_signals=False), name="test-daemon")
        try:
            c = await _first_client(daemon)
            answers = await asyncio.gather(
                _answer(c, "terminal.list"),
                _answer(c, "job.list", {}),
                _answer(c, "system.health"),
                _answer(c, "rpc.discover"),
                _answer(c, "job.get", {"requestId": "before-restart"}),
                _answer(c, "healthpoint.claim", claim_request(requestId="before-restart")),
                _answer(c, "healthpoint.claim", claim_request(requestId="before-restart", onApproved="reject")),
                _answer(c, "healthpoint.claim", claim_request(requestId="new-during-start")),
                _answer(c, "terminal.pair", {"terminal": "front-desk", "mid": 2187, "tid": 1}),
                _answer(c, "healthpoint.claim", claim_request(requestId="left-running")),
            )
            assert not daemon.ready.is_set(), "the window closed before the requests were answered"
            terminals, jobs, health, discover, got, again, reused, new, pair, left_again = answers
            assert terminals["result"] == [
                {"name": "front-desk", "mid": 2187, "tid": 1, "paired": True, "busy": False, "queued": 0, "pageReady": False}
            ]
            assert {j["requestId"] for j in jobs["result"]} == {"before-restart", "left-running"}
            assert health["result"]["browser"]["ok"] is False and health["result"]["journal"]["ok"] is True
            assert "methods" in discover["result"]
            assert got["result"]["jobId"] == done["jobId"]
            assert again["result"] == got["result"]  # same payload: the same job, whatever the pages do
            assert reused["error"]["code"] == -32001
            for refused in (new, pair):
                assert refused["error"]["code"] == -32005, refused
                assert refused["error"]["data"]["reason"] and refused["error"]["data"]["retryAfterMs"] > 0
            # recovery ran after the lock and the bind: the re-sent live job is answered unknown
            assert left_again["result"]["state"] == "unknown" and left_again["result"]["jobId"] == left.job_id
            async with httpx.AsyncClient() as http:
                ready = await http.get(f"http://127.0.0.1:{daemon.server.port}/readyz")  # type: ignore[union-attr]
            assert ready.status_code == 503 and ready.json()["state"] == "starting"
            assert await sim.ledger() == ledger_before  # nothing was sent

            held.release()
            await asyncio.wait_for(daemon.ready.wait(), 30)
            await c.close()
            c = Client(await connect(daemon.url, additional_headers={"Authorization": f"Bearer {daemon.token}"}))
            for _ in range(100):  # the pages finish loading just after ``ready``
                with contextlib.suppress(RpcError):
                    after = await c.call("healthpoint.claim", claim_request(requestId="after-start"))
                    break
                await asyncio.sleep(0.1)
            assert after["state"] == "completed"
            await c.close()
        finally:
            held.release()
            daemon.stop()
            await asyncio.wait_for(task, 30)


async def test_new_work_while_draining_is_minus_32005_but_a_repeat_is_answered(tmp_path: Path, sim: Sim) -> None:
    running = await start_daemon(make_settings(tmp_path, sim, transaction_timeout_s=20), sim)
    assert (await running.pair(*FRONT_DESK))["status"] == "success"
    c = await running.client()
    done = await c.call("healthpoint.claim", claim_request(requestId="drain-1"))
    await sim.scenario(cardDelayMs=60_000)
    c.notes.clear()
    busy = asyncio.ensure_future(c.call("healthpoint.claim", claim_request(requestId="drain-2")))
    await c.wait_note(lambda n: n["method"] == "job.status" and "Swipe" in n["params"]["message"])
    running.daemon.stop()
    for _ in range(100):
        if str(running.daemon.state) == "draining":
            break
        await asyncio.sleep(0.02)
    refused = await c.request("healthpoint.claim", claim_request(requestId="drain-3"))
    assert refused["error"]["code"] == -32005 and refused["error"]["data"]["retryAfterMs"] > 0
    repeat_msg = await c.request("healthpoint.claim", claim_request(requestId="drain-1"))
    assert "result" in repeat_msg, repeat_msg
    repeat = repeat_msg["result"]
    assert repeat["jobId"] == done["jobId"]
    assert (await busy)["state"] in ("completed", "failed")
    await c.close()
    await asyncio.wait_for(running.task, 60)
