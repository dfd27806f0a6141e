"""bridge/dispatcher.py, without a socket: JSON-RPC 2.0 in, JSON-RPC 2.0 out."""

import asyncio
import json
import logging
from typing import Any

from bridge.dispatcher import Dispatcher
from bridge.errors import NotAllowedNow, TemporarilyUnavailable
from bridge.protocol import METHODS, AbortResult, SubscribeResult


async def _health(params: Any, peer: Any) -> SubscribeResult:
    # Any model will do for the envelope tests; "events.subscribe" is the method it belongs to.
    return SubscribeResult(topics=("job.updated",))


async def _refuse(params: Any, peer: Any) -> dict[str, Any]:
    raise NotAllowedNow("noQuestion", "not now", {"why": "test"})


async def _crash(params: Any, peer: Any) -> dict[str, Any]:
    raise RuntimeError("secret token abc in a message")


def _dispatch(frame: str, max_batch: int = 50) -> Any:
    d = Dispatcher({"events.subscribe": _health, "job.abort": _refuse, "terminal.list": _crash}, "1.0", max_batch)
    reply = asyncio.run(d.handle_frame(frame, None))
    return None if reply is None else json.loads(reply)


def test_result_and_id_echoed() -> None:
    assert _dispatch('{"jsonrpc":"2.0","id":"x","method":"events.subscribe","params":{"topics":["job.updated"]}}') == {"jsonrpc": "2.0", "id": "x", "result": {"topics": ["job.updated"]}}


def test_notification_gets_no_reply_even_on_error() -> None:
    assert _dispatch('{"jsonrpc":"2.0","method":"events.subscribe","params":{"topics":["job.updated"]}}') is None
    assert _dispatch('{"jsonrpc":"2.0","method":"no.such"}') is None


def test_errors_map_to_codes_with_data() -> None:
    assert _dispatch("{oops")["error"]["code"] == -32700
    assert _dispatch('{"jsonrpc":"2.0","id":1,"method":"no.such"}')["error"]["code"] == -32601
    refused = _dispatch('{"jsonrpc":"2.0","id":2,"method":"job.abort","params":{"jobId":"j"}}')
    assert refused["error"]["code"] == -32004 and refused["error"]["data"]["why"] == "test" and refused["error"]["data"]["reason"] == "noQuestion"
    bad = _dispatch('{"jsonrpc":"2.0","id":3,"method":"job.abort","params":{"jobId":""}}')
    assert bad["error"]["code"] == -32602 and bad["error"]["data"]["errors"][0]["field"] == "jobId"


def test_unexpected_exception_is_internal_error_without_details() -> None:
    reply = _dispatch('{"jsonrpc":"2.0","id":4,"method":"terminal.list"}')
    assert reply["error"] == {"code": -32603, "message": "Internal error"}


def test_batch_mixed_and_limit() -> None:
    replies = _dispatch('[{"jsonrpc":"2.0","id":1,"method":"events.subscribe","params":{"topics":["job.updated"]}},{"jsonrpc":"2.0","method":"events.subscribe","params":{"topics":["job.updated"]}},5]')
    assert [r.get("id") for r in replies] == [1, None] and replies[1]["error"]["code"] == -32600
    too_many = _dispatch(json.dumps([{"jsonrpc": "2.0", "id": i, "method": "events.subscribe", "params": {"topics": ["job.updated"]}} for i in range(3)]), max_batch=2)
    assert too_many["error"]["code"] == -32600 and too_many["id"] is None


def test_rpc_discover_is_generated_from_the_models() -> None:
    doc = _dispatch('{"jsonrpc":"2.0","id":1,"method":"rpc.discover"}')["result"]
    assert {m["name"] for m in doc["methods"]} == set(METHODS) - {"rpc.discover"}


def test_duplicate_key_in_the_envelope_is_an_invalid_request() -> None:
    reply = _dispatch('{"jsonrpc":"2.0","id":5,"method":"events.subscribe","params":{"topics":["job.updated"]},"method":"job.abort"}')
    assert reply["error"]["code"] == -32600 and reply["id"] == 5
    assert "method" in reply["error"]["data"]["reason"]
    # which id was meant cannot be known: the answer carries id null
    assert _dispatch('{"jsonrpc":"2.0","id":6,"id":7,"method":"events.subscribe","params":{"topics":["job.updated"]}}')["id"] is None


def test_duplicate_key_inside_params_is_invalid_params_naming_the_field() -> None:
    frame = ('{"jsonrpc":"2.0","id":8,"method":"job.abort","params":'
             '{"jobId":"j","items":[{"claimAmount":1,"claimAmount":7000}],"jobId":"k"}}')
    reply = _dispatch(frame)
    assert reply["error"]["code"] == -32602
    fields = [e["field"] for e in reply["error"]["data"]["errors"]]
    assert fields == ["jobId", "items[0].claimAmount"]


def test_duplicate_keys_in_a_batch_member_refuse_that_member_only() -> None:
    frame = ('[{"jsonrpc":"2.0","id":1,"method":"events.subscribe","params":{"topics":["job.updated"]}},'
             '{"jsonrpc":"2.0","id":2,"method":"job.abort","params":{"jobId":"a","jobId":"b"}}]')
    replies = {r["id"]: r for r in _dispatch(frame)}
    assert replies[1]["result"] == {"topics": ["job.updated"]} and replies[2]["error"]["code"] == -32602


def test_refuse_frame_answers_each_request_and_no_notification() -> None:
    d = Dispatcher({"events.subscribe": _health}, "1.0")
    busy = TemporarilyUnavailable("tooManyRequests", "", 100)
    one = json.loads(d.refuse_frame('{"jsonrpc":"2.0","id":9,"method":"events.subscribe","params":{"topics":["job.updated"]}}', busy) or "null")
    assert one["id"] == 9 and one["error"]["code"] == -32005 and one["error"]["data"]["retryAfterMs"] == 100
    assert d.refuse_frame('{"jsonrpc":"2.0","method":"events.subscribe","params":{"topics":["job.updated"]}}', busy) is None
    batch = json.loads(d.refuse_frame('[{"jsonrpc":"2.0","id":1,"method":"a"},{"jsonrpc":"2.0","method":"b"}]', busy) or "null")
    assert [r["id"] for r in batch] == [1]


def test_a_result_that_is_not_the_documented_type_is_not_sent(caplog: Any) -> None:
    async def loose(params: Any, peer: Any) -> dict[str, Any]:
        return {"topics": ["job.updated"]}  # the right shape, but not the documented model

    d = Dispatcher({"events.subscribe": loose}, "1.0")
    frame = '{"jsonrpc":"2.0","id":1,"method":"events.subscribe","params":{"topics":["job.updated"]}}'
    with caplog.at_level(logging.ERROR, logger="claimbridge.dispatcher"):
        reply = json.loads(asyncio.run(d.handle_frame(frame, None)) or "null")
    assert reply["error"] == {"code": -32603, "message": "Internal error"}
    assert any("events.subscribe" in r.getMessage() and "SubscribeResult" in r.getMessage() for r in caplog.records)


def test_a_model_refusing_inside_a_handler_logs_where_and_why_not_the_values(caplog: Any) -> None:
    async def builds_a_bad_model(params: Any, peer: Any) -> SubscribeResult:
        return SubscribeResult.model_validate({"topics": "Ms Jane Citizen 0412 345 678"})

    d = Dispatcher({"events.subscribe": builds_a_bad_model}, "1.0")
    frame = '{"jsonrpc":"2.0","id":1,"method":"events.subscribe","params":{"topics":["job.updated"]}}'
    with caplog.at_level(logging.ERROR, logger="claimbridge.dispatcher"):
        reply = json.loads(asyncio.run(d.handle_frame(frame, None)) or "null")
    assert reply["error"] == {"code": -32603, "message": "Internal error"}
    logged = "\n".join(r.getMessage() + (r.exc_text or "") for r in caplog.records)
    assert "events.subscribe" in logged and "topics" in logged
    assert "Jane" not in logged and "0412" not in logged
    assert all(r.exc_info is None for r in caplog.records)  # no traceback: it would print the input


class _Peer:
    def __init__(self, client: Any) -> None:
        self.client = client

    async def notify(self, method: str, params: dict[str, Any]) -> None:
        pass


def _as(client: Any, frame: str) -> tuple[Any, list[str]]:
    ran: list[str] = []

    async def abort(params: Any, peer: Any) -> AbortResult:
        ran.append("job.abort")
        return AbortResult(aborted=False)

    async def subscribe(params: Any, peer: Any) -> SubscribeResult:
        ran.append("events.subscribe")
        return SubscribeResult(topics=())

    d = Dispatcher({"job.abort": abort, "events.subscribe": subscribe}, "1.0")
    reply = asyncio.run(d.handle_frame(frame, _Peer(client)))
    return (None if reply is None else json.loads(reply)), ran


def test_a_method_outside_the_role_is_refused_before_anything_runs() -> None:
    from bridge.roles import ClientIdentity, Role

    dash = ClientIdentity("dash", Role.READONLY)
    reply, ran = _as(dash, '{"jsonrpc":"2.0","id":1,"method":"job.abort","params":{"jobId":"j"}}')
    assert reply["error"] == {"code": -32006, "message": "Not allowed for this client's role",
                              "data": {"role": "readonly", "method": "job.abort"}}
    assert ran == []
    reply, ran = _as(dash, '{"jsonrpc":"2.0","id":1,"method":"events.subscribe","params":{"topics":["job.updated"]}}')
    assert "result" in reply and ran == ["events.subscribe"]


def test_a_pms_may_not_name_an_operator_and_nobody_may_call_anything() -> None:
    from bridge.roles import NOBODY, ClientIdentity, Role

    pms = ClientIdentity("desk", Role.PMS)
    reply, ran = _as(pms, '{"jsonrpc":"2.0","id":1,"method":"job.abort","params":{"jobId":"j","operator":"Ann"}}')
    assert reply["error"]["code"] == -32006 and ran == []
    reply, ran = _as(pms, '{"jsonrpc":"2.0","id":1,"method":"job.abort","params":{"jobId":"j"}}')
    assert reply["result"] == {"aborted": False} and ran == ["job.abort"]
    for method in ("events.subscribe", "rpc.discover", "no.such.method"):
        reply, ran = _as(NOBODY, f'{{"jsonrpc":"2.0","id":1,"method":"{method}"}}')
        assert reply["error"]["code"] == -32006 and reply["error"]["data"] == {"role": None, "method": method}
        assert ran == []
