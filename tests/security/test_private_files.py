"""Under `claimbridge run --with-simulator` (what `make run` starts), whatever the umask of whoever
starts it: the state directory 0700, the journal with its -wal/-shm, the token and the client
token files 0600; a state directory left world-readable by an older version is made private."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from tests.e2e.test_cli import BIN, MakeRun, _free_port

pytestmark = pytest.mark.e2e


def _start(tmp: Path) -> MakeRun:
    state = tmp / "var"
    run = MakeRun(_free_port(), _free_port(), state, None)  # type: ignore[arg-type]
    run.proc = subprocess.Popen(
        [str(BIN / "claimbridge"), "run", "--with-simulator", "--simulator-port", str(run.sim_port)],
        env=run.env, cwd=tmp, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, umask=0o022)
    assert run.proc.stdout is not None
    deadline = time.monotonic() + 90
    for line in run.proc.stdout:
        if "pairing:" in line:
            return run
        assert time.monotonic() < deadline, "claimbridge run did not pair within 90 s"
    raise AssertionError(f"claimbridge run exited with {run.proc.wait()}")


def _mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


def test_make_run_keeps_its_files_private(tmp_path: Path) -> None:
    state = tmp_path / "var"
    state.mkdir(mode=0o755)
    os.chmod(state, 0o755)  # as an older version (or a careless umask) left it
    run = _start(tmp_path)
    try:
        done = run.cli("call", "job.list")
        assert done.returncode == 0, done.stderr
        assert run.cli("token", "create", "reception", "--role", "pms").returncode == 0
        assert _mode(state) == 0o700
        for name in ("claimbridge.db", "claimbridge.db-wal", "claimbridge.db-shm", "token"):
            assert (state / name).exists(), name
            assert _mode(state / name) == 0o600, f"{name} is {_mode(state / name):o}"
        assert _mode(state / "clients" / "reception.token") == 0o600
        assert _mode(state / "clients.json") == 0o600
    finally:
        run.proc.terminate()
        run.proc.wait(timeout=30)
