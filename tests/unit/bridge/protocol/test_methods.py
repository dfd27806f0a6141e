"""Tests for bridge.protocol.methods: the method table and params parsing."""

from __future__ import annotations

import copy
import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from bridge.errors import InvalidParams, MethodNotFound
from bridge.protocol.methods import METHODS, invalid_where, parse_params
from bridge.protocol.params import ClaimParams

FIXTURE = json.loads(
    (Path(__file__).parents[4] / "fixtures" / "protocol" / "methods.json").read_text()
)

_DATA = json.loads((Path(__file__).resolve().parents[4] / "fixtures" / "protocol" / "valid-params.json").read_text())
ITEM: dict[str, Any] = _DATA["item"]
CLAIM: dict[str, Any] = _DATA["claim"]
BILL: dict[str, Any] = _DATA["bill"]
#: One valid params object per method (None: the method takes none).
VALID: dict[str, Any] = _DATA["validParams"]


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


def test_invalid_where_names_the_places_and_rules_not_the_values() -> None:
    with pytest.raises(ValidationError) as refused:
        ClaimParams.model_validate({"requestId": "r-1", "items": "Ms Jane Citizen"})
    text = invalid_where(refused.value)
    assert "items" in text and "Jane" not in text
    assert text.count(";") == len(refused.value.errors()) - 1  # one entry per error
