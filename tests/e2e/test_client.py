"""bridge.client against a real daemon and the simulator: a connection cut mid-claim, a question
answered after reconnecting, a catch-up after downtime. The simulator's ledger says how many
claims reached the fund: one each time, never two."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from bridge.client import Client
from tests.daemon_harness import Running, claim_request

pytestmark = pytest.mark.e2e


def _client(daemon: Running, **kw: Any) -> Client:
    return Client(daemon.daemon.url, daemon.daemon.token, **kw)


async def test_a_connection_cut_mid_claim_is_resent_and_claims_once(daemon: Running) -> None:
    cut: list[str] = []

    def seen(method: str, params: dict[str, Any]) -> None:
        if method == "job.status" and not cut:
            cut.append(params["jobId"])
            client.drop()  # the network goes, while the terminal works on the claim

    client = _client(daemon, topics=["job.status"], on_notification=seen)
    async with client:
        job = await client.claim(**claim_request(requestId="cl-drop", onApproved="accept"))
    assert cut == [job["jobId"]]
    assert job["state"] == "completed" and job["result"]["result"] == "APPROVED"
    assert [r["kind"] for r in await daemon.sim.ledger()] == ["claim"]


async def test_a_question_is_answered_after_reconnecting(daemon: Running) -> None:
    asked: list[dict[str, Any]] = []

    async def answer(question: dict[str, Any]) -> str | None:
        asked.append(question)
        if len(asked) == 1:
            client.drop()  # the answer is lost with the connection
        return "ACCEPT"

    client = _client(daemon, topics=["job.updated"], on_question=answer)
    async with client:
        job = await client.claim(**claim_request(requestId="cl-ask", onApproved="ask"))
    assert job["state"] == "completed" and job["result"]["result"] == "APPROVED"
    assert len(asked) >= 2 and {q["jobId"] for q in asked} == {job["jobId"]}
    assert [r["kind"] for r in await daemon.sim.ledger()] == ["claim"]


async def test_a_client_catches_up_after_downtime(daemon: Running) -> None:
    first: list[tuple[str, dict[str, Any]]] = []
    async with _client(daemon, on_notification=lambda m, p: first.append((m, p))) as client:
        await client.claim(**claim_request(requestId="cl-up-1", onApproved="accept"))
        await asyncio.sleep(0.3)
        saved = client.last_seq
    assert saved is not None and saved > 0
    # the PMS is down while another desk claims
    other = await daemon.client()
    watcher = await daemon.client()
    await watcher.call("events.subscribe", {"topics": ["*"]})
    await other.call("healthpoint.claim", claim_request(requestId="cl-up-2", onApproved="accept"))
    await asyncio.sleep(0.3)
    missed = [(n["method"], n["params"]) for n in watcher.notes if n["params"]["seq"] > saved]
    assert any(m == "job.updated" and p["job"]["state"] == "completed" for m, p in missed)

    again: list[tuple[str, dict[str, Any]]] = []
    async with _client(daemon, since=saved, on_notification=lambda m, p: again.append((m, p))):
        for _ in range(50):
            if len(again) >= len(missed):
                break
            await asyncio.sleep(0.1)
    assert again == missed  # exactly what it missed, in order
