"""Tests for bridge.healthcode.search: the code pick-list."""

from __future__ import annotations

from bridge.clearing.reference import load_reference
from bridge.healthcode.search import search_codes

REF = load_reference()



def test_search_by_code_prefix_ignores_case_and_dots() -> None:
    assert [m.code for m in search_codes("icd10", "m545", None, None, REF)] == ["M54.5"]
    assert [m.code for m in search_codes("icd10", "M54", None, None, REF)][:4] == ["M54", "M54.0", "M54.1", "M54.2"]


def test_search_by_words() -> None:
    found = search_codes("icd10", "meniscus tear", None, 100, REF)
    assert {"S83.2", "M23.2"} <= {m.code for m in found}
    assert [m.code for m in search_codes("ccsd", "laser ther", None, None, REF)] == ["W9220"]


def test_icd10_in_full_by_words_and_code() -> None:
    assert search_codes("icd10", "sciatica", None, None, REF)[0].code == "M54.3"
    assert [m.code for m in search_codes("icd10", "M51.1", None, None, REF)] == ["M51.1"]
    assert search_codes("icd10", "tennis elbow", None, None, REF)[0].code == "M77.1"
    assert search_codes("icd10", "R51", "ppp", None, REF)[0].allowed is False


def test_an_insurer_s_imported_list_changes_allowed_for_that_list_only() -> None:
    imported = {"ISC-PHYS-INIT": "Physio initial (insurer's list)", "PHY001": "Physiotherapy session (insurer's own code)"}
    found = {m.code: m for m in search_codes("isc", "phys", "bup", 100, REF, imported)}
    assert found["PHY001"].allowed and found["ISC-PHYS-INIT"].allowed
    assert not found["ISC-PHYS-FU"].allowed
    without = {m.code: m for m in search_codes("isc", "phys", "bup", 100, REF)}
    assert "PHY001" not in without and without["ISC-PHYS-FU"].allowed


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
        "code": "W8500", "description": "Multiple arthroscopic operations on knee (public example, sample)", "allowed": True}


# --- kind "insurer" (the drop-down Heydoc shows as the identifier is typed, seeds/001) -------


def test_insurer_pick_list_by_identifier_prefix_first() -> None:
    from bridge.clearing.reference import load_reference
    from bridge.healthcode.search import search_codes

    reference = load_reference()
    found = search_codes("insurer", "bu", None, None, reference)
    assert [m.code for m in found] == ["bup", "bui"]
    assert found[0].description == "Bupa" and found[0].allowed is True
    assert [m.code for m in search_codes("insurer", "BUP", None, None, reference)][0] == "bup"


def test_insurer_pick_list_by_name_and_by_a_word_of_it() -> None:
    from bridge.clearing.reference import load_reference
    from bridge.healthcode.search import search_codes

    reference = load_reference()
    assert [m.code for m in search_codes("insurer", "avi", None, None, reference)] == ["nuh"]
    # "al" names no identifier: names starting with it first, then a word of a name.
    assert [m.code for m in search_codes("insurer", "al", None, None, reference)] == ["x01", "x02"]
    assert [m.code for m in search_codes("insurer", "health", None, 2, reference)] == ["x01", "ppp"]


def test_insurer_not_taking_electronic_bills_is_not_allowed() -> None:
    from bridge.clearing.reference import load_reference
    from bridge.healthcode.search import search_codes

    (paper,) = search_codes("insurer", "paper", None, None, load_reference())
    assert paper.code == "x05" and paper.allowed is False
