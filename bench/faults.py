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

__all__ = ["hang_renderers", "hold_journal_lock", "renderer_pids"]

_LOCKER = (
    "import sqlite3, sys\n"
    "db = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
    "db.execute('BEGIN EXCLUSIVE')\n"
    "print('locked', flush=True)\n"
    "sys.stdin.read()\n"
)


async def hold_journal_lock(db: Path, seconds: float) -> None:
    """Another process holds ``BEGIN EXCLUSIVE`` on the journal for ``seconds``."""
    proc = await asyncio.to_thread(
        subprocess.Popen, [sys.executable, "-c", _LOCKER, str(db)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        await asyncio.to_thread(proc.stdout.readline)
        await asyncio.sleep(seconds)
    finally:
        await asyncio.to_thread(proc.communicate, b"", 10)


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
