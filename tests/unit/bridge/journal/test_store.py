"""bridge/journal/store.py against a real SQLite file: durability settings, idempotency, audit trail,
held writes, the money guards' job tree and batched notes."""

import asyncio
import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bridge.errors import JobMoved, JobNotFound, JournalUnavailable, RequestIdReused
from bridge.protocol import JobError, Receipts, request_data
from bridge.jobs import IllegalTransition, JobKind, JobState
from bench.faults import JournalLocker
from bridge.journal import Journal
from tests.job_requests import bill, bill_outcome, claim, claim_outcome, payment_outcome, request_for

AT = datetime(2026, 11, 22, 23, 0, tzinfo=UTC)


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def test_wal_and_synchronous_full(tmp_path: Path) -> None:
    async def go() -> tuple[str, int]:
        async with Journal(tmp_path / "j.db") as j:
            return (
                await j.read(lambda: j.thread.conn.execute("PRAGMA journal_mode").fetchone()[0]),
                await j.read(lambda: j.thread.conn.execute("PRAGMA synchronous").fetchone()[0]),
            )

    mode, sync = run(go())
    assert mode == "wal" and sync == 2  # 2 = FULL


def test_same_request_id_same_payload_returns_the_same_job(tmp_path: Path) -> None:
    async def go() -> None:
        async with Journal(tmp_path / "j.db", clock=lambda: AT) as j:
            a, created_a = await j.create_job(kind=JobKind.CLAIM, request_id="r1", terminal="t", request=claim("r1"))
            b, created_b = await j.create_job(kind=JobKind.CLAIM, request_id="r1", terminal="t", request=claim("r1"))
            assert created_a and not created_b and a == b
            with pytest.raises(RequestIdReused):
                await j.create_job(kind=JobKind.CLAIM, request_id="r1", terminal="t", request=claim("r1", providerId="1455813F"))
            assert a.state is JobState.QUEUED and a.created_at == AT

    run(go())


def test_moves_follow_the_table_and_are_audited(tmp_path: Path) -> None:
    async def go() -> None:
        async with Journal(tmp_path / "j.db") as j:
            job, _ = await j.create_job(kind=JobKind.CLAIM, request_id="r", terminal="t", request=request_for(JobKind.CLAIM, "r"))
            await j.move(job.job_id, JobState.RUNNING)
            with pytest.raises(IllegalTransition):
                await j.move(job.job_id, JobState.RESOLVED)
            done = await j.move(job.job_id, JobState.COMPLETED, result=claim_outcome(result="APPROVED"), note="ok")
            assert done.result == claim_outcome(result="APPROVED")
            events = await j.events(job.job_id)
            assert [(e["from_state"], e["to_state"]) for e in events] == [
                (None, "queued"), ("queued", "running"), ("running", "completed"),
            ]
            assert list(events[-1]) == ["at", "from_state", "to_state", "event", "detail"]
            assert events[-1]["event"] == "state" and events[-1]["detail"] == "ok"
            with pytest.raises(JobNotFound):
                await j.move("nope", JobState.RUNNING)

    run(go())


def test_jobs_survive_a_reopen_and_nothing_is_deleted(tmp_path: Path) -> None:
    async def write() -> str:
        async with Journal(tmp_path / "j.db") as j:
            job, _ = await j.create_job(kind=JobKind.GAP, request_id="g", terminal="t", request=request_for(JobKind.GAP, "g", amount=5))
            await j.save_pairing("t", 1, 2, "secret-key")
            return job.job_id

    job_id = run(write())
    # a second connection (another process would do the same) sees the committed rows
    with sqlite3.connect(tmp_path / "j.db") as db:
        assert db.execute("SELECT COUNT(*) FROM jobs").fetchone()[0] == 1

    async def read() -> None:
        async with Journal(tmp_path / "j.db") as j:
            assert (await j.get(job_id)).request == request_for(JobKind.GAP, "g", amount=5)
            assert (await j.get_by_request_id("g")).job_id == job_id
            pairing = await j.pairing("t")
            assert pairing is not None and pairing.integration_key == "secret-key"
            assert "secret-key" not in repr(pairing)
            assert [x.job_id for x in await j.list_jobs(states=[JobState.QUEUED], terminal="t")] == [job_id]

    run(read())


def test_a_lock_held_by_another_process_is_journal_unavailable_and_the_outcome_is_held(tmp_path: Path) -> None:
    async def go() -> None:
        async with Journal(tmp_path / "j.db", clock=lambda: AT, busy_timeout_s=0.05) as j:
            job, _ = await j.create_job(kind=JobKind.CLAIM, request_id="r1", terminal="t", request=claim("r1"))
            await j.move(job.job_id, JobState.RUNNING)
            assert await j.probe() == [] and j.writable
            locker = JournalLocker(tmp_path / "j.db")
            try:
                with pytest.raises(JournalUnavailable):
                    await j.move(job.job_id, JobState.COMPLETED, result=claim_outcome(result="APPROVED"))
                assert not j.writable and "locked" in (j.last_error or "")
                shown = await j.hold(job.job_id, JobState.COMPLETED, result=claim_outcome(result="APPROVED"),
                                     receipts=Receipts(merchant="M"), note="from the terminal")
                assert shown.state is JobState.UNKNOWN and "could not record" in str(shown.error)
                assert (await j.get_by_request_id("r1")).state is JobState.UNKNOWN
                assert [x.job_id for x in await j.list_jobs(states=[JobState.UNKNOWN])] == [job.job_id]
                assert await j.list_jobs(states=[JobState.RUNNING]) == []
                await j.note(job.job_id, "receipt", "held too")  # never raises
                again, created = await j.create_job(kind=JobKind.CLAIM, request_id="r1", terminal="t", request=claim("r1"))
                assert not created and again.job_id == job.job_id and again.state is JobState.UNKNOWN
                with pytest.raises(JournalUnavailable):
                    await j.create_job(kind=JobKind.CLAIM, request_id="r2", terminal="t", request=request_for(JobKind.CLAIM, "r2"))
                assert await j.probe() == [] and not j.writable and j.held_count == 2
            finally:
                locker.release()
            committed = await j.probe()
            assert j.writable and j.last_error is None and j.held_count == 0
            assert [(c.job_id, c.state) for c in committed] == [(job.job_id, JobState.COMPLETED)]
            final = await j.get(job.job_id)
            assert final.state is JobState.COMPLETED and final.result == claim_outcome(result="APPROVED")
            assert final.receipts == Receipts(merchant="M")  # held with the outcome, committed with it
            assert [e["event"] for e in await j.events(job.job_id)] == ["created", "state", "receipt", "state"]

    run(go())


def test_receipts_ride_inside_the_stored_result_and_are_kept_or_replaced_with_it(tmp_path: Path) -> None:
    async def go() -> None:
        async with Journal(tmp_path / "j.db", clock=lambda: AT) as j:
            job, _ = await j.create_job(kind=JobKind.GAP, request_id="g", terminal="t", request=request_for(JobKind.GAP, "g"))
            await j.move(job.job_id, JobState.RUNNING)
            lost = await j.move(job.job_id, JobState.UNKNOWN, result=payment_outcome(result="UNKNOWN"),
                                receipts=Receipts(merchant="M", customer="C"), error=JobError(message="lost"))
            assert lost == await j.get(job.job_id) and lost.receipts == Receipts(merchant="M", customer="C")
            stored = await j.read(lambda: j.thread.conn.execute("SELECT result FROM jobs").fetchone()[0])
            assert json.loads(stored) == {"result": "UNKNOWN", "receipts": {"merchant": "M", "customer": "C"}}
            kept = await j.move(job.job_id, JobState.RESOLVED, note="no result given: result and receipts kept")
            assert kept == await j.get(job.job_id) and kept.receipts == lost.receipts and kept.result == lost.result
            again, _ = await j.create_job(kind=JobKind.GAP, request_id="g2", terminal="t",
                                          request=request_for(JobKind.GAP, "g2"))
            await j.move(again.job_id, JobState.RUNNING)
            await j.move(again.job_id, JobState.UNKNOWN, result=payment_outcome(result="UNKNOWN"), receipts=Receipts(merchant="M"))
            settled = await j.settle(again.job_id, JobState.COMPLETED, result=payment_outcome(result="APPROVED"), note="n")
            assert settled == await j.get(again.job_id) and settled.receipts is None  # a new result, without receipts

    run(go())


def test_a_held_move_the_table_refuses_later_is_kept_in_history_not_committed(tmp_path: Path) -> None:
    async def go() -> None:
        async with Journal(tmp_path / "j.db", clock=lambda: AT) as j:
            job, _ = await j.create_job(kind=JobKind.CLAIM, request_id="r1", terminal="t", request=request_for(JobKind.CLAIM, "r1"))
            await j.move(job.job_id, JobState.RUNNING)
            await j.hold(job.job_id, JobState.COMPLETED, result=claim_outcome(result="APPROVED"))
            await j.hold(job.job_id, JobState.COMPLETED, result=claim_outcome(result="APPROVED"))
            committed = await j.probe()
            assert [c.state for c in committed] == [JobState.COMPLETED] and j.held_count == 0
            refused = [e for e in await j.events(job.job_id) if e["event"] == "outcomeRefused"]
            assert len(refused) == 1 and '"toState": "completed"' in refused[0]["detail"]

    run(go())


def test_a_full_disk_fails_writes_but_not_reads(tmp_path: Path) -> None:
    """A journal whose writes fail through SQLite's own limit (``max_page_count``): the same
    SQLITE_FULL a full filesystem gives, without needing to mount one (tests/e2e does that)."""

    async def go() -> None:
        async with Journal(tmp_path / "j.db", clock=lambda: AT) as j:
            job, _ = await j.create_job(kind=JobKind.CLAIM, request_id="r1", terminal="t", request=request_for(JobKind.CLAIM, "r1"))
            pages = await j.read(lambda: j.thread.conn.execute("PRAGMA page_count").fetchone()[0])
            await j.read(lambda: j.thread.conn.execute(f"PRAGMA max_page_count = {pages}"))
            with pytest.raises(JournalUnavailable) as full:
                big = bill(lines=[request_data(bill())["bill"]["lines"][0]] * 150)  # more than the pages left
                await j.create_job(kind=JobKind.HEALTHCODE_BILL, request_id="r2", terminal=None, request=big)
            assert "full" in full.value.detail and not j.writable
            assert (await j.get(job.job_id)).state is JobState.QUEUED

    run(go())


def test_settle_drops_the_stale_error(tmp_path: Path) -> None:
    async def go() -> None:
        async with Journal(tmp_path / "j.db", clock=lambda: AT) as j:
            claim, _ = await j.create_job(kind=JobKind.CLAIM, request_id="c", terminal="t", request=request_for(JobKind.CLAIM, "c"))
            await j.move(claim.job_id, JobState.RUNNING)
            await j.move(claim.job_id, JobState.UNKNOWN, error=JobError(message="lost"))
            done = await j.settle(claim.job_id, JobState.COMPLETED, result=claim_outcome(result="APPROVED"), note="report")
            assert done.state is JobState.COMPLETED and done.error is None and done.result == claim_outcome(result="APPROVED")
            events = await j.events(claim.job_id)
            assert events[-1]["to_state"] == "completed" and events[-1]["detail"] == "report"
            with pytest.raises(JobMoved) as moved:
                await j.settle(claim.job_id, JobState.COMPLETED, result=claim_outcome(), note="again")
            assert moved.value.data()["reason"] == "jobEnded" and moved.value.state == "completed"


def test_a_move_from_a_state_the_job_left_is_refused_and_writes_nothing(tmp_path: Path) -> None:
    """The abort race in one transaction: the worker's ``running`` is committed first, so the
    abort's ``queued -> failed`` is refused (not ``running -> failed``), and the reverse."""

    async def go() -> None:
        async with Journal(tmp_path / "j.db", clock=lambda: AT) as j:
            a, _ = await j.create_job(kind=JobKind.CLAIM, request_id="a", terminal="t", request=request_for(JobKind.CLAIM, "a"))
            await j.move(a.job_id, JobState.RUNNING, from_state=JobState.QUEUED)
            with pytest.raises(JobMoved):
                await j.move(a.job_id, JobState.FAILED, from_state=JobState.QUEUED, notes=[(AT, "status", "x")])
            assert (await j.get(a.job_id)).state is JobState.RUNNING
            assert [e["event"] for e in await j.events(a.job_id)] == ["created", "state"]
            b, _ = await j.create_job(kind=JobKind.CLAIM, request_id="b", terminal="t", request=request_for(JobKind.CLAIM, "b"))
            await j.move(b.job_id, JobState.FAILED, from_state=JobState.QUEUED)
            with pytest.raises(JobMoved):
                await j.move(b.job_id, JobState.RUNNING, from_state=JobState.QUEUED)
            assert (await j.get(b.job_id)).state is JobState.FAILED

    run(go())


def test_note_many_keeps_times_and_order(tmp_path: Path) -> None:
    async def go() -> None:
        async with Journal(tmp_path / "j.db", clock=lambda: AT) as j:
            job, _ = await j.create_job(kind=JobKind.CLAIM, request_id="c", terminal="t", request=request_for(JobKind.CLAIM, "c"))
            await j.note_many(job.job_id, [(AT + timedelta(seconds=1), "status", "one"), (AT + timedelta(seconds=2), "status", "two")])
            await j.note_many(job.job_id, [])
            rows = (await j.events(job.job_id))[1:]
            assert [(r["event"], r["detail"]) for r in rows] == [("status", "one"), ("status", "two")]
            assert rows[0]["at"].startswith("2026-11-22T23:00:01")
            assert j.clock_now() == AT

    run(go())


def test_a_move_writes_its_notes_in_the_same_transaction_before_the_state_row(tmp_path: Path) -> None:
    async def go() -> None:
        async with Journal(tmp_path / "j.db", clock=lambda: AT) as j:
            job, _ = await j.create_job(kind=JobKind.CLAIM, request_id="c", terminal="t", request=request_for(JobKind.CLAIM, "c"))
            await j.move(job.job_id, JobState.RUNNING)
            notes = [(AT, "status", "Swipe card"), (AT, "status", "Sending to fund")]
            await j.move(job.job_id, JobState.COMPLETED, result=claim_outcome(result="APPROVED"), notes=notes)
            events = await j.events(job.job_id)
            assert [(e["event"], e["detail"]) for e in events[-3:]] == [
                ("status", "Swipe card"), ("status", "Sending to fund"), ("state", None)]
            with pytest.raises(IllegalTransition):  # a refused move writes none of its notes either
                await j.move(job.job_id, JobState.RUNNING, notes=[(AT, "status", "never")])
            assert all(e["detail"] != "never" for e in await j.events(job.job_id))

    run(go())


def test_every_change_of_any_job_takes_the_next_journal_wide_seq(tmp_path: Path) -> None:
    async def go() -> None:
        async with Journal(tmp_path / "j.db") as j:
            a, _ = await j.create_job(kind=JobKind.CLAIM, request_id="a", terminal="t", request=request_for(JobKind.CLAIM, "a"))
            b, _ = await j.create_job(kind=JobKind.CLAIM, request_id="b", terminal="t", request=request_for(JobKind.CLAIM, "b"))
            assert (a.seq, b.seq) == (1, 2)
            again, _ = await j.create_job(kind=JobKind.CLAIM, request_id="a", terminal="t", request=request_for(JobKind.CLAIM, "a"))
            assert again.seq == 1  # answering a repeat changes nothing
            assert (await j.move(a.job_id, JobState.RUNNING)).seq == 3
            await j.note(b.job_id, "question", "Signature OK?")
            assert (await j.get(b.job_id)).seq == 4
            await j.note_many(a.job_id, [(AT, "status", "Present card"), (AT, "status", "Processing")])
            assert (await j.get(a.job_id)).seq == 5
            assert (await j.update_result(a.job_id, claim_outcome(status="x"))).seq == 6
            assert (await j.move(a.job_id, JobState.COMPLETED, notes=[(AT, "receipt", "r")])).seq == 7
            listed = await j.list_jobs()
            assert {job.request_id: job.seq for job in listed} == {"a": 7, "b": 4}
        async with Journal(tmp_path / "j.db") as j:  # the counter is kept in the journal
            c, _ = await j.create_job(kind=JobKind.CLAIM, request_id="c", terminal="t", request=request_for(JobKind.CLAIM, "c"))
            assert c.seq == 8

    run(go())


def test_a_journal_made_before_seq_is_numbered_in_the_order_its_jobs_last_changed(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as db:  # the jobs table as it was before the change number
        db.execute(
            "CREATE TABLE jobs (job_id TEXT PRIMARY KEY, request_id TEXT NOT NULL UNIQUE, kind TEXT NOT NULL,"
            " terminal TEXT, state TEXT NOT NULL, digest TEXT NOT NULL, request TEXT NOT NULL, result TEXT,"
            " error TEXT, parent_job_id TEXT, created_at TEXT NOT NULL, updated_at TEXT NOT NULL)"
        )
        for job_id, updated in (("j1", "2026-11-22T23:00:09"), ("j2", "2026-11-22T23:00:01"), ("j3", "2026-11-22T23:00:05")):
            db.execute(
                "INSERT INTO jobs VALUES (?, ?, 'claim', 't', 'completed', 'd', ?, NULL, NULL, NULL,"
                " '2026-11-22T23:00:00+00:00', ?)",
                (job_id, "r" + job_id, json.dumps(request_data(claim("r" + job_id))), updated + "+00:00"),
            )

    async def go() -> None:
        async with Journal(path) as j:
            assert {job.job_id: job.seq for job in await j.list_jobs()} == {"j2": 1, "j3": 2, "j1": 3}
            new, _ = await j.create_job(kind=JobKind.CLAIM, request_id="new", terminal="t", request=request_for(JobKind.CLAIM, "new"))
            assert new.seq == 4
        async with Journal(path) as j:  # opening again migrates nothing twice
            assert (await j.get("j1")).seq == 3

    run(go())


def test_one_row_that_cannot_be_decoded_is_left_out_of_lists_and_never_claimed_again(tmp_path: Path) -> None:
    async def go() -> None:
        async with Journal(tmp_path / "j.db") as j:
            bad, _ = await j.create_job(kind=JobKind.CLAIM, request_id="bad", terminal="t", request=request_for(JobKind.CLAIM, "bad"))
            await j.create_job(kind=JobKind.CLAIM, request_id="good", terminal="t", request=request_for(JobKind.CLAIM, "good"))
            await j.read(lambda: j.thread.conn.execute("UPDATE jobs SET result = '{broken' WHERE request_id = 'bad'"))
            assert [job.request_id for job in await j.list_jobs()] == ["good"]
            with pytest.raises(JournalUnavailable):
                await j.get(bad.job_id)
            with pytest.raises(JournalUnavailable):  # -32005, not a second job for the same requestId
                await j.create_job(kind=JobKind.CLAIM, request_id="bad", terminal="t", request=request_for(JobKind.CLAIM, "bad"))

    run(go())


def test_a_write_returns_exactly_what_a_read_gives(tmp_path: Path) -> None:
    # create_job, move and settle build their answer from what they wrote (no read back): it must
    # be the row a read returns, COALESCE of result and error included.
    async def go() -> None:
        async with Journal(tmp_path / "j.db") as j:
            claim_job, _ = await j.create_job(kind=JobKind.CLAIM, request_id="c", terminal="t", request=claim("c"))
            assert claim_job == await j.get(claim_job.job_id)
            gap, _ = await j.create_job(kind=JobKind.GAP, request_id="g", terminal="t", request=request_for(JobKind.GAP, "g"), parent_job_id=claim_job.job_id)
            assert gap == await j.get(gap.job_id) and gap.parent_job_id == claim_job.job_id
            running = await j.move(claim_job.job_id, JobState.RUNNING, notes=[(AT, "status", "Present card")])
            assert running == await j.get(claim_job.job_id)
            lost = await j.move(claim_job.job_id, JobState.UNKNOWN, result=claim_outcome(result="UNKNOWN"), error=JobError(message="lost"))
            assert lost == await j.get(claim_job.job_id)
            await j.move(gap.job_id, JobState.RUNNING, result=payment_outcome(result="DECLINED"), error=JobError(message="e"))
            kept = await j.move(gap.job_id, JobState.UNKNOWN, note="again")  # result and error kept
            assert kept == await j.get(gap.job_id) and kept.error == JobError(message="e") and kept.result == payment_outcome(result="DECLINED")
            settled = await j.settle(claim_job.job_id, JobState.COMPLETED, result=claim_outcome(result="APPROVED"), note="n")
            assert settled == await j.get(claim_job.job_id) and settled.error is None

    run(go())


def test_a_row_whose_text_is_not_utf8_is_left_out_not_a_failed_query(tmp_path: Path) -> None:
    async def go() -> None:
        async with Journal(tmp_path / "j.db") as j:
            bad, _ = await j.create_job(kind=JobKind.CLAIM, request_id="bad", terminal="t", request=request_for(JobKind.CLAIM, "bad"))
            await j.create_job(kind=JobKind.CLAIM, request_id="good", terminal="t", request=request_for(JobKind.CLAIM, "good"))
            await j.read(lambda: j.thread.conn.execute(
                "UPDATE jobs SET result = CAST(x'7b22ff' AS TEXT) WHERE request_id = 'bad'"))
            assert [job.request_id for job in await j.list_jobs()] == ["good"]
            with pytest.raises(JournalUnavailable):
                await j.get(bad.job_id)

    run(go())


def _scan(db: sqlite3.Connection) -> set[tuple[str, str, str | None, int]]:
    """The counts as a full scan of the jobs gives them (what job_counts must always equal)."""
    rows = db.execute(
        "SELECT kind, state, CASE WHEN json_valid(result) THEN json_extract(result, '$.status') END, COUNT(*)"
        " FROM jobs GROUP BY 1, 2, 3"
    ).fetchall()
    return {(kind, state, status if isinstance(status, str) else None, n) for kind, state, status, n in rows}


def test_job_counts_are_kept_in_every_write_and_made_for_an_older_journal(tmp_path: Path) -> None:
    path = tmp_path / "j.db"

    async def fill() -> set[tuple[str, str, str | None, int]]:
        async with Journal(path, clock=lambda: AT) as j:
            for n in range(6):
                kind = JobKind.HEALTHCODE_BILL if n % 2 else JobKind.CLAIM
                job, _ = await j.create_job(kind=kind, request_id=f"r{n}", terminal="t", request=request_for(kind, f"r{n}"))
                if n >= 2:
                    await j.move(job.job_id, JobState.RUNNING, result=bill_outcome(status="Unprocessed") if n % 2 else None)
                if n >= 4:
                    await j.move(job.job_id, JobState.COMPLETED, result=bill_outcome(status="Collected") if n % 2 else claim_outcome(x=1))
            return set(await j.count_jobs())

    counted = run(fill())
    with sqlite3.connect(path) as db:
        assert counted == _scan(db)
        assert ("healthcodeBill", "completed", "Collected", 1) in counted and ("claim", "queued", None, 1) in counted
        # A journal from before the counts: no table, no triggers; a row whose result is not JSON.
        for name in ("job_counts_insert", "job_counts_update", "job_counts_delete"):
            db.execute(f"DROP TRIGGER {name}")
        db.execute("DROP TABLE job_counts")
        db.execute("UPDATE jobs SET result = 'not json' WHERE request_id = 'r2'")
        (damaged_id,) = db.execute("SELECT job_id FROM jobs WHERE request_id = 'r2'").fetchone()

    async def reopen() -> set[tuple[str, str, str | None, int]]:
        async with Journal(path, clock=lambda: AT) as j:
            job, _ = await j.create_job(kind=JobKind.CLAIM, request_id="r6", terminal="t", request=request_for(JobKind.CLAIM, "r6"))
            await j.move(job.job_id, JobState.RUNNING)
            return set(await j.count_jobs())

    recounted = run(reopen())  # counted at open from the jobs there, the damaged row included
    with sqlite3.connect(path) as db:
        assert recounted == _scan(db)
        assert ("claim", "running", None, 2) in recounted
        # The triggers count a row whose stored result is not JSON instead of failing its write.
        db.execute("UPDATE jobs SET state = 'unknown' WHERE job_id = ?", (damaged_id,))
        kept = {(k, s, st or None, n) for k, s, st, n in db.execute("SELECT * FROM job_counts WHERE n > 0")}
        assert kept == _scan(db) and ("claim", "unknown", None, 1) in kept
