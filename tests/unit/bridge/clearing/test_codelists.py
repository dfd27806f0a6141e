"""Tests for bridge/clearing/codelists.py: an insurer's list saved whole and read again on change."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

from bridge.clearing.codelists import CodeListStore


def test_saved_read_and_re_read_when_the_file_changes(tmp_path: Path) -> None:
    store = CodeListStore(tmp_path / "codes")
    assert store.get("bup", "isc") is None
    at = datetime(2026, 12, 6, tzinfo=UTC)
    path = store.save("bup", "isc", {"PHY001": "Physio"}, "bupa.csv", at)
    assert path == tmp_path / "codes" / "bup.isc.json"
    assert store.get("bup", "isc") == {"PHY001": "Physio"}
    assert store.get("bup", "ccsd") is None and store.get("ppp", "isc") is None
    store.save("bup", "isc", {"PHY001": "Physio", "PHY002": "Physio, long"}, "bupa2.csv", at)
    os.utime(path, ns=(1, 1))  # a different stamp even within one clock tick
    assert store.get("bup", "isc") == {"PHY001": "Physio", "PHY002": "Physio, long"}
    assert not list((tmp_path / "codes").glob("*.tmp"))


def test_an_unreadable_file_is_no_list(tmp_path: Path) -> None:
    store = CodeListStore(tmp_path)
    store.path("bup", "ccsd").write_text("{not json")
    assert store.get("bup", "ccsd") is None
