"""Tests for bridge/protocol.py: method table, params rules, JSON-RPC envelope, OpenRPC."""

from __future__ import annotations

import copy
import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from bridge.errors import InvalidParams, InvalidRequest, JobNotFound, MethodNotFound, ParseError
from bridge.healthpoint import MODALITIES
from bridge.jobs import JobKind, JobState
from bridge.protocol import (
    METHODS,
    NOTIFICATIONS,
    ClaimParams,
    Job,
    JobGetParams,
    JobStatus,
    Request,
    error_response,
    notification,
    openrpc_document,
    parse_frame,
    parse_params,
    response,
)

FIXTURE = json.loads(
    (Path(__file__).parents[3] / "fixtures" / "protocol" / "methods.json").read_text()
)

ITEM = {
    "claimAmount": 10000,
    "serviceCode": "500",
    "description": "Assessment Consult",
    "serviceReference": "01",
    "patientId": "02",
    "serviceDate": "2024-09-21",
}
CLAIM = {
    "requestId": "pms-1",
    "terminal": "front-desk",
    "providerId": "2159081W",
    "serviceType": "P",
    "items": [ITEM],
    "onApproved": "ask",
}
BILL = {"invoiceNumber": "INV-1", "insurer": "bup"}

#: One valid params object per method (None: the method takes none).
VALID: dict[str, Any] = {
    "healthpoint.claim": CLAIM,
    "healthpoint.rebateEstimate": {k: v for k, v in CLAIM.items() if k != "onApproved"},
    "healthpoint.cancel": {"requestId": "pms-2", "claimJobId": "job-1"},
    "payment.gap": {"requestId": "pms-3", "claimJobId": "job-1", "amount": 4400},
    "job.answer": {"jobId": "job-1", "answer": "ACCEPT"},
    "job.abort": {"jobId": "job-1"},
    "job.get": {"requestId": "pms-1"},
    "job.list": {"state": "unknown", "terminal": "front-desk", "kind": "claim", "limit": 10},
    "job.resolve": {"jobId": "job-1", "outcome": "approved", "note": "fund confirmed by phone"},
    "terminal.list": None,
    "terminal.pair": {"terminal": "front-desk", "mid": 1, "tid": 2},
    "healthpoint.reconciliation": {"terminal": "front-desk", "date": "2026-11-22", "type": "claims"},
    "healthcode.checkCredentials": None,
    "healthcode.validate": {"bill": BILL},
    "healthcode.submit": {"requestId": "pms-4", "bill": BILL},
    "healthcode.cancel": {"jobId": "job-9"},
    "healthcode.codes": {"kind": "isc", "query": "knee", "insurer": "bup", "limit": 20},
    "system.health": None,
    "events.subscribe": {"topics": ["job.updated", "*"]},
    "rpc.discover": None,
}


def _all_methods() -> list[str]:
    return [str(m) for key in ("interfaces", "events", "discovery") for m in FIXTURE[key]]


# --------------------------------------------------------------------------- the method table


def test_method_table_is_exactly_the_interfaces():
    assert sorted(METHODS) == sorted(_all_methods())
    assert sorted(VALID) == sorted(METHODS)


def test_notifications_are_exactly_the_interfaces():
    assert sorted(NOTIFICATIONS) == sorted(FIXTURE["notifications"])


@pytest.mark.parametrize("method", sorted(METHODS))
def test_every_method_parses_valid_params(method):
    params = parse_params(method, copy.deepcopy(VALID[method]))
    spec = METHODS[method]
    if spec.params is None:
        assert params is None
        assert parse_params(method, {}) is None and parse_params(method, []) is None
        with pytest.raises(InvalidParams) as info:
            parse_params(method, {"x": 1})
        assert info.value.errors[0].field == "params"
    else:
        assert isinstance(params, spec.params)
        assert spec.summary


@pytest.mark.parametrize("method", sorted(m for m, s in METHODS.items() if s.params is not None))
def test_every_method_refuses_unknown_fields_and_positional_params(method):
    with pytest.raises(InvalidParams) as info:
        parse_params(method, {**VALID[method], "surprise": 1})
    assert [(e.field, e.message) for e in info.value.errors] == [("surprise", "is not a known field")]
    with pytest.raises(InvalidParams) as info:
        parse_params(method, [VALID[method]])
    assert info.value.errors[0].field == "params"


def test_unknown_method():
    with pytest.raises(MethodNotFound) as info:
        parse_params("healthpoint.claimAll", {})
    assert info.value.data() == {"method": "healthpoint.claimAll"}


def test_claim_defaults_and_types():
    params = parse_params("healthpoint.claim", {k: v for k, v in CLAIM.items() if k not in ("terminal", "onApproved")})
    assert isinstance(params, ClaimParams)
    assert params.onApproved == "ask" and params.terminal is None
    assert params.items[0].serviceDate == date(2024, 9, 21)
    assert params.items[0].claimAmount == 10000


# --------------------------------------------------------------------------- bad fields


def _claim_with(path: str, value: Any) -> dict[str, Any]:
    claim = copy.deepcopy(CLAIM)
    claim["items"] = [copy.deepcopy(ITEM) for _ in range(4)]
    target: Any = claim
    parts = path.split(".")
    for part in parts[:-1]:
        target = target[int(part)] if part.isdigit() else target[part]
    last: Any = int(parts[-1]) if parts[-1].isdigit() else parts[-1]
    if value is _DELETE:
        del target[last]
    else:
        target[last] = value
    return claim


_DELETE = object()

CLAIM_RULES = [
    ("items.3.patientId", "2", "must be exactly two digits"),
    ("items.3.patientId", "ab", "must be exactly two digits"),
    ("items.3.patientId", 2, "must be exactly two digits"),
    ("items.3.patientId", _DELETE, "is required"),
    ("items.0.claimAmount", -1, "whole number of cents"),
    ("items.0.claimAmount", 10_000_000_000, "whole number of cents"),
    ("items.0.claimAmount", "100", "whole number of cents"),
    ("items.0.claimAmount", 100.0, "whole number of cents"),
    ("items.0.claimAmount", True, "whole number of cents"),
    ("items.1.serviceCode", "123456", "1 to 5 letters or digits"),
    ("items.1.serviceCode", "", "1 to 5 letters or digits"),
    ("items.1.serviceCode", "5-0", "1 to 5 letters or digits"),
    ("items.1.description", "x" * 33, "1 to 32 printable"),
    ("items.1.description", "", "1 to 32 printable"),
    ("items.1.description", " leading", "1 to 32 printable"),
    ("items.1.description", "tab\there", "1 to 32 printable"),
    ("items.1.description", "caf\u00e9", "1 to 32 printable"),
    ("items.2.serviceReference", "ABCD", "1 to 3 letters or digits"),
    ("items.2.serviceReference", "", "1 to 3 letters or digits"),
    ("items.2.serviceDate", "20240921", "YYYY-MM-DD"),
    ("items.2.serviceDate", "2024-02-30", "YYYY-MM-DD"),
    ("items.2.serviceDate", 1726900000, "YYYY-MM-DD"),
    ("items.2.serviceDate", "2024-09-21T10:00:00", "YYYY-MM-DD"),
    ("providerId", "2159081", "8-character provider number"),
    ("providerId", "2159081w", "8-character provider number"),
    ("providerId", "21590811", "8-character provider number"),
    ("providerId", "A159081W", "8-character provider number"),
    ("serviceType", "K", "modality codes"),
    ("serviceType", "PP", "modality codes"),
    ("serviceType", "p", "modality codes"),
    ("requestId", "", "1 to 64 characters"),
    ("requestId", "r" * 65, "1 to 64 characters"),
    ("requestId", 5, "1 to 64 characters"),
    ("requestId", _DELETE, "is required"),
    ("terminal", "Front Desk", "lower-case letters"),
    ("terminal", "a" * 41, "lower-case letters"),
    ("onApproved", "yes", "'ask', 'accept', 'reject'"),
    ("items.0", "not an item", "must be an object"),
]


@pytest.mark.parametrize(("path", "value", "rule"), CLAIM_RULES)
def test_claim_rule(path, value, rule):
    with pytest.raises(InvalidParams) as info:
        parse_params("healthpoint.claim", _claim_with(path, value))
    assert [e.field for e in info.value.errors] == [path]
    assert rule in info.value.errors[0].message
    assert info.value.code == -32602


@pytest.mark.parametrize(
    ("items", "rule"),
    [
        ([], "at least one item"),
        ([ITEM] * 17, "at most 16 items"),
        ("items", "list of 1 to 16 items"),
        ([{**ITEM, "claimAmount": 9_999_999_999}, {**ITEM, "claimAmount": 1}], "items' total"),
        ([{**ITEM, "serviceReference": "ZZZ"}, {**ITEM, "serviceReference": "ZZZ"}], "ZZZ"),
    ],
)
def test_items_rules(items, rule):
    with pytest.raises(InvalidParams) as info:
        parse_params("healthpoint.claim", {**CLAIM, "items": items})
    assert [e.field for e in info.value.errors] == ["items"]
    assert rule in info.value.errors[0].message


def test_sixteen_items_and_the_largest_total_are_fine():
    assert parse_params("healthpoint.claim", {**CLAIM, "items": [ITEM] * 16})
    big = [{**ITEM, "claimAmount": 9_999_999_998}, {**ITEM, "claimAmount": 1}]
    assert parse_params("healthpoint.claim", {**CLAIM, "items": big})


def test_every_bad_field_is_named_at_once():
    claim = _claim_with("items.3.patientId", "7")
    claim["items"][1]["serviceCode"] = "TOOLONG"
    claim["providerId"] = "x"
    del claim["serviceType"]
    with pytest.raises(InvalidParams) as info:
        parse_params("healthpoint.claim", claim)
    fields = {e.field for e in info.value.errors}
    assert fields == {"providerId", "serviceType", "items.1.serviceCode", "items.3.patientId"}
    data = info.value.data()
    assert data is not None
    assert all(set(e) == {"field", "message"} for e in data["errors"])


def test_all_the_provider_numbers_of_the_seed_are_valid():
    for provider in ("2159081W", "1455813F", "4237955J", "2147661H"):
        assert parse_params("healthpoint.claim", {**CLAIM, "providerId": provider})


@pytest.mark.parametrize("modality", MODALITIES)
def test_every_modality_is_accepted(modality):
    assert parse_params("healthpoint.claim", {**CLAIM, "serviceType": modality})


OTHER_RULES = [
    ("healthpoint.rebateEstimate", {"onApproved": "accept"}, "onApproved", "not a known field"),
    ("payment.gap", {"amount": 0}, "amount", "from 1 to"),
    ("payment.gap", {"amount": "44"}, "amount", "from 1 to"),
    ("healthpoint.cancel", {"claimJobId": ""}, "claimJobId", "1 to 64"),
    ("job.answer", {"answer": ""}, "answer", "1 to 64"),
    ("job.list", {"state": "done"}, "state", "queued"),
    ("job.list", {"kind": "refund"}, "kind", "rebateEstimate"),
    ("job.list", {"limit": 0}, "limit", "1 to 1000"),
    ("job.resolve", {"outcome": "completed"}, "outcome", "notProcessed"),
    ("job.resolve", {"note": "   "}, "note", "not only spaces"),
    ("job.resolve", {"note": ""}, "note", "1 to 500"),
    ("terminal.pair", {"mid": 0}, "mid", "positive"),
    ("terminal.pair", {"tid": "2"}, "tid", "positive"),
    ("terminal.pair", {"terminal": "UPPER"}, "terminal", "lower-case"),
    ("healthpoint.reconciliation", {"type": "summary"}, "type", "'claims' or 'payments'"),
    ("healthpoint.reconciliation", {"date": "22/11/2026"}, "date", "YYYY-MM-DD"),
    ("events.subscribe", {"topics": ["job.*"]}, "topics.0", "job.updated"),
    ("events.subscribe", {"topics": []}, "topics", "list of topics"),
    ("healthcode.validate", {"bill": "INV-1"}, "bill", "must be an object"),
    ("healthcode.codes", {"kind": "opcs"}, "kind", "must be"),
    ("healthcode.codes", {"query": ""}, "query", "1 to 64"),
]


@pytest.mark.parametrize(("method", "change", "field", "rule"), OTHER_RULES)
def test_other_rules(method, change, field, rule):
    with pytest.raises(InvalidParams) as info:
        parse_params(method, {**VALID[method], **change})
    assert [e.field for e in info.value.errors] == [field]
    assert rule in info.value.errors[0].message


@pytest.mark.parametrize("params", [{}, {"jobId": "j", "requestId": "r"}])
def test_job_get_needs_exactly_one_key(params):
    with pytest.raises(InvalidParams) as info:
        parse_params("job.get", params)
    assert info.value.errors[0].message == "give exactly one of jobId or requestId"


def test_job_get_by_job_id():
    params = parse_params("job.get", {"jobId": "j"})
    assert isinstance(params, JobGetParams) and params.requestId is None


def test_params_models_are_frozen():
    params = parse_params("job.abort", {"jobId": "j"})
    assert isinstance(params, BaseModel)
    with pytest.raises(Exception):
        params.jobId = "k"  # type: ignore[attr-defined]


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
    job = Job(jobId="j", requestId="r", kind=JobKind.CLAIM, terminal="front-desk",
              state=JobState.QUEUED, createdAt=now, updatedAt=now, request={"a": 1})
    out = response(7, [job])
    assert out["jsonrpc"] == "2.0" and out["id"] == 7
    assert out["result"][0]["createdAt"] == "2026-11-22T09:00:00Z"
    assert out["result"][0]["state"] == "queued" and out["result"][0]["kind"] == "claim"
    json.dumps(out)


def test_error_response():
    out = error_response("x", JobNotFound("j"))
    assert out == {"jsonrpc": "2.0", "id": "x",
                   "error": {"code": -32002, "message": "Not found", "data": {"key": "j"}}}
    assert error_response(None, ValueError("secret"))["error"] == {"code": -32603, "message": "Internal error"}


def test_notification():
    out = notification("job.status", JobStatus(jobId="j", message="Reading card"))
    assert out == {"jsonrpc": "2.0", "method": "job.status",
                   "params": {"jobId": "j", "message": "Reading card"}}
    assert "id" not in out


# --------------------------------------------------------------------------- OpenRPC


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [r for v in node.values() for r in _refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []


def test_openrpc_lists_exactly_the_interfaces_methods():
    doc = openrpc_document("1.2.3")
    assert doc["openrpc"] == "1.2.6" and doc["info"]["version"] == "1.2.3"
    names = [m["name"] for m in doc["methods"]]
    assert sorted(names) == sorted(FIXTURE["interfaces"] + FIXTURE["events"])
    assert [n["name"] for n in doc["x-notifications"]] == list(NOTIFICATIONS)
    json.dumps(doc)


def test_openrpc_methods_have_params_results_and_errors():
    doc = openrpc_document("0")
    by_name = {m["name"]: m for m in doc["methods"]}
    claim = by_name["healthpoint.claim"]
    params = {p["name"]: p for p in claim["params"]}
    assert set(params) == {"requestId", "terminal", "providerId", "serviceType", "items", "onApproved"}
    assert params["requestId"]["required"] and not params["onApproved"]["required"]
    assert params["serviceType"]["schema"]["enum"][0] == "0"
    assert claim["result"]["schema"] == {"$ref": "#/components/schemas/Job"}
    assert {e["code"] for e in claim["errors"]} >= {-32602, -32001, -32003}
    assert by_name["terminal.list"]["params"] == []
    item = doc["components"]["schemas"]["ClaimItem"]["properties"]
    assert item["patientId"]["pattern"] == "^[0-9]{2}$"
    assert item["claimAmount"]["maximum"] == 9_999_999_999
    assert item["serviceDate"]["format"] == "date"
    for method in doc["methods"]:
        assert method["summary"] and method["errors"]


def test_openrpc_refs_resolve():
    doc = openrpc_document("0")
    schemas = doc["components"]["schemas"]
    for ref in _refs(doc["methods"]) + _refs(doc["x-notifications"]) + _refs(schemas):
        if ref.startswith("#/components/schemas/"):
            assert ref.rsplit("/", 1)[1] in schemas, ref
