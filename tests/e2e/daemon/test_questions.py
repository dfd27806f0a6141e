"""Questions first-class: in the Job, replayed to a client that re-sends the requestId, answered by
an operator from any client, matched without regard to case; and the job's history."""

from __future__ import annotations

import asyncio

import pytest

from tests.daemon_harness import RpcError, Running, claim_request

pytestmark = pytest.mark.e2e


async def test_a_resent_request_id_gets_the_question_and_may_answer(daemon: Running) -> None:
    first = await daemon.client()
    params = claim_request(requestId="q-1", onApproved="ask")
    call = asyncio.ensure_future(first.call("healthpoint.claim", params))
    q = await first.wait_note(lambda n: n["method"] == "job.question")
    job_id = q["params"]["jobId"]
    got = await first.call("job.get", {"jobId": job_id})
    assert got["question"] == {"text": q["params"]["text"], "options": ["ACCEPT", "REJECT"]}
    second = await daemon.client()  # the PMS reconnected
    with pytest.raises(RpcError) as err:
        await second.call("job.answer", {"jobId": job_id, "answer": "ACCEPT"})
    assert err.value.code == -32004 and err.value.data["reason"] == "notYourJob"
    resent = asyncio.ensure_future(second.call("healthpoint.claim", params))
    replayed = await second.wait_note(lambda n: n["method"] == "job.question")
    assert replayed["params"] == q["params"]
    assert await second.call("job.answer", {"jobId": job_id, "answer": "accept"}) == {"accepted": True}
    job, again = await call, await resent
    assert job["result"]["result"] == "APPROVED" and again["jobId"] == job_id and job["question"] is None
    assert [r["kind"] for r in await daemon.sim.ledger()] == ["claim"]


async def test_an_operator_answers_from_another_client_and_history_names_them(daemon: Running) -> None:
    pms = await daemon.client()
    call = asyncio.ensure_future(pms.call("healthpoint.claim", claim_request(requestId="q-2", onApproved="ask")))
    q = await pms.wait_note(lambda n: n["method"] == "job.question")
    console = await daemon.client()
    answer = {"jobId": q["params"]["jobId"], "answer": "Reject", "operator": "Dr Jones"}
    assert await console.call("job.answer", answer) == {"accepted": True}
    job = await call
    assert job["result"]["result"] == "CANCELLED"
    full = await console.call("job.get", {"requestId": "q-2", "history": True})
    history = full["history"]
    events = [e["event"] for e in history]
    assert [e["state"] for e in history if e["event"] == "state"] == ["queued", "running", "completed"]
    assert "status" in events and events.index("question") < events.index("answer")
    assert any(e["event"] == "status" and e["message"] == "Swipe or tap health fund card" for e in history)
    answered = next(e for e in history if e["event"] == "answer")
    assert answered["message"] == "REJECT" and answered["by"] == "Dr Jones via engineer"
    assert [e["at"] for e in history] == sorted(e["at"] for e in history)
    assert "history" not in await console.call("job.get", {"requestId": "q-2"})


async def test_an_answer_that_is_no_option_is_refused(daemon: Running) -> None:
    c = await daemon.client()
    call = asyncio.ensure_future(c.call("healthpoint.claim", claim_request(requestId="q-3", onApproved="ask")))
    q = await c.wait_note(lambda n: n["method"] == "job.question")
    with pytest.raises(RpcError) as err:
        await c.call("job.answer", {"jobId": q["params"]["jobId"], "answer": "maybe"})
    assert err.value.code == -32004 and err.value.data["reason"] == "notAnOption"
    await c.call("job.answer", {"jobId": q["params"]["jobId"], "answer": "ACCEPT"})
    assert (await call)["result"]["result"] == "APPROVED"


async def test_a_single_option_error_question_is_acknowledged_by_the_daemon(daemon: Running) -> None:
    # The simulator forgets its pairings: the terminal refuses the claim with an error question
    # ("POS is not paired with a terminal." OK). The page relays it; the daemon acknowledges it
    # (bridge/healthpoint/operation.py), nothing reaches the desk, and the job fails NOT STARTED.
    (await daemon.sim.http.post("/_sim/reset")).raise_for_status()
    c = await daemon.client()
    job = await c.call("healthpoint.claim", claim_request(requestId="q-err", onApproved="ask"))
    assert job["state"] == "failed" and job["result"]["result"] == "NOT STARTED"
    assert job["error"]["message"] == "POS is not paired with a terminal."
    assert not any(n["method"] == "job.question" for n in c.notes)
    history = (await c.call("job.get", {"requestId": "q-err", "history": True}))["history"]
    answered = next(e for e in history if e["event"] == "answer")
    assert answered["message"] == "OK" and answered["by"] == "error acknowledged"
    assert await daemon.sim.ledger() == []
