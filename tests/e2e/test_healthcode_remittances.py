"""Remittances through a running daemon: the poller records shortfalls on the bills' jobs.

Real websocket, real journal, real HTTP to the simulator's V2 stand-in; the insurer pays with
``POST /_sim/healthcode/remit``. The poller runs every 0.2 s here (default 3600).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest


from tests.daemon_harness import RpcError, Sim, make_settings, running_daemon
from tests.healthcode_harness import (
    FAST,
    bill,
    book,
    control,
    paid_note,
    polls_after,
    remit,
    remittance_events,
    v2_config,
    wait_final,
)

pytestmark = pytest.mark.e2e


async def test_shortfall_reaches_the_job_once_polled_twice_and_across_a_restart(tmp_path: Path, sim: Sim) -> None:
    await control(sim, {"timings": FAST})
    settings = make_settings(tmp_path, sim, healthcode=v2_config(tmp_path, sim, remittance_poll_s=0.2))
    async with running_daemon(settings, sim, topics=["job.updated"]) as (running, c):
        job = await c.call("healthcode.submit", {"requestId": "rm-1", "bill": bill()})
        assert (await wait_final(c, job["jobId"]))["result"]["status"] == "Collected"
        assert (await remit(sim, "INV-0001", 15000))["shortfall"] == 1450

        paid = await paid_note(c, job["jobId"])
        assert paid["result"]["paid"] == 15000 and paid["result"]["shortfall"] == 1450
        assert paid["result"]["paymentReference"] == "BACS00000001"
        assert paid["result"]["status"] == "Collected" and paid["state"] == "completed"

        await polls_after(running, 2)
        listed = await c.call("healthcode.remittances", {"insurer": "bup", "invoiceNumber": "INV-0001"})
        assert listed == [{"paymentReference": "BACS00000001", "datePaid": paid["result"]["datePaid"],
                           "insurer": "bup", "total": 15000,
                           "lines": [{"invoiceNumber": "INV-0001", "amountInvoiced": 16450, "amountPaid": 15000,
                                      "shortfall": 1450, "jobId": job["jobId"]}]}]
        assert len(await remittance_events(running, job["jobId"])) == 1
        # Paid (a remittance line names it): no longer resubmittable.
        with pytest.raises(RpcError) as err:
            await c.call("healthcode.submit", {"requestId": "rm-2", "bill": bill(), "replaces": job["jobId"]})
        assert err.value.code == -32004 and err.value.data["reason"] == "billPaid"

    async with running_daemon(settings, sim) as (running, c):
        await polls_after(running, 2)
        got = await c.call("job.get", {"jobId": job["jobId"]})
        assert got["result"]["paid"] == 15000, "not paid twice"
        assert got["result"]["remittanceIds"] == ["PR000001"]
        assert len(await remittance_events(running, job["jobId"])) == 1
        assert book(running).ingested == 0


async def test_token_expiry_mid_poll_is_renewed(tmp_path: Path, sim: Sim) -> None:
    await control(sim, {"timings": FAST})
    # 60 simulated seconds: the token the daemon holds expires between two polls.
    (await sim.http.post("/healthcode/_control/v2", json={"tokenLifetimeS": 60})).raise_for_status()
    settings = make_settings(tmp_path, sim, healthcode=v2_config(tmp_path, sim, remittance_poll_s=0.2))
    async with running_daemon(settings, sim, topics=["job.updated"]) as (running, c):
        job = await c.call("healthcode.submit", {"requestId": "rt-1", "bill": bill()})
        await wait_final(c, job["jobId"])
        await polls_after(running, 1)
        (await sim.http.post("/healthcode/_control/v2", json={"fault": "expiredToken", "count": 1})).raise_for_status()
        await remit(sim, "INV-0001", 16450)
        paid = await paid_note(c, job["jobId"])
        assert paid["result"]["paid"] == 16450 and paid["result"]["shortfall"] == 0
        v2 = book(running).v2
        assert v2 is not None and v2.tokens_fetched >= 2


async def test_a_zero_payment_is_a_rejection_and_the_bill_may_be_resubmitted(tmp_path: Path, sim: Sim) -> None:
    await control(sim, {"timings": FAST})
    settings = make_settings(tmp_path, sim, healthcode=v2_config(tmp_path, sim, remittance_poll_s=0.2))
    async with running_daemon(settings, sim, topics=["job.updated"]) as (running, c):
        job = await c.call("healthcode.submit", {"requestId": "rz-1", "bill": bill()})
        await wait_final(c, job["jobId"])
        reason = {"code": "NOAUTH", "text": "No pre-authorisation for this treatment (sample)"}
        await remit(sim, "INV-0001", 0, reason=reason)
        rejected = await paid_note(c, job["jobId"])
        assert rejected["result"]["paid"] == 0 and rejected["result"]["rejected"] is True
        assert rejected["result"]["reason"] == reason["text"]
        listed = await c.call("healthcode.remittances", {"insurer": "bup", "invoiceNumber": "INV-0001"})
        assert [line["reason"] for r in listed for line in r["lines"]] == [reason["text"]]

        # A rejected bill is not paid: it may be corrected and sent again under its number.
        again = await c.call("healthcode.submit", {"requestId": "rz-2", "bill": bill(), "replaces": job["jobId"]})
        assert again["state"] in ("running", "completed") and again["result"]["replaces"] == job["jobId"]
        assert again["result"]["reference"] != rejected["result"]["reference"]


async def test_a_shortfall_carries_the_insurer_s_reason(tmp_path: Path, sim: Sim) -> None:
    await control(sim, {"timings": FAST})
    settings = make_settings(tmp_path, sim, healthcode=v2_config(tmp_path, sim, remittance_poll_s=0.2))
    async with running_daemon(settings, sim, topics=["job.updated"]) as (running, c):
        job = await c.call("healthcode.submit", {"requestId": "rr-1", "bill": bill()})
        await wait_final(c, job["jobId"])
        await remit(sim, "INV-0001", 15000, reason={"code": "EXCESS", "text": "Policy excess: bill the patient (sample)"})
        paid = await paid_note(c, job["jobId"])
        assert paid["result"]["paid"] == 15000 and paid["result"]["shortfall"] == 1450
        assert paid["result"]["rejected"] is False
        assert paid["result"]["reason"] == "Policy excess: bill the patient (sample)"


async def test_a_remittance_before_the_first_status_poll_is_recorded_on_its_bill(tmp_path: Path, sim: Sim) -> None:
    """The insurer collected and paid before the daemon's first status poll (30 s by default):
    the line names the bill's job and the job records the payment (it was dropped before)."""
    await control(sim, {"timings": FAST})
    config = v2_config(tmp_path, sim, poll_initial_s=600, poll_max_s=600, submit_wait_s=0.5)
    async with running_daemon(make_settings(tmp_path, sim, healthcode=config), sim) as (running, c):
        job = await c.call("healthcode.submit", {"requestId": "rm-early", "bill": bill()})
        assert job["state"] == "running"  # submitted; no status poll yet
        await asyncio.sleep(0.3)  # the simulator collects it at once (FAST)
        await remit(sim, "INV-0001", 15000)
        listed = await c.call("healthcode.remittances", {"insurer": "bup", "invoiceNumber": "INV-0001"})
        assert [line["jobId"] for entry in listed for line in entry["lines"]] == [job["jobId"]]
        got = await c.call("job.get", {"jobId": job["jobId"]})
        assert got["result"]["paid"] == 15000 and got["result"]["shortfall"] == 1450
        assert got["result"]["paymentReference"] == "BACS00000001"
