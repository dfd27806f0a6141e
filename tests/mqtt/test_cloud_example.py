"""examples/cloud_pms.py claims through a real mosquitto with a pms token of its own."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import pytest

from bridge.clients import create_client
from bridge.config import MqttConfig
from bridge.roles import Role
from tests.daemon_harness import Sim
from tests.mqtt.conftest import Broker, start_mqtt_daemon, stop_daemon

pytestmark = pytest.mark.mqtt

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "cloud_pms.py"


async def _run(*argv: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(*argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_the_cloud_pms_example_claims_once_through_the_broker(tmp_path: Path, sim: Sim, broker: Broker,
                                                                     site: str) -> None:
    running = await start_mqtt_daemon(tmp_path, sim, MqttConfig(url=broker.url, site=site))
    try:
        _token, token_file = create_client(tmp_path, "cloud-pms", Role.PMS, {})
        await asyncio.sleep(1.0)  # the daemon reads token files twice a second
        argv = [sys.executable, str(EXAMPLE), "--broker", "mqtt://127.0.0.1:1", "--broker", broker.url,
                "--site", site, "--token-file", str(token_file), "--request-id", f"{site}-cloud", "--timeout", "60"]
        code, out, err = await _run(*argv)
        assert code == 0, err
        job = json.loads(out.strip().splitlines()[-1])
        assert job["state"] == "completed" and job["result"]["result"] == "APPROVED"
        assert "terminal: Swipe or tap health fund card" in err and "-> ACCEPT" in err
        assert "mqtt://127.0.0.1:1" in err, "the first node was down: it says so and tries the next"
        code, out, err = await _run(*argv)  # the same requestId again: the same job
        assert code == 0, err
        assert json.loads(out.strip().splitlines()[-1])["jobId"] == job["jobId"]
        assert [r["kind"] for r in await sim.ledger()] == ["claim"]
        full = await asyncio.wait_for(running.daemon.journal.get(job["jobId"]), 10)  # type: ignore[union-attr]
        assert full.state.value == "completed"
    finally:
        await stop_daemon(running)
