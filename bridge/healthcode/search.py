"""Healthcode code search, pure: the pick-list behind ``healthcode.codes``.

Finds ISC, CCSD and ICD-10 codes as a PMS user types, by code prefix or by words of the
description, in the reference data of :mod:`bridge.healthcode.refdata`; and insurers by the
first letters of their Healthcode identifier or of their name (Heydoc's drop-down, seeds/001).
"""

from __future__ import annotations

import re

from bridge.healthcode.bills import CodeKind, CodeMatch
from bridge.healthcode.refdata import HealthcodeReference

__all__ = ["search_codes"]

_DEFAULT_SEARCH_LIMIT = 20
_MAX_SEARCH_LIMIT = 100


def search_codes(
    kind: CodeKind,
    query: str,
    insurer: str | None,
    limit: int | None,
    reference: HealthcodeReference,
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

    Returns:
        Exact code first, then code-prefix matches, then description matches, each by code.
    """
    size = _DEFAULT_SEARCH_LIMIT if limit is None else max(1, min(limit, _MAX_SEARCH_LIMIT))
    if kind == "insurer":
        return _search_insurers(query, reference)[:size]
    entries: list[tuple[str, str, bool]]
    if kind == "isc":
        entries = [(c.code, c.description, c.allowed_for(insurer)) for c in reference.isc.values()]
    elif kind == "ccsd":
        entries = [(c.code, c.description, True) for c in reference.ccsd.values()]
    else:
        entries = [
            (c.code, c.description, insurer is None or insurer not in c.not_valid_for)
            for c in reference.icd10.values()
        ]
    wanted = _compact(query)
    words = [w for w in re.split(r"[^0-9a-z]+", query.casefold()) if w]
    ranked: list[tuple[int, str, CodeMatch]] = []
    for code, description, allowed in entries:
        rank = _rank(code, description, wanted, words)
        if rank is not None:
            match = CodeMatch(code=code, description=description, allowed=allowed)
            ranked.append((rank, code, match))
    ranked.sort(key=lambda item: (item[0], item[1]))
    return [match for _, _, match in ranked[:size]]


def _compact(text: str) -> str:
    return re.sub(r"[\s.\-]", "", text).casefold()


def _rank(code: str, description: str, wanted: str, words: list[str]) -> int | None:
    compact_code = _compact(code)
    if not wanted:
        return 2
    if compact_code == wanted:
        return 0
    if compact_code.startswith(wanted):
        return 1
    if not words:
        return None
    vocabulary = re.split(r"[^0-9a-z]+", f"{code} {description}".casefold())
    if all(any(term.startswith(word) for term in vocabulary) for word in words):
        return 2
    return None


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
