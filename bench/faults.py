"""Faults that leave every process alive, for the crash campaign: another process holding the
journal's lock, and stopped renderers (a hung page)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path

from bench.common import process_tree

__all__ = ["JournalLocker", "hang_renderers", "hold_journal_lock", "renderer_pids"]

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
