"""Healthcode through a running daemon: real websocket, real journal, real HTTP to the simulator.

Bills move through their statuses on the simulator's scaled clock; the daemon polls with short
backoff so a bill is collected within a second of real time.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bridge.errors import CannotStart

from tests.daemon_harness import (
    FRONT_DESK,
    RpcError,
    Running,
    Sim,
    claim_request,
    make_settings,
    start_daemon,
    stop_daemon,
    running_daemon,
)
from tests.healthcode_harness import (
    FAST,
    PASSWORD,
    SLOW,
    bill,
    control,
    hc_config,
    password_file,
    sim_bills,
    statuses,
    wait_final,
)

pytestmark = pytest.mark.e2e

@pytest.fixture
async def hc(tmp_path: Path, sim: Sim) -> AsyncIterator[Running]:
    """A daemon with Healthcode on (and one unpaired terminal)."""
    await control(sim, {"timings": FAST})
    settings = make_settings(tmp_path, sim, healthcode=hc_config(sim, password_file(tmp_path)))
    running = await start_daemon(settings, sim)
    yield running
    await stop_daemon(running)


# ---------------------------------------------------------------------------------------------


async def test_check_credentials_codes_and_validate(hc: Running) -> None:
    c = await hc.client()
    assert (await c.call("healthcode.checkCredentials"))["ok"] is True

    codes = await c.call("healthcode.codes", {"kind": "icd10", "query": "m545", "limit": 5})
    assert codes[0]["code"] == "M54.5" and set(codes[0]) == {"code", "description", "allowed"}
    isc = await c.call("healthcode.codes", {"kind": "isc", "query": "physio", "insurer": "bup"})
    assert isc and all("allowed" in entry for entry in isc)

    assert await c.call("healthcode.validate", {"bill": bill()}) == {"valid": True, "problems": []}

    # Pre-flight: a malformed membership number, named with Healthcode's own field name.
    bad = bill(patient={**bill()["patient"], "membershipNumber": "12"})
    answer = await c.call("healthcode.validate", {"bill": bad})
    assert answer["valid"] is False
    problem = answer["problems"][0]
    assert problem["field"] == "patient.membershipNumber" and problem["healthcodeField"] == "RegistrationNo"
    assert problem["error"] and problem["suggestion"]

    # Clean pre-flight, then Healthcode's dry run: the member database does not know this name.
    stranger = bill(patient={**bill()["patient"], "lastName": "Nobody"})
    answer = await c.call("healthcode.validate", {"bill": stranger})
    assert answer["valid"] is False
    assert any("demographics" in p["error"].lower() for p in answer["problems"]), answer

    # A malformed field is a problem like any other, beside the rules' ones (one pass).
    answer = await c.call("healthcode.validate", {"bill": bill(setting="X", insurer="zzz")})
    assert [(p["field"], p["healthcodeField"]) for p in answer["problems"]] == [
        ("setting", "Setting"), ("insurer", "Insurer"),
    ]
    # Only a bill that is not an object is -32602.
    with pytest.raises(RpcError) as err:
        await c.call("healthcode.validate", {"bill": ["not", "a", "bill"]})
    assert err.value.code == -32602
    assert any(e["field"] == "bill" for e in err.value.data["errors"])
    assert await sim_bills(hc.sim) == []


async def test_submit_follows_the_bill_to_collected(hc: Running) -> None:
    # One real second in each status (50 simulated at scale 50), five polls' worth: the job is
    # seen passing through them even on a loaded machine (FAST's 0.04 s each could all pass
    # between two polls there).
    await control(hc.sim, {"timings": dict.fromkeys(FAST, 50)})
    c = await hc.client()
    job = await c.call("healthcode.submit", {"requestId": "hc-1", "bill": bill()})
    assert job["kind"] == "healthcodeBill" and job["terminal"] is None
    assert job["state"] == "running" and job["result"]["status"] == "Unprocessed"
    assert job["result"]["reference"] and len(job["result"]["reference"]) <= 25

    final = await wait_final(c, job["jobId"])
    assert final["state"] == "completed" and final["result"]["status"] == "Collected"
    seen = statuses(c, job["jobId"])
    assert seen[-1] == "Collected" and "Unprocessed" in seen and len(seen) >= 3
    assert seen == sorted(set(seen), key=seen.index), "each status is published once"

    # The same requestId again: the same job, no second bill.
    again = await c.call("healthcode.submit", {"requestId": "hc-1", "bill": bill()})
    assert again["jobId"] == job["jobId"] and again["state"] == "completed"
    assert len(await sim_bills(hc.sim)) == 1
    got = await c.call("job.get", {"jobId": job["jobId"]})
    assert got["result"]["status"] == "Collected"


async def test_preflight_problems_journal_nothing(hc: Running) -> None:
    c = await hc.client()
    bad = bill("clinic_payee_axa.json", invoiceNumber="INV.0001.TOO-LONG")
    with pytest.raises(RpcError) as err:
        await c.call("healthcode.submit", {"requestId": "hc-bad", "bill": bad})
    assert err.value.code == -32602 and "nothing was sent" in err.value.error["message"]
    assert [e["field"] for e in err.value.data["errors"]] == ["invoiceNumber"]
    assert err.value.data["problems"][0]["healthcodeField"] == "InvoiceNo"
    with pytest.raises(RpcError) as missing:
        await c.call("job.get", {"requestId": "hc-bad"})
    assert missing.value.code == -32002
    assert await sim_bills(hc.sim) == []


async def test_lost_submit_response_gives_exactly_one_bill(hc: Running) -> None:
    c = await hc.client()
    await control(hc.sim, {"fault": "dropResponse", "count": 1, "holdSeconds": 0.1})
    job = await c.call("healthcode.submit", {"requestId": "hc-lost", "bill": bill()})
    assert job["state"] == "running", job
    stored = await sim_bills(hc.sim)
    assert len(stored) == 1
    assert job["result"]["reference"] == stored[0]["reference"]
    final = await wait_final(c, job["jobId"])
    assert final["result"]["status"] == "Collected"
    events = [e["detail"] for e in await hc.daemon.journal.events(job["jobId"]) if e["detail"]]  # type: ignore[union-attr]
    assert any("uncertain" in d for d in events) and any("found by invoice number" in d for d in events)
    assert len(await sim_bills(hc.sim)) == 1


async def test_bad_gateway_is_retried(hc: Running) -> None:
    c = await hc.client()
    await control(hc.sim, {"fault": "502", "count": 2})
    job = await c.call("healthcode.submit", {"requestId": "hc-502", "bill": bill(invoiceNumber="INV-0502")})
    assert job["state"] == "running" and job["result"]["status"] == "Unprocessed"
    assert len(await sim_bills(hc.sim)) == 1


async def test_same_invoice_number_twice_is_refused_while_active(hc: Running) -> None:
    await control(hc.sim, {"timings": SLOW})
    c = await hc.client()
    first = await c.call("healthcode.submit", {"requestId": "hc-a", "bill": bill()})
    second = await c.call("healthcode.submit", {"requestId": "hc-b", "bill": bill()})
    assert second["state"] == "failed" and second["jobId"] != first["jobId"]
    assert [p["error"] for p in second["error"]["data"]["problems"]] == ["Duplicate Invoice"]
    with pytest.raises(RpcError) as reused:
        await c.call("healthcode.submit", {"requestId": "hc-a", "bill": bill(insurer="ppp")})
    assert reused.value.code == -32001


async def test_cancel_before_and_after_collection(hc: Running) -> None:
    c = await hc.client()
    await control(hc.sim, {"timings": SLOW})
    job = await c.call("healthcode.submit", {"requestId": "hc-c1", "bill": bill(invoiceNumber="INV-C1")})
    cancelled = await c.call("healthcode.cancel", {"jobId": job["jobId"]})
    assert cancelled["state"] == "completed" and cancelled["result"]["status"] == "Cancelled"
    assert (await c.call("healthcode.cancel", {"jobId": job["jobId"]}))["result"]["status"] == "Cancelled"
    stored = {b["reference"]: b for b in await sim_bills(hc.sim)}
    assert stored[job["result"]["reference"]]["status"] == "Cancelled"

    await control(hc.sim, {"timings": FAST})
    job2 = await c.call("healthcode.submit", {"requestId": "hc-c2", "bill": bill(invoiceNumber="INV-C2")})
    await wait_final(c, job2["jobId"])
    with pytest.raises(RpcError) as err:
        await c.call("healthcode.cancel", {"jobId": job2["jobId"]})
    assert err.value.code == -32004
    assert (await c.call("job.get", {"jobId": job2["jobId"]}))["result"]["status"] == "Collected"

    with pytest.raises(RpcError) as unknown:
        await c.call("healthcode.cancel", {"jobId": "no-such-job"})
    assert unknown.value.code == -32002


async def test_bad_credentials_give_a_clear_error(tmp_path: Path, sim: Sim) -> None:
    settings = make_settings(tmp_path, sim, healthcode=hc_config(sim, password_file(tmp_path, "wrong")))
    async with running_daemon(settings, sim) as (running, c):
        check = await c.call("healthcode.checkCredentials")
        assert check == {"ok": False, "message": "Invalid Username/Password"}
        # The bill is durable and waits for working credentials: never a permanent failure.
        job = await c.call("healthcode.submit", {"requestId": "hc-cred", "bill": bill()})
        assert job["state"] == "queued"
        assert "wrong" not in json.dumps(job)
        # A new bill meanwhile: -32005 healthcodeCredentials, nothing journalled.
        with pytest.raises(RpcError) as err:
            await c.call("healthcode.submit", {"requestId": "hc-cred-2", "bill": bill(invoiceNumber="INV-0002")})
        assert err.value.code == -32005 and err.value.data["reason"] == "healthcodeCredentials"
        assert await sim_bills(sim) == []

        # The password file corrected: read again, no restart; the queued bill goes.
        password_file(tmp_path, PASSWORD)
        for _ in range(200):
            got = await c.call("job.get", {"jobId": job["jobId"]})
            if got["state"] != "queued":
                break
            await asyncio.sleep(0.05)
        assert got["state"] in ("running", "completed") and got["result"]["reference"]
        again = await c.call("healthcode.submit", {"requestId": "hc-cred", "bill": bill()})
        assert again["jobId"] == job["jobId"] and again["state"] != "failed"
        assert (await c.call("healthcode.checkCredentials"))["ok"] is True
        assert len(await sim_bills(sim)) == 1


async def test_an_expired_password_leaves_the_bill_queued_and_retried(hc: Running) -> None:
    c = await hc.client()
    await control(hc.sim, {"fault": "expiredCredentials", "count": 2})
    job = await c.call("healthcode.submit", {"requestId": "hc-exp", "bill": bill(invoiceNumber="INV-EXP")})
    assert job["state"] in ("queued", "running")
    for _ in range(200):
        job = await c.call("healthcode.submit", {"requestId": "hc-exp", "bill": bill(invoiceNumber="INV-EXP")})
        if job["state"] != "queued":
            break
        await asyncio.sleep(0.05)
    assert job["state"] in ("running", "completed") and job["result"]["reference"]
    assert len(await sim_bills(hc.sim)) == 1


async def test_missing_password_file_refuses_to_start(tmp_path: Path, sim: Sim) -> None:
    settings = make_settings(tmp_path, sim, healthcode=hc_config(sim, tmp_path / "absent"))
    with pytest.raises(CannotStart, match="password_file"):
        await start_daemon(settings, sim)


async def test_bill_and_claim_in_flight_together(tmp_path: Path, sim: Sim) -> None:
    settings = make_settings(
        tmp_path, sim, transaction_timeout_s=20, healthcode=hc_config(sim, password_file(tmp_path)),
    )
    await control(sim, {"timings": FAST})
    running = await start_daemon(settings, sim)
    try:
        assert (await running.pair(*FRONT_DESK))["status"] == "success"
        c = await running.client()
        claim = asyncio.ensure_future(c.call("healthpoint.claim", claim_request()))
        submit = asyncio.ensure_future(c.call("healthcode.submit", {"requestId": "hc-both", "bill": bill()}))
        job = await submit
        assert not claim.done() or (await claim)["state"] == "completed"
        final = await wait_final(c, job["jobId"])
        claim_job = await claim
        assert claim_job["state"] == "completed" and claim_job["result"]["result"] == "APPROVED"
        assert final["result"]["status"] == "Collected"
        assert [r["kind"] for r in await sim.ledger()] == ["claim"]
    finally:
        await stop_daemon(running)


async def test_restart_resumes_polling(tmp_path: Path, sim: Sim) -> None:
    settings = make_settings(tmp_path, sim, healthcode=hc_config(sim, password_file(tmp_path)))
    await control(sim, {"timings": SLOW})
    running = await start_daemon(settings, sim)
    c = await running.client()
    job = await c.call("healthcode.submit", {"requestId": "hc-restart", "bill": bill()})
    assert job["state"] == "running"
    await stop_daemon(running)

    await control(sim, {"timings": FAST})
    async with running_daemon(settings, sim) as (running, c):
        final = await c.call("job.get", {"jobId": job["jobId"]})
        for _ in range(200):
            if final["state"] != "running":
                break
            await asyncio.sleep(0.05)
            final = await c.call("job.get", {"jobId": job["jobId"]})
        assert final["state"] == "completed" and final["result"]["status"] == "Collected"
        assert final["result"]["reference"] == job["result"]["reference"]
        assert len(await sim_bills(sim)) == 1
