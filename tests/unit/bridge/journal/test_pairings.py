"""bridge.journal.pairings: terminals and pairing keys as rows, on a real SQLite file."""

from __future__ import annotations

from pathlib import Path

from bridge.journal import Journal


async def test_a_pairing_is_stored_replaced_and_read_back(tmp_path: Path) -> None:
    async with Journal(tmp_path / "j.db") as journal:
        assert await journal.pairing("desk") is None
        await journal.save_pairing("desk", 1, 2, "key-1")
        await journal.save_pairing("desk", 1, 3, "key-2")
        got = await journal.pairing("desk")
        assert got is not None and (got.mid, got.tid, got.integration_key) == (1, 3, "key-2")


async def test_terminals_are_remembered_by_name(tmp_path: Path) -> None:
    async with Journal(tmp_path / "j.db") as journal:
        await journal.remember_terminal("b", 1, 2)
        await journal.remember_terminal("a", 3, 4)
        await journal.remember_terminal("b", 5, 6)
        assert [(t.name, t.mid, t.tid) for t in await journal.terminals()] == [("a", 3, 4), ("b", 5, 6)]
