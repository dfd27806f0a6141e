"""Membership enquiry through a running daemon: ``healthcode.findMember`` and ``member_check``.

Real websocket, real journal, real HTTP to the simulator's V2 stand-in (OAuth token, discovery
document, Find Member over its SYNTHETIC members).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest


from tests.daemon_harness import RpcError, Running, Sim, make_settings, start_daemon, stop_daemon, running_daemon
from tests.healthcode_harness import (
    API_KEY_ID,
    FAST,
    api_key_file,
    bill,
    control,
    hc_config,
    password_file,
    sim_bills,
    v2_config,
)

pytestmark = pytest.mark.e2e

@pytest.fixture
async def checked(tmp_path: Path, sim: Sim) -> AsyncIterator[Running]:
    """A daemon with Healthcode, V2 credentials and ``member_check = true``."""
    await control(sim, {"timings": FAST})
    running = await start_daemon(make_settings(tmp_path, sim, healthcode=v2_config(tmp_path, sim, member_check=True)), sim)
    yield running
    await stop_daemon(running)


@pytest.mark.parametrize(("insurer", "required"), [
    ("nuh", ["lastName", "firstName", "dateOfBirth", "postcode"]),
    ("bup", ["membershipNumber", "lastName", "dateOfBirth"]),
    ("ppp", ["membershipNumber", "dateOfBirth"]),
    ("slh", ["membershipNumber", "lastName"]),
])
async def test_each_insurers_required_find_member_fields(checked: Running, insurer: str, required: list[str]) -> None:
    c = await checked.client()
    answer = await c.call("healthcode.findMember", {"insurer": insurer})
    assert answer["found"] is False and answer["policyActive"] is False
    assert [p["field"] for p in answer["problems"]] == required
    assert all(p["suggestion"] and p["healthcodeField"] for p in answer["problems"])


async def test_find_member_found_not_found_lapsed_and_no_enquiry(checked: Running) -> None:
    c = await checked.client()
    aviva = {"insurer": "nuh", "lastName": "Placeholder", "firstName": "F", "dateOfBirth": "1970-01-15",
             "postcode": "ZZ5 6IJ"}
    found = await c.call("healthcode.findMember", aviva)
    assert found["found"] is True and found["policyActive"] is True and found["problems"] == []
    assert found["member"] == {"firstName": "Fiona", "lastName": "Placeholder", "dateOfBirth": "1970-01-15",
                               "membershipNumber": "AV5550001"}
    missing = await c.call("healthcode.findMember", {**aviva, "dateOfBirth": "1971-01-15"})
    assert missing["found"] is False and "no member" in missing["message"]
    lapsed = await c.call("healthcode.findMember", {"insurer": "bup", "membershipNumber": "BUP1000003",
                                                    "lastName": "Lapsington", "dateOfBirth": "1990-02-02"})
    assert lapsed["found"] is True and lapsed["policyActive"] is False
    none = await c.call("healthcode.findMember", {"insurer": "wpa"})
    assert none["found"] is False and "no membership enquiry" in none["message"]


async def test_member_not_found_blocks_submit_with_member_check_on(checked: Running) -> None:
    c = await checked.client()
    stranger = bill(patient={**bill()["patient"], "membershipNumber": "BUP1000099"})
    answer = await c.call("healthcode.validate", {"bill": stranger})
    assert answer["valid"] is False
    assert [(p["field"], p["healthcodeField"]) for p in answer["problems"]] == [
        ("patient.membershipNumber", "RegistrationNo")]
    assert "No matching membership" in answer["problems"][0]["error"]
    # Healthcode's member database refuses it: a failed job with the problems, never -32602.
    refused = await c.call("healthcode.submit", {"requestId": "mc-1", "bill": stranger})
    assert refused["state"] == "failed" and refused["error"]["data"]["problems"] == answer["problems"]
    assert await sim_bills(checked.sim) == []
    # The member who is there passes, and the bill goes.
    job = await c.call("healthcode.submit", {"requestId": "mc-2", "bill": bill()})
    assert job["state"] == "running"
    assert len(await sim_bills(checked.sim)) == 1


async def test_member_check_reports_a_field_the_insurer_needs_that_the_bill_lacks(checked: Running) -> None:
    c = await checked.client()
    patient = {"firstName": "Fiona", "lastName": "Placeholder", "dateOfBirth": "1970-01-15",
               "membershipNumber": "AV5550001"}
    aviva = bill(insurer="nuh", patient=patient)
    aviva.pop("diagnoses", None)
    answer = await c.call("healthcode.validate", {"bill": aviva})
    fields = [p["field"] for p in answer["problems"]]
    assert "patient.postcode" in fields, answer


async def test_wrong_api_key_is_a_clear_error(tmp_path: Path, sim: Sim) -> None:
    config = hc_config(sim, password_file(tmp_path), api_key_id=API_KEY_ID,
                       api_key_file=api_key_file(tmp_path, "wrong-key"))
    async with running_daemon(make_settings(tmp_path, sim, healthcode=config), sim) as (running, c):
        with pytest.raises(RpcError) as err:
            await c.call("healthcode.findMember", {"insurer": "ppp", "membershipNumber": "1234567A",
                                                   "dateOfBirth": "1962-11-05"})
        assert err.value.code == -32005 and err.value.data["reason"] == "healthcodeCredentials"
        assert "wrong-key" not in str(err.value.data)
        # The key file corrected: read again for the next token, no restart.
        api_key_file(tmp_path)
        found = await c.call("healthcode.findMember", {"insurer": "ppp", "membershipNumber": "1234567A",
                                                       "dateOfBirth": "1962-11-05"})
        assert found["found"] is True


async def test_membership_is_checked_for_the_treatment_date(checked: Running) -> None:
    c = await checked.client()
    # Cover ended on 2026-11-20: treated on the 10th and 17th, billed after it ended.
    patient = {**bill()["patient"], "membershipNumber": "BUP1000004", "firstName": "Iris", "lastName": "Endwell",
               "dateOfBirth": "1983-03-03", "postcode": "ZZ2 4EE"}
    answer = await c.call("healthcode.validate", {"bill": bill(patient=patient)})
    assert answer == {"valid": True, "problems": []}
    late = bill(patient=patient, lines=[{**bill()["lines"][0], "serviceDate": "2026-11-21"}])
    answer = await c.call("healthcode.validate", {"bill": late})
    assert {p["field"] for p in answer["problems"]} == {"patient.membershipNumber"}, answer
