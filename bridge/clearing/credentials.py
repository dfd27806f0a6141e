"""Healthcode's secrets, read from their files and read again when a file changes.

The site password (``[healthcode] password_file``) and the V2 API key (``api_key_file``) are
rotated by the clinic, and Healthcode expires passwords: a new one written into its file is used
from the next request on, without a restart. A file that becomes unreadable or empty keeps the
last good secret (logged once). Secrets are never logged or shown in ``repr``.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

__all__ = ["SecretFile", "read_password"]

log = logging.getLogger("claimbridge.healthcode")


def read_password(path: Path, setting: str = "password_file") -> str:
    """Read a Healthcode secret file (the password, or the V2 API key: ``setting`` names it in
    messages); warn (never echoing it) when others may read it.

    Raises:
        ValueError: The file is missing, unreadable or empty.
    """
    try:
        text = path.read_text(encoding="utf-8")
        mode = path.stat().st_mode
    except OSError as exc:
        raise ValueError(f"[healthcode] {setting} {path}: cannot read it ({exc.strerror})") from exc
    password = text.strip()
    if not password:
        raise ValueError(f"[healthcode] {setting} {path} is empty")
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        log.warning("[healthcode] %s %s is readable by others: chmod 600 it", setting, path)
    return password


class SecretFile:
    """A secret file, re-read when it changes (its inode, size or modification time).

    Args:
        path: The file.
        setting: Its setting's name, for messages.

    Raises:
        ValueError: The file cannot be read now (at start-up, a missing secret is fatal).
    """

    def __init__(self, path: Path, setting: str) -> None:
        self.path = path
        self.setting = setting
        self._stamp = self._stat()
        self._value = read_password(path, setting)
        self._complained = False
        #: How many times the secret was read again after a change (tests, logs).
        self.reloads = 0

    def __repr__(self) -> str:
        return f"SecretFile({str(self.path)!r})"

    def _stat(self) -> tuple[int, int, int] | None:
        try:
            info = os.stat(self.path)
        except OSError:
            return None
        return (info.st_ino, info.st_size, info.st_mtime_ns)

    def __call__(self) -> str:
        """The secret as the file holds it now (the last good one if it cannot be read)."""
        stamp = self._stat()
        if stamp == self._stamp:
            return self._value
        try:
            value = read_password(self.path, self.setting)
        except ValueError as exc:
            if not self._complained:
                log.warning("%s; still using the secret read before", exc)
                self._complained = True
            return self._value
        self._stamp, self._complained = stamp, False
        if value != self._value:
            self._value = value
            self.reloads += 1
            log.info("[healthcode] %s %s changed: using the new secret", self.setting, self.path)
        return self._value
