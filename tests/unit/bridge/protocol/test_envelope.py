"""Tests for bridge.protocol.envelope: the JSON-RPC 2.0 envelope."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from bridge.errors import InvalidRequest, JobNotFound, ParseError
from bridge.jobs import JobKind, JobState
from bridge.protocol.envelope import Request, error_response, notification, parse_frame, response
from bridge.protocol.results import Job, JobStatus

# --------------------------------------------------------------------------- envelope


def test_single_request():
    req = parse_frame('{"jsonrpc":"2.0","id":1,"method":"job.get","params":{"jobId":"j"}}')
    assert req == Request(1, "job.get", {"jobId": "j"}, False)


def test_notification_has_no_id():
    req = parse_frame(b'{"jsonrpc":"2.0","method":"job.abort","params":{"jobId":"j"}}')
    assert isinstance(req, Request) and req.is_notification and req.id is None


def test_null_id_is_a_request_not_a_notification():
    req = parse_frame('{"jsonrpc":"2.0","id":null,"method":"terminal.list"}')
    assert isinstance(req, Request) and not req.is_notification and req.params is None


@pytest.mark.parametrize("frame", ["{", "", "nul", '{"a":NaN}', "[1, Infinity]", b"\xff\xfe", "[" * 100_000])
def test_parse_errors(frame):
    with pytest.raises(ParseError) as info:
        parse_frame(frame)
    assert info.value.code == -32700


@pytest.mark.parametrize("frame", ["[]", "1", '"x"', "null", "true"])
def test_invalid_frames(frame):
    with pytest.raises(InvalidRequest) as info:
        parse_frame(frame)
    assert info.value.code == -32600 and info.value.request_id is None


def test_batch_limit():
    one = '{"jsonrpc":"2.0","id":1,"method":"terminal.list"}'
    assert len(parse_frame(f"[{one},{one}]", max_batch=2)) == 2  # type: ignore[arg-type]
    with pytest.raises(InvalidRequest):
        parse_frame(f"[{one},{one},{one}]", max_batch=2)


@pytest.mark.parametrize(
    ("member", "request_id"),
    [
        ({"jsonrpc": "2.0", "id": 1.5, "method": "x"}, None),
        ({"jsonrpc": "2.0", "id": True, "method": "x"}, None),
        ({"jsonrpc": "2.0", "id": [1], "method": "x"}, None),
        ({"jsonrpc": "1.0", "id": 3, "method": "x"}, 3),
        ({"id": "a", "method": "x"}, "a"),
        ({"jsonrpc": "2.0", "id": 4, "method": 5}, 4),
        ({"jsonrpc": "2.0", "id": 4, "method": ""}, 4),
        ({"jsonrpc": "2.0", "id": 4}, 4),
        ({"jsonrpc": "2.0", "id": 4, "method": "x", "params": "p"}, 4),
        ({"jsonrpc": "2.0", "id": 4, "method": "x", "params": None}, 4),
        ({"jsonrpc": "2.0", "method": "x", "params": 1}, None),
        (1, None),
        ("x", None),
    ],
)
def test_invalid_members(member, request_id):
    good = {"jsonrpc": "2.0", "id": "ok", "method": "terminal.list", "params": []}
    batch = parse_frame(json.dumps([good, member]))
    assert isinstance(batch, list) and len(batch) == 2
    assert batch[0] == Request("ok", "terminal.list", [], False)
    assert isinstance(batch[1], InvalidRequest)
    assert batch[1].request_id == request_id
    # a single invalid object gives the same answer as a batch member
    single = parse_frame(json.dumps(member)) if isinstance(member, dict) else None
    if single is not None:
        assert isinstance(single, InvalidRequest) and single.request_id == request_id


def test_batch_of_notifications_and_requests():
    frame = json.dumps([
        {"jsonrpc": "2.0", "method": "job.abort", "params": {"jobId": "a"}},
        {"jsonrpc": "2.0", "id": 9, "method": "job.abort", "params": {"jobId": "b"}},
    ])
    batch = parse_frame(frame)
    assert isinstance(batch, list)
    assert [m.is_notification for m in batch if isinstance(m, Request)] == [True, False]


def test_response_serialises_models():
    now = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
    job = Job(jobId="j", requestId="r", kind=JobKind.CLAIM, seq=1, terminal="front-desk",
              state=JobState.QUEUED, createdAt=now, updatedAt=now, request={"a": 1})
    out = response(7, [job])
    assert out["jsonrpc"] == "2.0" and out["id"] == 7
    assert out["result"][0]["createdAt"] == "2026-11-22T09:00:00+00:00"  # as the daemon has always sent it
    assert out["result"][0]["state"] == "queued" and out["result"][0]["kind"] == "claim"
    json.dumps(out)


def test_error_response():
    out = error_response("x", JobNotFound("j"))
    assert out == {"jsonrpc": "2.0", "id": "x",
                   "error": {"code": -32002, "message": "Not found", "data": {"key": "j"}}}
    assert error_response(None, ValueError("secret"))["error"] == {"code": -32603, "message": "Internal error"}


def test_notification():
    out = notification("job.status", JobStatus(jobId="j", message="Reading card", seq=7))
    assert out == {"jsonrpc": "2.0", "method": "job.status",
                   "params": {"seq": 7, "jobId": "j", "message": "Reading card"}}
    assert "id" not in out
