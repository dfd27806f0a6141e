"""Tests for bridge.protocol.openrpc: the rpc.discover document."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bridge.protocol.openrpc import openrpc_document
from bridge.protocol.results import NOTIFICATIONS

FIXTURE = json.loads(
    (Path(__file__).parents[4] / "fixtures" / "protocol" / "methods.json").read_text()
)


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


def test_no_bare_object_where_the_shape_is_known() -> None:
    from bridge.protocol import openrpc_document

    doc = openrpc_document("t")
    bare: list[str] = []

    def walk(node: object, path: str) -> None:
        if isinstance(node, dict):
            if node.get("type") == "object" and "properties" not in node and not isinstance(
                node.get("additionalProperties"), dict
            ) and not path.endswith(("/Job/properties/request", "/x-discover", "/data")):
                bare.append(path)
            for key, value in node.items():
                walk(value, f"{path}/{key}")
        elif isinstance(node, list):
            for i, value in enumerate(node):
                walk(value, f"{path}/{i}")

    walk(doc, "")
    assert bare == []
    schemas = doc["components"]["schemas"]
    assert {"ClaimOutcome", "PaymentOutcome", "BillOutcome", "ReconciliationReport", "Bill", "BillProblem"} <= set(schemas)
    assert "allOf" not in json.dumps(doc) and '"if"' not in json.dumps(doc)
    variants = [schemas[ref["$ref"].rsplit("/", 1)[-1]] for ref in schemas["Job"]["oneOf"]]
    rules = {v["properties"]["kind"]["const"]: v["properties"] for v in variants}
    assert set(rules) == {"claim", "rebateEstimate", "cancel", "gap", "refund", "healthcodeBill"}
    assert rules["claim"]["result"]["anyOf"][0]["$ref"].endswith("/ClaimOutcome")
    assert rules["claim"]["request"]["$ref"].endswith("/ClaimParams")
    assert rules["gap"]["result"]["anyOf"][0]["$ref"].endswith("/PaymentOutcome")
    assert rules["healthcodeBill"]["request"]["$ref"].endswith("/HealthcodeSubmitParams")
    submit = next(m for m in doc["methods"] if m["name"] == "healthcode.submit")
    assert next(p for p in submit["params"] if p["name"] == "bill")["schema"]["$ref"].endswith("/Bill")


def test_every_title_names_one_schema() -> None:
    """Generators name a type by its title: two different schemas under one title merge (a
    claim's ``result`` typed as an object, a bill's ``lines`` as remittance lines)."""
    seen: dict[str, set[str]] = {}

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("title"), str):
                seen.setdefault(node["title"], set()).add(json.dumps(node, sort_keys=True))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(openrpc_document("1.0"))
    shared = {title: len(bodies) for title, bodies in seen.items() if len(bodies) > 1}
    assert shared == {}


def test_job_is_a_tagged_union_with_kind_const() -> None:
    schemas = openrpc_document("1.0")["components"]["schemas"]
    names = [ref["$ref"].rsplit("/", 1)[-1] for ref in schemas["Job"]["oneOf"]]
    assert names == ["ClaimJob", "RebateEstimateJob", "CancelJob", "GapJob", "RefundJob", "HealthcodeBillJob"]
    for name in names:
        props = schemas[name]["properties"]
        assert "kind" in schemas[name]["required"] and isinstance(props["kind"]["const"], str)
    assert schemas["GapJob"]["properties"]["request"]["$ref"].endswith("/GapParams")
    assert schemas["HealthcodeBillJob"]["properties"]["result"]["anyOf"][0]["$ref"].endswith("/BillOutcome")


def test_terminal_results_are_an_enum() -> None:
    schemas = openrpc_document("1.0")["components"]["schemas"]
    assert schemas["TerminalResult"]["enum"] == [
        "APPROVED", "DECLINED", "CANCELLED", "REVERSED", "NOT STARTED", "SYSTEM ERROR", "UNKNOWN"]
    for model in ("ClaimOutcome", "PaymentOutcome"):
        result = schemas[model]["properties"]["result"]
        assert {"$ref": "#/components/schemas/TerminalResult"} in result["anyOf"]


def test_reason_codes_are_listed() -> None:
    from bridge.reasons import NOT_ALLOWED_REASONS, UNAVAILABLE_REASONS

    doc = openrpc_document("1.0")
    schemas = doc["components"]["schemas"]
    assert schemas["NotAllowedReason"]["enum"] == list(NOT_ALLOWED_REASONS)
    assert schemas["UnavailableReason"]["enum"] == list(UNAVAILABLE_REASONS)
    assert "jobEnded" in schemas["NotAllowedReason"]["description"]
    assert doc["x-error-data"]["-32004"]["$ref"].endswith("/NotAllowedData")
    assert schemas["UnavailableData"]["properties"]["reason"]["$ref"].endswith("/UnavailableReason")


def test_the_terminal_rule_is_in_the_schema() -> None:
    doc = openrpc_document("1.0")
    claim = next(m for m in doc["methods"] if m["name"] == "healthpoint.claim")
    terminal = next(p for p in claim["params"] if p["name"] == "terminal")
    assert "second terminal" in terminal["schema"]["description"]
