"""MQTT fleet link: the only code that imports ``aiomqtt`` (and its ``paho`` underneath).

Off unless ``[mqtt] url`` is set. The daemon connects *outbound* to a broker (MQTT 5), so a
cloud PMS can reach a clinic without opening an inbound port (INTERFACES.md, "MQTT"):

- ``claimbridge/<site>/request`` (subscribed, QoS 1): JSON-RPC envelopes. Each goes through the
  websocket's :class:`~bridge.dispatcher.Dispatcher` (same methods, same errors) in its own task, and
  the answer is published (QoS 1) to the message's MQTT 5 *response topic* with its
  *correlation data*. A request without a response topic is run but not answered.
- ``claimbridge/<site>/events``: every notification the hub sends (``job.updated``,
  ``job.status``, ``job.question``, ``terminal.pairing``) as a JSON-RPC notification.
- ``claimbridge/<site>/terminals/<name>`` (retained): each terminal as ``terminal.list`` shows
  it, on connect, on change and every ``state_interval_s``.
- ``claimbridge/<site>/status`` (retained): ``online`` once subscribed; ``offline`` on a clean
  stop, and as the last will when the link dies.

QoS 1 means a request may arrive twice (the ``dup`` redelivery). Nothing special is done: the
same ``requestId`` finds the same journal job, so a redelivered claim is never a second claim.
Answers and events wait in one outbox while the broker is away and go out after the reconnect
(with exponential backoff); events beyond :data:`MAX_PENDING` are dropped, answers never.
``aiomqtt.MqttError`` is caught here and only here: the link logs it and reconnects.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any

import aiomqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from bridge import protocol
from bridge.backoff import backoff_delay
from bridge.config import MqttConfig
from bridge.mqtt.topics import Topics, parse_broker_url, valid_response_topic

if TYPE_CHECKING:
    from bridge.hub import Hub
    from bridge.dispatcher import Dispatcher

__all__ = [
    "MAX_PENDING",
    "OFFLINE",
    "ONLINE",
    "MqttLink",
]

log = logging.getLogger("claimbridge.mqtt")

#: Payloads of the retained ``claimbridge/<site>/status`` topic.
ONLINE = b"online"
OFFLINE = b"offline"

#: Messages the outbox holds while the broker is away; further events are dropped (answers never are).
MAX_PENDING = 1000

#: How often terminal states are compared with what was last published.
_STATE_POLL_S = 1.0
#: Seconds a publish (or the broker's PUBACK) may take before the link tries again.
_PUBLISH_TIMEOUT_S = 10.0
#: A connection that lasted this long resets the reconnect backoff.
_STABLE_S = 10.0
#: Seconds given at shutdown to flush the outbox and say "offline".
_SHUTDOWN_GRACE_S = 2.0


# -- the link ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Outgoing:
    topic: str
    payload: bytes
    retain: bool = False
    correlation: bytes | None = None


class _RequestPeer:
    """The hub's view of one MQTT request.

    ``notify`` does nothing on purpose: the link taps *every* notification with
    :meth:`bridge.hub.Hub.listen` and publishes it to the events topic, so sending the job's
    notifications again here would publish each twice.
    """

    def __init__(self, principal: str) -> None:
        #: Every request of one site speaks for the same cloud PMS: they share job ownership.
        self.principal = principal

    async def notify(self, method: str, params: dict[str, Any]) -> None:
        """Already published to ``claimbridge/<site>/events`` by the hub listener."""


def _properties(packet_type: int) -> Properties:
    return Properties(packet_type)  # type: ignore[no-untyped-call]  # paho leaves it untyped


def _payload_bytes(payload: object) -> bytes:
    if isinstance(payload, (bytes, bytearray)):
        return bytes(payload)
    if payload is None:
        return b""
    return str(payload).encode("utf-8")


class MqttLink:
    """The connection to the broker, its receive loop, its outbox and the terminal states.

    Args:
        config: ``[mqtt]``.
        dispatcher: the websocket's JSON-RPC dispatcher.
        hub: notifications to publish.
        terminal_states: returns the terminals as ``terminal.list`` shows them.
        max_payload: the largest request accepted (``max_frame_bytes``).
    """

    def __init__(
        self,
        config: MqttConfig,
        dispatcher: Dispatcher,
        hub: Hub,
        terminal_states: Callable[[], Awaitable[list[dict[str, Any]]]],
        max_payload: int = 1_048_576,
    ) -> None:
        if config.url is None:
            raise ValueError("[mqtt] url is not set")
        self.config = config
        self.address = parse_broker_url(config.url)
        self.topics = Topics(config.site)
        self.identifier = config.client_id or f"claimbridge-{config.site}"
        self._dispatcher = dispatcher
        self._hub = hub
        self._terminal_states = terminal_states
        self._max_payload = max_payload
        self._client: aiomqtt.Client | None = None
        #: Set while subscribed and "online" has been said; tests and the publisher wait on it.
        self.connected = asyncio.Event()
        self._changed = asyncio.Event()
        self._outbox: asyncio.Queue[_Outgoing] = asyncio.Queue()
        self._states_dirty = asyncio.Event()
        self._published_states: dict[str, bytes] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._requests: set[asyncio.Task[None]] = set()
        self._closed = False
        self._dropped = 0

    # -- lifecycle -----------------------------------------------------------------------------

    async def __aenter__(self) -> MqttLink:
        self._hub.listen(self._on_notification)
        loop = asyncio.get_running_loop()
        self._tasks = [
            loop.create_task(self._connection_loop(), name=f"claimbridge[mqtt:{self.config.site}].link"),
            loop.create_task(self._publisher(), name=f"claimbridge[mqtt:{self.config.site}].publisher"),
            loop.create_task(self._state_loop(), name=f"claimbridge[mqtt:{self.config.site}].terminals"),
        ]
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._closed = True
        for task in self._tasks:
            if task.get_name().endswith(".terminals"):
                task.cancel()  # nothing new for the outbox from now on
        for task in list(self._requests):
            task.cancel()
        await asyncio.gather(*self._requests, return_exceptions=True)
        if self._client is not None:
            # Let answers already computed go out, then say goodbye (a clean stop fires no will).
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._outbox.join(), _SHUTDOWN_GRACE_S)
            client = self._client
            if client is not None:
                with contextlib.suppress(aiomqtt.MqttError, TimeoutError):
                    await asyncio.wait_for(
                        client.publish(self.topics.status, OFFLINE, qos=1, retain=True), _SHUTDOWN_GRACE_S
                    )
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    # -- connection ----------------------------------------------------------------------------

    def _make_client(self) -> aiomqtt.Client:
        cfg = self.config
        password: str | None = None
        if cfg.password_file is not None:
            password = cfg.password_file.read_text(encoding="utf-8").strip()
        tls_context: ssl.SSLContext | None = None
        if self.address.tls:
            tls_context = ssl.create_default_context(cafile=str(cfg.ca_file) if cfg.ca_file else None)
            if cfg.cert_file is not None:
                tls_context.load_cert_chain(cfg.cert_file, cfg.key_file)
        connect_properties = _properties(PacketTypes.CONNECT)
        connect_properties.SessionExpiryInterval = cfg.session_expiry_s
        return aiomqtt.Client(
            self.address.host,
            self.address.port,
            username=cfg.username,
            password=password,
            identifier=self.identifier,
            protocol=aiomqtt.ProtocolVersion.V5,
            will=aiomqtt.Will(self.topics.status, OFFLINE, qos=1, retain=True),
            clean_start=False,
            keepalive=cfg.keepalive_s,
            timeout=_PUBLISH_TIMEOUT_S,
            properties=connect_properties,
            tls_context=tls_context,
            logger=logging.getLogger("claimbridge.mqtt.paho"),
        )

    async def _connection_loop(self) -> None:
        """Connect, subscribe, say "online", receive; on any failure back off and start again."""
        loop = asyncio.get_running_loop()
        failures = 0
        where = f"{self.address.host}:{self.address.port}"
        while True:
            up_since: float | None = None
            try:
                client = self._make_client()
                async with client:
                    await client.subscribe(self.topics.request, qos=1)
                    await client.publish(self.topics.status, ONLINE, qos=1, retain=True)
                    self._set_client(client)
                    up_since = loop.time()
                    log.info("MQTT link up: %s as %s, site %s", where, self.identifier, self.config.site)
                    async for message in client.messages:
                        self._on_message(message)
            except aiomqtt.MqttError as exc:
                log.warning("MQTT link to %s down: %s", where, exc)
            except (OSError, ssl.SSLError) as exc:  # password file or certificates unreadable
                log.error("MQTT link to %s cannot start: %s", where, exc)
            except Exception:  # a bug must not end the link for good: log it and reconnect
                log.exception("MQTT link to %s failed unexpectedly", where)
            finally:
                self._set_client(None)
            # A link that drops at once (say, another client took our id) must still back off.
            if up_since is not None and loop.time() - up_since > _STABLE_S:
                failures = 0
            delay = backoff_delay(failures, self.config.reconnect_min_s, self.config.reconnect_max_s)
            failures += 1
            await asyncio.sleep(delay * random.uniform(0.5, 1.0))  # jitter: a fleet must not reconnect in step

    def _set_client(self, client: aiomqtt.Client | None) -> None:
        self._client = client
        if client is None:
            self.connected.clear()
        else:
            self._published_states.clear()  # a new session: publish every terminal again
            self._states_dirty.set()
            self.connected.set()
        self._changed.set()
        self._changed = asyncio.Event()

    async def _current_client(self) -> aiomqtt.Client:
        while self._client is None:
            await self._changed.wait()
        return self._client

    # -- requests ------------------------------------------------------------------------------

    def _on_message(self, message: aiomqtt.Message) -> None:
        if self._closed or not message.topic.matches(self.topics.request):
            return
        task = asyncio.get_running_loop().create_task(
            self._answer(message), name=f"claimbridge[mqtt:{self.config.site}].request"
        )
        self._requests.add(task)
        task.add_done_callback(self._requests.discard)

    async def _answer(self, message: aiomqtt.Message) -> None:
        try:
            await self._answer_one(message)
        except Exception:  # the dispatcher maps its own errors; anything here is a bug
            log.exception("MQTT request failed unexpectedly")

    async def _answer_one(self, message: aiomqtt.Message) -> None:
        payload = _payload_bytes(message.payload)
        if len(payload) > self._max_payload:
            log.warning("MQTT request of %d bytes dropped (max_frame_bytes %d)", len(payload), self._max_payload)
            return
        props = message.properties
        response_topic = getattr(props, "ResponseTopic", None) if props is not None else None
        correlation = getattr(props, "CorrelationData", None) if props is not None else None
        peer = _RequestPeer(f"mqtt:{self.topics.site}")
        try:
            answer = await self._dispatcher.handle_frame(payload, peer)
        finally:
            self._hub.forget(peer)
        if answer is None or response_topic is None:
            return
        if not valid_response_topic(response_topic):
            log.warning("MQTT request with an unusable response topic: answer dropped")
            return
        self._outbox.put_nowait(_Outgoing(
            response_topic, answer.encode("utf-8"),
            correlation=_payload_bytes(correlation) if correlation is not None else None,
        ))

    # -- outbox --------------------------------------------------------------------------------

    def _on_notification(self, method: str, params: dict[str, Any]) -> None:
        """Hub listener: queue the notification for the events topic (never blocks)."""
        if self._closed:
            return
        self._states_dirty.set()
        if self._outbox.qsize() >= MAX_PENDING:
            self._dropped += 1
            if self._dropped == 1 or self._dropped % 100 == 0:
                log.warning("MQTT broker unreachable: %d events dropped so far", self._dropped)
            return
        body = json.dumps(protocol.notification(method, params)).encode("utf-8")
        self._outbox.put_nowait(_Outgoing(self.topics.events, body))

    async def _publisher(self) -> None:
        """Publish the outbox in order; a message that fails is sent again after the reconnect."""
        while True:
            item = await self._outbox.get()
            try:
                await self._publish_until_sent(item)
            except Exception:  # e.g. paho refusing the message: drop it, keep the outbox going
                log.exception("MQTT message to %s dropped", item.topic)
            finally:
                self._outbox.task_done()

    async def _publish_until_sent(self, item: _Outgoing) -> None:
        properties = _properties(PacketTypes.PUBLISH)
        properties.ContentType = "application/json"  # everything in the outbox is JSON
        if item.correlation is not None:
            properties.CorrelationData = item.correlation
        while True:
            client = await self._current_client()
            try:
                await client.publish(item.topic, item.payload, qos=1, retain=item.retain, properties=properties)
                return
            except aiomqtt.MqttError as exc:
                log.debug("MQTT publish to %s failed (%s); retrying after reconnect", item.topic, exc)
            if self._client is client:  # not noticed as lost yet: give the receive loop a moment
                changed = self._changed
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(changed.wait(), 1.0)

    # -- terminal states -----------------------------------------------------------------------

    async def _state_loop(self) -> None:
        """Publish each terminal's state, retained: on (re)connect, on change, and on a timer."""
        loop = asyncio.get_running_loop()
        next_forced = loop.time() + self.config.state_interval_s
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._states_dirty.wait(), _STATE_POLL_S)
            self._states_dirty.clear()
            forced = loop.time() >= next_forced
            if forced:
                next_forced = loop.time() + self.config.state_interval_s
            try:
                states = await self._terminal_states()
            except Exception:  # the journal closing at shutdown must not kill the loop's owner
                log.debug("terminal states unavailable", exc_info=True)
                continue
            for state in states:
                name = str(state.get("name", ""))
                body = json.dumps(state, sort_keys=True).encode("utf-8")
                if forced or self._published_states.get(name) != body:
                    self._published_states[name] = body
                    self._outbox.put_nowait(_Outgoing(self.topics.terminal(name), body, retain=True))

