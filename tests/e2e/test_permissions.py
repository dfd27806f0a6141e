"""The state directory is ``0700``; the journal, its ``-wal``/``-shm`` and the token file are
``0600``, whoever starts the daemon and whatever its umask: started as ``make run`` does
(``claimbridge run --with-simulator``) with umask 022, and again over files left readable."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import stat
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.e2e

PRIVATE = ("claimbridge.db", "claimbridge.db-wal", "claimbridge.db-shm", "token")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def _run_once(state: Path, log: Path) -> dict[str, int]:
    """Start like ``make run`` with umask 022, wait until ready (paired with its simulator),
    read the modes, stop with SIGTERM."""
    port, sim_port = _free_port(), _free_port()
    env = {**os.environ, "CLAIMBRIDGE_LISTEN": f"127.0.0.1:{port}", "CLAIMBRIDGE_STATE_DIR": str(state)}
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-c", "from bridge.cli import main; main()", "run", "--with-simulator",
             "--simulator-port", str(sim_port)],
            stdout=out, stderr=subprocess.STDOUT, env=env, preexec_fn=lambda: os.umask(0o022),
        )
    try:
        async with httpx.AsyncClient() as http:
            for _ in range(600):
                assert proc.poll() is None, log.read_text()
                with contextlib.suppress(httpx.HTTPError):
                    if (await http.get(f"http://127.0.0.1:{port}/readyz")).status_code == 200:
                        break
                await asyncio.sleep(0.1)
            else:
                raise AssertionError(log.read_text())
        for _ in range(100):  # the -wal and -shm exist once the journal has written
            if all((state / name).exists() for name in PRIVATE):
                break
            await asyncio.sleep(0.1)
        modes = {name: _mode(state / name) for name in PRIVATE if (state / name).exists()}
        modes["."] = _mode(state)
        return modes
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(40)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


async def test_a_fresh_start_with_umask_022_keeps_secrets_private(tmp_path: Path) -> None:
    state = tmp_path / "state"
    modes = await _run_once(state, tmp_path / "run.log")
    assert set(modes) == {".", *PRIVATE}, modes
    assert modes == {".": 0o700, **{name: 0o600 for name in PRIVATE}}, {k: oct(v) for k, v in modes.items()}


async def test_files_left_readable_by_an_older_start_are_made_private(tmp_path: Path) -> None:
    state = tmp_path / "state"
    await _run_once(state, tmp_path / "run.log")
    os.chmod(state, 0o755)
    for name in PRIVATE:
        if (state / name).exists():
            os.chmod(state / name, 0o644)
    modes = await _run_once(state, tmp_path / "run.log")
    assert modes == {".": 0o700, **{name: 0o600 for name in PRIVATE}}, {k: oct(v) for k, v in modes.items()}
