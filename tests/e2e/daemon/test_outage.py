"""The iClient server cannot be reached: the simulator's process is stopped mid-run and started
again on the same port (INTERFACES.md "When the iClient server cannot be reached").

The daemon runs in the test's loop (real Chromium, real websockets, real SQLite); the simulator
is ``claimbridge-sim`` in its own process, so stopping it is what a clinic's internet dropping
looks like to the pages: refused connections to iClient's script, its frame and its link.
"""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bench.common import free_port
from simulator.clock import Clock
from tests.daemon_harness import FRONT_DESK, RpcError, Running, claim_request, make_settings, start_daemon, stop_daemon

pytestmark = pytest.mark.e2e


class SimProcess:
    """``claimbridge-sim`` in its own process, on a port that stays the same across restarts.

    Quacks like :class:`tests.daemon_harness.Sim` for the harness (``base``, ``clock``,
    ``authorise``, ``ledger``, ``scenario``)."""

    def __init__(self, log: Path, scale: float = 50.0) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.clock = Clock(scale=scale)  # the daemon's business clock only
        self.scale = scale
        self._log = log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self._log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-c", "import sys; from simulator.cli import main; sys.exit(main())",
                 "--port", str(self.port), "--time-scale", str(self.scale)],
                stdout=out, stderr=subprocess.STDOUT,
            )
        for _ in range(400):
            try:
                if httpx.get(f"{self.base}/_sim/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.025)
        raise AssertionError("the simulator did not start")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        self.proc = None

    async def _post(self, path: str, **kw: Any) -> httpx.Response:
        async with httpx.AsyncClient(base_url=self.base, timeout=10) as http:
            return await http.post(path, **kw)

    async def authorise(self, mid: int, tid: int) -> int:
        return (await self._post(f"/_sim/terminals/{mid}/{tid}/authorise")).status_code

    async def scenario(self, **fields: Any) -> None:
        (await self._post("/_sim/scenario", json=fields)).raise_for_status()

    async def ledger(self) -> list[dict[str, Any]]:
        async with httpx.AsyncClient(base_url=self.base, timeout=10) as http:
            r = await http.get("/_sim/ledger")
        r.raise_for_status()
        return list(r.json()["records"])

    async def keep_pairing(self, mid: int, tid: int, key: str) -> None:
        """After a restart: the terminal still holds the pairing made before (as Tyro's do)."""
        async with httpx.AsyncClient(base_url=self.base, timeout=10) as http:
            (await http.put(f"/_sim/terminals/{mid}/{tid}/pairing", json={"integrationKey": key})).raise_for_status()


@pytest.fixture
async def sim_process(tmp_path: Path) -> AsyncIterator[SimProcess]:
    sim = SimProcess(tmp_path / "sim.log")
    sim.start()
    yield sim
    sim.stop()


@pytest.fixture
async def paired(tmp_path: Path, sim_process: SimProcess) -> AsyncIterator[Running]:
    settings = make_settings(tmp_path / "state", sim_process, transaction_timeout_s=600)  # type: ignore[arg-type]
    running = await start_daemon(settings, sim_process)  # type: ignore[arg-type]
    try:
        assert (await running.pair(*FRONT_DESK))["status"] == "success"
        yield running
    finally:
        await stop_daemon(running)


async def _readyz(running: Running) -> int:
    server = running.daemon.server
    assert server is not None
    async with httpx.AsyncClient() as http:
        return (await http.get(f"http://127.0.0.1:{server.port}/readyz")).status_code


async def _until(check: Any, timeout: float) -> float:
    """Seconds until ``await check()`` is true (AssertionError after ``timeout``)."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    while not await check():
        if loop.time() - start > timeout:
            raise AssertionError(f"not within {timeout} s")
        await asyncio.sleep(0.05)
    return loop.time() - start


async def doctor(running: Running, sim: SimProcess) -> tuple[int, str]:
    """``claimbridge doctor`` in its own process, asking this daemon (which keeps running)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLAIMBRIDGE_")}
    env.update(CLAIMBRIDGE_STATE_DIR=str(running.daemon.state_dir), CLAIMBRIDGE_ICLIENT_URL=f"{sim.base}/iclient-v1.js")
    proc = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).parent / "claimbridge"), "doctor", "--url", running.daemon.url,
        "--token-file", str(running.daemon.state_dir / "token"),
        env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode is not None
    return proc.returncode, out.decode()


async def _integration_key(running: Running) -> str:
    journal = running.daemon.journal
    assert journal is not None
    pairing = await journal.pairing(FRONT_DESK[0])
    assert pairing is not None
    return pairing.integration_key


async def test_outage_is_seen_refused_at_once_and_claims_work_again_after_it(
    paired: Running, sim_process: SimProcess, caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, "claimbridge.browser.iclient")
    c = await paired.client()
    first = await c.call("healthpoint.claim", claim_request(requestId="before-outage"))
    assert first["state"] == "completed"
    key = await _integration_key(paired)
    assert (await c.call("system.health"))["iclient"]["ok"] is True

    sim_process.stop()

    async def health_says_down() -> bool:
        health = await c.call("system.health")
        return health["iclient"]["ok"] is False and await _readyz(paired) == 503

    seen = await _until(health_says_down, 5.0)
    health = await c.call("system.health")
    assert health["iclient"]["reason"] and "ERR_CONNECTION_REFUSED" in health["iclient"]["reason"], health
    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(RpcError) as refused:
        await c.call("healthpoint.claim", claim_request(requestId="during-outage"), timeout=2)
    assert loop.time() - started < 2.0
    assert refused.value.code == -32005
    assert refused.value.data["reason"] == "iclientUnreachable" and refused.value.data["retryAfterMs"] > 0
    jobs = await c.call("job.list", {})
    assert [j["requestId"] for j in jobs] == ["before-outage"], "a refused claim was journalled"
    warnings = [r.getMessage() for r in caplog.records if r.name == "claimbridge.browser.iclient"]
    assert len(warnings) == 1 and warnings[0].startswith("the iClient server cannot be reached"), warnings
    server = paired.daemon.server
    assert server is not None
    async with httpx.AsyncClient() as http:
        metrics = (await http.get(f"http://127.0.0.1:{server.port}/metrics")).text
    assert "claimbridge_iclient_reachable 0.0" in metrics and "claimbridge_iclient_outages_total 1.0" in metrics
    code, out = await doctor(paired, sim_process)
    assert code == 1, out
    assert "[FAIL] daemon's state: degraded (/readyz 503): not ready: iclient" in out, out
    assert "[FAIL] daemon's iClient server: cannot be reached since" in out, out
    assert "claimbridge pair" not in out, out  # never a command the daemon would refuse now

    sim_process.start()
    await sim_process.keep_pairing(FRONT_DESK[1], FRONT_DESK[2], key)
    back = loop.time()

    async def claim_works() -> bool:
        try:
            job = await c.call("healthpoint.claim", claim_request(requestId=f"after-{loop.time():.3f}"), timeout=10)
        except RpcError as exc:
            assert exc.code == -32005, exc.error
            return False
        assert job["state"] == "completed", job
        return True

    await _until(claim_works, 10.0)
    assert loop.time() - back < 10.0
    assert await _readyz(paired) == 200
    assert (await c.call("system.health"))["iclient"]["ok"] is True
    code, out = await doctor(paired, sim_process)
    assert "[ok  ] daemon's state: ready (/readyz 200)" in out, out
    assert "[ok  ] daemon's iClient server: reachable since" in out, out
    assert "[ok  ] daemon's terminal front-desk: mid 2187, tid 1: paired, idle" in out, out
    warnings = [r.getMessage() for r in caplog.records if r.name == "claimbridge.browser.iclient"]
    assert len(warnings) == 2 and warnings[1].startswith("the iClient server can be reached again"), warnings
    # The fund saw the claim before the outage and the one after it; nothing in between.
    assert [r["kind"] for r in await sim_process.ledger()] == ["claim"]
    print(f"outage seen in {seen:.2f} s; claims back {loop.time() - back:.2f} s after the server")


async def test_a_claim_sent_before_the_outage_is_seen_fails_and_never_waits(
    paired: Running, sim_process: SimProcess,
) -> None:
    """Stopped and claimed at once (before any probe): iClient's frame cannot load, so nothing
    left the page: the job is ``failed`` (not ``unknown``) within seconds, and the page that
    held iClient's half-open channel is loaded again once the server is back."""
    c = await paired.client()
    key = await _integration_key(paired)
    sim_process.stop()
    loop = asyncio.get_running_loop()
    started = loop.time()
    try:
        job = await c.call("healthpoint.claim", claim_request(requestId="raced-the-outage"), timeout=10)
    except RpcError as exc:  # the probe got there first: refused, nothing journalled
        assert exc.data["reason"] == "iclientUnreachable"
        pytest.skip("the probe saw the outage before the claim: nothing to race")
    assert loop.time() - started < 5.0
    assert job["state"] == "failed", job
    assert job["error"]["data"]["reason"] == "iclientUnreachable", job
    sim_process.start()
    await sim_process.keep_pairing(FRONT_DESK[1], FRONT_DESK[2], key)
    back = loop.time()

    async def ready() -> bool:
        return await _readyz(paired) == 200

    await _until(ready, 10.0)
    again = await c.call("healthpoint.claim", claim_request(requestId="after-raced"))
    assert again["state"] == "completed"
    assert loop.time() - back < 10.0
    assert [r["kind"] for r in await sim_process.ledger()] == ["claim"]


async def test_a_page_that_cannot_load_at_start_loads_once_the_server_is_up(
    tmp_path: Path, sim_process: SimProcess,
) -> None:
    """Start-up during the outage: the daemon starts, says so, and heals by itself."""
    sim_process.stop()
    running = await start_daemon(make_settings(tmp_path / "state", sim_process), sim_process)  # type: ignore[arg-type]
    try:
        c = await running.client()
        health = await c.call("system.health")
        assert health["iclient"]["ok"] is False and await _readyz(running) == 503
        with pytest.raises(RpcError) as refused:
            await c.call("terminal.pair", {"terminal": "front-desk", "mid": FRONT_DESK[1], "tid": FRONT_DESK[2]}, timeout=5)
        assert refused.value.data["reason"] == "iclientUnreachable"
        # the console says so too
        from playwright.async_api import async_playwright

        from tests.e2e.test_console_unknown import ARGS, CHROMIUM, _open_console

        assert running.daemon.server is not None
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            page = await _open_console(browser, f"http://127.0.0.1:{running.daemon.server.port}", running.daemon.token, 1280)
            await page.wait_for_selector("#system dt:text('iClient server')")
            system = await page.inner_text("#system")
            assert "NOT OK: cannot be reached since" in system and "ERR_CONNECTION_REFUSED" in system, system
            await browser.close()
        await asyncio.sleep(12)  # several failed loads: the backoff is capped, not growing for ever
        sim_process.start()
        loop = asyncio.get_running_loop()
        back = loop.time()

        async def ready() -> bool:
            return await _readyz(running) == 200

        await _until(ready, 10.0)
        assert loop.time() - back < 10.0
        assert (await running.pair(*FRONT_DESK))["status"] == "success"
    finally:
        await stop_daemon(running)
