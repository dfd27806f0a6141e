"""Invoice numbers as Healthcode treats them, through a running daemon against the simulator.

A number the insurer already holds (a bill not cancelled) is refused ("Duplicate Invoice"):
``healthcode.validate`` says so and ``healthcode.submit`` answers a ``failed`` job, so one bill
reaches Healthcode and a remittance is recorded on one job only. A bill whose submit answer was
lost is settled by its own submission only, never by another job's (cancelled) bill.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest


from tests.daemon_harness import Sim, make_settings, running_daemon
from tests.healthcode_harness import (
    FAST,
    SLOW,
    bill,
    control,
    hc_config,
    paid_note,
    password_file,
    polls_after,
    remit,
    sim_bills,
    v2_config,
    wait_final,
)

pytestmark = pytest.mark.e2e

DUPLICATE = {"field": "invoiceNumber", "error": "Duplicate Invoice"}


def duplicate_problems(problems: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [p for p in problems if {k: p.get(k) for k in DUPLICATE} == DUPLICATE]


async def test_a_used_invoice_number_is_refused_and_paid_once(tmp_path: Path, sim: Sim) -> None:
    await control(sim, {"timings": FAST})
    settings = make_settings(tmp_path, sim, healthcode=v2_config(tmp_path, sim, remittance_poll_s=0.2))
    async with running_daemon(settings, sim, topics=["job.updated"]) as (running, c):
        first = await c.call("healthcode.submit", {"requestId": "dup-1", "bill": bill()})
        assert (await wait_final(c, first["jobId"]))["result"]["status"] == "Collected"

        checked = await c.call("healthcode.validate", {"bill": bill()})
        assert checked["valid"] is False and duplicate_problems(checked["problems"])

        # The same bill under a new requestId, and another patient's bill under the number.
        again = await c.call("healthcode.submit", {"requestId": "dup-2", "bill": bill()})
        other = await c.call("healthcode.submit", {
            "requestId": "dup-3", "bill": bill("clinic_payee_axa.json", invoiceNumber="INV-0001", insurer="bup"),
        })
        for job in (again, other):
            assert job["state"] == "failed", job
            assert duplicate_problems(job["error"]["data"]["problems"])
            assert not (job.get("result") or {}).get("reference")
        assert len(await sim_bills(sim)) == 1

        # The same number for another insurer is that insurer's own.
        axa = await c.call("healthcode.submit", {"requestId": "dup-4", "bill": bill(
            "clinic_payee_axa.json", invoiceNumber="INV-0001")})
        assert axa["state"] in ("running", "completed") and not axa["result"]["duplicate"]

        await remit(sim, "INV-0001", 15000, insurer="bup")
        paid = await paid_note(c, first["jobId"])
        assert paid["result"]["paid"] == 15000
        await polls_after(running, 2)
        listed = await c.call("healthcode.remittances", {"insurer": "bup", "invoiceNumber": "INV-0001"})
        assert [line["jobId"] for r in listed for line in r["lines"]] == [first["jobId"]]
        for job in (again, other):
            got = await c.call("job.get", {"jobId": job["jobId"]})
            assert got["state"] == "failed" and "paid" not in (got.get("result") or {})


async def test_a_bill_in_progress_holds_its_number(tmp_path: Path, sim: Sim) -> None:
    await control(sim, {"timings": SLOW})
    settings = make_settings(tmp_path, sim, healthcode=hc_config(sim, password_file(tmp_path)))
    async with running_daemon(settings, sim) as (running, c):
        first = await c.call("healthcode.submit", {"requestId": "hold-1", "bill": bill()})
        assert first["state"] == "running"
        second = await c.call("healthcode.submit", {"requestId": "hold-2", "bill": bill()})
        assert second["state"] == "failed" and duplicate_problems(second["error"]["data"]["problems"])
        # Cancelled, the number is free again (no `replaces` needed).
        await c.call("healthcode.cancel", {"jobId": first["jobId"]})
        third = await c.call("healthcode.submit", {"requestId": "hold-3", "bill": bill()})
        assert third["state"] == "running" and third["result"]["reference"] != first["result"]["reference"]
        assert len(await sim_bills(sim)) == 2


@pytest.mark.parametrize("same_content", [True, False])
async def test_a_lost_answer_never_adopts_a_cancelled_bill(tmp_path: Path, sim: Sim, same_content: bool) -> None:
    await control(sim, {"timings": SLOW})
    settings = make_settings(tmp_path, sim, healthcode=hc_config(sim, password_file(tmp_path)))
    async with running_daemon(settings, sim) as (running, c):
        old = await c.call("healthcode.submit", {"requestId": "lost-1", "bill": bill()})
        assert (await c.call("healthcode.cancel", {"jobId": old["jobId"]}))["result"]["status"] == "Cancelled"

        # Re-bill the cancelled number without `replaces` (allowed), and lose Healthcode's answer:
        # a 504 before the bill is stored.
        await control(sim, {"fault": "timeout", "count": 1, "holdSeconds": 0})
        again = bill() if same_content else bill(setting="D")
        new = await c.call("healthcode.submit", {"requestId": "lost-2", "bill": again})
        assert new["state"] == "running", new
        assert new["result"]["status"] == "Unprocessed"
        assert new["result"]["reference"] != old["result"]["reference"]
        stored = await sim_bills(sim)
        assert sorted(b["status"] for b in stored) == ["Cancelled", "Unprocessed"]
        assert running.daemon.journal is not None
        notes = [e["detail"] for e in await running.daemon.journal.events(new["jobId"]) if e["detail"]]
        assert any("uncertain" in n for n in notes) and not any("found by invoice number" in n for n in notes)
        assert (await c.call("job.get", {"jobId": old["jobId"]}))["result"]["status"] == "Cancelled"


async def test_a_held_number_is_still_held_after_a_restart(tmp_path: Path, sim: Sim) -> None:
    await control(sim, {"timings": SLOW})
    settings = make_settings(tmp_path, sim, healthcode=hc_config(sim, password_file(tmp_path)))
    async with running_daemon(settings, sim) as (running, c):
        first = await c.call("healthcode.submit", {"requestId": "rs-hold-1", "bill": bill()})
        assert first["state"] == "running"
    async with running_daemon(settings, sim) as (running, c):
        second = await c.call("healthcode.submit", {"requestId": "rs-hold-2", "bill": bill(setting="D")})
        assert second["state"] == "failed" and duplicate_problems(second["error"]["data"]["problems"])
        assert len(await sim_bills(sim)) == 1
