"""Insurer rules scoped to their insurer, registrations per insurer, and one answer for all of a
bill's problems, through a running daemon against the simulator.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest


from tests.daemon_harness import RpcError, Sim, make_settings, running_daemon
from tests.healthcode_harness import FAST, bill, control, hc_config, password_file, sim_bills

pytestmark = pytest.mark.e2e

#: The SYNTHETIC practitioner of the fixture bills, registered with Bupa only.
BUPA_ONLY = {"0651978": {"insurers": {"bup": "P100001"}}}


def pairs(problems: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(p["field"], p["error"]) for p in problems]


async def test_axa_s_invoice_number_rule_is_axa_s_and_problems_come_in_one_answer(tmp_path: Path, sim: Sim) -> None:
    await control(sim, {"timings": FAST})
    settings = make_settings(tmp_path, sim, healthcode=hc_config(sim, password_file(tmp_path)))
    async with running_daemon(settings, sim) as (running, c):
        bupa = bill(invoiceNumber="INV-2026-00042")
        assert await c.call("healthcode.validate", {"bill": bupa}) == {"valid": True, "problems": []}
        job = await c.call("healthcode.submit", {"requestId": "ir-1", "bill": bupa})
        assert job["state"] == "running", job

        # AXA: too long an invoice number (ours) and a patient AXA does not know (Healthcode's
        # member database), both in the one answer.
        axa = bill("clinic_payee_axa.json", invoiceNumber="INV-2026-00043")
        axa["patient"] = {**axa["patient"], "lastName": "Nobody"}
        answer = await c.call("healthcode.validate", {"bill": axa})
        found = pairs(answer["problems"])
        assert ("invoiceNumber", "Invalid Format") in found, answer
        assert any("demographics" in error.lower() for _, error in found), answer

        # A practitioner Healthcode has not mapped for the insurer: Healthcode's side.
        made_up = bill(invoiceNumber="INV-0003", practitioner={"healthcodeId": "0999999"},
                       payee={"healthcodeId": "0999999"})
        answer = await c.call("healthcode.validate", {"bill": made_up})
        assert ("practitioner.healthcodeId", "Provider not mapped") in pairs(answer["problems"]), answer

        # Our own pre-flight problems are -32602 without claiming Healthcode saw the bill.
        with pytest.raises(RpcError) as err:
            await c.call("healthcode.submit", {"requestId": "ir-2", "bill": axa})
        assert err.value.code == -32602 and "nothing was sent" in err.value.error["message"]
        assert len(await sim_bills(sim)) == 1


async def test_registrations_per_insurer_from_config(tmp_path: Path, sim: Sim) -> None:
    await control(sim, {"timings": FAST})
    config = hc_config(sim, password_file(tmp_path), practitioners=BUPA_ONLY)
    async with running_daemon(make_settings(tmp_path, sim, healthcode=config), sim) as (running, c):
        assert (await c.call("healthcode.validate", {"bill": bill()}))["valid"] is True
        axa = bill("clinic_payee_axa.json")
        answer = await c.call("healthcode.validate", {"bill": axa})
        assert pairs(answer["problems"]) == [
            ("practitioner.healthcodeId", "Provider not mapped"), ("payee.healthcodeId", "Provider not mapped"),
        ], answer
        assert answer["problems"][0]["healthcodeField"] == "ProviderNo"
