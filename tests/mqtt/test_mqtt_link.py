"""The MQTT fleet link against a real mosquitto: the websocket's methods and errors over MQTT 5."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from bridge.config import MqttConfig
from bridge.mqtt.node import NodeConnection
from bridge.mqtt.topics import Topics, parse_broker_url
from tests.daemon_harness import Sim, claim_request
from tests.mqtt.conftest import (
    PASSWORD,
    USERNAME,
    Broker,
    fleet_client,
    start_mqtt_daemon,
    stop_daemon,
    wait_online,
)

pytestmark = pytest.mark.mqtt


async def test_claim_over_mqtt_completes_once(tmp_path: Path, sim: Sim, broker: Broker, site: str) -> None:
    running = await start_mqtt_daemon(tmp_path, sim, MqttConfig(url=broker.url, site=site))
    try:
        async with fleet_client(broker.port, site, token_file=tmp_path / "token") as pms:
            await wait_online(pms)
            params = claim_request(requestId=f"{site}-claim")
            answer = await pms.call("healthpoint.claim", params)
            job = answer["result"]
            assert job["state"] == "completed" and job["result"]["result"] == "APPROVED"
            # QoS 1 may deliver a request twice: the same requestId is the same job, not a second claim
            again = await pms.call("healthpoint.claim", params)
            assert again["result"]["jobId"] == job["jobId"]
            assert [r["kind"] for r in await sim.ledger()] == ["claim"]
            # the job's notifications were published on the events topic
            await pms.wait_event(lambda e: e["method"] == "job.updated" and e["params"]["job"]["state"] == "completed")
            statuses = [e["params"]["message"] for e in pms.events("job.status")]
            assert "Swipe or tap health fund card" in statuses
            states = [e["params"]["job"]["state"] for e in pms.events("job.updated")]
            assert states[:2] == ["queued", "running"]
    finally:
        await stop_daemon(running)


async def test_errors_come_back_as_jsonrpc_errors(tmp_path: Path, sim: Sim, broker: Broker, site: str) -> None:
    running = await start_mqtt_daemon(tmp_path, sim, MqttConfig(url=broker.url, site=site))
    try:
        async with fleet_client(broker.port, site, token_file=tmp_path / "token") as pms:
            await wait_online(pms)
            unknown = await pms.call("no.such.method", {})
            assert unknown["error"]["code"] == -32601
            bad = await pms.call("healthpoint.claim", claim_request(requestId=f"{site}-bad", items=[]))
            assert bad["error"]["code"] == -32602
            assert any(e["field"].startswith("items") for e in bad["error"]["data"]["errors"])
            missing = await pms.call("job.get", {"jobId": "no-such-job"})
            assert missing["error"]["code"] == -32002
            garbage = await pms.request(b"{not json")
            assert garbage["error"]["code"] == -32700 and garbage["id"] is None
            batch = await pms.request([
                {"jsonrpc": "2.0", "id": 1, "method": "terminal.list"},
                {"jsonrpc": "2.0", "id": 2, "method": "nope"},
            ])
            assert {a["id"]: ("result" in a) for a in batch} == {1: True, 2: False}
            assert not [r for r in await sim.ledger()]
    finally:
        await stop_daemon(running)


async def test_request_without_response_topic_runs_unanswered(
    tmp_path: Path, sim: Sim, broker: Broker, site: str
) -> None:
    running = await start_mqtt_daemon(tmp_path, sim, MqttConfig(url=broker.url, site=site))
    try:
        async with fleet_client(broker.port, site, token_file=tmp_path / "token") as pms:
            await wait_online(pms)
            rid = f"{site}-fire-and-forget"
            await pms.send({"jsonrpc": "2.0", "id": 7, "method": "healthpoint.claim",
                            "params": claim_request(requestId=rid)}, answer=False)
            done = await pms.wait_event(
                lambda e: e["method"] == "job.updated" and e["params"]["job"]["requestId"] == rid
                and e["params"]["job"]["state"] == "completed"
            )
            job = (await pms.call("job.get", {"requestId": rid}))["result"]
            assert job["jobId"] == done["params"]["job"]["jobId"] and job["result"]["result"] == "APPROVED"
            await asyncio.sleep(0.3)
            assert [m for m in pms.messages if m.topic == pms.reply_to and m.json().get("id") == 7] == []
    finally:
        await stop_daemon(running)


async def test_question_answered_over_mqtt_while_the_claim_waits(
    tmp_path: Path, sim: Sim, broker: Broker, site: str
) -> None:
    """A long claim runs in its own task: the receive loop still takes job.answer meanwhile."""
    running = await start_mqtt_daemon(tmp_path, sim, MqttConfig(url=broker.url, site=site))
    try:
        async with fleet_client(broker.port, site, token_file=tmp_path / "token") as pms:
            await wait_online(pms)
            claim = asyncio.ensure_future(
                pms.call("healthpoint.claim", claim_request(requestId=f"{site}-ask", onApproved="ask"))
            )
            question = await pms.wait_event(lambda e: e["method"] == "job.question")
            assert question["params"]["options"] == ["ACCEPT", "REJECT"]
            answered = await pms.call("job.answer", {"jobId": question["params"]["jobId"], "answer": "ACCEPT"})
            assert answered["result"] == {"accepted": True}
            job = (await claim)["result"]
            assert job["result"]["result"] == "APPROVED"
    finally:
        await stop_daemon(running)


async def test_terminal_state_is_retained_and_status_follows_the_link(
    tmp_path: Path, sim: Sim, broker: Broker, site: str
) -> None:
    running = await start_mqtt_daemon(tmp_path, sim, MqttConfig(url=broker.url, site=site))
    stopped = False
    try:
        async with fleet_client(broker.port, site, token_file=tmp_path / "token") as first:
            await wait_online(first)
            await first.wait(lambda m: m.topic.endswith("/terminals/front-desk") and m.json()["paired"])
        # a client that connects later gets the retained state and status at once
        async with fleet_client(broker.port, site, token_file=tmp_path / "token") as late:
            state = await late.wait(lambda m: m.topic == f"claimbridge/{site}/terminals/front-desk", 5)
            assert state.retain
            assert state.json() == {"name": "front-desk", "mid": 2187, "tid": 1, "paired": True,
                                    "busy": False, "queued": 0, "pageReady": True}
            status = await late.wait(lambda m: m.topic == f"claimbridge/{site}/status", 5)
            assert status.retain and status.payload == b"online"
            # a change is published: the terminal is busy during a claim, then free again
            await late.call("healthpoint.claim", claim_request(requestId=f"{site}-busy"))
            busy = await late.wait(lambda m: m.topic.endswith("/terminals/front-desk") and m.json()["busy"])
            after_busy = late.messages.index(busy)
            await late.wait(lambda m: m.topic.endswith("/terminals/front-desk") and not m.json()["busy"]
                            and late.messages.index(m) > after_busy, 10)
            await stop_daemon(running)
            stopped = True
            await late.wait(lambda m: m.topic == f"claimbridge/{site}/status" and m.payload == b"offline", 10)
        async with fleet_client(broker.port, site, token_file=tmp_path / "token") as after:
            status = await after.wait(lambda m: m.topic == f"claimbridge/{site}/status", 5)
            assert status.retain and status.payload == b"offline"
    finally:
        if not stopped:
            await stop_daemon(running)


async def test_username_and_password(tmp_path: Path, sim: Sim, broker: Broker, site: str) -> None:
    config = MqttConfig(url=broker.auth_url, site=site, username=USERNAME, password_file=broker.password_file)
    running = await start_mqtt_daemon(tmp_path, sim, config, pair=False)
    try:
        async with fleet_client(broker.auth_port, site, username=USERNAME, password=PASSWORD, token_file=tmp_path / "token") as pms:
            await wait_online(pms)
            health = await pms.call("system.health")
            assert health["result"]["terminals"][0]["name"] == "front-desk"
    finally:
        await stop_daemon(running)


async def test_wrong_password_never_comes_online(tmp_path: Path, sim: Sim, broker: Broker, site: str) -> None:
    wrong = tmp_path / "wrong-password"
    wrong.write_text("not-it\n")
    config = MqttConfig(url=broker.auth_url, site=site, username=USERNAME, password_file=wrong,
                        reconnect_min_s=0.1, reconnect_max_s=0.2)
    running = await start_mqtt_daemon(tmp_path / "state", sim, config, pair=False)
    try:
        async with fleet_client(broker.auth_port, site, username=USERNAME, password=PASSWORD, token_file=tmp_path / "token") as pms:
            with pytest.raises(TimeoutError):
                await wait_online(pms, timeout=1.5)
    finally:
        await stop_daemon(running)


async def test_broker_restart_mid_claim(tmp_path: Path, sim: Sim, own_broker: Broker, site: str) -> None:
    """The broker dies while the fund thinks: after the reconnect the PMS gets its answer, one claim."""
    config = MqttConfig(url=own_broker.url, site=site, reconnect_min_s=0.1, reconnect_max_s=0.5)
    running = await start_mqtt_daemon(tmp_path, sim, config)
    try:
        sim.clock.set(scale=10)  # the fund takes 30 s sim = 3 s real: time to restart the broker
        await sim.scenario(fundDelayMs=30_000)
        params = claim_request(requestId=f"{site}-restart")
        body = {"jsonrpc": "2.0", "id": "restart-1", "method": "healthpoint.claim", "params": params}
        first_try = b"first-try"
        async with fleet_client(own_broker.port, site, token_file=tmp_path / "token") as pms:
            reply_to = pms.reply_to
            await wait_online(pms)
            await pms.send(body, first_try)
            await pms.wait_event(lambda e: e["method"] == "job.status"
                                 and e["params"]["message"] == "Waiting for health fund response")
            own_broker.stop()
        await asyncio.sleep(0.3)
        own_broker.start()
        async with fleet_client(own_broker.port, site, reply_to=reply_to, token_file=tmp_path / "token") as pms:
            await wait_online(pms, timeout=15)
            try:
                got = await pms.wait(lambda m: m.topic == reply_to and m.correlation == first_try, 15)
                answer = got.json()
            except TimeoutError:  # the answer went out before we re-subscribed: ask again
                answer = await pms.request(body)
            job = answer["result"]
            assert answer["id"] == "restart-1"
            assert job["state"] == "completed" and job["result"]["result"] == "APPROVED"
            # asking again (a PMS that never saw the answer) gives the same job
            again = await pms.request(body)
            assert again["result"]["jobId"] == job["jobId"]
        assert [r["kind"] for r in await sim.ledger()] == ["claim"]
    finally:
        await stop_daemon(running)


async def _spawn_daemon(config: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-c", "from bridge.cli import main; main()", "--config", str(config), "run"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )


async def test_killed_daemon_leaves_its_will_and_gets_queued_requests_on_return(
    tmp_path: Path, sim: Sim, broker: Broker, site: str
) -> None:
    """SIGKILL: the broker publishes the will ("offline"); requests sent meanwhile wait in the session."""
    config = tmp_path / "claimbridge.toml"
    config.write_text(
        f'listen = "127.0.0.1:0"\nstate_dir = "{tmp_path / "state"}"\n'
        f'iclient_url = "{sim.base}/iclient-v1.js"\n'
        f'[mqtt]\nurl = "{broker.url}"\nsite = "{site}"\nreconnect_min_s = 0.1\n'
    )
    proc = await _spawn_daemon(config)
    try:
        async with fleet_client(broker.port, site, token_file=tmp_path / "state" / "token") as pms:
            await wait_online(pms, timeout=30)
            proc.kill()
            proc.wait(10)
            await pms.wait(lambda m: m.topic == f"claimbridge/{site}/status" and m.payload == b"offline", 10)
            correlation = b"while-away"
            await pms.send({"jsonrpc": "2.0", "id": "away", "method": "terminal.list"}, correlation)
            proc = await _spawn_daemon(config)
            got = await pms.wait(lambda m: m.topic == pms.reply_to and m.correlation == correlation, 30)
            assert got.json() == {"jsonrpc": "2.0", "id": "away", "result": []}
    finally:
        proc.kill()
        proc.wait(10)


async def test_tls_with_a_client_certificate(tmp_path: Path, sim: Sim, broker: Broker, site: str) -> None:
    certs = broker.certs
    config = MqttConfig(url=broker.tls_url, site=site, ca_file=certs / "ca.crt",
                        cert_file=certs / "client.crt", key_file=certs / "client.key")
    running = await start_mqtt_daemon(tmp_path, sim, config, pair=False)
    try:
        async with fleet_client(broker.port, site, token_file=tmp_path / "token") as pms:  # the PMS side may use another listener
            await wait_online(pms)
            listed = await pms.call("terminal.list")
            assert [t["name"] for t in listed["result"]] == ["front-desk"]
    finally:
        await stop_daemon(running)


async def test_tls_refuses_a_broker_it_cannot_verify(tmp_path: Path, sim: Sim, broker: Broker, site: str) -> None:
    config = MqttConfig(url=broker.tls_url, site=site, cert_file=broker.certs / "client.crt",
                        key_file=broker.certs / "client.key", reconnect_min_s=0.1, reconnect_max_s=0.2)
    running = await start_mqtt_daemon(tmp_path, sim, config, pair=False)  # system CAs only
    try:
        async with fleet_client(broker.port, site, token_file=tmp_path / "token") as pms:
            with pytest.raises(TimeoutError):
                await wait_online(pms, timeout=1.5)
    finally:
        await stop_daemon(running)


async def test_terminal_state_is_republished_on_a_timer(tmp_path: Path, sim: Sim, broker: Broker, site: str) -> None:
    config = MqttConfig(url=broker.url, site=site, state_interval_s=0.3)
    running = await start_mqtt_daemon(tmp_path, sim, config, pair=False)
    try:
        async with fleet_client(broker.port, site, token_file=tmp_path / "token") as pms:
            await wait_online(pms)
            topic = f"claimbridge/{site}/terminals/front-desk"
            await pms.wait(lambda m: m.topic == topic and len([x for x in pms.messages if x.topic == topic]) >= 3, 5)
            states = {x.payload for x in pms.messages if x.topic == topic}
            assert len(states) == 1  # nothing changed: the same state, again and again
    finally:
        await stop_daemon(running)


def _nodelay_towards(port: int) -> list[int]:
    """TCP_NODELAY of each of this process's sockets connected to ``port`` on loopback."""
    found = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            sock = socket.socket(fileno=os.dup(int(fd)))
        except OSError:
            continue  # not a socket
        with sock:
            try:
                if sock.family in (socket.AF_INET, socket.AF_INET6) and sock.type == socket.SOCK_STREAM \
                        and sock.getpeername()[1] == port:
                    found.append(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            except OSError:
                continue  # not connected, or not TCP
    return found


async def test_the_link_sends_each_publish_at_once(broker: Broker, site: str) -> None:
    """Nagle off on the link's connection (paho leaves it on): an answer published right after a
    job's events would otherwise wait for the broker's PUBACK of them before it left."""
    up = asyncio.Event()

    async def on_up(_: NodeConnection) -> None:
        up.set()

    config = MqttConfig(url=broker.url, site=site)
    conn = NodeConnection(parse_broker_url(broker.url), f"claimbridge-{site}", config, Topics(site),
                          lambda _c, _m: None, on_up, lambda: None)
    task = asyncio.create_task(conn.run())
    try:
        await asyncio.wait_for(up.wait(), 10)
        found = _nodelay_towards(broker.port)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    assert found and all(flag != 0 for flag in found)
