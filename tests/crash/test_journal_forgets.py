"""The journal forgets, the fund does not: real daemon processes, real SQLite files, the
simulator's ledger as the fund's word.

A journal damaged by bytes (a flipped byte in the requestId index), cut mid-page, or emptied
stops the start (exit 1, one line); a journal behind its mark (an older copy restored, the
``-wal`` removed after SIGKILL) starts ``degraded``: reads answer, a re-sent requestId is
refused -32005 ``journalBehind`` and is never claimed again, /readyz is 503 — until
``claimbridge journal accept-gap``, after which the fund's report for the gap lists the lost
claim as ``notInJournal``. Never a -32603.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from bench.common import ROOT, SubprocessDaemon
from bench.faults import flip_index_byte, truncate_mid_page
from tests.daemon_harness import FRONT_DESK, RpcError, Sim, claim_request

pytestmark = pytest.mark.crash


def _cli(daemon: SubprocessDaemon, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from bridge.cli import main; raise SystemExit(main())", "--config",
         str(daemon.config), *args], capture_output=True, text=True, timeout=60, cwd=ROOT,
    )


async def _site(tmp_path: Path, sim: Sim) -> SubprocessDaemon:
    """A paired daemon whose clock agrees with the simulator's (the gap's days are the fund's days)."""
    sim.clock.set(datetime.now(UTC))
    daemon = SubprocessDaemon(tmp_path / "site", sim, {FRONT_DESK[0]: FRONT_DESK[1:]})
    await daemon.start()
    await daemon.pair_all()
    return daemon


async def _claim(daemon: SubprocessDaemon, request_id: str) -> dict[str, Any]:
    c = await daemon.client()
    try:
        job: dict[str, Any] = await c.call("healthpoint.claim", claim_request(requestId=request_id))
        return job
    finally:
        await c.close()


async def _wait_mark(daemon: SubprocessDaemon) -> None:
    """Let the mark catch up with the journal (it is written off the claim's path)."""
    await asyncio.sleep(1.0)


async def _refused_as_behind(daemon: SubprocessDaemon, request_id: str) -> dict[str, Any]:
    """Re-send a claim until the started daemon answers: it must be -32005 every time, at last
    ``journalBehind``; reads answer meanwhile."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 60
    async with httpx.AsyncClient() as http:
        while True:
            assert daemon.proc is not None and daemon.proc.poll() is None, daemon.log_path.read_text()[-3000:]
            try:
                if (await http.get(f"http://127.0.0.1:{daemon.port}/healthz", timeout=2)).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert loop.time() < deadline
            await asyncio.sleep(0.1)
    c = await daemon.client()
    try:
        while True:
            try:
                job = await c.call("healthpoint.claim", claim_request(requestId=request_id))
            except RpcError as exc:
                if exc.code == -32003:  # the pairing was lost with the rest: pairing is not money
                    await daemon.pair_all()
                    continue
                assert exc.code == -32005, exc.error  # never -32603, never a second claim
                if exc.data and exc.data.get("reason") == "journalBehind":
                    data: dict[str, Any] = exc.data
                    break
            else:
                raise AssertionError(f"a forgotten requestId was taken again: {job}")
            assert loop.time() < deadline
            await asyncio.sleep(0.2)
        listed = await c.call("job.list", {})  # reads answer
        assert isinstance(listed, (list, dict))
        async with httpx.AsyncClient() as http:
            ready = await http.get(f"http://127.0.0.1:{daemon.port}/readyz", timeout=5)
            assert ready.status_code == 503 and ready.json()["journalBehind"] is True
        return data
    finally:
        await c.close()


def _claims(ledger: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in ledger if r["kind"] == "claim"]


async def test_an_older_copy_restored_starts_degraded_until_accept_gap(tmp_path: Path, sim: Sim) -> None:
    daemon = await _site(tmp_path, sim)
    backup = tmp_path / "monday.db"
    try:
        done = _cli(daemon, "journal", "backup", str(backup))
        assert done.returncode == 0, done.stderr
        job = await _claim(daemon, "lost-by-restore")
        assert job["state"] == "completed"
        await _wait_mark(daemon)
    finally:
        daemon.stop()
    db = daemon.state_dir / "claimbridge.db"
    os.replace(backup, db)  # the restore, as an engineer would do it
    daemon.spawn()
    try:
        data = await _refused_as_behind(daemon, "lost-by-restore")
        assert "accept-gap" in data["message"] and data["retryAfterMs"] > 0
        assert len(_claims(await sim.ledger())) == 1
        check = _cli(daemon, "journal", "check")
        assert check.returncode == 1 and "behind its mark" in check.stdout
        refused = _cli(daemon, "journal", "accept-gap", "--note", "restored Monday's copy")
        assert refused.returncode == 1 and "stop the daemon" in refused.stderr
    finally:
        daemon.stop()
    accepted = _cli(daemon, "journal", "accept-gap", "--note", "restored Monday's copy")
    assert accepted.returncode == 0, accepted.stderr
    await daemon.start()  # ready again: /readyz 200
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 60
        while "journal gap reconciled" not in daemon.log_path.read_text():
            assert loop.time() < deadline, daemon.log_path.read_text()[-3000:]
            await asyncio.sleep(0.5)
        ref_tag = str(job["result"]["refTag"])
        reconciled = [line for line in daemon.log_path.read_text().splitlines() if "not in the journal" in line]
        assert any(ref_tag in line for line in reconciled), reconciled
        assert _cli(daemon, "journal", "check").returncode == 0
    finally:
        daemon.stop()


async def test_the_wal_removed_after_sigkill_never_claims_again(tmp_path: Path, sim: Sim) -> None:
    daemon = await _site(tmp_path, sim)
    try:
        assert (await _claim(daemon, "lost-with-the-wal"))["state"] == "completed"
        await _wait_mark(daemon)
    finally:
        daemon.kill()
    for suffix in ("-wal", "-shm"):
        (daemon.state_dir / f"claimbridge.db{suffix}").unlink(missing_ok=True)
    daemon.spawn()
    try:
        await asyncio.sleep(0.5)
        assert daemon.proc is not None
        if daemon.proc.poll() is None:
            await _refused_as_behind(daemon, "lost-with-the-wal")
        else:  # the main file held nothing yet: empty while the mark says otherwise
            daemon.proc.wait(30)
            assert daemon.proc.returncode == 1
        assert len(_claims(await sim.ledger())) == 1
    finally:
        daemon.stop()


@pytest.mark.parametrize("damage", ["index byte", "mid-page", "zero bytes"])
async def test_a_damaged_journal_stops_the_start_with_one_line(tmp_path: Path, sim: Sim, damage: str) -> None:
    daemon = await _site(tmp_path, sim)
    try:
        for i in range(3):
            assert (await _claim(daemon, f"before-damage-{i}-abcdefgh"))["state"] == "completed"
        await _wait_mark(daemon)
    finally:
        daemon.stop()  # a clean stop: the WAL is checkpointed into the file
    db = daemon.state_dir / "claimbridge.db"
    if damage == "index byte":
        flip_index_byte(db)
    elif damage == "mid-page":
        truncate_mid_page(db)
    else:
        os.truncate(db, 0)
    started = _cli(daemon, "run")
    assert started.returncode == 1
    lines = started.stderr.strip().splitlines()
    assert len(lines) == 1 and str(db) in lines[0] and "claimbridge journal check" in lines[0], started.stderr
    check = _cli(daemon, "journal", "check")
    assert check.returncode == 1 and check.stdout.startswith("FAIL ")
    doctor = _cli(daemon, "doctor")
    assert "[FAIL] journal" in doctor.stdout
    assert len(_claims(await sim.ledger())) == 3
