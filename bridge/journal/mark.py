"""The journal's mark: how far the journal had got, kept outside the journal file.

A journal can forget without saying so: an older backup restored, a ``-wal`` lost after a crash
(or a stale one put back), the file replaced. SQLite opens each of those without complaint,
and every ``requestId`` the journal forgot could be claimed again at the fund. So the daemon
keeps, next to the journal, a small file recording the journal's identity (the random
``journal_id`` in its ``meta`` row) and the highest change number (``seq``) it had committed.
A journal found behind its mark (a lower ``seq``, another identity, missing or empty) starts
the daemon ``degraded`` until an engineer accepts the gap.

The mark is written only after the journal committed what it records, so it never runs ahead
of a healthy journal; it is written atomically (a temporary file, fsync, rename, fsync of the
directory) and ``0600``. It may lag a few hundred milliseconds behind the journal (it is
written from a loop, never on the claim's path); a claim takes seconds at the terminal, so the
``running`` row of anything that reached a fund is in the mark before the fund answers.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "MARK_SUFFIX", "Mark", "MarkUnreadable", "behind_reason", "mark_path", "read_mark", "remove_leftovers", "write_mark",
]

#: The mark of ``state_dir/claimbridge.db`` is ``state_dir/claimbridge.db.mark``.
MARK_SUFFIX = ".mark"


@dataclass(frozen=True, slots=True)
class Mark:
    """What the mark file records.

    Attributes:
        journal_id: the identity of the journal file it describes (its ``meta`` row).
        seq: the highest change number that journal had committed.
        at: when the mark was written (for people reading it).
    """

    journal_id: str
    seq: int
    at: str


class MarkUnreadable(ValueError):
    """The mark file exists but does not hold a mark."""


def mark_path(journal_path: Path) -> Path:
    """Where the mark of ``journal_path`` lives."""
    return journal_path.with_name(journal_path.name + MARK_SUFFIX)


def read_mark(path: Path) -> Mark | None:
    """The mark, or None when there is no mark file (a first start, or a journal from before marks).

    Raises:
        MarkUnreadable: the file is there but is not a mark (damaged, or not ours).
        OSError: it cannot be read.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    try:
        data = json.loads(text)
        return Mark(str(data["journalId"]), int(data["seq"]), str(data.get("at", "")))
    except (ValueError, KeyError, TypeError) as exc:
        raise MarkUnreadable(f"{path} is not a journal mark ({exc})") from None


def write_mark(path: Path, mark: Mark) -> None:
    """Replace the mark atomically: a temporary file (``0600``), fsync, rename, fsync the folder.

    Raises:
        OSError: the state directory refuses the write (the old mark stays whole).
    """
    body = json.dumps({"journalId": mark.journal_id, "seq": mark.seq, "at": mark.at}) + "\n"
    # A name of its own per write: a writer cut off mid-write (a cancelled task's thread still
    # running) must not rename another writer's temporary file away from under it.
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        try:
            os.write(fd, body.encode())
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY | os.O_CLOEXEC)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def remove_leftovers(path: Path) -> list[Path]:
    """Delete the temporary files of mark writes that never finished (a daemon killed in the
    middle of one leaves its ``<mark>.<random>.tmp``); called at start, while the state
    directory's lock keeps every other writer out. Returns what was removed."""
    removed = []
    for leftover in path.parent.glob(f"{path.name}.*.tmp"):
        with contextlib.suppress(FileNotFoundError):
            leftover.unlink()
            removed.append(leftover)
    return removed


def behind_reason(mark: Mark | None, journal_id: str, seq: int, created_now: bool) -> str | None:
    """Why the journal is behind its mark, in plain words; None when it is not.

    Args:
        mark: the mark (None: no mark yet, nothing to compare with).
        journal_id: the identity the opened journal carries.
        seq: the highest change number the opened journal holds.
        created_now: the journal file was missing or empty, and opening it made a new one.
    """
    if mark is None:
        return None
    if created_now:
        return f"the journal was missing or empty, but the mark says it had reached change {mark.seq}"
    if journal_id != mark.journal_id:
        return (f"the journal is another file (id {journal_id}) than the one the mark describes "
                f"(id {mark.journal_id}, change {mark.seq})")
    if seq < mark.seq:
        return f"the journal holds changes up to {seq}, but the mark says it had reached {mark.seq}"
    return None

