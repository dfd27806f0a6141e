"""Tests for bridge.clearing.reference: the fixture files load and hold what validation needs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bridge.clearing.reference import DEFAULT_REFERENCE_DIR, REFERENCE_FILES, load_reference, who_icd10


def test_the_reference_data_is_package_data() -> None:
    assert DEFAULT_REFERENCE_DIR.name == "data"
    assert all((DEFAULT_REFERENCE_DIR / name).is_file() for name in REFERENCE_FILES)


def test_a_clinic_s_folder_replaces_the_files_it_holds(tmp_path: Path) -> None:
    (tmp_path / "isc.json").write_text(json.dumps({"codes": [
        {"code": "PHY001", "description": "Physiotherapy (the clinic's own list)"}]}))
    own = load_reference(tmp_path)
    assert set(own.isc) == {"PHY001"}
    assert own.insurers == load_reference().insurers  # the package's where the folder has none


def test_loads_every_file() -> None:
    reference = load_reference()
    assert {"bup", "bui", "ppp", "nuh", "slh", "cin", "tih", "wpa", "pzo"} <= set(reference.insurers)
    assert {code for code, rules in reference.insurers.items() if rules.has_member_database} == {
        "bup", "ppp", "nuh", "slh"}
    assert reference.insurers["slh"].max_submission_months == 3
    assert reference.insurers["ppp"].requires_diagnosis
    assert reference.insurers["ppp"].auth_formats is None  # AXA does not validate it
    assert reference.isc["ISC-PROC-OP"].requires_procedure_code
    assert "SYNTHETIC" in reference.isc["ISC-CONS-NEW"].description
    assert reference.ccsd["W9220"].description
    assert reference.icd10["M54.5"].description == "Low back pain"
    assert not reference.ccsd_authoritative and reference.icd10_authoritative


def test_icd10_is_the_who_classification_in_full_with_the_overlays() -> None:
    reference = load_reference()
    assert len(reference.icd10) > 12000
    assert reference.icd10["M54.3"].description == "Sciatica"
    assert reference.icd10["M51.1"].description.startswith("Lumbar and other intervertebral disc disorders")
    assert reference.icd10["F32.9"].not_valid_for == ("ppp",)  # overlay on a WHO code
    assert reference.icd10["M77.1"].terms == ("tennis elbow",)
    assert "M25.56" in reference.icd10  # an overlay code WHO lacks
    assert ("A00", "Cholera") in who_icd10() and not any(code in ("I", "A00-A09") for code, _ in who_icd10())


def test_fake_insurer_codes_are_marked() -> None:
    reference = load_reference()
    fakes = [rules for code, rules in reference.insurers.items() if code.startswith("x")]
    assert fakes and all("SYNTHETIC" in rules.name for rules in fakes)


def test_explicit_path_and_missing_directory(tmp_path: Path) -> None:
    assert load_reference(Path(str(DEFAULT_REFERENCE_DIR))) == load_reference()
    with pytest.raises(OSError):
        load_reference(tmp_path / "missing")


@pytest.mark.parametrize(
    ("name", "content", "said"),
    [
        ("isc.json", "[]", "isc.json"),
        ("isc.json", "{not json", "isc.json"),
        ("insurers.json", json.dumps({"insurers": []}), "genericMembershipFormat"),
        ("ccsd.json", json.dumps({"codes": [{"code": "W9220"}]}), "description"),
        ("icd10.json", json.dumps({"codes": [{"code": "ZZZ.9"}]}), "ZZZ.9 is not in the WHO classification"),
    ],
)
def test_a_clinic_s_file_of_the_wrong_shape_is_named(tmp_path: Path, name: str, content: str, said: str) -> None:
    (tmp_path / name).write_text(content)
    with pytest.raises(ValueError, match=said) as caught:
        load_reference(tmp_path)
    assert name in str(caught.value)


def test_an_overlay_keeps_the_who_title_and_adds_its_own() -> None:
    reference = load_reference()
    overlaid = [code for code in reference.icd10.values() if code.not_valid_for or code.terms]
    assert overlaid, "icd10.json overlays some WHO codes"
    assert all(code.description for code in overlaid)
