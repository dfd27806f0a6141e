"""bridge/hub.py: fan-out to owners and subscribers, waiters, listeners."""

import asyncio
from typing import Any

import dataclasses
from datetime import UTC, datetime

from bridge.hub import Hub
from bridge.jobs import JobKind, JobState
from bridge.journal import JobRecord
from bridge.protocol import Job, JobQuestion, JobStatus, PendingQuestion, TerminalPairing
from tests.job_requests import claim, claim_outcome

AT = datetime(2026, 11, 22, 23, 0, tzinfo=UTC)


def _row(job_id: str, state: JobState, result: dict[str, Any] | None = None) -> JobRecord:
    outcome = claim_outcome(**result) if result is not None else None
    return JobRecord(job_id, "r-" + job_id, JobKind.CLAIM, "front-desk", state, claim("r-" + job_id), outcome, None,
                     None, AT, AT)


class Peer:
    def __init__(self) -> None:
        self.got: list[tuple[str, dict[str, Any]]] = []

    async def notify(self, method: str, params: dict[str, Any]) -> None:
        self.got.append((method, params))


def test_owner_and_subscriber_get_notifications_others_do_not() -> None:
    async def scenario() -> tuple[Peer, Peer, Peer]:
        hub = Hub()
        owner, subscriber, stranger = Peer(), Peer(), Peer()
        hub.own("job-1", owner)
        hub.subscribe(subscriber, ["job.status"])
        hub.publish(JobStatus(jobId="job-1", message="hello"), "job-1")
        hub.publish(JobStatus(jobId="job-2", message="other"), "job-2")
        hub.publish(JobQuestion(jobId="job-2", text="Accept?", options=("ACCEPT",)), "job-2")
        await asyncio.sleep(0)
        return owner, subscriber, stranger

    owner, subscriber, stranger = asyncio.run(scenario())
    assert owner.got == [("job.status", {"jobId": "job-1", "message": "hello"})]
    assert [p["jobId"] for _, p in subscriber.got] == ["job-1", "job-2"]
    assert stranger.got == []


def test_waiter_resolves_only_in_an_answered_state_with_the_job_subscribers_got() -> None:
    async def scenario() -> tuple[bool, Job, Peer]:
        hub = Hub()
        peer = Peer()
        hub.subscribe(peer, ["job.updated"])
        fut = hub.wait("job-1")
        hub.publish_job(_row("job-1", JobState.RUNNING))
        early = fut.done()
        hub.publish_job(_row("job-1", JobState.UNKNOWN), PendingQuestion(text="Accept?", options=("ACCEPT",)))
        job = await fut
        await asyncio.sleep(0)
        return early, job, peer

    early, job, peer = asyncio.run(scenario())
    assert early is False and job.state is JobState.UNKNOWN
    sent = [p["job"] for _, p in peer.got]
    assert [j["state"] for j in sent] == ["running", "unknown"]
    assert sent[-1] == job.model_dump(mode="json", exclude_unset=True) and sent[-1]["question"]["text"] == "Accept?"


def test_a_row_that_does_not_fit_is_not_sent_and_its_waiter_gets_the_error() -> None:
    async def scenario() -> tuple[Job | None, Peer, BaseException | None]:
        hub = Hub()
        peer = Peer()
        hub.subscribe(peer, ["*"])
        fut = hub.wait("job-1")
        # The journal's records are typed; a field a bug filled wrongly still never reaches a peer.
        sent = hub.publish_job(dataclasses.replace(_row("job-1", JobState.COMPLETED), seq="not a number"))
        await asyncio.sleep(0)
        return sent, peer, fut.exception()

    sent, peer, error = asyncio.run(scenario())
    assert sent is None and peer.got == [] and error is not None


def test_listener_sees_everything_and_a_broken_one_does_not_stop_fan_out() -> None:
    seen: list[str] = []

    def broken(method: str, params: dict[str, Any]) -> None:
        raise RuntimeError("boom")

    async def scenario() -> Peer:
        hub = Hub()
        peer = Peer()
        hub.listen(broken)
        hub.listen(lambda m, p: seen.append(m))
        hub.subscribe(peer, ["*"])
        hub.publish(TerminalPairing(terminal="t", status="success", message=""))
        await asyncio.sleep(0)
        return peer

    peer = asyncio.run(scenario())
    assert seen == ["terminal.pairing"] and len(peer.got) == 1


def test_forgotten_peer_gets_nothing() -> None:
    async def scenario() -> Peer:
        hub = Hub()
        peer = Peer()
        hub.own("job-1", peer)
        hub.subscribe(peer, ["*"])
        hub.forget(peer)
        hub.publish(JobStatus(jobId="job-1", message="x"), "job-1")
        await asyncio.sleep(0)
        return peer

    assert asyncio.run(scenario()).got == []


def test_final_jobs_and_dropped_waiters_leave_nothing_behind() -> None:
    async def scenario() -> Hub:
        hub = Hub()
        peer = Peer()
        hub.own("job-1", peer)
        hub.publish_job(_row("job-1", JobState.UNKNOWN))
        assert hub.owns("job-1", peer)  # unknown: the terminal may still complete it
        hub.publish_job(_row("job-1", JobState.COMPLETED, {"result": "APPROVED"}))
        fut = hub.wait("job-2")
        fut.cancel()
        hub.drop_waiter("job-2", fut)
        hub.own("job-3", peer)
        hub.forget(peer)
        await asyncio.sleep(0)
        return hub

    hub = asyncio.run(scenario())
    assert hub._owners == {} and hub._waiters == {}  # noqa: SLF001
