"""Tests for bridge.healthcode.search: the code pick-list."""

from __future__ import annotations

from bridge.healthcode.reference import load_reference
from bridge.healthcode.search import search_codes

REF = load_reference()



def test_search_by_code_prefix_ignores_case_and_dots() -> None:
    assert [m.code for m in search_codes("icd10", "m545", None, None, REF)] == ["M54.5"]
    assert [m.code for m in search_codes("icd10", "M54", None, None, REF)] == ["M54.2", "M54.5"]


def test_search_by_words() -> None:
    found = search_codes("icd10", "knee", None, None, REF)
    assert {m.code for m in found} == {"M17.1", "S83.5"}
    assert [m.code for m in search_codes("ccsd", "laser ther", None, None, REF)] == ["W9220"]


def test_search_exact_code_first() -> None:
    found = search_codes("icd10", "M25.5", None, None, REF)
    assert [m.code for m in found] == ["M25.5", "M25.56"]


def test_search_marks_allowed_for_insurer() -> None:
    [psy] = search_codes("isc", "psychology", "pzo", None, REF)
    assert psy.code == "ISC-PSY-SESS" and psy.allowed is False
    [psy] = search_codes("isc", "psychology", "bup", None, REF)
    assert psy.allowed is True
    [r51] = search_codes("icd10", "R51", "ppp", None, REF)
    assert r51.allowed is False


def test_search_limit_and_empty_query() -> None:
    assert len(search_codes("isc", "", None, 3, REF)) == 3
    assert len(search_codes("isc", "", None, None, REF)) == len(REF.isc)
    assert search_codes("isc", "zzzz", None, None, REF) == []


def test_search_result_shape() -> None:
    [match] = search_codes("ccsd", "W8500", "ppp", 5, REF)
    assert match.model_dump(by_alias=True) == {
        "code": "W8500", "description": "Multiple arthroscopic operations on knee", "allowed": True}
