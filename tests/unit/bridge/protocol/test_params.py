"""Tests for bridge.protocol.params: every params rule, reported in plain words."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from bridge.errors import InvalidParams
from bridge.healthpoint import MODALITIES
from bridge.protocol.methods import parse_params
from bridge.protocol.params import JobGetParams

_DATA = json.loads((Path(__file__).resolve().parents[4] / "fixtures" / "protocol" / "valid-params.json").read_text())
ITEM: dict[str, Any] = _DATA["item"]
CLAIM: dict[str, Any] = _DATA["claim"]
BILL: dict[str, Any] = _DATA["bill"]
#: One valid params object per method (None: the method takes none).
VALID: dict[str, Any] = _DATA["validParams"]


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
    # One path syntax, as every error names fields: items[0].claimAmount.
    assert [e.field for e in info.value.errors] == [re.sub(r"\.(\d+)", r"[\1]", path)]
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
    assert fields == {"providerId", "serviceType", "items[1].serviceCode", "items[3].patientId"}
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
    ("job.list", {"kind": "purchase"}, "kind", "rebateEstimate"),
    ("job.list", {"limit": 0}, "limit", "1 to 1000"),
    ("job.resolve", {"outcome": "completed"}, "outcome", "notProcessed"),
    ("job.resolve", {"note": "   "}, "note", "not only spaces"),
    ("job.resolve", {"note": ""}, "note", "1 to 500"),
    ("terminal.pair", {"mid": 0}, "mid", "positive"),
    ("terminal.pair", {"tid": "2"}, "tid", "positive"),
    ("terminal.pair", {"terminal": "UPPER"}, "terminal", "lower-case"),
    ("healthpoint.reconciliation", {"type": "summary"}, "type", "'claims' or 'payments'"),
    ("healthpoint.reconciliation", {"date": "22/11/2026"}, "date", "YYYY-MM-DD"),
    ("events.subscribe", {"topics": ["job.*"]}, "topics[0]", "job.updated"),
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
