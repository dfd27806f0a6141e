"""Same-day cancel through the daemon: allowed until 23:59:59 Sydney, refused after (DST too)."""

from __future__ import annotations

import asyncio
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from tests.daemon_harness import RpcError, Running, claim_request

pytestmark = pytest.mark.e2e
SYDNEY = ZoneInfo("Australia/Sydney")


def _claim_on(day: str) -> dict[str, object]:
    params = claim_request(requestId=f"claim-{day}")
    for item in params["items"]:  # type: ignore[union-attr]
        item["serviceDate"] = day
    return params


async def test_cancel_on_the_same_day(daemon: Running) -> None:
    c = await daemon.client()
    claim = await c.call("healthpoint.claim", claim_request(requestId="c-same"))
    cancel = await c.call("healthpoint.cancel", {"requestId": "cancel-same", "claimJobId": claim["jobId"]})
    assert cancel["kind"] == "cancel" and cancel["state"] == "completed"
    assert cancel["result"]["result"] == "CANCELLED" and cancel["result"]["phfResponseCode"] == "00"
    kinds = [r["kind"] for r in await daemon.sim.ledger()]
    assert kinds == ["claim", "cancel"]


@pytest.mark.parametrize(
    ("claim_at", "cancel_at", "allowed"),
    [
        # DST ends in Sydney on 2026-04-05 (03:00 AEDT -> 02:00 AEST)
        (datetime(2026, 4, 4, 23, 0, tzinfo=SYDNEY), datetime(2026, 4, 4, 23, 59, 50, tzinfo=SYDNEY), True),
        (datetime(2026, 4, 4, 23, 0, tzinfo=SYDNEY), datetime(2026, 4, 5, 0, 0, 1, tzinfo=SYDNEY), False),
        # DST starts on 2026-10-04 (02:00 AEST -> 03:00 AEDT)
        (datetime(2026, 10, 3, 22, 0, tzinfo=SYDNEY), datetime(2026, 10, 3, 23, 59, 50, tzinfo=SYDNEY), True),
        (datetime(2026, 10, 3, 22, 0, tzinfo=SYDNEY), datetime(2026, 10, 4, 0, 0, 0, tzinfo=SYDNEY), False),
    ],
)
async def test_cancel_cut_off_across_dst(daemon: Running, claim_at: datetime, cancel_at: datetime, allowed: bool) -> None:
    clock = daemon.sim.clock
    clock.set(now=claim_at)
    day = claim_at.date().isoformat()
    c = await daemon.client()
    claim = await c.call("healthpoint.claim", _claim_on(day))
    assert claim["result"]["result"] == "APPROVED"
    clock.set(now=cancel_at, scale=1)  # real time: the cancel must reach the fund before midnight
    params = {"requestId": f"cancel-{cancel_at.isoformat()}", "claimJobId": claim["jobId"]}
    if allowed:
        job = await c.call("healthpoint.cancel", params)
        assert job["result"]["result"] == "CANCELLED"
    else:
        with pytest.raises(RpcError) as err:
            await c.call("healthpoint.cancel", params)
        assert err.value.code == -32004 and "deadline" in err.value.data
        assert [r["kind"] for r in await daemon.sim.ledger()] == ["claim"]


async def test_cancel_of_an_unknown_job_is_not_found(daemon: Running) -> None:
    c = await daemon.client()
    with pytest.raises(RpcError) as err:
        await c.call("healthpoint.cancel", {"requestId": "x", "claimJobId": "no-such-job"})
    assert err.value.code == -32002


async def test_a_claim_accepted_after_midnight_keeps_the_fund_s_day_for_its_cut_off(daemon: Running) -> None:
    """The fund approves at 23:59:5x Sydney; the patient accepts after midnight, so the journal
    records the outcome on the next day. The cancel cut-off is the fund's day: a cancel after
    midnight is refused (-32004, nothing reaches the terminal), not sent to be declined (76)."""
    clock = daemon.sim.clock
    clock.set(now=datetime(2026, 11, 23, 23, 59, 55, tzinfo=SYDNEY), scale=1)
    c = await daemon.client()
    pending = asyncio.ensure_future(c.call("healthpoint.claim", {**_claim_on("2026-11-23"), "onApproved": "ask"}))
    await c.wait_note(lambda n: n["method"] == "job.question")
    clock.set(now=datetime(2026, 11, 24, 0, 0, 5, tzinfo=SYDNEY), scale=1)
    job_id = (await c.call("job.get", {"requestId": "claim-2026-11-23"}))["jobId"]
    await c.call("job.answer", {"jobId": job_id, "answer": "ACCEPT"})
    claim = await pending
    assert claim["result"]["result"] == "APPROVED"
    assert datetime.fromisoformat(claim["updatedAt"]).astimezone(SYDNEY).date().isoformat() == "2026-11-24"
    assert datetime.fromisoformat(claim["result"]["terminalAt"]).astimezone(SYDNEY).date().isoformat() == "2026-11-23"
    with pytest.raises(RpcError) as err:
        await c.call("healthpoint.cancel", {"requestId": "cancel-after-midnight", "claimJobId": claim["jobId"]})
    assert err.value.code == -32004
    assert err.value.data["deadline"] == "2026-11-23T23:59:59+11:00"
    assert [r["kind"] for r in await daemon.sim.ledger()] == ["claim"]
