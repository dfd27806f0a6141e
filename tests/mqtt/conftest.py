"""A real mosquitto for the MQTT link tests, and a small MQTT 5 JSON-RPC client.

The broker listens on two free loopback ports: one anonymous, one that wants a username and a
password (``per_listener_settings``). Each test uses its own site name so topics never cross on
the shared broker; the broker-restart test gets a broker of its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import socket
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiomqtt
import pytest
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from bridge.config import MqttConfig
from tests.daemon_harness import FRONT_DESK, Running, Sim, make_settings, start_daemon, stop_daemon

MOSQUITTO = Path("/usr/sbin/mosquitto")
MOSQUITTO_PASSWD = Path("/usr/bin/mosquitto_passwd")
USERNAME = "clinic"
PASSWORD = "s3cret-for-tests"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _make_certificates(where: Path) -> Path:
    """A throwaway CA, a server certificate for 127.0.0.1 and a client certificate (EC keys: fast)."""
    where.mkdir()

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], check=True, cwd=where, capture_output=True)

    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    openssl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.crt", "-days", "2", "-subj", "/CN=claimbridge-test-ca")
    (where / "server.ext").write_text("subjectAltName=IP:127.0.0.1\n")
    (where / "client.ext").write_text("extendedKeyUsage=clientAuth\n")
    for name, cn in (("server", "127.0.0.1"), ("client", "clinic-tls")):
        openssl("req", *ec, "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={cn}")
        openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
                "-out", f"{name}.crt", "-days", "2", "-extfile", f"{name}.ext")
    return where


class Broker:
    """One mosquitto process; stop() and start() keep its ports (the restart test needs that)."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.port = _free_port()
        self.auth_port = _free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        passwd = workdir / "passwd"
        subprocess.run([str(MOSQUITTO_PASSWD), "-b", "-c", str(passwd), USERNAME, PASSWORD], check=True)
        passwd.chmod(0o600)
        self.password_file = workdir / "password.txt"
        self.password_file.write_text(PASSWORD + "\n")
        self.tls_port = _free_port()
        self.certs = _make_certificates(workdir / "certs")
        self.conf = workdir / "mosquitto.conf"
        self.conf.write_text("\n".join([
            "per_listener_settings true",
            "user root",
            "persistence false",
            f"log_dest file {workdir / 'mosquitto.log'}",
            "log_type error",
            "log_type warning",
            "log_type notice",
            "log_type information",
            f"listener {self.port} 127.0.0.1",
            "allow_anonymous true",
            f"listener {self.auth_port} 127.0.0.1",
            "allow_anonymous false",
            f"password_file {passwd}",
            # TLS with client certificates: the certificate's CN is the username
            f"listener {self.tls_port} 127.0.0.1",
            f"cafile {self.certs / 'ca.crt'}",
            f"certfile {self.certs / 'server.crt'}",
            f"keyfile {self.certs / 'server.key'}",
            "require_certificate true",
            "use_identity_as_username true",
            "allow_anonymous false",
            "",
        ]))

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    @property
    def tls_url(self) -> str:
        return f"mqtts://127.0.0.1:{self.tls_port}"

    @property
    def auth_url(self) -> str:
        return f"mqtt://127.0.0.1:{self.auth_port}"

    def start(self) -> None:
        assert self.proc is None
        self.proc = subprocess.Popen([str(MOSQUITTO), "-c", str(self.conf)], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        for port in (self.port, self.auth_port, self.tls_port):
            while True:
                with socket.socket() as s:
                    if s.connect_ex(("127.0.0.1", port)) == 0:
                        break
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"mosquitto did not start: {self.log()}")
                time.sleep(0.02)

    def stop(self) -> None:
        if self.proc is None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
        self.proc = None

    def log(self) -> str:
        path = self.workdir / "mosquitto.log"
        return path.read_text() if path.exists() else ""


@pytest.fixture(scope="session")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    """The shared broker for the session."""
    if not MOSQUITTO.exists():
        pytest.skip("mosquitto is not installed (make test installs it)")
    b = Broker(tmp_path_factory.mktemp("mosquitto"))
    b.start()
    yield b
    b.stop()


@pytest.fixture
def own_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    """A broker for one test only (the test may stop and start it)."""
    if not MOSQUITTO.exists():
        pytest.skip("mosquitto is not installed (make test installs it)")
    b = Broker(tmp_path_factory.mktemp("mosquitto-own"))
    b.start()
    yield b
    b.stop()


@pytest.fixture
def site(request: pytest.FixtureRequest) -> str:
    """A site name of this test's own."""
    base = re.sub(r"[^A-Za-z0-9_-]", "-", request.node.name)[:40]
    return f"{base}-{uuid.uuid4().hex[:6]}"


@dataclass
class Received:
    topic: str
    payload: bytes
    retain: bool
    correlation: bytes | None

    def json(self) -> Any:
        return json.loads(self.payload)


@dataclass
class FleetClient:
    """What a cloud PMS does: publish requests with a response topic, watch events and states."""

    client: aiomqtt.Client
    site: str
    messages: list[Received] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    reply_to: str = ""
    #: The client token requests carry (user property ``authorization``), read when sending.
    token_file: Path | None = None
    token: str | None = None
    #: Why the connection to the broker ended, once it has (waits then fail saying so).
    lost: str | None = None

    @property
    def request_topic(self) -> str:
        return f"claimbridge/{self.site}/request"

    async def send(self, body: Any, correlation: bytes | None = None, *, answer: bool = True) -> None:
        props = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
        if answer:
            props.ResponseTopic = self.reply_to
        if correlation is not None:
            props.CorrelationData = correlation
        token = self.token or (self.token_file.read_text().strip() if self.token_file is not None else None)
        if token is not None:
            props.UserProperty = ("authorization", f"Bearer {token}")
        payload = body if isinstance(body, (str, bytes)) else json.dumps(body)
        await self.client.publish(self.request_topic, payload, qos=1, properties=props)

    async def request(self, body: Any, timeout: float = 60) -> Any:
        """Send a frame with a fresh correlation id; return the parsed answer (object or batch)."""
        correlation = uuid.uuid4().bytes
        await self.send(body, correlation)
        got = await self.wait(lambda m: m.topic == self.reply_to and m.correlation == correlation, timeout)
        return got.json()

    async def call(self, method: str, params: Any = None, timeout: float = 60) -> dict[str, Any]:
        body: dict[str, Any] = {"jsonrpc": "2.0", "id": uuid.uuid4().hex, "method": method}
        if params is not None:
            body["params"] = params
        answer: dict[str, Any] = await self.request(body, timeout)
        assert answer["id"] == body["id"]
        return answer

    async def call_resending(self, method: str, every: float, timeout: float) -> tuple[dict[str, Any], int]:
        """What a cloud PMS does when a read gets no answer: ask again (a new id each time) every
        ``every`` seconds until ``timeout``. Returns the answer and how many times it asked again.

        A broker can lose a publish outright: ejabberd 23.01 kills the session of a subscriber it
        routes to while a dead peer node is not yet noticed (``badmatch`` in
        ``mod_mqtt_mnesia:mqtree_multi_match``), and what was published meanwhile reaches nobody.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        resent = 0
        while True:
            try:
                return await self.call(method, timeout=min(every, max(deadline - loop.time(), 0.1))), resent
            except TimeoutError:
                if loop.time() >= deadline:
                    raise
                resent += 1

    async def wait(self, pred: Callable[[Received], bool], timeout: float = 30) -> Received:
        async def scan() -> Received:
            while True:
                for m in self.messages:
                    if pred(m):
                        return m
                if self.lost is not None:
                    raise ConnectionError(f"the fleet client's broker connection ended: {self.lost}")
                self.arrived.clear()
                await self.arrived.wait()

        return await asyncio.wait_for(scan(), timeout)

    def events(self, method: str | None = None) -> list[dict[str, Any]]:
        out = [m.json() for m in self.messages if m.topic == f"claimbridge/{self.site}/events"]
        return [e for e in out if method is None or e["method"] == method]

    async def wait_event(self, pred: Callable[[dict[str, Any]], bool], timeout: float = 30) -> dict[str, Any]:
        got = await self.wait(
            lambda m: m.topic == f"claimbridge/{self.site}/events" and pred(m.json()), timeout
        )
        event: dict[str, Any] = got.json()
        return event


@contextlib.asynccontextmanager
async def fleet_client(
    url_port: int, site: str, *, username: str | None = None, password: str | None = None,
    reply_to: str | None = None, token_file: Path | None = None, token: str | None = None,
) -> AsyncIterator[FleetClient]:
    """Connect a fleet client subscribed to its reply topic and everything under the site; its
    requests carry the token (given, or read from ``token_file`` when sending)."""
    async with aiomqtt.Client(
        "127.0.0.1", url_port, protocol=aiomqtt.ProtocolVersion.V5, identifier=f"pms-{uuid.uuid4().hex[:8]}",
        username=username, password=password,
    ) as client:
        fc = FleetClient(client, site, reply_to=reply_to or f"pms/{site}/replies/{uuid.uuid4().hex[:8]}",
                         token_file=token_file, token=token)

        async def read() -> None:
            try:
                async for message in client.messages:
                    props = message.properties
                    corr = getattr(props, "CorrelationData", None) if props is not None else None
                    payload = message.payload if isinstance(message.payload, bytes) else str(message.payload).encode()
                    fc.messages.append(Received(str(message.topic), payload, bool(message.retain), corr))
                    fc.arrived.set()
            except aiomqtt.MqttError as exc:
                fc.lost = str(exc) or type(exc).__name__
                fc.arrived.set()

        await client.subscribe(fc.reply_to, qos=1)
        await client.subscribe(f"claimbridge/{site}/#", qos=1)
        reader = asyncio.get_running_loop().create_task(read(), name="test-fleet-reader")
        try:
            yield fc
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader


async def wait_online(fc: FleetClient, timeout: float = 20) -> None:
    """Wait until the daemon's link says "online" for the site."""
    await fc.wait(lambda m: m.topic == f"claimbridge/{fc.site}/status" and m.payload == b"online", timeout)


async def start_mqtt_daemon(tmp_path: Path, sim: Sim, mqtt: MqttConfig, *, pair: bool = True) -> Running:
    """A daemon with front-desk (paired unless told otherwise) and the MQTT link on."""
    running = await start_daemon(make_settings(tmp_path, sim, mqtt=mqtt, transaction_timeout_s=30), sim)
    if pair:
        result = await running.pair(*FRONT_DESK)
        assert result["status"] == "success", result
    return running


__all__ = [
    "PASSWORD",
    "USERNAME",
    "Broker",
    "FleetClient",
    "fleet_client",
    "start_mqtt_daemon",
    "stop_daemon",
    "wait_online",
]
