"""JSON-RPC 2.0 envelope, pure: parse a frame into requests, build responses and notifications.

This is where raw JSON enters, hence ``Any``. Knows no method: params are left raw for
:func:`bridge.protocol.methods.parse_params`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, TypeAlias

from pydantic import BaseModel

from bridge.errors import InvalidRequest, ParseError, field_path, to_jsonrpc_error

__all__ = [
    "JSONRPC_VERSION",
    "Batch",
    "Incoming",
    "Message",
    "Request",
    "RpcId",
    "error_response",
    "notification",
    "parse_frame",
    "response",
    "to_json",
]

JSONRPC_VERSION = "2.0"


# --------------------------------------------------------------------------- envelope

#: A JSON-RPC id: text, integer or null.
RpcId: TypeAlias = str | int | None


@dataclass(frozen=True, slots=True)
class Request:
    """A valid JSON-RPC request; ``is_notification`` when it has no ``id`` (gets no reply)."""

    id: RpcId
    method: str
    params: dict[str, Any] | list[Any] | None
    is_notification: bool
    #: Dotted paths inside ``params`` of keys the frame gave twice: the request is refused
    #: (-32602 naming them), never read with the last value winning.
    duplicate_fields: tuple[str, ...] = ()


#: One parsed request, or the error to answer it with (``error_response(err.request_id, err)``).
Message: TypeAlias = Request | InvalidRequest
#: A batch: one entry per member, in order.
Batch: TypeAlias = list[Message]
#: What :func:`parse_frame` returns.
Incoming: TypeAlias = Message | Batch


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


class _Object(dict[str, Any]):
    """A JSON object as parsed, remembering the keys it held more than once."""

    duplicates: tuple[str, ...] = ()


def _pairs(pairs: list[tuple[str, Any]]) -> _Object:
    obj = _Object()
    seen: list[str] = []
    for key, value in pairs:
        if key in obj and key not in seen:
            seen.append(key)
        obj[key] = value
    obj.duplicates = tuple(seen)
    return obj


def _duplicate_paths(value: Any, prefix: tuple[str | int, ...] = ()) -> list[str]:
    """Paths of every duplicated key under ``value`` (``items[0].claimAmount``)."""
    out: list[str] = []
    if isinstance(value, dict):
        out.extend(field_path((*prefix, k)) for k in getattr(value, "duplicates", ()))
        for k, v in value.items():
            out.extend(_duplicate_paths(v, (*prefix, k)))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out.extend(_duplicate_paths(v, (*prefix, i)))
    return out


def _message(obj: Any) -> Message:
    if not isinstance(obj, dict):
        return InvalidRequest("a request must be an object")
    has_id = "id" in obj
    raw_id = obj.get("id")
    id_ok = raw_id is None or isinstance(raw_id, str) or (
        isinstance(raw_id, int) and not isinstance(raw_id, bool)
    )
    rid: RpcId = raw_id if id_ok else None
    if not id_ok:
        return InvalidRequest("id must be a string, an integer or null")
    if obj.get("jsonrpc") != JSONRPC_VERSION:
        return InvalidRequest('jsonrpc must be "2.0"', rid)
    method = obj.get("method")
    if not isinstance(method, str) or not method:
        return InvalidRequest("method must be a non-empty string", rid)
    params = obj.get("params")
    if "params" in obj and not isinstance(params, (dict, list)):
        return InvalidRequest("params must be an object or an array", rid)
    duplicated = getattr(obj, "duplicates", ())
    if duplicated:
        # Which "id" or "method" was meant cannot be known: the envelope itself is invalid.
        return InvalidRequest(f"duplicate key {duplicated[0]!r} in the request", rid if "id" not in duplicated else None)
    return Request(rid, method, params, not has_id, tuple(_duplicate_paths(params)))


def parse_frame(text: str | bytes, *, max_batch: int | None = None) -> Incoming:
    """Parse one websocket text frame as JSON-RPC 2.0.

    Args:
        text: The frame (bytes must be UTF-8).
        max_batch: Longest batch accepted, or ``None`` for no limit.

    Returns:
        A :class:`Request`, an :class:`~bridge.errors.InvalidRequest` (reply with
        ``error_response(err.request_id, err)``), or a
        :data:`Batch` list of those.

    Raises:
        ParseError: Not UTF-8 or not JSON (NaN/Infinity included); reply with id null.
        InvalidRequest: Neither an object nor an array, an empty batch or one longer than
            ``max_batch``; reply with id null.
    """
    try:
        if isinstance(text, bytes):
            text = text.decode("utf-8")
        data = json.loads(text, parse_constant=_reject_constant, object_pairs_hook=_pairs)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ParseError(type(exc).__name__) from None
    if isinstance(data, list):
        if not data:
            raise InvalidRequest("empty batch")
        if max_batch is not None and len(data) > max_batch:
            raise InvalidRequest(f"batch longer than {max_batch}")
        return [_message(member) for member in data]
    if isinstance(data, dict):
        return _message(data)
    raise InvalidRequest("a request must be an object or an array")


def to_json(value: Any) -> Any:
    """Models (and lists/dicts of them) as plain JSON values; datetimes ISO with offset.

    A model gives exactly the fields it was built with (``exclude_unset``): a Job's
    ``result: null`` is on the wire because it was set, its ``history`` only when asked for.
    """
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", exclude_unset=True)
    if isinstance(value, (list, tuple)):
        return [to_json(v) for v in value]
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return value


def response(id: RpcId, result: Any) -> dict[str, Any]:
    """A JSON-RPC success response; ``result`` may be a model or a list of models."""
    return {"jsonrpc": JSONRPC_VERSION, "id": id, "result": to_json(result)}


def error_response(id: RpcId, exc: BaseException) -> dict[str, Any]:
    """A JSON-RPC error response for ``exc`` (see :func:`bridge.errors.to_jsonrpc_error`)."""
    return {"jsonrpc": JSONRPC_VERSION, "id": id, "error": to_jsonrpc_error(exc)}


def notification(method: str, params: BaseModel | Mapping[str, Any]) -> dict[str, Any]:
    """A JSON-RPC notification (no id), e.g. ``notification("job.status", JobStatus(...))``."""
    return {"jsonrpc": JSONRPC_VERSION, "method": method, "params": to_json(params)}
