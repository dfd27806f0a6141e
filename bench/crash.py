"""Crash campaign: kill the daemon (SIGKILL of its process), or its Chromium, or lose the
terminal's answer (``dropResponse``), at random points of a claim's life; restart; replay every
client request with its same ``requestId``; then compare the journal with the simulator's ledger.

Faults that leave every process alive: ``journal-lock`` (another process holds ``BEGIN
EXCLUSIVE`` on the journal for a random 0.3–2.5 s), ``hung-page`` (every renderer is SIGSTOPped
for a random 0.5–3 s; the liveness probe restarts the browser) and ``abort-race`` (a queued claim
aborted just as the one before it ends). ``clock-jump``: the wall clock jumps back a day with an
``unknown`` job in the journal, then a restart. ``journal-restore``/``journal-wal``: the journal
forgets what the fund remembers (bench/crash_journal.py).

An answer is *untruthful* when the job's final state in the journal disagrees with what a
caller was told (``unknown`` excepted: it promises nothing), an APPROVED answer disagrees with
the journal's result, or ``{aborted: true}`` was answered for a claim that ran.

Run ``python -m bench.crash [--daemon-kills 50] [--chromium-kills 20] [--drops 10]
[--journal-locks 10] [--hung-pages 10] [--journal-behind 10] [--abort-races 10]
[--clock-jumps 10] [--seed N]`` from the project root. It prints the counts; it asserts nothing
(tests/crash/test_crash_harness.py runs a short campaign and asserts on the same tally).

Kill points (``PHASES``), each followed by a random extra delay inside its window:
``before-journal`` (right after the request is sent, before or while the job is written),
``queued`` (a second claim waits behind a first), ``card`` (the terminal waits for the card),
``fund`` (the fund is deciding), ``question`` (the accept question is pending),
``approved`` (the patient accepted: the fund has approved, the journal does not know yet).

The parts: bench/crash_drive.py (claims driven to a phase, the replay), bench/crash_check.py
(the tally, journal against ledger), bench/crash_kinds.py (process faults), bench/crash_races.py
(abort races, clock jumps), bench/crash_journal.py (the journal behind).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the project importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import running_sim
from bench.crash_check import Tally
from bench.crash_drive import PHASES
from bench.crash_journal import journal_behind_campaign
from bench.crash_kinds import daemon_campaign, inprocess_campaign, live_fault_campaign
from bench.crash_races import abort_race_campaign, clock_jump_campaign
from tests.daemon_harness import Sim

__all__ = ["PHASES", "Tally", "run_campaign", "main"]


async def run_campaign(
    sim: Sim, workdir: Path, *, daemon_kills: int, chromium_kills: int, drops: int,
    journal_locks: int = 0, hung_pages: int = 0, journal_behind: int = 0, abort_races: int = 0,
    clock_jumps: int = 0, seed: int = 0,
) -> Tally:
    """Run every kind of fault and return the tally (prints nothing)."""
    tally = Tally()
    rng = random.Random(seed)
    start = time.monotonic()
    if daemon_kills:
        await daemon_campaign(sim, workdir, daemon_kills, rng, tally)
    if chromium_kills or drops:
        await inprocess_campaign(sim, workdir, chromium_kills, drops, rng, tally)
    if journal_locks or hung_pages:
        await live_fault_campaign(sim, workdir, journal_locks, hung_pages, rng, tally)
    if journal_behind:
        await journal_behind_campaign(sim, workdir, journal_behind, rng, tally)
    if abort_races:
        await abort_race_campaign(sim, workdir, abort_races, rng, tally)
    if clock_jumps:
        await clock_jump_campaign(sim, workdir, clock_jumps, rng, tally)
    tally.seconds = time.monotonic() - start
    return tally


async def _main(args: argparse.Namespace) -> Tally:
    async with running_sim(scale=50.0) as sim:
        with tempfile.TemporaryDirectory(prefix="claimbridge-crash-") as tmp:
            return await run_campaign(
                sim, Path(tmp), daemon_kills=args.daemon_kills, chromium_kills=args.chromium_kills,
                drops=args.drops, journal_locks=args.journal_locks, hung_pages=args.hung_pages,
                journal_behind=args.journal_behind, abort_races=args.abort_races, clock_jumps=args.clock_jumps,
                seed=args.seed,
            )


def main(argv: list[str] | None = None) -> None:
    """Command line entry: run the campaign and print the tally."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--daemon-kills", type=int, default=50)
    parser.add_argument("--chromium-kills", type=int, default=20)
    parser.add_argument("--drops", type=int, default=10)
    parser.add_argument("--journal-locks", type=int, default=10)
    parser.add_argument("--hung-pages", type=int, default=10)
    parser.add_argument("--journal-behind", type=int, default=10,
                        help="points where the journal forgets: a backup restored, or the -wal deleted (bench/crash_journal.py)")
    parser.add_argument("--abort-races", type=int, default=10,
                        help="a queued claim aborted just as the one before it ends (bench/crash_races.py)")
    parser.add_argument("--clock-jumps", type=int, default=10,
                        help="the clock jumps back a day with an unknown job, then a restart (bench/crash_races.py)")
    parser.add_argument("--seed", type=int, default=int(time.time()))
    args = parser.parse_args(argv)
    print(f"seed {args.seed}")
    tally = asyncio.run(_main(args))
    print("\n".join(tally.lines()))


if __name__ == "__main__":
    main()
