"""The short crash campaign (bench/crash.py runs the long one): the daemon SIGKILLed, Chromium
SIGKILLed and the terminal's answer dropped at random points of a claim's life; every client
request replayed with its requestId; the journal compared with the simulator's ledger."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.crash import PHASES, run_campaign
from tests.daemon_harness import Sim

pytestmark = [pytest.mark.crash, pytest.mark.timeout(300)]


def _assert_safe(tally_lines: list[str], double: int, lost: int, mismatches: list[str]) -> None:
    report = "\n".join(tally_lines)
    assert double == 0, report
    assert lost == 0, report
    assert mismatches == [], report


async def test_daemon_sigkill_at_every_phase(tmp_path: Path, sim: Sim) -> None:
    tally = await run_campaign(sim, tmp_path, daemon_kills=len(PHASES), chromium_kills=0, drops=0, seed=5)
    print("\n".join(tally.lines()))
    assert {k.split("/")[1] for k in tally.kill_points} == set(PHASES)
    _assert_safe(tally.lines(), tally.double_claims, tally.lost, tally.mismatches)
    assert tally.requests == len(PHASES) + 1  # the queued phase sends two claims
    assert sum(tally.states.values()) == tally.requests
    assert tally.unknown_then_completed >= 1  # continueLastTransaction did its part


async def test_chromium_sigkill_and_dropped_answers(tmp_path: Path, sim: Sim) -> None:
    tally = await run_campaign(sim, tmp_path, daemon_kills=0, chromium_kills=4, drops=1, seed=7)
    print("\n".join(tally.lines()))
    assert sum(tally.kill_points.values()) == 5
    _assert_safe(tally.lines(), tally.double_claims, tally.lost, tally.mismatches)
    assert tally.kill_points["dropResponse"] == 1
    assert sum(tally.states.values()) == tally.requests


async def test_journal_locked_and_pages_hung_while_claims_run(tmp_path: Path, sim: Sim) -> None:
    tally = await run_campaign(sim, tmp_path, daemon_kills=0, chromium_kills=0, drops=0, journal_locks=2, hung_pages=2, seed=11)
    print("\n".join(tally.lines()))
    assert sum(v for k, v in tally.kill_points.items() if k.startswith("journal-lock/")) == 2
    assert sum(v for k, v in tally.kill_points.items() if k.startswith("hung-page/")) == 2
    _assert_safe(tally.lines(), tally.double_claims, tally.lost, tally.mismatches)
    assert tally.untruthful == 0
    assert sum(tally.states.values()) == tally.requests


async def test_abort_races_and_clock_jumps(tmp_path: Path, sim: Sim) -> None:
    """A queued claim aborted just as the one before it ends; the clock jumped back a day with
    an ``unknown`` job in the journal, then a restart: nothing twice, nobody told an abort that
    ran, recovery re-attaching the job the terminal really has."""
    tally = await run_campaign(sim, tmp_path, daemon_kills=0, chromium_kills=0, drops=0, abort_races=6, clock_jumps=2, seed=13)
    print("\n".join(tally.lines()))
    assert tally.kill_points["abort-race"] == 6
    assert sum(v for k, v in tally.kill_points.items() if k.startswith("clock-jump/")) == 2
    _assert_safe(tally.lines(), tally.double_claims, tally.lost, tally.mismatches)
    assert tally.untruthful == 0
    assert sum(tally.abort_answers.values()) == 6
    assert tally.unknown_then_completed >= 2  # each jump's claim re-attached after the restart
    assert tally.unknown_resolved_by_operator == 0  # the fund's report settled each unknown one
    assert sum(tally.states.values()) == tally.requests
