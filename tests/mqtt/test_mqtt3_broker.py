"""A broker that speaks MQTT 3.1.1 only (Debian's RabbitMQ 3.10 with its MQTT plugin, run as the
current user from a temp dir on loopback): the link names it in one log line, not a timeout
every 10 s, and doctor says the same."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bridge.config import MqttConfig
from tests.daemon_harness import Sim
from tests.mqtt.conftest import start_mqtt_daemon, stop_daemon

pytestmark = pytest.mark.mqtt

RABBITMQ = Path("/usr/lib/rabbitmq/bin/rabbitmq-server")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def rabbitmq(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """RabbitMQ 3.10 with rabbitmq_mqtt on a free loopback port; yields its mqtt:// URL."""
    if not RABBITMQ.exists():
        reason = "Debian's rabbitmq-server is not installed (make test installs it)"
        print(f"\nSKIPPED: {reason}")
        pytest.skip(reason)
    where = tmp_path_factory.mktemp("rabbitmq")
    mqtt_port, amqp_port = _free_port(), _free_port()
    (where / "rabbitmq.conf").write_text(
        f"listeners.tcp.default = 127.0.0.1:{amqp_port}\nmqtt.listeners.tcp.default = 127.0.0.1:{mqtt_port}\n"
        "mqtt.allow_anonymous = true\nloopback_users = none\n")
    (where / "enabled_plugins").write_text("[rabbitmq_mqtt].\n")
    env = {**os.environ, "HOME": str(where), "RABBITMQ_NODENAME": f"rabbit-{os.getpid()}@localhost",
           "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1", "RABBITMQ_NODE_PORT": str(amqp_port),
           "RABBITMQ_DIST_PORT": str(_free_port()), "RABBITMQ_MNESIA_BASE": str(where / "mnesia"),
           "RABBITMQ_LOG_BASE": str(where / "log"), "RABBITMQ_CONFIG_FILE": str(where / "rabbitmq"),
           "RABBITMQ_ENABLED_PLUGINS_FILE": str(where / "enabled_plugins"), "ERL_EPMD_ADDRESS": "127.0.0.1",
           "RABBITMQ_PID_FILE": str(where / "pid")}
    proc = subprocess.Popen([str(RABBITMQ)], env=env, stdout=open(where / "out.log", "wb"), stderr=subprocess.STDOUT)  # noqa: SIM115
    deadline = time.monotonic() + 120
    while True:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", mqtt_port)) == 0:
                break
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"RabbitMQ did not start: {(where / 'out.log').read_text()[-3000:]}")
        time.sleep(0.2)
    yield f"mqtt://127.0.0.1:{mqtt_port}"
    proc.terminate()
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


async def test_the_link_names_a_broker_without_mqtt5_once(tmp_path: Path, sim: Sim, rabbitmq: str,
                                                          caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="claimbridge.mqtt")
    config = MqttConfig(url=rabbitmq, site="rabbit", reconnect_min_s=0.1, reconnect_max_s=0.2)
    running = await start_mqtt_daemon(tmp_path, sim, config, pair=False)
    try:
        def named() -> list[logging.LogRecord]:
            return [r for r in caplog.records if "does not speak MQTT 5" in r.getMessage()]

        for _ in range(600):
            if named():
                break
            await asyncio.sleep(0.1)
        assert named(), caplog.text
        attempts = sum("MQTT link to" in r.getMessage() and "down" in r.getMessage() for r in caplog.records)
        for _ in range(300):  # until the link has tried again at least once more
            if sum("MQTT link to" in r.getMessage() and "down" in r.getMessage() for r in caplog.records) > attempts:
                break
            await asyncio.sleep(0.1)
        assert len(named()) == 1, "named once, not at every reconnect"
        assert named()[0].levelno == logging.ERROR and "127.0.0.1:" in named()[0].getMessage()
    finally:
        await stop_daemon(running)


def test_doctor_names_a_broker_without_mqtt5(tmp_path: Path, rabbitmq: str) -> None:
    config = tmp_path / "claimbridge.toml"
    config.write_text(f'listen = "127.0.0.1:1"\nstate_dir = "{tmp_path / "state"}"\n'
                      f'iclient_url = "http://127.0.0.1:1/x.js"\n[mqtt]\nurl = "{rabbitmq}"\n')
    out = subprocess.run([sys.executable, "-c", "from bridge.cli import main; raise SystemExit(main())",
                          "--config", str(config), "doctor"], capture_output=True, text=True, timeout=120)
    assert f"[FAIL] mqtt {rabbitmq}: MQTT broker 127.0.0.1:" in out.stdout, out.stdout
    assert "does not speak MQTT 5 (it accepts MQTT 3.1.1 only)" in out.stdout
