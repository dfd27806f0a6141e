"""bridge/server.py's Dispatcher, without a socket: JSON-RPC 2.0 in, JSON-RPC 2.0 out."""

import asyncio
import json
from typing import Any

from bridge.errors import NotAllowedNow
from bridge.protocol import METHODS
from bridge.server import Dispatcher


async def _health(params: Any, peer: Any) -> dict[str, Any]:
    return {"ok": True}


async def _refuse(params: Any, peer: Any) -> dict[str, Any]:
    raise NotAllowedNow("not now", {"why": "test"})


async def _crash(params: Any, peer: Any) -> dict[str, Any]:
    raise RuntimeError("secret token abc in a message")


def _dispatch(frame: str, max_batch: int = 50) -> Any:
    d = Dispatcher({"system.health": _health, "job.abort": _refuse, "terminal.list": _crash}, "1.0", max_batch)
    reply = asyncio.run(d.handle_frame(frame, None))
    return None if reply is None else json.loads(reply)


def test_result_and_id_echoed() -> None:
    assert _dispatch('{"jsonrpc":"2.0","id":"x","method":"system.health"}') == {"jsonrpc": "2.0", "id": "x", "result": {"ok": True}}


def test_notification_gets_no_reply_even_on_error() -> None:
    assert _dispatch('{"jsonrpc":"2.0","method":"system.health"}') is None
    assert _dispatch('{"jsonrpc":"2.0","method":"no.such"}') is None


def test_errors_map_to_codes_with_data() -> None:
    assert _dispatch("{oops")["error"]["code"] == -32700
    assert _dispatch('{"jsonrpc":"2.0","id":1,"method":"no.such"}')["error"]["code"] == -32601
    refused = _dispatch('{"jsonrpc":"2.0","id":2,"method":"job.abort","params":{"jobId":"j"}}')
    assert refused["error"]["code"] == -32004 and refused["error"]["data"]["why"] == "test"
    bad = _dispatch('{"jsonrpc":"2.0","id":3,"method":"job.abort","params":{"jobId":""}}')
    assert bad["error"]["code"] == -32602 and bad["error"]["data"]["errors"][0]["field"] == "jobId"


def test_unexpected_exception_is_internal_error_without_details() -> None:
    reply = _dispatch('{"jsonrpc":"2.0","id":4,"method":"terminal.list"}')
    assert reply["error"] == {"code": -32603, "message": "Internal error"}


def test_batch_mixed_and_limit() -> None:
    replies = _dispatch('[{"jsonrpc":"2.0","id":1,"method":"system.health"},{"jsonrpc":"2.0","method":"system.health"},5]')
    assert [r.get("id") for r in replies] == [1, None] and replies[1]["error"]["code"] == -32600
    too_many = _dispatch(json.dumps([{"jsonrpc": "2.0", "id": i, "method": "system.health"} for i in range(3)]), max_batch=2)
    assert too_many["error"]["code"] == -32600 and too_many["id"] is None


def test_rpc_discover_is_generated_from_the_models() -> None:
    doc = _dispatch('{"jsonrpc":"2.0","id":1,"method":"rpc.discover"}')["result"]
    assert {m["name"] for m in doc["methods"]} == set(METHODS) - {"rpc.discover"}
