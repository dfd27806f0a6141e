"""bridge/terminals/runner.py on a real journal and a real hub, with a scripted page in place of
Chromium: the runner feeds the HealthPoint operation the page's events and carries out its
effects (journal, notify, answer the page, finish the job). What each event means is
tests/unit/bridge/healthpoint/test_operation.py's; the real page is tests/e2e/daemon's."""

from __future__ import annotations

import asyncio
import json
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bridge.browser.reachability import Reachability
from bridge.browser.page import Operation, PageEvent, TerminalPage
from bridge.errors import NotAllowedNow
from bridge.hub import Hub
from bridge.jobs import JobKind, JobState
from bridge.journal import JobRecord, Journal
from bridge.protocol import JOB_REQUESTS, ClaimOutcome, ClaimParams, Job, JobError, PendingQuestion
from tests.job_requests import outcome
from bridge.terminals.runner import TerminalWorker

CLAIM = {
    "requestId": "r-1",
    "terminal": "front-desk",
    "providerId": "2159081W",
    "serviceType": "P",
    "items": [{"claimAmount": 10000, "serviceCode": "500", "description": "Consult", "patientId": "02",
               "serviceDate": "2026-11-22"}],
}
APPROVED = {
    "result": "APPROVED", "healthpointRefTag": "RT-1", "healthpointGapAmount": "4000",
    "healthpointClaimItems": [{"claimAmount": "10000", "rebateAmount": "6000", "serviceCode": "500", "patientId": "02",
                               "responseCode": "00"}],
}

#: What the scripted terminal does: given the call (method, request, answers), the events to send
#: at once; given an answer label, the events that follow it.
Script = Callable[[str, dict[str, Any] | None, tuple[str, ...]], list[PageEvent]]
Reply = Callable[[str], list[PageEvent]]


class ScriptedPage:
    """The runner's page, as far as the runner reaches: every call is recorded."""

    def __init__(self, script: Script, reply: Reply = lambda _label: []) -> None:
        self.script = script
        self.reply = reply
        self.loaded = True
        self.iclient = Reachability()
        self.calls: list[tuple[str, dict[str, Any] | None, tuple[str, ...]]] = []
        self.answers: list[str] = []
        self.finished: list[str] = []
        self.opened = 0
        self._ops: dict[str, Operation] = {}

    async def open(self) -> None:
        self.opened += 1

    async def start(self, op_id: str, method: str, request: dict[str, Any] | None, auto_answers: tuple[str, ...] = ()) -> Operation:
        self.calls.append((method, request, tuple(auto_answers)))
        op = Operation(op_id, method)
        self._ops[op_id] = op
        for event in self.script(method, request, tuple(auto_answers)):
            op.events.put_nowait(event)
        return op

    async def answer(self, op_id: str, label: str) -> bool:
        self.answers.append(label)
        for event in self.reply(label):
            self._ops[op_id].events.put_nowait(event)
        return True

    async def abort(self) -> bool:
        return True

    def finish(self, op_id: str) -> None:
        self.finished.append(op_id)


async def _run(tmp_path: Path, page: ScriptedPage, kind: JobKind = JobKind.CLAIM, request: dict[str, Any] | None = None,
               parent: tuple[dict[str, Any], dict[str, Any] | None] | None = None,
               during: Callable[[TerminalWorker, str], Any] | None = None) -> tuple[Job, list[dict[str, Any]], list[tuple[str, dict[str, Any]]]]:
    """Journal one job, run it on a worker over ``page``; the job as the waiter hears it, its
    history rows, and every notification."""
    async with Journal(tmp_path / "j.db") as journal:
        await journal.save_pairing("front-desk", 100, 200, "k-secret")
        hub = Hub()
        told: list[tuple[str, dict[str, Any]]] = []
        hub.listen(lambda method, params: told.append((method, params)))
        worker = TerminalWorker("front-desk", journal, typing.cast(TerminalPage, page), hub, transaction_timeout_s=5)
        await worker.load_page()
        parent_id = None
        if parent is not None:
            made, _ = await journal.create_job(kind=JobKind.CLAIM, request_id="r-0", terminal="front-desk",
                                               request=ClaimParams.model_validate(parent[0]))
            await journal.move(made.job_id, JobState.RUNNING)
            await journal.move(made.job_id, JobState.COMPLETED,
                               result=outcome(JobKind.CLAIM, parent[1]) if parent[1] is not None else None)
            parent_id = made.job_id
        job, _ = await journal.create_job(kind=kind, request_id="r-1", terminal="front-desk",
                                          request=JOB_REQUESTS[kind].model_validate(request or CLAIM), parent_job_id=parent_id)
        waiter = hub.wait(job.job_id)
        task = asyncio.create_task(worker.run())
        worker.enqueue(job.job_id)
        try:
            if during is not None:
                await during(worker, job.job_id)
            done = await asyncio.wait_for(waiter, 10)
        finally:
            task.cancel()
        rows = (await journal.events(job.job_id))[1:]
        return done, rows, told


def _events(*events: tuple[str, Any]) -> list[PageEvent]:
    return [PageEvent(kind, payload) for kind, payload in events]  # type: ignore[arg-type]


def test_a_claim_answered_by_policy_is_one_batch_carried_out(tmp_path: Path) -> None:
    def script(method: str, request: dict[str, Any] | None, answers: tuple[str, ...]) -> list[PageEvent]:
        assert method == "initiateHealthPointClaim" and answers == ("ACCEPT",)
        return _events(
            ("status", "Present card"),
            ("question", {"text": "Patient accepts?", "options": ["ACCEPT", "REJECT"], "answered": "ACCEPT"}),
            ("complete", APPROVED),
        )

    page = ScriptedPage(script)
    job, rows, told = asyncio.run(_run(tmp_path, page, request={**CLAIM, "onApproved": "accept"}))
    assert job.state is JobState.COMPLETED and job.result is not None
    assert job.result.refTag == "RT-1" and job.result.gap == 4000  # type: ignore[union-attr]
    sent = page.calls[0][1]
    assert sent is not None and sent["transactionId"] == job.jobId and sent["integrationKey"] == "k-secret"
    assert [r["event"] for r in rows] == ["state", "status", "question", "answer", "state"]
    assert json.loads(rows[3]["detail"]) == {"answer": "ACCEPT", "by": "onApproved policy"}
    assert ("job.status", {"jobId": job.jobId, "message": "Present card"}) in told
    assert not any(method == "job.question" for method, _ in told)  # nothing for the desk
    assert page.answers == [] and len(page.finished) == 1


def test_a_single_option_error_question_is_acknowledged_by_the_runner(tmp_path: Path) -> None:
    page = ScriptedPage(
        lambda method, request, answers: _events(
            ("question", {"text": "Invalid transaction details (400).", "options": ["OK"], "isError": True})
        ),
        reply=lambda label: _events(("complete", {"result": "NOT STARTED", "healthpointErrorCode": "400",
                                                  "healthpointErrorDescription": "Invalid transaction details"})),
    )
    job, rows, told = asyncio.run(_run(tmp_path, page))
    assert page.answers == ["OK"]
    assert job.state is JobState.FAILED and job.error is not None
    assert job.error.message == "Invalid transaction details"
    assert json.loads(rows[2]["detail"]) == {"answer": "OK", "by": "error acknowledged"}
    assert not any(method == "job.question" for method, _ in told)


def test_a_question_for_the_desk_waits_for_job_answer(tmp_path: Path) -> None:
    page = ScriptedPage(
        lambda method, request, answers: _events(("question", {"text": "Signature OK?", "options": ["YES", "NO"]})),
        reply=lambda label: _events(("receipt", {"merchantReceipt": "SIGNED"}), ("complete", APPROVED)),
    )

    async def desk(worker: TerminalWorker, job_id: str) -> None:
        while worker.pending_question(job_id) is None:
            await asyncio.sleep(0.001)
        assert worker.pending_question(job_id) == PendingQuestion(text="Signature OK?", options=("YES", "NO"))
        with pytest.raises(NotAllowedNow, match="must be one of"):
            await worker.answer(job_id, "maybe")
        await worker.answer(job_id, "yes", "Dr Jones")
        with pytest.raises(NotAllowedNow, match="no question is pending"):
            await worker.answer(job_id, "yes")

    job, rows, told = asyncio.run(_run(tmp_path, page, during=desk))
    assert page.answers == ["YES"]
    assert ("job.question", {"jobId": job.jobId, "text": "Signature OK?", "options": ["YES", "NO"]}) in told
    assert job.state is JobState.COMPLETED and job.receipts is not None and job.receipts.merchant == "SIGNED"
    assert [r["event"] for r in rows] == ["state", "question", "answer", "receipt", "state"]
    assert json.loads(rows[2]["detail"]) == {"answer": "YES", "by": "Dr Jones"}


def test_a_job_that_cannot_be_sent_fails_without_reaching_the_page(tmp_path: Path) -> None:
    page = ScriptedPage(lambda method, request, answers: [])
    job, _rows, _told = asyncio.run(_run(
        tmp_path, page, kind=JobKind.CANCEL, request={"requestId": "r-1", "claimJobId": "x"}, parent=(CLAIM, None),
    ))
    assert job.state is JobState.FAILED and job.error is not None and "has no result" in str(job.error.data)
    assert page.calls == []


def test_a_terminal_answer_that_does_not_fit_the_result_model_leaves_the_job_unknown_and_kept(tmp_path: Path) -> None:
    # A gap payment whose answer carries rrn as a number (documented as text): the outcome is not
    # guessed at nor dropped; the job is unknown and its history keeps the answer whole.
    paid = {"result": "APPROVED", "transactionId": "t-1", "rrn": 123456, "amount": "4000"}
    page = ScriptedPage(lambda method, request, answers: _events(("complete", paid)))
    claim_result = {"result": "APPROVED", "transactionId": "claim-tx", "gap": 4000}
    job, rows, _told = asyncio.run(_run(
        tmp_path, page, kind=JobKind.GAP, request={"requestId": "r-1", "claimJobId": "x", "amount": 4000},
        parent=(CLAIM, claim_result),
    ))
    assert [c[0] for c in page.calls] == ["initiatePurchase"]
    assert job.state is JobState.UNKNOWN and job.result is None
    assert job.error is not None and "does not fit" in job.error.message
    assert any('"rrn": 123456' in str(r["detail"]) for r in rows)


def test_a_crash_leaves_the_job_unknown_then_the_runner_reattaches_it(tmp_path: Path) -> None:
    sent_id: list[str] = []

    def script(method: str, request: dict[str, Any] | None, answers: tuple[str, ...]) -> list[PageEvent]:
        if method == "initiateHealthPointClaim":
            sent_id.append(str((request or {})["transactionId"]))
            return _events(("status", "Processing"), ("crashed", "the page crashed"))
        if method == "terminalInfo":
            return _events(("info", {"status": "success"}))
        assert method == "continueLastTransaction" and request is None
        return _events(("complete", {**APPROVED, "transactionId": sent_id[0]}))

    page = ScriptedPage(script)
    final: list[JobRecord] = []

    async def reattached(worker: TerminalWorker, job_id: str) -> None:
        while (record := await worker.journal.get(job_id)).state is not JobState.COMPLETED:
            await asyncio.sleep(0.005)
        final.append(record)

    job, rows, _told = asyncio.run(_run(tmp_path, page, during=reattached))
    assert job.state is JobState.UNKNOWN  # what the waiter heard first: the crash
    assert [c[0] for c in page.calls] == ["initiateHealthPointClaim", "terminalInfo", "continueLastTransaction"]
    assert page.opened == 2  # the page was reloaded before re-attaching
    assert final[0].result is not None and isinstance(final[0].result, ClaimOutcome) and final[0].result.refTag == "RT-1" and final[0].error is None
    assert "outcome from continueLastTransaction" in [r["detail"] for r in rows]


def test_reattached_outcome_is_journalled(tmp_path: Path) -> None:
    async def scenario() -> JobRecord:
        async with Journal(tmp_path / "j.db") as journal:
            await journal.save_pairing("front-desk", 100, 200, "k-secret")
            job, _ = await journal.create_job(kind=JobKind.CLAIM, request_id="r-1", terminal="front-desk",
                                              request=ClaimParams.model_validate(CLAIM))
            await journal.move(job.job_id, JobState.RUNNING)
            await journal.move(job.job_id, JobState.UNKNOWN, error=JobError(message="lost"))

            def script(method: str, request: dict[str, Any] | None, answers: tuple[str, ...]) -> list[PageEvent]:
                if method == "terminalInfo":
                    return _events(("info", {}))
                return _events(("status", "Resuming"), ("complete", {**APPROVED, "transactionId": job.job_id}))

            worker = TerminalWorker("front-desk", journal, typing.cast(TerminalPage, ScriptedPage(script)), Hub())
            assert await worker.reattach(job.job_id)
            return await journal.get(job.job_id)

    record = asyncio.run(scenario())
    assert record.state is JobState.COMPLETED and record.error is None
    assert isinstance(record.result, ClaimOutcome) and record.result.refTag == "RT-1"


def test_a_job_waiting_for_a_terminal_held_by_a_report_is_told_so(tmp_path: Path) -> None:
    page = ScriptedPage(lambda method, request, answers: _events(("complete", APPROVED)))

    async def report_holds_the_terminal(worker: TerminalWorker, job_id: str) -> None:
        await worker.lock.acquire()  # as a reconciliation report, a pairing or a page refresh does
        try:
            for _ in range(20):
                await asyncio.sleep(0)
            assert page.calls == []  # nothing reaches the terminal while it is held
        finally:
            worker.lock.release()

    job, _, told = asyncio.run(_run(tmp_path, page, request={**CLAIM, "onApproved": "accept"},
                                    during=report_holds_the_terminal))
    waiting = [p["message"] for method, p in told if method == "job.status" and p["jobId"] == job.jobId]
    assert waiting[:1] == ["Waiting for the terminal: a report, a pairing or a page refresh has it"]
    assert job.state is JobState.COMPLETED and len(page.calls) == 1
