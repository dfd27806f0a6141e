"""Unpairing and re-pairing a terminal, through the protocol and the ``claimbridge`` command
(run as its own process against the daemon): refused while a job of the terminal runs, a name
never moved to another TID without ``replace``, every change in the journal's history."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Any

import pytest

from bridge.journal.pairing_history import PairingChanges
from tests.daemon_harness import FRONT_DESK, RpcError, Running, claim_request

pytestmark = pytest.mark.e2e

BIN = Path(sys.executable).parent
NAME, MID, TID = FRONT_DESK


async def cli(running: Running, *args: str) -> tuple[int, str, str]:
    """``claimbridge ARGS --url … --token-file …`` in its own process (the daemon keeps running
    in this loop meanwhile)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLAIMBRIDGE_")}
    env["CLAIMBRIDGE_STATE_DIR"] = str(running.daemon.state_dir)
    proc = await asyncio.create_subprocess_exec(
        str(BIN / "claimbridge"), *args, "--url", running.daemon.url,
        "--token-file", str(running.daemon.state_dir / "token"),
        env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def _pair(running: Running, c: Any, tid: int, replace: bool) -> dict[str, Any]:
    call = asyncio.ensure_future(c.call("terminal.pair", {"terminal": NAME, "mid": MID, "tid": tid, "replace": replace}))
    for _ in range(300):
        await asyncio.sleep(0.02)
        if call.done() or await running.sim.authorise(MID, tid) < 300:
            break
    result: dict[str, Any] = await call
    return result


async def test_unpair_is_refused_while_a_job_runs_then_forgets_the_terminal(daemon: Running) -> None:
    c = await daemon.client()
    # The claim waits on the desk's answer (the terminal's own answer timeout set long): the
    # terminal stays busy until the test answers.
    await daemon.sim.scenario(answerTimeoutMs=3_600_000)
    claim = asyncio.ensure_future(c.call("healthpoint.claim", claim_request(requestId="keeps-it-busy", onApproved="ask")))
    question = await c.wait_note(lambda n: n["method"] == "job.question")
    with pytest.raises(RpcError) as busy:
        await c.call("terminal.unpair", {"terminal": NAME})
    assert busy.value.code == -32004 and busy.value.data["reason"] == "terminalBusy", busy.value.error
    code, out, err = await cli(daemon, "unpair", NAME)
    assert code == 1 and "terminalBusy" in err, (code, out, err)
    assert (await c.call("terminal.list"))[0]["paired"] is True
    await c.call("job.answer", {"jobId": question["params"]["jobId"], "answer": "ACCEPT"})
    assert (await claim)["state"] == "completed"

    code, out, err = await cli(daemon, "unpair", NAME)
    assert code == 0, err
    assert out.strip() == f"terminal {NAME} unpaired (was mid {MID} tid {TID})"
    listed = await c.call("terminal.list")
    assert [(t["name"], t["paired"]) for t in listed] == [(NAME, False)]  # configured: still listed
    with pytest.raises(RpcError) as unpaired:
        await c.call("healthpoint.claim", claim_request(requestId="after-unpair"))
    assert unpaired.value.code == -32003
    again = await c.call("terminal.unpair", {"terminal": NAME})
    assert again == {"terminal": NAME, "wasPaired": False, "mid": None, "tid": None}
    assert daemon.daemon.journal is not None
    events = [h["event"] for h in await PairingChanges(daemon.daemon.journal).history(NAME)]
    assert events == ["terminal unpaired", "terminal unpaired"]


async def test_a_name_moves_to_another_tid_only_with_replace(daemon: Running) -> None:
    c = await daemon.client()
    with pytest.raises(RpcError) as refused:
        await c.call("terminal.pair", {"terminal": NAME, "mid": MID, "tid": 4})
    assert refused.value.code == -32004 and refused.value.data["reason"] == "alreadyPaired"
    assert (refused.value.data["mid"], refused.value.data["tid"]) == (MID, TID)
    code, out, err = await cli(daemon, "pair", NAME, "--mid", str(MID), "--tid", "4")
    assert code == 1 and "alreadyPaired" in err, (code, out, err)
    assert [(t["mid"], t["tid"]) for t in await c.call("terminal.list")] == [(MID, TID)]  # unchanged

    result = await _pair(daemon, c, 4, replace=True)
    assert result["status"] == "success", result
    assert [(t["mid"], t["tid"], t["paired"]) for t in await c.call("terminal.list")] == [(MID, 4, True)]
    assert daemon.daemon.journal is not None
    history = await PairingChanges(daemon.daemon.journal).history(NAME)
    assert [(h["event"], h["detail"]) for h in history] == [
        ("terminal re-paired", f"{NAME}: mid {MID} tid 4 (was mid {MID} tid {TID})"),
    ]
    job = await c.call("healthpoint.claim", claim_request(requestId="on-tid-4"))
    assert job["state"] == "completed"
    assert [r.get("tid") for r in await daemon.sim.ledger()] == [4]


async def test_pairing_reports_the_countdown_while_it_waits_for_authorise_pos(daemon: Running) -> None:
    c = await daemon.client()
    call = asyncio.ensure_future(c.call("terminal.pair", {"terminal": NAME, "mid": MID, "tid": TID}))
    note = await c.wait_note(lambda n: n["method"] == "terminal.pairing" and n["params"]["status"] == "inProgress")
    assert note["params"]["message"].startswith("Press Authorise POS on the terminal (")
    assert note["params"]["message"].endswith(" s left)")
    assert await daemon.sim.authorise(MID, TID) < 300
    assert (await call)["status"] == "success"
