"""Resubmitting a bill (``healthcode.submit`` ``replaces``) through a running daemon.

Real websocket, real journal, real HTTP to the simulator, whose invoice-number rule for a
resubmission is documented in simulator/README-healthcode.md.
"""

from __future__ import annotations

from pathlib import Path

import pytest


from tests.daemon_harness import RpcError, Sim, make_settings, running_daemon
from tests.healthcode_harness import FAST, SLOW, bill, control, hc_config, password_file, sim_bills, wait_final

pytestmark = pytest.mark.e2e


async def test_cancelled_bill_resubmitted_and_pointers_survive_a_restart(tmp_path: Path, sim: Sim) -> None:
    settings = make_settings(tmp_path, sim, healthcode=hc_config(sim, password_file(tmp_path)))
    await control(sim, {"timings": SLOW})
    async with running_daemon(settings, sim) as (running, c):
        old = await c.call("healthcode.submit", {"requestId": "rs-1", "bill": bill()})
        cancelled = await c.call("healthcode.cancel", {"jobId": old["jobId"]})
        assert cancelled["result"]["status"] == "Cancelled"

        new = await c.call("healthcode.submit", {"requestId": "rs-2", "bill": bill(), "replaces": old["jobId"]})
        assert new["jobId"] != old["jobId"] and new["requestId"] == "rs-2"
        assert new["state"] == "running" and new["request"]["replaces"] == old["jobId"]
        assert new["result"]["replaces"] == old["jobId"]
        assert new["result"]["reference"] != old["result"]["reference"]
        updated = await c.wait_note(
            lambda n: n["method"] == "job.updated" and n["params"]["job"]["jobId"] == old["jobId"]
            and (n["params"]["job"]["result"] or {}).get("replacedBy") == new["jobId"]
        )
        assert updated["params"]["job"]["result"]["status"] == "Cancelled"
        assert [b["invoiceNumber"] for b in await sim_bills(sim)] == ["INV-0001", "INV-0001"]

        # Never twice: the old bill is already replaced.
        with pytest.raises(RpcError) as err:
            await c.call("healthcode.submit", {"requestId": "rs-3", "bill": bill(), "replaces": old["jobId"]})
        assert err.value.code == -32004 and err.value.data["reason"] == "alreadyReplaced" and "already resubmitted" in err.value.data["message"]

    async with running_daemon(settings, sim) as (running, c):
        got_old = await c.call("job.get", {"jobId": old["jobId"]})
        got_new = await c.call("job.get", {"jobId": new["jobId"]})
        assert got_old["result"]["replacedBy"] == new["jobId"]
        assert got_new["result"]["replaces"] == old["jobId"]
        assert got_new["state"] == "running", "the resubmission is still followed after the restart"
        assert len(await c.call("job.list", {"kind": "healthcodeBill"})) == 2


async def test_resubmission_of_a_bill_in_progress_is_refused(tmp_path: Path, sim: Sim) -> None:
    settings = make_settings(tmp_path, sim, healthcode=hc_config(sim, password_file(tmp_path)))
    await control(sim, {"timings": SLOW})
    async with running_daemon(settings, sim) as (running, c):
        old = await c.call("healthcode.submit", {"requestId": "rp-1", "bill": bill(invoiceNumber="INV-0002")})
        assert old["state"] == "running"
        with pytest.raises(RpcError) as err:
            await c.call("healthcode.submit", {"requestId": "rp-2", "bill": bill(invoiceNumber="INV-0003"),
                                               "replaces": old["jobId"]})
        assert err.value.code == -32004
        assert err.value.data["reason"] == "billInProgress" and err.value.data["jobId"] == old["jobId"]
        with pytest.raises(RpcError) as missing:
            await c.call("job.get", {"requestId": "rp-2"})
        assert missing.value.code == -32002
        with pytest.raises(RpcError) as unknown:
            await c.call("healthcode.submit", {"requestId": "rp-3", "bill": bill(invoiceNumber="INV-0004"),
                                               "replaces": "no-such-job"})
        assert unknown.value.code == -32002
        assert len(await sim_bills(sim)) == 1


async def test_collected_unpaid_bill_resubmitted_under_its_invoice_number(tmp_path: Path, sim: Sim) -> None:
    settings = make_settings(tmp_path, sim, healthcode=hc_config(sim, password_file(tmp_path)))
    await control(sim, {"timings": FAST})
    async with running_daemon(settings, sim) as (running, c):
        old = await c.call("healthcode.submit", {"requestId": "rc-1", "bill": bill()})
        final = await wait_final(c, old["jobId"])
        assert final["result"]["status"] == "Collected"
        # Without naming the bill it replaces, the number is a duplicate: the old bill.
        new = await c.call("healthcode.submit", {"requestId": "rc-2", "bill": bill(), "replaces": old["jobId"]})
        assert new["result"]["duplicate"] is False
        assert new["result"]["reference"] != final["result"]["reference"]
        done = await wait_final(c, new["jobId"])
        assert done["result"]["status"] == "Collected" and done["result"]["replaces"] == old["jobId"]
        references = [b["reference"] for b in await sim_bills(sim)]
        assert len(set(references)) == 2
