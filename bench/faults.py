"""Faults that leave every process alive, for the crash campaign: another process holding the
journal's lock, and stopped renderers (a hung page)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

from bench.common import process_tree

__all__ = ["JournalLocker", "flip_index_byte", "hang_renderers", "hold_journal_lock", "renderer_pids", "truncate_mid_page"]

_LOCKER = (
    "import sqlite3, sys\n"
    "db = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
    "db.execute('BEGIN EXCLUSIVE')\n"
    "print('locked', flush=True)\n"
    "sys.stdin.read()\n"
    "db.execute('ROLLBACK')\n"
)


class JournalLocker:
    """Another process holding ``BEGIN EXCLUSIVE`` on a SQLite file until :meth:`release`
    (returns once the lock is held; used by the crash campaign and the storage-fault tests)."""

    def __init__(self, db: Path) -> None:
        self.proc = subprocess.Popen([sys.executable, "-c", _LOCKER, str(db)], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        line = self.proc.stdout.readline() if self.proc.stdout is not None else b""
        if line != b"locked\n":
            self.release()
            raise RuntimeError(f"could not lock {db}: {line!r}")

    def release(self) -> None:
        """Let go of the lock (the locking process ends)."""
        if self.proc.poll() is None:
            self.proc.communicate(b"", timeout=10)


async def hold_journal_lock(db: Path, seconds: float) -> None:
    """Another process holds ``BEGIN EXCLUSIVE`` on the journal for ``seconds``."""
    locker = await asyncio.to_thread(JournalLocker, db)
    try:
        await asyncio.sleep(seconds)
    finally:
        await asyncio.to_thread(locker.release)


def renderer_pids(browser_pid: int) -> list[int]:
    """The renderer processes under the browser (Chromium rewrites its argv into one string)."""
    out = []
    for pid in process_tree(browser_pid):
        with contextlib.suppress(OSError):
            if b"--type=renderer" in Path(f"/proc/{pid}/cmdline").read_bytes():
                out.append(pid)
    return out


async def hang_renderers(browser_pid: int, seconds: float) -> None:
    """SIGSTOP every renderer for ``seconds``, then SIGCONT (the dead browser's ones just die)."""
    stopped = renderer_pids(browser_pid)
    for pid in stopped:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGSTOP)
    try:
        await asyncio.sleep(seconds)
    finally:
        for pid in stopped:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)


def flip_index_byte(db: Path, column: str = "request_id") -> int:
    """Flip one byte inside a key of the jobs' index on ``column`` (a ``requestId`` long enough
    to hold the byte) in a closed, checkpointed journal file: the table is untouched, only the
    index lies. Returns the file offset changed."""
    with sqlite3.connect(db) as conn:
        page_size = int(conn.execute("PRAGMA page_size").fetchone()[0])
        names = [r[1] for r in conn.execute("PRAGMA index_list(jobs)")]
        index = next(n for n in names if [r[2] for r in conn.execute(f"PRAGMA index_info('{n}')")] == [column])
        root = int(conn.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", (index,)).fetchone()[0])
    conn.close()
    offset = (root - 1) * page_size + page_size - 12  # the cell content area grows from the page's end
    with open(db, "r+b") as fh:
        fh.seek(offset)
        byte = fh.read(1)
        fh.seek(offset)
        fh.write(bytes([byte[0] ^ 0x01]))
    return offset


def truncate_mid_page(db: Path) -> int:
    """Cut a journal file in the middle of its last page; returns the new size."""
    size = db.stat().st_size
    with sqlite3.connect(db) as conn:
        page_size = int(conn.execute("PRAGMA page_size").fetchone()[0])
    conn.close()
    new_size = max(size - page_size // 2, page_size // 2)
    os.truncate(db, new_size)
    return new_size
