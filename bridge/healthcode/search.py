"""Healthcode code search, pure: the pick-list behind ``healthcode.codes``.

Finds ISC, CCSD and ICD-10 codes as a PMS user types, by code prefix or by words of the
description, in the reference data of :mod:`bridge.healthcode.refdata`; and insurers by the
first letters of their Healthcode identifier or of their name (Heydoc's drop-down, seeds/001).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import NamedTuple

from bridge.healthcode.bills import CodeKind, CodeMatch
from bridge.healthcode.refdata import HealthcodeReference

__all__ = ["known_codes", "search_codes"]

_DEFAULT_SEARCH_LIMIT = 20
_MAX_SEARCH_LIMIT = 100


def search_codes(
    kind: CodeKind,
    query: str,
    insurer: str | None,
    limit: int | None,
    reference: HealthcodeReference,
    imported: Mapping[str, str] | None = None,
) -> list[CodeMatch]:
    """Find codes as a PMS user types: by code prefix or by words of the description.

    Args:
        kind: ``"isc"``, ``"ccsd"``, ``"icd10"`` or ``"insurer"`` (``code`` is the insurer's
            Healthcode identifier, ``description`` its name, ``allowed`` false when it takes no
            electronic bills; ``insurer`` is then ignored).
        query: What was typed; empty lists the first codes. Case, dots and spaces in a code
            do not matter ("m545" finds M54.5).
        insurer: Marks each match ``allowed`` for this insurer; None allows all.
        limit: At most this many matches (default 20, at most 100).
        reference: The reference data.
        imported: The insurer's own ISC or CCSD list (code -> description, ``claimbridge codes
            import``), if it has one: its codes are found, and ours outside it are
            ``allowed: false``.

    Returns:
        Exact code first, then code-prefix matches, then description matches, each by code.
    """
    size = _DEFAULT_SEARCH_LIMIT if limit is None else max(1, min(limit, _MAX_SEARCH_LIMIT))
    if kind == "insurer":
        return _search_insurers(query, reference)[:size]
    entries: list[tuple[str, str, bool]] = []
    if kind == "isc":
        entries = [(c.code, c.description, c.allowed_for(insurer)) for c in reference.isc.values()]
    elif kind == "ccsd":
        entries = [(c.code, c.description, True) for c in reference.ccsd.values()]
    if kind in ("isc", "ccsd") and imported is not None:
        # The insurer's own list (claimbridge codes import): its codes, and ours outside it not allowed.
        entries = [(code, text, allowed and code in imported) for code, text, allowed in entries]
        entries += [(code, text, True) for code, text in imported.items() if code not in known_codes(kind, reference)]
    if kind == "icd10":
        searchable = _icd10_index(reference)
    else:
        searchable = tuple(_searchable(code, text) for code, text, _ in entries)
    allowed_by_code = {code: allowed for code, _, allowed in entries}
    wanted = _compact(query)
    words = [w for w in re.split(r"[^0-9a-z]+", query.casefold()) if w]
    ranked: list[tuple[int, str, str]] = []
    for item in searchable:
        rank = _rank(item, wanted, words)
        if rank is not None:
            ranked.append((rank, item.code, item.description))
    ranked.sort(key=lambda found: (found[0], found[1]))
    matches = []
    for _, code, description in ranked[:size]:
        if kind == "icd10":
            entry = reference.icd10[code]
            allowed = insurer is None or insurer not in entry.not_valid_for
        else:
            allowed = allowed_by_code[code]
        matches.append(CodeMatch(code=code, description=description, allowed=allowed))
    return matches


def known_codes(kind: CodeKind, reference: HealthcodeReference) -> Mapping[str, object]:
    """Our reference list of ``kind`` (``isc``, ``ccsd`` or ``icd10``), by code."""
    if kind == "isc":
        return reference.isc
    if kind == "ccsd":
        return reference.ccsd
    return reference.icd10


class _Searchable(NamedTuple):
    code: str
    description: str
    compact_code: str
    #: Code and description, case-folded: every word must be a substring before the exact test.
    haystack: str
    vocabulary: tuple[str, ...]


def _searchable(code: str, description: str, terms: tuple[str, ...] = ()) -> _Searchable:
    haystack = " ".join((code, description, *terms)).casefold()
    return _Searchable(code, description, _compact(code), haystack,
                       tuple(w for w in re.split(r"[^0-9a-z]+", haystack) if w))


#: The ICD-10 index per reference object (the WHO list is large; built once per reference).
_ICD10_INDEX: dict[int, tuple[HealthcodeReference, tuple[_Searchable, ...]]] = {}


def _icd10_index(reference: HealthcodeReference) -> tuple[_Searchable, ...]:
    cached = _ICD10_INDEX.get(id(reference))
    if cached is not None and cached[0] is reference:
        return cached[1]
    index = tuple(_searchable(c.code, c.description, c.terms) for c in reference.icd10.values())
    _ICD10_INDEX.clear()  # one reference at a time in a daemon; never grows
    _ICD10_INDEX[id(reference)] = (reference, index)
    return index


def _compact(text: str) -> str:
    return re.sub(r"[\s.\-]", "", text).casefold()


def _rank(item: _Searchable, wanted: str, words: list[str]) -> int | None:
    if not wanted:
        return 3
    if item.compact_code == wanted:
        return 0
    if item.compact_code.startswith(wanted):
        return 1
    if not words or not all(word in item.haystack for word in words):
        return None
    if not all(any(term.startswith(word) for term in item.vocabulary) for word in words):
        return None
    # The description that is what was typed first ("sciatica" -> M54.3 Sciatica).
    return 2 if item.description.casefold() == " ".join(words) else 3


def _search_insurers(query: str, reference: HealthcodeReference) -> list[CodeMatch]:
    """Insurers: exact identifier, identifier prefix, name prefix, then a word of the name."""
    wanted = query.strip().casefold()
    ranked: list[tuple[int, str, CodeMatch]] = []
    for insurer in reference.insurers.values():
        code, name = insurer.code.casefold(), insurer.name.casefold()
        words = [w for w in re.split(r"[^0-9a-z]+", name) if w]
        if code == wanted:
            rank = 0
        elif code.startswith(wanted):
            rank = 1
        elif name.startswith(wanted):
            rank = 2
        elif any(word.startswith(wanted) for word in words):
            rank = 3
        else:
            continue
        match = CodeMatch(code=insurer.code, description=insurer.name, allowed=insurer.accepts_edi)
        ranked.append((rank, insurer.name.casefold(), match))
    ranked.sort(key=lambda item: (item[0], item[1]))
    return [match for _, _, match in ranked]
