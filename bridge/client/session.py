"""A Python client for a PMS: the safe retry is the easy path.

:class:`Client` keeps one websocket to the daemon and hides what a PMS most often gets wrong:

- **a dropped connection never loses or doubles a claim**: :meth:`Client.submit` (and
  :meth:`Client.claim`) send a request with its ``requestId`` and, when the connection drops
  before the answer, reconnect and send the *same* request again; the daemon answers a repeated
  ``requestId`` with the job it already has, never a second claim. A -32005 answer (the daemon
  cannot take it now) is retried after its ``retryAfterMs`` the same way;
- **questions are answered even across a reconnect**: ``on_question(params)`` is asked for the
  answer of every ``job.question``; an answer lost with the connection is given again when the
  daemon re-sends the question (it does, to a client that repeats the job's ``requestId``);
- **no notification is missed**: the client remembers the ``seq`` of the last notification it
  saw and, on every (re)connection, subscribes with ``events.subscribe {topics, since}``; the
  daemon replays what was recorded meanwhile, then goes on live. Start a client with ``since``
  (the :attr:`Client.last_seq` a previous run saved) to catch up after downtime.

It is a client library: the daemon never imports it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake

__all__ = ["Client", "ConnectionLost", "RpcError"]

log = logging.getLogger("claimbridge.client")

#: Methods that carry a ``requestId``: safe to send again after a dropped connection.
IDEMPOTENT = frozenset({
    "healthpoint.claim", "healthpoint.rebateEstimate", "healthpoint.cancel", "payment.gap", "payment.refund",
    "healthcode.submit",
})

Notified = Callable[[str, dict[str, Any]], Awaitable[None] | None]
Asked = Callable[[dict[str, Any]], Awaitable[str | None]]


class RpcError(Exception):
    """The daemon answered with a JSON-RPC error (``code``, ``message``, ``data``)."""

    def __init__(self, error: dict[str, Any]) -> None:
        super().__init__(f"{error.get('code')} {error.get('message')}: {error.get('data')}")
        self.code = int(error.get("code") or 0)
        self.data: Any = error.get("data")


class ConnectionLost(Exception):
    """The connection dropped before the answer came (for :meth:`Client.call`: it may have run)."""


class Client:
    """One PMS's connection to the daemon, reconnecting by itself.

    Args:
        url: ``ws://HOST:8765/v1``.
        token: the daemon's bearer token.
        topics: what to subscribe to (``events.subscribe``), on every connection.
        since: the ``seq`` of the last notification a previous run saw (catch up from it).
        on_notification: called with ``(method, params)`` for each notification, once each.
        on_question: asked for the answer to each ``job.question`` (None: do not answer now).
        delays: the waits between reconnection attempts, in seconds (the last one repeats).
    """

    def __init__(
        self,
        url: str,
        token: str,
        *,
        topics: Sequence[str] = ("*",),
        since: int | None = None,
        on_notification: Notified | None = None,
        on_question: Asked | None = None,
        delays: Sequence[float] = (0.1, 0.3, 1.0, 2.0, 5.0),
    ) -> None:
        self.url = url
        self.token = token
        self.topics = list(topics)
        #: The ``seq`` of the last notification seen: save it to catch up after a restart.
        self.last_seq = since
        self.on_notification = on_notification
        self.on_question = on_question
        self.delays = tuple(delays) or (1.0,)
        self._ws: ClientConnection | None = None
        self._reader: asyncio.Task[None] | None = None
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._next_id = 0
        self._connected = asyncio.Event()
        self._closing = False
        self._connect_lock = asyncio.Lock()
        self._answered: set[tuple[str, int]] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    # -- connection ----------------------------------------------------------------------------

    async def __aenter__(self) -> Client:
        await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def connect(self) -> None:
        """Connect (retrying with :attr:`delays`), then subscribe with ``since``."""
        async with self._connect_lock:
            if self._ws is not None:
                return
            attempt = 0
            while True:
                try:
                    ws = await connect(self.url, additional_headers={"Authorization": f"Bearer {self.token}"})
                    break
                except (OSError, InvalidHandshake, asyncio.TimeoutError) as exc:
                    delay = self.delays[min(attempt, len(self.delays) - 1)]
                    log.info("cannot connect to %s (%s); again in %.1f s", self.url, exc, delay)
                    attempt += 1
                    await asyncio.sleep(delay)
            self._ws = ws
            self._reader = asyncio.get_running_loop().create_task(self._read(ws), name="claimbridge.client.read")
            params: dict[str, Any] = {"topics": self.topics}
            if self.last_seq is not None:
                params["since"] = self.last_seq  # the daemon replays what this client missed
            await self._request(ws, "events.subscribe", params)
            self._connected.set()

    async def close(self) -> None:
        """Close for good (no reconnection)."""
        self._closing = True
        ws, self._ws = self._ws, None
        if ws is not None:
            await ws.close()
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        for task in list(self._tasks):
            task.cancel()

    def drop(self) -> None:
        """Cut the connection as a network would (tests; a PMS never needs it)."""
        if self._ws is not None:
            self._ws.transport.abort()

    async def _read(self, ws: ClientConnection) -> None:
        try:
            async for frame in ws:
                message = json.loads(frame)
                if isinstance(message, dict) and "id" not in message:
                    await self._notified(str(message.get("method")), dict(message.get("params") or {}))
                    continue
                rid = message.get("id") if isinstance(message, dict) else None
                fut = self._pending.pop(rid, None) if isinstance(rid, int) else None
                if fut is not None and not fut.done():
                    fut.set_result(message)
        except ConnectionClosed:
            pass
        finally:
            if self._ws is ws:
                self._ws = None
                self._connected.clear()
            for fut in list(self._pending.values()):
                if not fut.done():
                    fut.set_exception(ConnectionLost("the connection dropped before the answer"))
            self._pending.clear()
            if not self._closing:  # back at once: notifications missed meanwhile are replayed
                self._spawn(self._ensure())

    async def _ensure(self) -> ClientConnection:
        while self._ws is None:
            if self._closing:
                raise ConnectionLost("the client is closed")
            await self.connect()
        return self._ws

    # -- notifications and questions -----------------------------------------------------------

    async def _notified(self, method: str, params: dict[str, Any]) -> None:
        seq = params.get("seq")
        repeat = isinstance(seq, int) and self.last_seq is not None and seq <= self.last_seq
        if isinstance(seq, int) and not repeat:
            self.last_seq = seq
        if method == "job.question":
            # A question sent again (after a reconnect) is answered again unless it was answered.
            self._spawn(self._answer(params))
        if repeat or self.on_notification is None:
            return
        outcome = self.on_notification(method, params)
        if outcome is not None:
            await outcome

    def _spawn(self, coro: Awaitable[Any]) -> None:
        async def run() -> None:
            try:
                await coro
            except ConnectionLost:
                pass

        task = asyncio.get_running_loop().create_task(run(), name="claimbridge.client.answer")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _answer(self, params: dict[str, Any]) -> None:
        key = (str(params.get("jobId")), int(params.get("seq") or 0))
        if self.on_question is None or key in self._answered:
            return
        answer = await self.on_question(params)
        if answer is None:
            return
        try:
            await self.call("job.answer", {"jobId": key[0], "answer": answer})
            self._answered.add(key)
        except ConnectionLost:
            log.info("the answer to job %s was lost with the connection; it is given again when asked again", key[0])
        except RpcError as exc:
            log.warning("the answer to job %s was refused: %s", key[0], exc)

    # -- calls ---------------------------------------------------------------------------------

    async def _request(self, ws: ClientConnection, method: str, params: dict[str, Any] | None) -> Any:
        self._next_id += 1
        rid = self._next_id
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[rid] = fut
        body: dict[str, Any] = {"jsonrpc": "2.0", "id": rid, "method": method}
        if params is not None:
            body["params"] = params
        try:
            await ws.send(json.dumps(body))
        except ConnectionClosed as exc:
            self._pending.pop(rid, None)
            raise ConnectionLost(str(exc)) from None
        reply = await fut
        if "error" in reply:
            raise RpcError(reply["error"])
        return reply.get("result")

    async def call(self, method: str, params: dict[str, Any] | None = None) -> Any:
        """One request, once. Raises :class:`ConnectionLost` when the connection drops before
        the answer (the request may have run: use :meth:`submit` for anything with a
        ``requestId``), :class:`RpcError` for an error answer."""
        return await self._request(await self._ensure(), method, params)

    async def submit(self, method: str, params: dict[str, Any]) -> Any:
        """A request that carries a ``requestId`` (one is made when missing), sent until answered:
        again, unchanged, after a dropped connection or a -32005. Never a second claim: the daemon
        answers a repeated ``requestId`` with the job it has."""
        if method not in IDEMPOTENT:
            raise ValueError(f"{method} carries no requestId: use call()")
        params = {**params}
        params.setdefault("requestId", str(uuid.uuid4()))
        attempt = 0
        while True:
            try:
                return await self.call(method, params)
            except ConnectionLost:
                log.info("%s %s: connection lost; sending the same requestId again", method, params["requestId"])
            except RpcError as exc:
                if exc.code != -32005:
                    raise
                wait_ms = (exc.data or {}).get("retryAfterMs", 1000) if isinstance(exc.data, dict) else 1000
                await asyncio.sleep(float(wait_ms) / 1000)
                continue
            await asyncio.sleep(self.delays[min(attempt, len(self.delays) - 1)])
            attempt += 1

    async def claim(self, **params: Any) -> Any:
        """``healthpoint.claim``, the safe way (:meth:`submit`): the Job when it ends."""
        return await self.submit("healthpoint.claim", params)
