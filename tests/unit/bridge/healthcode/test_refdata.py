"""Tests for bridge.healthcode.refdata: the reference data models."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from bridge.errors import InvalidParams
from bridge.healthcode.refdata import CodeFormat, IscCode, parse_code_list
from bridge.clearing.reference import load_reference

REF = load_reference()


def test_reference_models_ignore_extra_keys_and_are_frozen() -> None:
    fmt = CodeFormat.model_validate({"pattern": "[0-9]{8}", "example": "12345678", "note": "x"})
    assert fmt.example == "12345678"
    with pytest.raises(ValidationError):
        fmt.example = "1"  # type: ignore[misc]


def test_isc_allowed_for_insurer_lists() -> None:
    anyone = IscCode(code="A", description="a")
    only_bup = IscCode(code="B", description="b", insurers=("bup",))
    assert anyone.allowed_for("pzo") and anyone.allowed_for(None)
    assert only_bup.allowed_for("bup") and only_bup.allowed_for(None)
    assert not only_bup.allowed_for("pzo")


def test_fixture_reference_is_keyed_by_code() -> None:
    assert all(key == rules.code for key, rules in REF.insurers.items())
    assert all(key == code.code for key, code in REF.isc.items())


def test_an_insurer_s_code_list_is_read_from_its_csv() -> None:
    text = "\ufeffCode,Description\r\nPHY001,Physio\r\n\r\nPHY-2/A,\"Physio, long\"\r\n"
    assert parse_code_list(text, "isc") == {"PHY001": "Physio", "PHY-2/A": "Physio, long"}
    with pytest.raises(InvalidParams) as bad:
        parse_code_list("code,description\nW922,a\nW9220,b\nW9220,c\nX1234\n9999Z,\n", "ccsd")
    assert [e.field for e in bad.value.errors] == ["line 2", "line 4", "line 5", "line 6"]
    with pytest.raises(InvalidParams):
        parse_code_list("code,description\n", "isc")
    with pytest.raises(InvalidParams):
        parse_code_list("", "isc")
