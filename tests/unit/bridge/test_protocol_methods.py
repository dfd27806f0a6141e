"""Tests for bridge.protocol_methods: the method table and params parsing."""

from __future__ import annotations

import copy
import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from bridge.errors import InvalidParams, MethodNotFound
from bridge.protocol_methods import METHODS, parse_params
from bridge.protocol_params import ClaimParams

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
