"""Who hears what: notification fan-out and waiting for a job's outcome, in memory.

A job's notifications go to every connection that asked for it (submitted it, or repeated its
``requestId``) and to every connection subscribed to the topic with ``events.subscribe``.
Connections are anything with a ``notify(method, params)`` coroutine; the hub never touches a
socket, so the websocket server and the MQTT link can both be peers.

Every notification is one of the protocol's models (:data:`bridge.protocol.NOTIFICATIONS`, which
names its method); peers and listeners get its JSON dump. ``job.updated`` is published from a
journal row with :meth:`Hub.publish_job`: a caller waiting on the job gets the Job model itself,
so an answer and its notification are the same Job.

Every notification carries ``seq``, its number in the journal's event log
(:class:`~bridge.journal.events.EventLog`, once the daemon has opened it); :meth:`Hub.catch_up`
replays to a peer what was recorded after the ``seq`` it last saw, holding the live ones back
meanwhile, so that it gets every notification once, in order.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Callable
from typing import Any, Protocol

from pydantic import BaseModel, ValidationError

from bridge.jobs import ANSWERED_STATES, FINAL_STATES
from bridge.jobs import JobId
from bridge.journal.events import EventLog
from bridge.protocol import (
    NOTIFICATIONS,
    Job,
    JobFields,
    JobQuestion,
    JobStatus,
    JobUpdated,
    PendingQuestion,
    ReconciliationDone,
    TerminalPairing,
    invalid_where,
    job_from_record,
)
from bridge.roles import ClientIdentity

__all__ = ["Hub", "Notification", "Peer", "TOPICS", "client_of"]

#: The params of a notification: its method is :data:`~bridge.protocol.NOTIFICATIONS`'s.
Notification = JobUpdated | JobStatus | JobQuestion | TerminalPairing | ReconciliationDone
_METHODS: dict[type[BaseModel], str] = {model: method for method, model in NOTIFICATIONS.items()}

log = logging.getLogger("claimbridge.hub")

#: Notification methods a connection may subscribe to ("*" means all).
TOPICS = ("job.updated", "job.status", "job.question", "terminal.pairing", "reconciliation.done")



class Peer(Protocol):
    """A connection that can be sent notifications."""

    async def notify(self, method: str, params: dict[str, Any]) -> None: ...


def client_of(peer: Peer | None) -> ClientIdentity | None:
    """The client a peer speaks for (its ``client`` attribute), or None: the daemon itself."""
    client = getattr(peer, "client", None)
    return client if isinstance(client, ClientIdentity) else None


class Hub:
    """Routes notifications to peers and wakes callers waiting on jobs."""

    def __init__(self) -> None:
        #: The journal's event log: set by the daemon once the journal is open.
        self.events: EventLog | None = None
        #: Peers being caught up: their live notifications wait here until the replay is sent.
        self._holding: dict[Peer, list[tuple[str, dict[str, Any]]]] = {}
        #: The number of each job's pending ``job.question``: sent again, it is the same event.
        self._question_seq: dict[str, int] = {}
        self._owners: dict[str, set[Peer]] = defaultdict(set)
        self._subscriptions: dict[Peer, frozenset[str]] = {}
        self._waiters: dict[str, list[asyncio.Future[Job]]] = defaultdict(list)
        self._listeners: list[Callable[[str, dict[str, Any]], None]] = []
        #: Each job's last ``seq`` (the journal's change number) while it may still change.
        self._seqs: dict[str, int] = {}

    def listen(self, listener: Callable[[str, dict[str, Any]], None]) -> None:
        """Call ``listener(method, params)`` for every notification (metrics, the MQTT link)."""
        self._listeners.append(listener)

    def own(self, job_id: str, peer: Peer) -> None:
        """Send this job's notifications to ``peer`` from now on."""
        self._owners[job_id].add(peer)

    def owns(self, job_id: str, peer: Peer) -> bool:
        """Whether ``peer`` may act on the job (answer its question, abort it).

        A peer owns the jobs it submitted or re-sent by ``requestId``. Peers that carry the same
        ``principal`` (the MQTT link's requests all speak for one cloud PMS) share ownership.
        """
        owners = self._owners.get(job_id, set())
        if peer in owners:
            return True
        principal = getattr(peer, "principal", None)
        return principal is not None and any(getattr(o, "principal", None) == principal for o in owners)

    def subscribe(self, peer: Peer, topics: list[str]) -> list[str]:
        """Subscribe ``peer`` to topics; returns what it is now subscribed to."""
        wanted = set(TOPICS) if "*" in topics else set(topics)
        current = self._subscriptions.get(peer, frozenset()) | wanted
        self._subscriptions[peer] = frozenset(current)
        return sorted(current)

    async def catch_up(self, peer: Peer, topics: list[str], since: int) -> tuple[list[str], int]:
        """Subscribe ``peer`` and first send it every recorded notification of those topics
        numbered after ``since``, in order; the live ones published meanwhile follow them, so
        nothing is missed and nothing comes twice.

        Returns:
            What the peer is now subscribed to, and how many notifications were replayed.

        Raises:
            JournalUnavailable: the log could not be read (the peer is subscribed live anyway).
        """
        wanted = set(TOPICS) if "*" in topics else set(topics)
        held: list[tuple[str, dict[str, Any]]] = []
        self._holding[peer] = held
        current = self.subscribe(peer, topics)
        replayed = 0
        try:
            if self.events is not None:
                for event in await self.events.since(since, self.events.last):
                    if event.method in wanted:
                        await self._send(peer, event.method, {**event.params, "seq": event.seq})
                        replayed += 1
        finally:
            sent = 0
            while sent < len(held):  # more may arrive while these are sent
                method, params = held[sent]
                await self._send(peer, method, params)
                sent += 1
            del self._holding[peer]
        return current, replayed

    def forget(self, peer: Peer) -> None:
        """A peer went away: drop its subscriptions and ownerships."""
        self._subscriptions.pop(peer, None)
        for job_id in [j for j, owners in self._owners.items() if peer in owners]:
            owners = self._owners[job_id]
            owners.discard(peer)
            if not owners:
                del self._owners[job_id]

    def wait(self, job_id: str) -> asyncio.Future[Job]:
        """A future resolved with the job the next time :meth:`publish_job` publishes it in one
        of :data:`~bridge.jobs.ANSWERED_STATES`."""
        fut: asyncio.Future[Job] = asyncio.get_running_loop().create_future()
        self._waiters[job_id].append(fut)
        return fut

    def publish(self, note: Notification, job_id: JobId | str | None = None) -> None:
        """Send one notification to the job's owners and to the topic's subscribers
        (``job.updated`` is :meth:`publish_job`'s: it also wakes the job's waiters)."""
        method, params = _METHODS[type(note)], _wire(note)
        targets: set[Peer] = set(self._owners.get(job_id, ())) if job_id else set()
        targets.update(p for p, topics in self._subscriptions.items() if method in topics)
        if self.events is not None:
            params = {**params, "seq": self.events.record(method, params)}
            if method == "job.question" and job_id:
                self._question_seq[str(job_id)] = params["seq"]
        for listener in self._listeners:
            try:
                listener(method, params)
            except Exception:  # a broken listener must not stop notifications
                log.exception("notification listener failed on %s", method)
        for peer in targets:
            held = self._holding.get(peer)
            if held is not None:
                held.append((method, params))
                continue
            asyncio.get_running_loop().create_task(
                self._send(peer, method, params), name=f"claimbridge.hub.notify[{method}]"
            )

    def publish_job(self, record: JobFields, question: PendingQuestion | None = None) -> Job | None:
        """``job.updated`` for a journal row (with the question pending now, if any).

        Returns:
            The Job as sent; None when the row does not fit the documented Job. That is a bug:
            it is logged and nothing is sent, and callers waiting on the job get the error
            (the dispatcher answers it -32603) rather than wait for ever.
        """
        try:
            job = job_from_record(record, question)
        except ValidationError as exc:
            log.error("job %s: its journal row does not fit the documented Job (%s); not sent",
                      record.job_id, invalid_where(exc))
            for fut in self._waiters.pop(record.job_id, []):
                if not fut.done():
                    fut.set_exception(exc)
            return None
        seq = getattr(record, "seq", None)
        if isinstance(seq, int) and seq > 0:
            self._seqs[job.jobId] = seq
        self.publish(JobUpdated(job=job), job.jobId)
        if job.state in ANSWERED_STATES:
            for fut in self._waiters.pop(job.jobId, []):
                if not fut.done():
                    fut.set_result(job)
        if job.state in FINAL_STATES:
            # Nothing more will happen to the job: its owners need no more notifications.
            # (``unknown`` keeps them: the terminal may still complete it.)
            self._owners.pop(job.jobId, None)
            self._question_seq.pop(job.jobId, None)
            self._seqs.pop(job.jobId, None)
        return job

    def seq_of(self, job_id: str) -> int | None:
        """The job's ``seq`` as last published (None: not known, or the job is final)."""
        return self._seqs.get(job_id)

    def send(self, peer: Peer, note: Notification) -> None:
        """Send one notification to one peer only (a question replayed to a client that re-sent
        a job's requestId). A question sent again keeps the number it was published with (the
        same event); anything else takes a number of its own, not recorded."""
        method, params = _METHODS[type(note)], _wire(note)
        if self.events is not None:
            known = self._question_seq.get(str(params.get("jobId"))) if method == "job.question" else None
            params = {**params, "seq": known if known is not None else self.events.take()}
        asyncio.get_running_loop().create_task(self._send(peer, method, params), name=f"claimbridge.hub.notify[{method}]")

    def drop_waiter(self, job_id: str, fut: asyncio.Future[Job]) -> None:
        """Forget a waiter that is no longer needed (the job was already final)."""
        waiters = self._waiters.get(job_id)
        if waiters is not None and fut in waiters:
            waiters.remove(fut)
            if not waiters:
                del self._waiters[job_id]

    @staticmethod
    async def _send(peer: Peer, method: str, params: dict[str, Any]) -> None:
        try:
            await peer.notify(method, params)
        except Exception:  # a peer that went away must not break fan-out to the others
            log.debug("could not notify a peer of %s", method, exc_info=True)


def _wire(note: Notification) -> dict[str, Any]:
    """A notification's params as JSON values: exactly the fields it was built with (a Job's
    as :func:`bridge.protocol.job_wire` gives them)."""
    return note.model_dump(mode="json", exclude_unset=True)
