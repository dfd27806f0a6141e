"""Where clients reach the daemon: the listening socket, bound before anything else opens, and
the bearer token file they must present. Owns that socket's bind, the token file and the state
directory's modes, nothing else."""

from __future__ import annotations

import os
import secrets
import socket
from pathlib import Path

from bridge.errors import CannotStart

__all__ = ["bind_socket", "ensure_token", "make_private", "split_listen"]

#: The journal's files: the database and SQLite's write-ahead log and shared memory beside it.
JOURNAL_FILES = ("claimbridge.db", "claimbridge.db-wal", "claimbridge.db-shm")


def make_private(state_dir: Path) -> None:
    """The state directory 0700 and the journal's files already there 0600, whoever made them
    (INTERFACES.md: "whoever starts the daemon"); ``claimbridge run`` also sets the umask to
    0077, so what the daemon creates from now on (SQLite's -wal and -shm take the database's
    mode) is private too."""
    state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    if state_dir.stat().st_mode & 0o077:
        os.chmod(state_dir, 0o700)
    for name in JOURNAL_FILES:
        path = state_dir / name
        if path.exists() and path.stat().st_mode & 0o077:
            os.chmod(path, 0o600)


def ensure_token(path: Path) -> str:
    """Read the bearer token, creating it (mode 0600) on first start. Never logged."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        token = path.read_text().strip()
        if token:
            if path.stat().st_mode & 0o077:
                os.chmod(path, 0o600)
            return token
    token = secrets.token_urlsafe(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(token + "\n")
    os.chmod(path, 0o600)
    return token


def split_listen(listen: str) -> tuple[str, int]:
    """``host:port`` (``[v6]:port``; an empty host is 127.0.0.1) as (host, port)."""
    host, _, port = listen.rpartition(":")
    return host.strip("[]") or "127.0.0.1", int(port)


def bind_socket(host: str, port: int) -> socket.socket:
    """Bind the listening socket (not yet serving): a clash is found before the journal opens.

    Made with ``IPPROTO_TCP`` named, so that asyncio turns Nagle's algorithm off on every
    connection it accepts (it does so only for sockets whose protocol says TCP; one made with
    the default protocol 0 kept Nagle on, and a notification sent just after another waited for
    the PMS's delayed ACK — up to 40 ms on Linux — before it left the daemon).

    Raises:
        CannotStart: the address is in use or not ours to bind.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise CannotStart(
            f"claimbridge: cannot listen on {host}:{port}: {exc.strerror}; "
            "is another program using that port? Change `listen` or stop it"
        ) from exc
    sock.setblocking(False)
    return sock
