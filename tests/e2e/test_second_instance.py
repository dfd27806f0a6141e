"""A second daemon on the same state directory, and a daemon whose port is taken: each exits 1
with one plain line and changes nothing (real processes, real SQLite files)."""

from __future__ import annotations

import asyncio
import os
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from bench.common import ROOT, SubprocessDaemon
from bridge.jobs import JobKind, JobState
from bridge.protocol import ClaimParams
from bridge.journal import Journal
from tests.daemon_harness import FRONT_DESK, Sim, claim_request

pytestmark = pytest.mark.e2e

WAITING = "Waiting for health fund response"


def _files(state_dir: Path) -> dict[str, tuple[bytes, int]]:
    """Every journal file's bytes and mtime (ns)."""
    out = {}
    for name in ("claimbridge.db", "claimbridge.db-wal"):
        p = state_dir / name
        if p.exists():
            out[name] = (p.read_bytes(), p.stat().st_mtime_ns)
    return out


def _rows(state_dir: Path) -> list[tuple[object, ...]]:
    """Every job and audit row, read with a read-only connection."""
    db = sqlite3.connect(f"file:{state_dir / 'claimbridge.db'}?mode=ro", uri=True)
    try:
        jobs = db.execute("SELECT job_id, state, updated_at FROM jobs ORDER BY job_id").fetchall()
        events = db.execute("SELECT seq, job_id, event, to_state FROM job_events ORDER BY seq").fetchall()
    finally:
        db.close()
    return [*jobs, *events]


def _run_second(config: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from bridge.cli import main; raise SystemExit(main())", "--config", str(config), "run"],
        capture_output=True, text=True, timeout=60, cwd=ROOT,
    )


async def test_a_second_daemon_on_the_same_state_dir_exits_naming_the_first_and_touches_nothing(
    tmp_path: Path, sim: Sim
) -> None:
    first = SubprocessDaemon(tmp_path / "site", sim, {FRONT_DESK[0]: FRONT_DESK[1:]})
    await first.start()
    try:
        await first.pair_all()
        c = await first.client()
        # The fund takes 50 simulated seconds (under the 55 s autovoid), and the simulator's clock
        # all but stands still while the second daemon tries to start (a frozen clock, scale 0,
        # would end the fund's wait at once): the claim is at the fund however long that start
        # takes on a loaded machine.
        (await sim.http.post("/_sim/clock", json={"scale": 10})).raise_for_status()
        await sim.scenario(fundDelayMs=50_000)
        call = asyncio.ensure_future(c.call("healthpoint.claim", claim_request(requestId="live-job"), timeout=60))
        await c.wait_note(lambda n: n["method"] == "job.status" and n["params"]["message"] == WAITING)
        (await sim.http.post("/_sim/clock", json={"scale": 0.001})).raise_for_status()
        # The first daemon's own probe writes to its WAL every few seconds: compare the main
        # file byte for byte, and every job and audit row.
        before = (_files(first.state_dir)["claimbridge.db"], _rows(first.state_dir))
        lock_before = (first.state_dir / "claimbridge.lock").read_bytes()
        token_before = (first.state_dir / "token").read_bytes()

        second = await asyncio.to_thread(_run_second, first.config)

        assert second.returncode == 1
        lines = [line for line in second.stderr.splitlines() if line.strip()]
        assert len(lines) == 1, second.stderr
        assert first.proc is not None and f"pid {first.proc.pid}" in lines[0]
        assert (_files(first.state_dir)["claimbridge.db"], _rows(first.state_dir)) == before
        assert (first.state_dir / "token").read_bytes() == token_before
        assert (first.state_dir / "claimbridge.lock").read_bytes() == lock_before
        # the first daemon's live job was not touched: it completes, once, at the fund
        assert not call.done()
        (await sim.http.post("/_sim/clock", json={"scale": 10})).raise_for_status()
        job = await call
        assert job["state"] == "completed" and job["result"]["result"] == "APPROVED"
        assert [r["kind"] for r in await sim.ledger()] == ["claim"]
        await c.close()
    finally:
        first.stop()


async def test_a_port_clash_exits_before_the_journal_is_changed(tmp_path: Path, sim: Sim) -> None:
    state = tmp_path / "site" / "state"
    async with Journal(state / "claimbridge.db") as journal:  # a crashed daemon's journal
        job, _ = await journal.create_job(
            kind=JobKind.CLAIM, request_id="was-running", terminal="front-desk",
            request=ClaimParams.model_validate({**claim_request(requestId="was-running"), "terminal": "front-desk"}),
        )
        await journal.move(job.job_id, JobState.RUNNING)
    foreign = socket.socket()
    foreign.bind(("127.0.0.1", 0))
    foreign.listen()
    try:
        d = SubprocessDaemon(tmp_path / "site", sim, {FRONT_DESK[0]: FRONT_DESK[1:]}, port=foreign.getsockname()[1])
        before = _files(state)
        result = await asyncio.to_thread(_run_second, d.config)
        assert result.returncode == 1
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        assert len(lines) == 1 and str(d.port) in lines[0], result.stderr
        assert _files(state) == before
        assert not (state / "token").exists()
    finally:
        foreign.close()
    async with Journal(state / "claimbridge.db") as journal:
        assert (await journal.get(job.job_id)).state is JobState.RUNNING  # recovery did not run
    assert os.path.exists(state / "claimbridge.lock")
