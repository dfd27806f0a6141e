"""JSON-RPC 2.0 over any transport: frames in, answers out (the websocket server and the MQTT
link both hand their frames here).

:class:`Dispatcher` parses a frame (a request, a notification or a batch), validates each
request's params with its model, runs the method's handler, checks that the result is the
documented model, and serialises it once; errors become JSON-RPC error objects in one place
(:func:`bridge.errors.to_jsonrpc_error`). Anything unexpected is -32603, logged.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from pydantic import ValidationError

from bridge import protocol
from bridge.errors import ClaimbridgeError, FieldError, InvalidParams, InvalidRequest, MethodNotFound, NotAllowedForRole
from bridge.hub import Peer, client_of
from bridge.roles import may_call, may_name_operator

__all__ = ["Dispatcher", "Handler"]

log = logging.getLogger("claimbridge.dispatcher")

#: A method's handler: its params model (None for a method without params) and the peer, to
#: its result model. Each handler's own annotations name the exact types (a unit test pins
#: them to :data:`bridge.protocol.METHODS`); the table holds them side by side, so loosely.
Handler = Callable[[Any, Peer | None], Awaitable[Any]]


class Dispatcher:
    """JSON-RPC 2.0 over any transport: text in, text (or nothing) out.

    Args:
        handlers: method name -> coroutine taking (params model, peer).
        max_batch: the most requests one batch may hold.
    """

    def __init__(self, handlers: Mapping[str, Handler], version: str, max_batch: int = 50) -> None:
        self.handlers = dict(handlers)
        self.version = version
        self.max_batch = max_batch

    async def handle_frame(self, frame: str | bytes, peer: Peer | None) -> str | None:
        """Answer one frame: a response, a batch response, or None (notifications only)."""
        try:
            incoming = protocol.parse_frame(frame, max_batch=self.max_batch)
        except ClaimbridgeError as exc:
            return json.dumps(protocol.error_response(None, exc))
        if isinstance(incoming, list):
            answers = await asyncio.gather(*(self._one(item, peer) for item in incoming))
            replies = [a for a in answers if a is not None]
            return json.dumps(replies) if replies else None
        answer = await self._one(incoming, peer)
        return None if answer is None else json.dumps(answer)

    def refuse_frame(self, frame: str | bytes, error: ClaimbridgeError) -> str | None:
        """The reply to a frame refused as a whole (nothing in it is run): ``error`` for each
        request in it, nothing for notifications; parse errors are answered as usual."""
        try:
            incoming = protocol.parse_frame(frame, max_batch=self.max_batch)
        except ClaimbridgeError as exc:
            return json.dumps(protocol.error_response(None, exc))
        items = incoming if isinstance(incoming, list) else [incoming]
        replies = []
        for item in items:
            if isinstance(item, InvalidRequest):
                replies.append(protocol.error_response(item.request_id, item))
            elif not item.is_notification:
                replies.append(protocol.error_response(item.id, error))
        if not replies:
            return None
        return json.dumps(replies if isinstance(incoming, list) else replies[0])

    async def _one(self, item: protocol.Message, peer: Peer | None) -> dict[str, Any] | None:
        if isinstance(item, InvalidRequest):
            return protocol.error_response(item.request_id, item)
        try:
            if item.duplicate_fields:
                raise InvalidParams(tuple(FieldError(f, "is given more than once") for f in item.duplicate_fields))
            result = await self.call(item.method, item.params, peer)
            documented = protocol.METHODS[item.method].result
            if not protocol.fits_result(result, documented):
                # Never send what the OpenRPC document does not promise: a bug, said as one.
                log.error("method %s answered a %s, not its documented %s; not sent",
                          item.method, type(result).__name__, getattr(documented, "__name__", documented))
                return None if item.is_notification else protocol.error_response(
                    item.id, TypeError("result does not fit its schema"))
        except ClaimbridgeError as exc:
            log.debug("method %s refused: %d %s", item.method, exc.code, type(exc).__name__)
            return None if item.is_notification else protocol.error_response(item.id, exc)
        except ValidationError as exc:
            # A model built inside a handler refused its data: a bug. Where and why go to the log;
            # the values do not (a traceback of a ValidationError prints every input).
            log.error("method %s failed unexpectedly: %s", item.method, protocol.invalid_where(exc))
            return None if item.is_notification else protocol.error_response(item.id, exc)
        except Exception as exc:
            log.exception("method %s failed unexpectedly", item.method)
            return None if item.is_notification else protocol.error_response(item.id, exc)
        log.debug("method %s answered", item.method)
        # Serialised here, once, with exactly the fields each model was built with.
        return None if item.is_notification else protocol.response(item.id, result)

    async def call(self, method: str, raw_params: Any, peer: Peer | None) -> Any:
        """Check the client's role, validate params for ``method`` and run its handler.

        A method outside the role (or an ``operator`` named by a client that may not answer
        for the desk) raises -32006 before anything runs. A peer that names no client is the
        daemon's own caller, held to no role.
        """
        client = client_of(peer)
        role = None if client is None or client.role is None else str(client.role)
        if client is not None and (role is None or method in protocol.METHODS) and not may_call(client.role, method):
            raise NotAllowedForRole(role, method)
        params = protocol.parse_params(method, raw_params)
        if client is not None and getattr(params, "operator", None) is not None and not may_name_operator(client.role):
            raise NotAllowedForRole(role, method)
        if method == "rpc.discover":
            return protocol.openrpc_document(self.version)
        handler = self.handlers.get(method)
        if handler is None:
            raise MethodNotFound(method)
        return await handler(params, peer)
