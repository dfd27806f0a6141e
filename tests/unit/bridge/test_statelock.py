"""bridge/statelock.py: one daemon per state directory, with the holder's pid in the lock file."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bridge.errors import StateDirLocked
from bridge.statelock import LOCK_NAME, StateDirLock, lock_holder

_HOLD = (
    "import sys; from pathlib import Path; from bridge.statelock import StateDirLock\n"
    "with StateDirLock(Path(sys.argv[1])):\n    print('held', flush=True); sys.stdin.read()\n"
)


def test_the_lock_file_names_the_holder(tmp_path: Path) -> None:
    with StateDirLock(tmp_path / "state") as lock:
        assert lock.path == tmp_path / "state" / LOCK_NAME
        assert lock_holder(tmp_path / "state") == os.getpid()
    with StateDirLock(tmp_path / "state"):  # released: taken again
        pass


def test_a_second_holder_is_refused_naming_the_first_pid_and_changing_nothing(tmp_path: Path) -> None:
    holder = subprocess.Popen([sys.executable, "-c", _HOLD, str(tmp_path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        assert holder.stdout is not None and holder.stdout.readline() == b"held\n"
        before = (tmp_path / LOCK_NAME).read_bytes()
        with pytest.raises(StateDirLocked) as refused, StateDirLock(tmp_path):
            pass
        assert refused.value.holder_pid == holder.pid and f"pid {holder.pid}" in str(refused.value)
        assert (tmp_path / LOCK_NAME).read_bytes() == before
    finally:
        holder.communicate(b"")
    with StateDirLock(tmp_path):  # the holder exited: the kernel dropped its lock
        assert lock_holder(tmp_path) == os.getpid()


def test_a_killed_holder_leaves_no_stale_lock(tmp_path: Path) -> None:
    holder = subprocess.Popen([sys.executable, "-c", _HOLD, str(tmp_path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert holder.stdout is not None and holder.stdout.readline() == b"held\n"
    holder.kill()
    holder.wait(10)
    with StateDirLock(tmp_path):
        assert lock_holder(tmp_path) == os.getpid()


def test_the_state_dir_is_created_0700_and_a_loose_one_is_made_0700(tmp_path: Path) -> None:
    import os
    import stat

    from bridge.statelock import StateDirLock, make_private

    fresh = tmp_path / "fresh"
    old = os.umask(0o022)
    try:
        with StateDirLock(fresh):
            assert stat.S_IMODE(fresh.stat().st_mode) == 0o700
        loose = tmp_path / "loose"
        loose.mkdir(mode=0o755)
        with StateDirLock(loose):
            assert stat.S_IMODE(loose.stat().st_mode) == 0o700
    finally:
        os.umask(old)
    secret = tmp_path / "secret"
    secret.write_text("x")
    secret.chmod(0o644)
    make_private(secret, 0o600)
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
