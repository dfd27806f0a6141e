"""The fleet link with client tokens and several broker connections, against a real mosquitto:
the `authorization` user property and its roles, a request delivered on two connections run and
answered once, and events carrying each job's seq."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bridge.clients import create_client, revoke_client
from bridge.config import MqttConfig
from bridge.roles import Role
from tests.daemon_harness import Sim, claim_request
from tests.mqtt.conftest import Broker, fleet_client, start_mqtt_daemon, stop_daemon, wait_online

pytestmark = pytest.mark.mqtt


async def test_requests_need_a_client_token_and_keep_to_its_role(tmp_path: Path, sim: Sim, broker: Broker,
                                                                  site: str) -> None:
    running = await start_mqtt_daemon(tmp_path, sim, MqttConfig(url=broker.url, site=site))
    try:
        dash, _ = create_client(tmp_path, "dash", Role.READONLY, {})
        cloud, _ = create_client(tmp_path, "cloud-pms", Role.PMS, {})
        await asyncio.sleep(1.5)  # the daemon looks at the token files twice a second
        async with fleet_client(broker.port, site) as anonymous:
            await wait_online(anonymous)
            refused = await anonymous.call("terminal.list")
            assert refused["error"]["code"] == -32006
            assert refused["error"]["data"] == {"role": None, "method": "terminal.list"}
        async with fleet_client(broker.port, site, token="not-a-token") as wrong:
            assert (await wrong.call("job.list"))["error"]["code"] == -32006
        async with fleet_client(broker.port, site, token=dash) as reader:
            assert (await reader.call("job.list"))["result"] == []
            claim = await reader.call("healthpoint.claim", claim_request(requestId=f"{site}-ro"))
            assert claim["error"]["data"] == {"role": "readonly", "method": "healthpoint.claim"}
        assert await sim.ledger() == []
        async with fleet_client(broker.port, site, token=cloud) as pms:
            answer = await pms.call("healthpoint.claim", claim_request(requestId=f"{site}-pms"))
            job = answer["result"]
            assert job["state"] == "completed"
            full = await pms.call("job.get", {"jobId": job["jobId"], "history": True})
            assert full["result"]["history"][0]["by"] == "cloud-pms"
            pair = await pms.call("terminal.pair", {"terminal": "x", "mid": 9, "tid": 9})
            assert pair["error"]["data"] == {"role": "pms", "method": "terminal.pair"}
        assert [r["kind"] for r in await sim.ledger()] == ["claim"]
        # Revoked: its next request is refused (the token files are read again within a second).
        revoke_client(tmp_path, "cloud-pms", {})
        await asyncio.sleep(1.5)
        async with fleet_client(broker.port, site, token=cloud) as pms:
            gone = await pms.call("job.list")
            assert gone["error"]["data"] == {"role": None, "method": "job.list"}
    finally:
        await stop_daemon(running)


async def test_a_request_arriving_on_two_connections_is_run_and_answered_once(
    tmp_path: Path, sim: Sim, broker: Broker, site: str,
) -> None:
    # The same broker under two names: both connections hold the subscription, so the broker
    # delivers each request to both, as a cluster routes a publish to every node's subscriber.
    urls = [broker.url, f"mqtt://localhost:{broker.port}"]
    running = await start_mqtt_daemon(tmp_path, sim, MqttConfig(urls=urls, site=site))
    try:
        async with fleet_client(broker.port, site, token_file=tmp_path / "token") as pms:
            await wait_online(pms)
            link = running.daemon.mqtt
            assert link is not None
            for _ in range(100):
                if all(n.client is not None for n in link.nodes):
                    break
                await asyncio.sleep(0.1)
            assert [n.identifier for n in link.nodes] == [f"claimbridge-{site}-1", f"claimbridge-{site}-2"]
            answer = await pms.call("healthpoint.claim", claim_request(requestId=f"{site}-twice"))
            job = answer["result"]
            assert job["state"] == "completed"
            await asyncio.sleep(1.0)  # a second answer would have arrived by now
            answers = [m for m in pms.messages if m.topic == pms.reply_to]
            assert len(answers) == 1, [a.json() for a in answers]
            assert link.duplicates_dropped >= 1
            assert [r["kind"] for r in await sim.ledger()] == ["claim"]
            # Every event carries its job's seq, growing with each change; none is published twice.
            await pms.wait_event(lambda e: e["method"] == "job.updated" and e["params"]["job"]["state"] == "completed")
            updates = pms.events("job.updated")
            seqs = [e["params"]["seq"] for e in updates]
            assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs) and len(seqs) >= 3
            assert all(isinstance(e["params"].get("seq"), int) for e in pms.events("job.status"))
    finally:
        await stop_daemon(running)



async def test_doctor_checks_each_broker_node_speaks_mqtt5(tmp_path: Path, broker: Broker) -> None:
    import subprocess
    import sys

    config = tmp_path / "claimbridge.toml"
    config.write_text(f'listen = "127.0.0.1:1"\nstate_dir = "{tmp_path / "state"}"\n'
                      f'iclient_url = "http://127.0.0.1:1/x.js"\n'
                      f'[mqtt]\nurls = ["{broker.url}", "mqtt://127.0.0.1:1"]\nsite = "doctor"\n')
    loop = asyncio.get_running_loop()
    out = await loop.run_in_executor(None, lambda: subprocess.run(
        [sys.executable, "-c", "from bridge.cli import main; raise SystemExit(main())", "--config", str(config), "doctor"],
        capture_output=True, text=True, timeout=90))
    assert f"[ok  ] mqtt {broker.url}: MQTT 5 connection accepted" in out.stdout, out.stdout
    assert "[FAIL] mqtt mqtt://127.0.0.1:1: cannot connect" in out.stdout, out.stdout
