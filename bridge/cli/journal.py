"""``claimbridge journal check | backup FILE | accept-gap --note TEXT`` (INTERFACES.md "The journal
can forget").

``check`` reads the journal file and its mark, the daemon running or not: one line per finding,
exit 1 when there is any (exit 0 and one ``ok`` line otherwise). ``backup`` writes a consistent
copy while the daemon runs (SQLite's online backup), ``0600``. ``accept-gap`` needs the daemon
stopped (it takes the state directory's lock): it records the engineer's note in the journal,
accepts the gap (money work is taken again) and writes the mark; the daemon reconciles the
fund's claims reports for the gap's days at its next start.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sqlite3
from pathlib import Path

from bridge.cli.rpc import CliError
from bridge.config import Settings
from bridge.errors import StateDirLocked
from bridge.journal import Journal
from bridge.journal.gaps import Gap, JournalGaps
from bridge.journal.guard import MarkKeeper
from bridge.journal.integrity import check_journal
from bridge.journal.mark import Mark, MarkUnreadable, behind_reason, mark_path, read_mark
from bridge.statelock import StateDirLock

__all__ = ["add_journal_commands", "journal_findings", "run_journal"]

#: The journal's file name in the state directory.
JOURNAL_NAME = "claimbridge.db"


def add_journal_commands(journal: argparse.ArgumentParser) -> None:
    """The ``journal`` command's own sub-commands."""
    sub = journal.add_subparsers(dest="journal_command", required=True)
    sub.add_parser("check", help="check the journal's integrity (indexes included) and its mark")
    backup = sub.add_parser("backup", help="write a consistent copy of the journal (the daemon may run)")
    backup.add_argument("file", help="where the copy goes (must not exist)")
    accept = sub.add_parser("accept-gap", help="accept that the journal is behind its mark (the daemon stopped)")
    accept.add_argument("--note", required=True, help="why: recorded in the journal's history")


def _meta(path: Path) -> tuple[str, int, Gap | None] | None:
    """``(journal_id, seq, gap)`` of a whole journal file, or None when it has no ``meta`` row yet."""
    db = sqlite3.connect(f"file:{path}?mode=rw", uri=True, timeout=5.0)
    try:
        db.row_factory = sqlite3.Row
        if db.execute("SELECT 1 FROM sqlite_master WHERE name = 'meta'").fetchone() is None:
            return None
        row = db.execute("SELECT * FROM meta WHERE id = 1").fetchone()
        if row is None:
            return None
        gap_text = row["gap"] if "gap" in row.keys() else None
        gap = Gap(**json.loads(gap_text)) if gap_text else None
        return str(row["journal_id"]), int(row["seq"]), gap
    finally:
        db.close()


def journal_findings(path: Path) -> list[str]:
    """What is wrong with the journal at ``path`` and its mark, one plain line each (with what
    to do); empty when nothing is."""
    findings: list[str] = []
    mark: Mark | None = None
    try:
        mark = read_mark(mark_path(path))
    except (MarkUnreadable, OSError) as exc:
        findings.append(f"the mark cannot be read ({exc}): run 'claimbridge journal accept-gap --note TEXT' once checked")
    if not path.exists():
        if mark is not None:
            findings.append(f"{path} is missing but its mark says it had reached change {mark.seq}: restore it "
                            "(docs/operations.md), then 'claimbridge journal accept-gap --note TEXT'")
        return findings
    found = check_journal(path, mark, rows=True)
    findings.extend(f"{path} {d}: restore the last backup (docs/operations.md)" for d in found.damage)
    findings.extend(f"{path}: {r} (the daemon leaves this job out)" for r in found.rows)
    if found.damage:
        return findings
    try:
        meta = _meta(path)
    except sqlite3.Error as exc:
        return [*findings, f"{path} cannot be read ({exc})"]
    if meta is None:
        return findings
    journal_id, seq, gap = meta
    reason = behind_reason(mark, journal_id, seq, created_now=False)
    if gap is not None and gap.state == "open":
        reason = gap.reason
    if reason is not None:
        findings.append(f"{path} is behind its mark: {reason}; money work is refused until an engineer runs "
                        "'claimbridge journal accept-gap --note TEXT' (daemon stopped)")
    elif gap is not None:
        findings.append(f"{path}: an accepted gap waits for reconciliation of the fund's reports "
                        "(the daemon does it when its terminals answer)")
    return findings


def _check(path: Path) -> int:
    findings = journal_findings(path)
    for line in findings:
        print(f"FAIL {line}", flush=True)
    if not findings:
        print(f"ok {path}: whole, indexes included, not behind its mark", flush=True)
    return 1 if findings else 0


def _backup(path: Path, target: Path) -> int:
    if not path.exists():
        raise CliError(f"there is no journal at {path}: check state_dir in the config", 1)
    try:
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise CliError(f"{target} exists: choose a new file (a backup never overwrites one)", 1) from None
    except OSError as exc:
        raise CliError(f"cannot create {target}: {exc.strerror}", 1) from None
    os.close(fd)
    try:
        src = sqlite3.connect(f"file:{path}?mode=rw", uri=True, timeout=10.0)
        dst = sqlite3.connect(target)
        try:
            src.backup(dst)  # one step: a consistent snapshot however the daemon writes meanwhile
            dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
            seq = dst.execute("SELECT seq FROM meta WHERE id = 1").fetchone()
        finally:
            dst.close()
            src.close()
    except sqlite3.Error as exc:
        with contextlib.suppress(OSError):
            target.unlink()
        raise CliError(f"the backup of {path} failed ({exc}): run 'claimbridge journal check'", 1) from None
    os.chmod(target, 0o600)
    print(f"backup {target}: journal {path} up to change {seq[0] if seq else 0}", flush=True)
    return 0


async def _accept(path: Path, note: str) -> Gap | None:
    try:
        mark, problem = read_mark(mark_path(path)), None
    except (MarkUnreadable, OSError) as exc:
        mark, problem = None, f"the journal's mark cannot be read ({exc})"
    async with Journal(path) as journal:
        keeper = MarkKeeper(journal, mark, problem)
        await keeper.start()  # records the gap if the daemon has not started since it appeared
        gap = await JournalGaps(journal).accept(note)
        if gap is not None:
            await asyncio.to_thread(keeper.write_now)
        return gap


def _accept_gap(path: Path, note: str) -> int:
    if not note.strip():
        raise CliError("--note must say why the gap is accepted (it is kept in the journal)", 2)
    found = check_journal(path, None)
    if found.damage:
        raise CliError(f"the journal {path} {found.damage[0]}: restore a whole copy first (docs/operations.md)", 1)
    try:
        with StateDirLock(path.parent):
            gap = asyncio.run(_accept(path, note.strip()))
    except StateDirLocked as exc:
        raise CliError(f"{exc}; stop the daemon first (systemctl stop claimbridge), then run this again", 1) from None
    if gap is None:
        print(f"nothing to accept: {path} is not behind its mark", flush=True)
        return 0
    print(f"accepted: {gap.reason}. Money work is taken again; at its next start the daemon reconciles the "
          "fund's claims reports for the gap's days and lists what the journal lost as notInJournal", flush=True)
    return 0


def run_journal(args: argparse.Namespace, settings: Settings) -> int:
    """Run ``claimbridge journal …``; returns the exit code."""
    path = Path(settings.state_dir) / JOURNAL_NAME
    if args.journal_command == "check":
        return _check(path)
    if args.journal_command == "backup":
        return _backup(path, Path(args.file))
    return _accept_gap(path, args.note)
