"""Insurers' own ISC and CCSD lists on disk: what ``claimbridge codes import`` writes and the
daemon's ``healthcode.codes`` reads.

Heydoc's guide (seeds/001) tells clinics to get "a valid list of all CCSD codes and ISCs" from
each insurer's contracts team; this is where they go: one JSON file per insurer and kind in
``<state_dir>/healthcode-codes/`` (``bup.isc.json``), written whole (a temporary file renamed
over the old one). The daemon re-reads a file when it changes, so an import needs no restart.
Parsing the CSV is pure (:func:`bridge.healthcode.refdata.parse_code_list`).
"""

from __future__ import annotations

import json
import logging
import os
from datetime import datetime
from pathlib import Path
from typing import Literal

__all__ = ["CODES_DIRNAME", "CodeListStore"]

log = logging.getLogger("claimbridge.healthcode")

#: The folder under ``state_dir``.
CODES_DIRNAME = "healthcode-codes"

_Kind = Literal["isc", "ccsd"]


class CodeListStore:
    """The imported lists under one folder.

    Args:
        folder: ``<state_dir>/healthcode-codes``; need not exist yet.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        #: file name -> ((mtime_ns, size), codes): a file is read again only when it changed.
        self._cache: dict[str, tuple[tuple[int, int], dict[str, str]]] = {}

    def path(self, insurer: str, kind: _Kind) -> Path:
        """Where the insurer's list of ``kind`` lives."""
        return self.folder / f"{insurer}.{kind}.json"

    def save(self, insurer: str, kind: _Kind, codes: dict[str, str], source: str, at: datetime) -> Path:
        """Replace the insurer's list of ``kind`` (atomically); returns the file written.

        Raises:
            OSError: The folder or file cannot be written.
        """
        self.folder.mkdir(parents=True, exist_ok=True)
        target = self.path(insurer, kind)
        body = {
            "insurer": insurer, "kind": kind, "source": source, "importedAt": at.isoformat(),
            "codes": [{"code": code, "description": text} for code, text in codes.items()],
        }
        temporary = target.with_suffix(".json.tmp")
        with open(temporary, "w", encoding="utf-8") as handle:
            json.dump(body, handle, ensure_ascii=False, indent=1)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, target)
        return target

    def get(self, insurer: str, kind: _Kind) -> dict[str, str] | None:
        """The insurer's list of ``kind`` (code -> description), or None when it has none.

        A file that cannot be read is logged and treated as absent (the reference list applies).
        """
        target = self.path(insurer, kind)
        try:
            info = target.stat()
        except OSError:
            self._cache.pop(target.name, None)
            return None
        stamp = (info.st_mtime_ns, info.st_size)
        cached = self._cache.get(target.name)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        try:
            body = json.loads(target.read_text(encoding="utf-8"))
            codes = {str(row["code"]): str(row["description"]) for row in body["codes"]}
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("Healthcode code list %s unreadable (%s); import it again", target, type(exc).__name__)
            return None
        self._cache[target.name] = (stamp, codes)
        return codes
