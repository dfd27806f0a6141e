"""A cloud PMS reaches a clinic's terminal through two clustered ejabberd nodes (MQTT 5), and the
node the daemon publishes through dies mid-claim: the answer reaches the cloud client through the
other node, a request published during the outage is answered, no event is lost, the fund sees
one claim, and a re-published request gets the same job. Figures are printed (pytest -s)."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest

from bridge.clients import create_client
from bridge.config import MqttConfig
from bridge.roles import Role
from tests.daemon_harness import Sim, claim_request
from tests.fleet.cluster import USERS, Cluster
from tests.mqtt.conftest import fleet_client, start_mqtt_daemon, stop_daemon, wait_online

pytestmark = pytest.mark.fleet


@pytest.mark.timeout(240)  # two Erlang nodes start and cluster first: slow on a loaded machine
async def test_the_daemons_node_dies_mid_claim(tmp_path: Path, sim: Sim, cluster: Cluster) -> None:
    first, second = cluster.nodes
    site = f"clinic-{uuid.uuid4().hex[:6]}"
    password_file = tmp_path / "broker-password"
    password_file.write_text(USERS["clinic"] + "\n")
    config = MqttConfig(urls=[first.url, second.url], site=site, username="clinic", password_file=password_file,
                        reconnect_min_s=0.2, reconnect_max_s=1.0)
    running = await start_mqtt_daemon(tmp_path, sim, config)
    token, _ = create_client(tmp_path, "cloud-pms", Role.PMS, {})
    loop = asyncio.get_running_loop()
    try:
        link = running.daemon.mqtt
        assert link is not None
        for _ in range(200):
            if all(n.client is not None for n in link.nodes):
                break
            await asyncio.sleep(0.05)
        assert all(n.client is not None for n in link.nodes), [n.info() for n in link.nodes]
        await asyncio.sleep(1.0)  # the token file is read within a second
        async with fleet_client(second.mqtt_port, site, username="cloud", password=USERS["cloud"], token=token) as cloud:
            await wait_online(cloud, timeout=30)
            sim.clock.set(scale=10)  # the fund takes 30 s sim = 3 s real: the node dies meanwhile
            await sim.scenario(fundDelayMs=30_000)
            params = claim_request(requestId=f"{site}-claim")
            body = {"jsonrpc": "2.0", "id": "claim-1", "method": "healthpoint.claim", "params": params}
            await cloud.send(body, b"claim-1")
            await cloud.wait_event(lambda e: e["method"] == "job.status"
                                   and e["params"]["message"] == "Waiting for health fund response", 30)
            first.kill()  # the node the daemon publishes through
            killed = loop.time()
            # Published on the surviving node; asked again, as a cloud PMS would, if the broker
            # lost it in the failover (see FleetClient.call_resending).
            during, resent = await cloud.call_resending("terminal.list", every=5, timeout=45)
            failover_s = loop.time() - killed
            assert during["result"][0]["name"] == "front-desk"
            got = await cloud.wait(lambda m: m.topic == cloud.reply_to and m.correlation == b"claim-1", 30)
            job = got.json()["result"]
            assert job["state"] == "completed" and job["result"]["result"] == "APPROVED"
            answers = [m for m in cloud.messages if m.topic == cloud.reply_to and m.correlation == b"claim-1"]
            assert len(answers) == 1
            # A cloud client that re-publishes the request (no answer in its time) gets the same job.
            again = await cloud.request(body, timeout=30)
            assert again["result"]["jobId"] == job["jobId"]
            claims = [r for r in await sim.ledger() if r["kind"] == "claim"]
            assert len(claims) == 1, claims
            # No event lost: every state change of the job in its history arrived (repeats, sent
            # again after the node died, are dropped by seq).
            await cloud.wait_event(lambda e: e["method"] == "job.updated" and e["params"]["job"]["state"] == "completed")
            seen = {e["params"]["seq"]: e["params"]["job"]["state"] for e in cloud.events("job.updated")
                    if e["params"]["job"]["jobId"] == job["jobId"]}
            full = await cloud.call("job.get", {"jobId": job["jobId"], "history": True})
            states = [h["state"] for h in full["result"]["history"] if h["event"] == "state"]
            assert sorted(seen.values(), key=states.index) == states, (seen, states)
            events_lost = len(states) - len(set(seen.values()))
            repeats = len(cloud.events("job.updated")) - len(seen)
            # The retained terminal state is right on the surviving node.
            async with fleet_client(second.mqtt_port, site, username="cloud", password=USERS["cloud"]) as late:
                retained = await late.wait(lambda m: m.topic == f"claimbridge/{site}/terminals/front-desk" and m.retain, 10)
                assert retained.json()["paired"] is True
            print(f"\nfleet figures: failover {failover_s * 1000:.0f} ms (node killed -> request on the other node "
                  f"answered), requests asked again after a broker loss {resent}, events lost {events_lost}, "
                  f"repeated events dropped by seq {repeats}, "
                  f"claims at the fund {len(claims)}")
    finally:
        await stop_daemon(running)
