"""Healthcode test harness: the bills of fixtures/healthcode/bills, the daemon's Healthcode
configuration against the simulator's stand-ins (V1 site and password, V2 API key), the
simulator's control calls, and waits on a bill's notifications and the remittance poller."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any

from bridge.clearing.remittances import RemittanceBook
from bridge.config import HealthcodeConfig
from tests.daemon_harness import FIXTURES, Client, Running, Sim

__all__ = [
    "API_KEY", "API_KEY_ID", "BILLS", "FAST", "PASSWORD", "SLOW", "api_key_file", "bill", "book", "control",
    "hc_config", "paid_note", "password_file", "polls_after", "remit", "remittance_events", "sim_bills",
    "statuses", "v2_config", "wait_final",
]

BILLS = FIXTURES / "healthcode" / "bills"
PASSWORD = "healthcode-test"
#: Simulated seconds in each status before the next one (8 s in all: 0.16 s real at scale 50).
FAST = {"unprocessed": 2, "inProcess": 2, "validated": 2, "awaitingCollection": 2}
#: Long enough that a bill is still Unprocessed when the test cancels it.
SLOW = {"unprocessed": 3000, "inProcess": 3000, "validated": 3000, "awaitingCollection": 3000}


def bill(name: str = "valid_bupa.json", **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((BILLS / name).read_text(encoding="utf-8"))
    data.update(changes)
    return data


def _secret_file(path: Path, text: str) -> Path:
    """A credentials file as an operator writes one: the secret, a newline, mode 0600."""
    path.write_text(text + "\n")
    os.chmod(path, 0o600)
    return path


def password_file(tmp_path: Path, text: str = PASSWORD) -> Path:
    return _secret_file(tmp_path / "healthcode-password", text)


def hc_config(sim: Sim, pw: Path, **overrides: Any) -> HealthcodeConfig:
    fields: dict[str, Any] = {
        "url": f"{sim.base}/healthcode/", "site_id": "SIM001", "user_id": "claimbridge",
        "password_file": pw, "poll_initial_s": 0.05, "poll_max_s": 0.2,
        "retry_initial_s": 0.05, "retry_max_s": 0.2, "timeout_s": 5, "submit_wait_s": 10,
    }
    fields.update(overrides)
    return HealthcodeConfig(**fields)


async def control(sim: Sim, body: dict[str, Any]) -> None:
    (await sim.http.post("/healthcode/_control", json=body)).raise_for_status()


async def sim_bills(sim: Sim) -> list[dict[str, Any]]:
    response = await sim.http.get("/healthcode/_control/bills")
    response.raise_for_status()
    bills: list[dict[str, Any]] = response.json()["bills"]
    return bills


API_KEY_ID, API_KEY = "claimbridge-v2", "healthcode-v2-test"


def api_key_file(tmp_path: Path, text: str = API_KEY) -> Path:
    return _secret_file(tmp_path / "healthcode-api-key", text)


def v2_config(tmp_path: Path, sim: Sim, **overrides: Any) -> HealthcodeConfig:
    return hc_config(sim, password_file(tmp_path), api_key_id=API_KEY_ID,
                     api_key_file=api_key_file(tmp_path), **overrides)


def statuses(c: Client, job_id: str) -> list[str]:
    return [
        n["params"]["job"]["result"]["status"]
        for n in c.notes
        if n["method"] == "job.updated" and n["params"]["job"]["jobId"] == job_id
        and n["params"]["job"]["result"]
    ]


async def wait_final(c: Client, job_id: str, timeout: float = 20) -> dict[str, Any]:
    note = await c.wait_note(
        lambda n: n["method"] == "job.updated" and n["params"]["job"]["jobId"] == job_id
        and n["params"]["job"]["state"] in ("completed", "failed", "unknown"),
        timeout=timeout,
    )
    job: dict[str, Any] = note["params"]["job"]
    return job


def book(running: Running) -> RemittanceBook:
    assert running.daemon.healthcode is not None
    return running.daemon.healthcode.service.remittances


async def polls_after(running: Running, rounds: int) -> None:
    """Wait until the poller has finished ``rounds`` more rounds (each well under a second)."""
    target = book(running).polls + rounds
    for _ in range(400):
        if book(running).polls >= target:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the remittance poller did not run")


async def remit(sim: Sim, invoice: str, pence: int, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"invoiceNumber": invoice, "amountPaid": pence, **extra}
    response = await sim.http.post("/_sim/healthcode/remit", json=body)
    response.raise_for_status()
    answer: dict[str, Any] = response.json()
    return answer


async def paid_note(c: Client, job_id: str) -> dict[str, Any]:
    note = await c.wait_note(
        lambda n: n["method"] == "job.updated" and n["params"]["job"]["jobId"] == job_id
        and (n["params"]["job"]["result"] or {}).get("paid") is not None
    )
    job: dict[str, Any] = note["params"]["job"]
    return job


async def remittance_events(running: Running, job_id: str) -> list[dict[str, Any]]:
    """The journal's audit rows of the job that record a remittance."""
    assert running.daemon.journal is not None
    events = await running.daemon.journal.events(job_id)
    return [e for e in events if "remittance" in str(e.get("detail") or "")]
