"""Tests for bridge/clearing/worker.py: the worker's bookkeeping (no transport, no journal)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from bridge.clearing.worker import HealthcodeWorker
from bridge.jobs import JobKind
from bridge.journal import JobRecord
from tests.job_requests import bill


def _worker() -> HealthcodeWorker:
    config: Any = SimpleNamespace(concurrency=1)
    return HealthcodeWorker(None, None, None, config)  # type: ignore[arg-type]


def test_one_lock_per_job() -> None:
    worker = _worker()
    assert worker.lock("j1") is worker.lock("j1")
    assert worker.lock("j1") is not worker.lock("j2")


def test_enqueue_marks_the_invoice_number_active() -> None:
    worker = _worker()
    job = JobRecord.queued("j1", "r1", JobKind.HEALTHCODE_BILL, None, bill("INV-1"), None, "2026-11-22T23:00:00+00:00", 1)
    worker.enqueue(job, check_first=True)
    assert worker.active_invoices == {"INV-1": "j1"}


async def test_admission_is_one_bill_at_a_time_per_number_only() -> None:
    import asyncio

    worker = _worker()
    order: list[str] = []

    async def admit(insurer: str, number: str, name: str, hold: float) -> None:
        async with worker.admitting(insurer, number):
            order.append(f"{name} in")
            await asyncio.sleep(hold)
            order.append(f"{name} out")

    await asyncio.gather(admit("bup", "INV-1", "a", 0.05), admit("bup", "INV-1", "b", 0),
                         admit("ppp", "INV-1", "c", 0))
    assert order.index("a out") < order.index("b in"), order  # the same number waits
    assert order.index("c in") < order.index("a out"), order  # another insurer's does not
    assert worker._admission == {}  # nothing kept once admitted
