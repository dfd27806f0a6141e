"""The state directory's lock: the only code that locks ``state_dir/claimbridge.lock``.

One daemon per state directory: two would both recover the journal (marking the other's live
job ``unknown``) and both drive the terminals. The lock is ``flock(LOCK_EX | LOCK_NB)`` on a
file that holds the holder's pid, taken before anything touches the journal, the token file or
a port. The kernel drops it when the process dies, even under SIGKILL, so a stale file never
blocks a restart.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from types import TracebackType

from bridge.errors import StateDirLocked, StateDirUnusable

__all__ = ["LOCK_NAME", "StateDirLock", "lock_holder", "make_private"]

LOCK_NAME = "claimbridge.lock"


def make_private(path: Path, mode: int) -> None:
    """Give an existing file or directory ``mode`` (0700, 0600) when others could read it: the
    journal holds terminals' integration keys and the token file an engineer's token, whoever
    starts the daemon and whatever its umask.

    Raises:
        OSError: the mode cannot be changed (not ours).
    """
    if path.stat().st_mode & 0o777 != mode:
        os.chmod(path, mode)


def lock_holder(state_dir: Path) -> int | None:
    """The pid written in the lock file, or None when there is none (or it is unreadable)."""
    try:
        text = (state_dir / LOCK_NAME).read_text().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


class StateDirLock:
    """Holds the state directory's exclusive lock from ``__enter__`` to ``__exit__``.

    Args:
        state_dir: the directory (created if missing, ``0700``, and made ``0700`` if it was
            not; creating it changes no file of another daemon).

    Raises:
        StateDirLocked: on enter, when another process holds the lock.
        StateDirUnusable: on enter, when the directory cannot be made or written (read-only,
            not ours, a file in the way).
    """

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        self._fd: int | None = None

    @property
    def path(self) -> Path:
        """The lock file."""
        return self.state_dir / LOCK_NAME

    def __enter__(self) -> StateDirLock:
        try:
            self.state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
            make_private(self.state_dir, 0o700)
            # O_CREAT without O_TRUNC: the holder's pid must survive a loser's open.
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except OSError as exc:
            raise StateDirUnusable(str(self.state_dir), exc.strerror or str(exc)) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise StateDirLocked(str(self.state_dir), lock_holder(self.state_dir)) from None
        except OSError:
            os.close(fd)
            raise
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        os.fsync(fd)
        self._fd = fd
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            # The pid stays in the file: lock_holder() is read only while a lock is held.
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)
