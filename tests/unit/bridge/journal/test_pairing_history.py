"""Pairing changes on a real journal: a re-pairing and an unpairing each leave a history row
saying what the terminal was paired to before; unpairing forgets the keys and the remembered
terminal."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from bridge.journal import Journal
from bridge.journal.pairing_history import PairingChanges

AT = datetime(2026, 11, 23, 0, 0, tzinfo=UTC)


async def test_re_pairing_and_unpairing_are_recorded(tmp_path: Path) -> None:
    async with Journal(tmp_path / "j.db", clock=lambda: AT) as journal:
        changes = PairingChanges(journal)
        await journal.save_pairing("front-desk", 2187, 1, "key-1")
        await changes.paired("front-desk", None)
        before = await journal.pairing("front-desk")
        await journal.save_pairing("front-desk", 2187, 4, "key-4")
        await changes.paired("front-desk", before, by="engineer")
        await journal.remember_terminal("front-desk", 2187, 4)
        forgotten = await changes.forget("front-desk")
        assert forgotten is not None and (forgotten.mid, forgotten.tid) == (2187, 4)
        assert await journal.pairing("front-desk") is None
        assert [t.name for t in await journal.terminals()] == []
        assert await changes.forget("front-desk") is None
        history = await changes.history("front-desk")
        assert [(h["event"], h["detail"]) for h in history] == [
            ("terminal paired", "front-desk: mid 2187 tid 1 (was nothing)"),
            ("terminal re-paired", "front-desk: mid 2187 tid 4 (was mid 2187 tid 1) by engineer"),
            ("terminal unpaired", "front-desk: was mid 2187 tid 4"),
            ("terminal unpaired", "front-desk: was nothing"),
        ]
        assert all(h["at"].startswith("2026-11-23") for h in history)
        assert await changes.history("back-room") == []
