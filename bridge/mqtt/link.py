"""MQTT fleet link: requests in, answers, events and terminal states out, over every node of a
broker cluster at once (the connections themselves are :mod:`bridge.mqtt.node`'s).

Off unless ``[mqtt] urls`` (or ``url``) is set. The daemon connects *outbound* to the broker
(MQTT 5), so a cloud PMS can reach a clinic without opening an inbound port (INTERFACES.md,
"MQTT" and "The fleet link on a clustered broker"):

- ``claimbridge/<site>/request`` (subscribed at QoS 1 on *every* node: a broker's session dies
  with its node, so a request published on any node while another is down still arrives):
  JSON-RPC envelopes. Each carries a client token as the MQTT 5 user property
  ``authorization: Bearer <token>``; the client's role applies as on the websocket (no valid
  token: every method answers -32006 with ``role: null``). Each goes through the websocket's
  :class:`~bridge.dispatcher.Dispatcher` in its own task, and the answer is published (QoS 1)
  to the message's *response topic* with its *correlation data*. The cluster routes one
  publish to each of our connections: a request is run and answered once
  (:class:`~bridge.mqtt.topics.RecentRequests`); one delivered again later (QoS 1) is answered
  again with the same job (requests are idempotent by ``requestId``).
- ``claimbridge/<site>/events``: every notification the hub sends, as a JSON-RPC notification
  whose params carry the job's ``seq`` (the journal's change number), so a subscriber drops a
  repeat.
- ``claimbridge/<site>/terminals/<name>`` (retained): each terminal as ``terminal.list``
  shows it, through each node every time it connects, on change and every ``state_interval_s``.
- ``claimbridge/<site>/status`` (retained): ``online`` while any node is connected;
  ``offline`` on a clean stop, and as each connection's last will.

Answers and events wait in one outbox and go out, in order, through the first node that is up;
a publish whose node goes down before the broker acknowledges it is sent again through another
at once, and so are the events a node acknowledged in its last :data:`REPLAY_S` seconds (it may
have died before routing them). Events beyond :data:`MAX_PENDING` are dropped while no node is up, answers never.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any

import aiomqtt
from paho.mqtt.packettypes import PacketTypes

from bridge import protocol
from bridge.config import MqttConfig
from bridge.mqtt.node import OFFLINE, ONLINE, NodeConnection, properties
from bridge.mqtt.topics import RecentRequests, Topics, bearer_token, parse_broker_url, request_key, valid_response_topic
from bridge.roles import NOBODY, ClientIdentity

if TYPE_CHECKING:
    from bridge.clients import ClientRegistry
    from bridge.dispatcher import Dispatcher
    from bridge.hub import Hub

__all__ = [
    "MAX_PENDING",
    "OFFLINE",
    "ONLINE",
    "MqttLink",
]

log = logging.getLogger("claimbridge.mqtt")

#: Messages the outbox holds while no node is up; further events are dropped (answers never are).
MAX_PENDING = 1000

#: How often terminal states are compared with what was last published.
_STATE_POLL_S = 1.0
#: Seconds given at shutdown to flush the outbox and say "offline".
_SHUTDOWN_GRACE_S = 2.0
#: Events a node acknowledged within this many seconds before it went down are published again
#: through another node: a node that dies may not have routed them yet (subscribers drop the
#: repeats by ``seq``).
REPLAY_S = 5.0


@dataclass(frozen=True, slots=True)
class _Outgoing:
    topic: str
    payload: bytes
    retain: bool = False
    correlation: bytes | None = None


class _RequestPeer:
    """The hub's view of one MQTT request, and the client its token names.

    ``notify`` does nothing on purpose: the link taps *every* notification with
    :meth:`bridge.hub.Hub.listen` and publishes it to the events topic, so sending the job's
    notifications again here would publish each twice.
    """

    def __init__(self, client: ClientIdentity | None) -> None:
        #: Checked against the role table by the dispatcher; history's ``by`` (None: the link
        #: runs without client tokens, in tests of the link alone: held to no role).
        self.client = client
        #: Requests of one client share job ownership (answer or abort its own jobs).
        self.principal = f"mqtt:{client.name if client is not None else ''}"

    async def notify(self, method: str, params: dict[str, Any]) -> None:
        """Already published to ``claimbridge/<site>/events`` by the hub listener."""


def _payload_bytes(payload: object) -> bytes:
    if isinstance(payload, (bytes, bytearray)):
        return bytes(payload)
    if payload is None:
        return b""
    return str(payload).encode("utf-8")


def _node_ids(identifier: str, count: int) -> list[str]:
    """One client id per node (ids are cluster-wide): the configured one alone, or numbered."""
    return [identifier] if count == 1 else [f"{identifier}-{n}" for n in range(1, count + 1)]


class MqttLink:
    """The connections to the broker's nodes, the requests, the outbox and the terminal states.

    Args:
        config: ``[mqtt]``.
        dispatcher: the websocket's JSON-RPC dispatcher.
        hub: notifications to publish (and each job's ``seq``).
        terminal_states: returns the terminals as ``terminal.list`` shows them.
        clients: the client tokens requests must carry (None: every request speaks for the
            daemon itself; only tests of the link alone do that).
        max_payload: the largest request accepted (``max_frame_bytes``).
    """

    def __init__(
        self,
        config: MqttConfig,
        dispatcher: Dispatcher,
        hub: Hub,
        terminal_states: Callable[[], Awaitable[list[dict[str, Any]]]],
        clients: ClientRegistry | None = None,
        max_payload: int = 1_048_576,
    ) -> None:
        urls = config.broker_urls
        if not urls:
            raise ValueError("[mqtt] urls is not set")
        self.config = config
        self.topics = Topics(config.site)
        self.identifier = config.client_id or f"claimbridge-{config.site}"
        self.nodes = [
            NodeConnection(parse_broker_url(url), ident, config, self.topics, self._on_message, self._on_up,
                           self._on_change)
            for url, ident in zip(urls, _node_ids(self.identifier, len(urls)), strict=True)
        ]
        self._dispatcher = dispatcher
        self._hub = hub
        self._terminal_states = terminal_states
        self._clients = clients
        self._max_payload = max_payload
        #: Set while any node is connected and subscribed; tests and the publisher wait on it.
        self.connected = asyncio.Event()
        self._changed = asyncio.Event()
        self._outbox: asyncio.Queue[_Outgoing] = asyncio.Queue()
        self._states_dirty = asyncio.Event()
        self._published_states: dict[str, bytes] = {}
        self._recent = RecentRequests()
        self._sent: dict[int, collections.deque[tuple[float, _Outgoing]]] = {id(n): collections.deque() for n in self.nodes}
        self._tasks: list[asyncio.Task[None]] = []
        self._requests: set[asyncio.Task[None]] = set()
        self._closed = False
        self._dropped = 0
        #: Requests run (after dropping the copies other nodes delivered), for tests and bench.
        self.requests_run = 0
        self.duplicates_dropped = 0

    # -- lifecycle -----------------------------------------------------------------------------

    async def __aenter__(self) -> MqttLink:
        self._hub.listen(self._on_notification)
        loop = asyncio.get_running_loop()
        site = self.config.site
        self._tasks = [
            loop.create_task(node.run(), name=f"claimbridge[mqtt:{site}].link[{node.where}]") for node in self.nodes
        ]
        self._tasks += [
            loop.create_task(self._publisher(), name=f"claimbridge[mqtt:{site}].publisher"),
            loop.create_task(self._state_loop(), name=f"claimbridge[mqtt:{site}].terminals"),
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
        if self.connected.is_set():
            # Let answers already computed go out, then say goodbye (a clean stop fires no will).
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._outbox.join(), _SHUTDOWN_GRACE_S)
            for node in self.nodes:
                with contextlib.suppress(ConnectionError, TimeoutError):
                    await asyncio.wait_for(node.publish(self.topics.status, OFFLINE, retain=True), _SHUTDOWN_GRACE_S)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    # -- nodes ---------------------------------------------------------------------------------

    def _on_change(self) -> None:
        now = asyncio.get_running_loop().time()
        for node in self.nodes:
            sent = self._sent[id(node)]
            if node.client is None and sent and not self._closed:
                again = [item for at, item in sent if now - at <= REPLAY_S]
                sent.clear()
                if again:
                    log.info("MQTT node %s went down: %d recent events published again", node.where, len(again))
                for item in again:
                    self._outbox.put_nowait(item)
        if any(node.client is not None for node in self.nodes):
            self.connected.set()
        else:
            self.connected.clear()
        self._changed.set()
        self._changed = asyncio.Event()

    async def _on_up(self, node: NodeConnection) -> None:
        """A node connected: say "online" and publish every terminal's state through it (its
        retained copies may be stale after a crash), retained."""
        try:
            await node.publish(self.topics.status, ONLINE, retain=True)
            for state in await self._terminal_states():
                await node.publish(self.topics.terminal(str(state.get("name", ""))),
                                   json.dumps(state, sort_keys=True).encode("utf-8"), retain=True)
        except ConnectionError as exc:
            log.debug("MQTT node %s lost while announcing: %s", node.where, exc)
        except Exception:  # the journal closing at shutdown must not end the connection's loop
            log.debug("terminal states unavailable for %s", node.where, exc_info=True)
        for other in self.nodes:
            if other is not node and other.client is not None:
                # A connection that dropped left its will ("offline") behind: say "online" again.
                with contextlib.suppress(ConnectionError):
                    await other.publish(self.topics.status, ONLINE, retain=True)
                break

    async def _up_node(self) -> NodeConnection:
        while True:
            for node in self.nodes:
                if node.client is not None:
                    return node
            await self._changed.wait()

    # -- requests ------------------------------------------------------------------------------

    def _on_message(self, node: NodeConnection, message: aiomqtt.Message) -> None:
        if self._closed or not message.topic.matches(self.topics.request):
            return
        payload = _payload_bytes(message.payload)
        props = message.properties
        response_topic = getattr(props, "ResponseTopic", None) if props is not None else None
        correlation = getattr(props, "CorrelationData", None) if props is not None else None
        corr = _payload_bytes(correlation) if correlation is not None else None
        key = request_key(response_topic if isinstance(response_topic, str) else None, corr, payload)
        if not self._recent.first(key, asyncio.get_running_loop().time()):
            self.duplicates_dropped += 1
            log.debug("MQTT request from %s already taken through another node: dropped", node.where)
            return
        self.requests_run += 1
        users = getattr(props, "UserProperty", None) if props is not None else None
        task = asyncio.get_running_loop().create_task(
            self._answer(payload, response_topic, corr, bearer_token(users)),
            name=f"claimbridge[mqtt:{self.config.site}].request",
        )
        self._requests.add(task)
        task.add_done_callback(self._requests.discard)

    def _client_for(self, token: str | None) -> ClientIdentity | None:
        if self._clients is None:
            return None
        return self._clients.identify(token) or NOBODY

    async def _answer(self, payload: bytes, response_topic: object, correlation: bytes | None,
                      token: str | None) -> None:
        try:
            if len(payload) > self._max_payload:
                log.warning("MQTT request of %d bytes dropped (max_frame_bytes %d)", len(payload), self._max_payload)
                return
            peer = _RequestPeer(self._client_for(token))
            try:
                answer = await self._dispatcher.handle_frame(payload, peer)
            finally:
                self._hub.forget(peer)
            if answer is None or response_topic is None:
                return
            if not valid_response_topic(response_topic):
                log.warning("MQTT request with an unusable response topic: answer dropped")
                return
            self._outbox.put_nowait(_Outgoing(str(response_topic), answer.encode("utf-8"), correlation=correlation))
        except Exception:  # the dispatcher maps its own errors; anything here is a bug
            log.exception("MQTT request failed unexpectedly")

    # -- outbox --------------------------------------------------------------------------------

    def _on_notification(self, method: str, params: dict[str, Any]) -> None:
        """Hub listener: queue the notification, with its job's ``seq``, for the events topic."""
        if self._closed:
            return
        self._states_dirty.set()
        if self._outbox.qsize() >= MAX_PENDING:
            self._dropped += 1
            if self._dropped == 1 or self._dropped % 100 == 0:
                log.warning("MQTT broker unreachable: %d events dropped so far", self._dropped)
            return
        job_id = params.get("jobId") or (params.get("job") or {}).get("jobId")
        seq = self._hub.seq_of(str(job_id)) if job_id else None
        body = json.dumps(protocol.notification(method, params if seq is None else {**params, "seq": seq}))
        self._outbox.put_nowait(_Outgoing(self.topics.events, body.encode("utf-8")))

    async def _publisher(self) -> None:
        """Publish the outbox in order; a message that fails goes out through another node."""
        while True:
            item = await self._outbox.get()
            try:
                await self._publish_until_sent(item)
            except Exception:  # e.g. paho refusing the message: drop it, keep the outbox going
                log.exception("MQTT message to %s dropped", item.topic)
            finally:
                self._outbox.task_done()

    async def _publish_until_sent(self, item: _Outgoing) -> None:
        props = properties(PacketTypes.PUBLISH)
        props.ContentType = "application/json"  # everything in the outbox is JSON
        if item.correlation is not None:
            props.CorrelationData = item.correlation
        while True:
            node = await self._up_node()
            try:
                await node.publish(item.topic, item.payload, retain=item.retain, props=props)
                if item.topic == self.topics.events:
                    sent = self._sent[id(node)]
                    now = asyncio.get_running_loop().time()
                    sent.append((now, item))
                    while sent and now - sent[0][0] > REPLAY_S:
                        sent.popleft()
                return
            except ConnectionError as exc:
                log.debug("MQTT publish to %s failed (%s); trying again", item.topic, exc)
            if node.client is not None:  # not noticed as lost yet: give its receive loop a moment
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(node.lost.wait(), 1.0)

    # -- terminal states -----------------------------------------------------------------------

    async def _state_loop(self) -> None:
        """Publish each terminal's state, retained: on change, and on a timer (each node's
        connect publishes them all through that node, :meth:`_on_up`)."""
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
