"""Tests for bridge.healthcode.refdata: the reference data models."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from bridge.healthcode.refdata import CodeFormat, IscCode
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
