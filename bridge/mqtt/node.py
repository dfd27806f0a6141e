"""One broker node's connection: the only code that opens an ``aiomqtt`` client (and ``paho``
underneath) for the fleet link.

A broker's session lives on one node (ejabberd keeps it there; a node that dies takes it with
it), so :class:`~bridge.mqtt.link.MqttLink` holds one :class:`NodeConnection` per URL in
``[mqtt] urls`` at once, each with its own client id and its own QoS 1 subscription to the
request topic. Each connection, every time it comes up, subscribes, says ``online`` (retained)
and publishes every terminal's state again (retained), so no node keeps a stale one after a
crash. A broker that refuses MQTT 5 but takes MQTT 3.1.1 is named so in one log line
(:func:`speaks_only_mqtt3`); ``aiomqtt.MqttError`` is caught here and only here.
"""

from __future__ import annotations

import asyncio
import logging
import random
import socket
import ssl
import uuid
from collections.abc import Awaitable, Callable

import aiomqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from bridge.backoff import backoff_delay
from bridge.config import MqttConfig
from bridge.mqtt.topics import BrokerAddress, Topics, parse_broker_url

__all__ = ["NO_MQTT5", "NO_NAGLE", "OFFLINE", "ONLINE", "NodeConnection", "probe_mqtt5", "properties", "speaks_only_mqtt3"]

log = logging.getLogger("claimbridge.mqtt")

#: Payload of the retained ``claimbridge/<site>/status`` topic while the link is up, and after.
ONLINE = b"online"
OFFLINE = b"offline"

#: The one log line (and doctor's) for a broker that takes MQTT 3.1.1 and not MQTT 5.
NO_MQTT5 = ("MQTT broker {where} does not speak MQTT 5 (it accepts MQTT 3.1.1 only): claimbridge needs "
            "MQTT 5 (response topic, correlation data, user properties); use a broker with MQTT 5 "
            "(mosquitto, EMQX, HiveMQ, ejabberd's mod_mqtt, RabbitMQ 3.13 or later)")

#: Seconds a publish (or the broker's PUBACK) may take before the link tries again.
PUBLISH_TIMEOUT_S = 10.0
#: Nagle's algorithm off (paho leaves it on): an answer published right after the job's events
#: would otherwise wait for the broker's acknowledgement of them, a round trip, before it left.
NO_NAGLE = ((socket.IPPROTO_TCP, socket.TCP_NODELAY, 1),)
#: A connection that lasted this long resets the reconnect backoff.
_STABLE_S = 10.0
#: CONNACK reason codes that mean "not you" rather than "not MQTT 5" (3.1.1: 4, 5; 5: 0x86, 0x87).
_REFUSED_CREDENTIALS = frozenset({4, 5, 0x86, 0x87})


def properties(packet_type: int) -> Properties:
    """An empty MQTT 5 property set for ``packet_type``."""
    return Properties(packet_type)  # type: ignore[no-untyped-call]  # paho leaves it untyped


def _tls(address: BrokerAddress, config: MqttConfig) -> ssl.SSLContext | None:
    if not address.tls:
        return None
    context = ssl.create_default_context(cafile=str(config.ca_file) if config.ca_file else None)
    if config.cert_file is not None:
        context.load_cert_chain(config.cert_file, config.key_file)
    return context


def _password(config: MqttConfig) -> str | None:
    if config.password_file is None:
        return None
    return config.password_file.read_text(encoding="utf-8").strip()


async def speaks_only_mqtt3(address: BrokerAddress, config: MqttConfig, timeout_s: float = 5.0) -> bool:
    """Whether the broker takes an MQTT 3.1.1 connection (asked after an MQTT 5 one failed)."""
    client = aiomqtt.Client(
        address.host, address.port, username=config.username, password=_password(config),
        identifier=f"claimbridge-probe-{uuid.uuid4().hex[:8]}", protocol=aiomqtt.ProtocolVersion.V311,
        clean_session=True, timeout=timeout_s, tls_context=_tls(address, config),
        logger=logging.getLogger("claimbridge.mqtt.paho"),
    )
    try:
        async with client:
            return True
    except (aiomqtt.MqttError, OSError, ssl.SSLError):
        return False


async def probe_mqtt5(url: str, config: MqttConfig, timeout_s: float = 5.0) -> tuple[bool, str]:
    """Doctor's check of one node: an MQTT 5 connection (with the link's credentials) and why not."""
    address = parse_broker_url(url)
    client = aiomqtt.Client(
        address.host, address.port, username=config.username, password=_password(config),
        identifier=f"claimbridge-doctor-{uuid.uuid4().hex[:8]}", protocol=aiomqtt.ProtocolVersion.V5,
        timeout=timeout_s, tls_context=_tls(address, config), logger=logging.getLogger("claimbridge.mqtt.paho"),
    )
    try:
        async with client:
            return True, "MQTT 5 connection accepted"
    except (aiomqtt.MqttError, OSError, ssl.SSLError) as exc:
        if getattr(exc, "rc", None) not in _REFUSED_CREDENTIALS and await speaks_only_mqtt3(address, config, timeout_s):
            return False, NO_MQTT5.format(where=f"{address.host}:{address.port}")
        return False, f"cannot connect: {exc}"


class NodeConnection:
    """One node of the broker cluster: connect, subscribe, receive; back off and start again.

    Args:
        address: the node.
        identifier: this connection's client id (one per node: ids are cluster-wide).
        config: ``[mqtt]``.
        topics: the site's topics.
        on_message: called with each message received (the link runs it once).
        on_up: awaited each time the connection is up (publish the retained state through it).
        on_change: called when the connection comes up or goes down.
    """

    def __init__(
        self,
        address: BrokerAddress,
        identifier: str,
        config: MqttConfig,
        topics: Topics,
        on_message: Callable[[NodeConnection, aiomqtt.Message], None],
        on_up: Callable[[NodeConnection], Awaitable[None]],
        on_change: Callable[[], None],
    ) -> None:
        self.address = address
        self.identifier = identifier
        self.where = f"{address.host}:{address.port}"
        self._config = config
        self._topics = topics
        self._on_message = on_message
        self._on_up = on_up
        self._on_change = on_change
        #: The live client, while subscribed.
        self.client: aiomqtt.Client | None = None
        #: Set while the connection is down (a publish through it gives up at once).
        self.lost = asyncio.Event()
        self.lost.set()
        self._said_no_mqtt5 = False

    def _make_client(self) -> aiomqtt.Client:
        cfg = self._config
        connect_properties = properties(PacketTypes.CONNECT)
        connect_properties.SessionExpiryInterval = cfg.session_expiry_s
        return aiomqtt.Client(
            self.address.host,
            self.address.port,
            username=cfg.username,
            password=_password(cfg),
            identifier=self.identifier,
            protocol=aiomqtt.ProtocolVersion.V5,
            will=aiomqtt.Will(self._topics.status, OFFLINE, qos=1, retain=True),
            clean_start=False,
            keepalive=cfg.keepalive_s,
            timeout=PUBLISH_TIMEOUT_S,
            properties=connect_properties,
            tls_context=_tls(self.address, cfg),
            logger=logging.getLogger("claimbridge.mqtt.paho"),
            socket_options=NO_NAGLE,
        )

    async def run(self) -> None:
        """Connect, subscribe, announce, receive; on any failure back off and start again."""
        loop = asyncio.get_running_loop()
        failures = 0
        while True:
            up_since: float | None = None
            try:
                client = self._make_client()
                async with client:
                    await client.subscribe(self._topics.request, qos=1)
                    self._set(client)
                    up_since = loop.time()
                    log.info("MQTT link up: %s as %s, site %s", self.where, self.identifier, self._topics.site)
                    await self._on_up(self)
                    async for message in client.messages:
                        self._on_message(self, message)
            except aiomqtt.MqttError as exc:
                log.warning("MQTT link to %s down: %s", self.where, exc)
                if up_since is None:
                    await self._check_mqtt5(exc)
            except (OSError, ssl.SSLError) as exc:  # password file or certificates unreadable
                log.error("MQTT link to %s cannot start: %s", self.where, exc)
            except Exception:  # a bug must not end the link for good: log it and reconnect
                log.exception("MQTT link to %s failed unexpectedly", self.where)
            finally:
                self._set(None)
            # A link that drops at once (say, another client took our id) must still back off.
            if up_since is not None and loop.time() - up_since > _STABLE_S:
                failures = 0
            delay = backoff_delay(failures, self._config.reconnect_min_s, self._config.reconnect_max_s)
            failures += 1
            await asyncio.sleep(delay * random.uniform(0.5, 1.0))  # jitter: a fleet must not reconnect in step

    async def _check_mqtt5(self, exc: aiomqtt.MqttError) -> None:
        """After a failed MQTT 5 connect: say once if the broker speaks MQTT 3.1.1 only."""
        if self._said_no_mqtt5 or getattr(exc, "rc", None) in _REFUSED_CREDENTIALS:
            return
        if await speaks_only_mqtt3(self.address, self._config):
            self._said_no_mqtt5 = True
            log.error(NO_MQTT5.format(where=self.where))

    def _set(self, client: aiomqtt.Client | None) -> None:
        self.client = client
        if client is None:
            self.lost.set()
        else:
            self.lost.clear()
        self._on_change()

    async def publish(self, topic: str, payload: bytes, *, retain: bool = False,
                      props: Properties | None = None) -> None:
        """Publish at QoS 1 through this node, giving up as soon as the connection is lost.

        Raises:
            ConnectionError: the node is down, or went down before the broker acknowledged.
        """
        client = self.client
        if client is None:
            raise ConnectionError(f"{self.where} is down")
        sending = asyncio.ensure_future(client.publish(topic, payload, qos=1, retain=retain, properties=props))
        lost = asyncio.ensure_future(self.lost.wait())
        try:
            await asyncio.wait({sending, lost}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            lost.cancel()
        if not sending.done():
            sending.cancel()
            raise ConnectionError(f"{self.where} went down before acknowledging")
        try:
            sending.result()
        except aiomqtt.MqttError as exc:
            raise ConnectionError(f"{self.where}: {exc}") from exc

    def info(self) -> dict[str, object]:
        """The connection as a log or doctor line shows it."""
        return {"node": self.where, "id": self.identifier, "up": self.client is not None}
