"""Healthcode reference data loader: the only code that reads ``fixtures/healthcode/*.json``.

Keeps :mod:`bridge.healthcode` free of I/O. The files are described in their own ``_about``
keys: insurers (reference/healthcode.md §3.4, §3.6), SYNTHETIC ISC codes (§5.2, §5.3), a CCSD
sample (§5.1) and an ICD-10 sample (§5.3).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bridge.healthcode.refdata import HealthcodeReference

__all__ = ["DEFAULT_REFERENCE_DIR", "load_reference"]

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
    return HealthcodeReference.model_validate(
        {
            "insurers": {entry["code"]: entry for entry in insurers["insurers"]},
            "genericMembershipFormat": insurers["genericMembershipFormat"],
            "isc": {entry["code"]: entry for entry in isc["codes"]},
            "ccsd": {entry["code"]: entry for entry in ccsd["codes"]},
            "ccsdAuthoritative": ccsd.get("authoritative", False),
            "icd10": {entry["code"]: entry for entry in icd10["codes"]},
            "icd10Authoritative": icd10.get("authoritative", False),
        }
    )


def _read(file: Path) -> dict[str, Any]:
    data = json.loads(file.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"{file.name}: expected a JSON object")
    return data
