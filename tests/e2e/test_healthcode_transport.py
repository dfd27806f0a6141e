"""HealthcodeTransport against the simulated Healthcode service over real HTTP on 127.0.0.1.

The simulator's Healthcode sub-application is served alone (mounted at ``/healthcode/`` in a
tiny aiohttp application) on a free port, in the test's own event loop.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import pytest
from aiohttp import web

from bridge.errors import (
    HealthcodeCredentialsInvalid,
    HealthcodeNotFound,
    HealthcodeOutcomeUncertain,
    HealthcodeRejected,
    HealthcodeUnavailable,
    NotAllowedNow,
)
from bridge.healthcode import Bill, BillStatus, can_reach
from bridge.clearing.transport import HealthcodeTransport
from simulator.clock import Clock
from simulator.healthcode import create_healthcode_app

pytestmark = pytest.mark.e2e

BILLS = Path(__file__).resolve().parents[2] / "fixtures" / "healthcode" / "bills"
#: Simulated "now": after the fixture bills' dates of service (UK afternoon).
NOW = datetime(2026, 11, 20, 14, 0, tzinfo=UTC)
SITE, USER, PASSWORD = "SIM001", "claimbridge", "healthcode-test"


def load_bill(name: str = "valid_bupa.json", **changes: Any) -> Bill:
    data = json.loads((BILLS / name).read_text(encoding="utf-8"))
    data.update(changes)
    return Bill.model_validate(data)


@dataclass
class HealthcodeSim:
    """The served sub-application and its control API."""

    url: str
    clock: Clock
    control: httpx.AsyncClient

    def transport(self, *, site: str = SITE, user: str = USER, password: str = PASSWORD,
                  timeout: float = 5.0) -> HealthcodeTransport:
        return HealthcodeTransport(self.url, site, user, password, timeout=timeout)

    async def fault(self, fault: str, count: int = 1) -> None:
        response = await self.control.post("_control", json={"fault": fault, "count": count})
        response.raise_for_status()

    async def bills(self) -> list[dict[str, Any]]:
        response = await self.control.get("_control/bills")
        response.raise_for_status()
        bills: list[dict[str, Any]] = response.json()["bills"]
        return bills


@pytest.fixture
async def hc() -> AsyncIterator[HealthcodeSim]:
    clock = Clock(NOW, scale=0)
    root = web.Application()
    root.add_subapp("/healthcode/", create_healthcode_app(clock))
    runner = web.AppRunner(root, shutdown_timeout=2.0)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = int(runner.addresses[0][1])
    url = f"http://127.0.0.1:{port}/healthcode/"
    async with httpx.AsyncClient(base_url=url, timeout=5.0) as control:
        await control.post("_control", json={"holdSeconds": 3})
        yield HealthcodeSim(url, clock, control)
    await runner.cleanup()


async def wait_for_status(client: HealthcodeTransport, reference: str, wanted: BillStatus,
                          timeout: float = 5.0) -> list[BillStatus]:
    seen: list[BillStatus] = []
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        report = await client.status(reference)
        if not seen or seen[-1] != report.status:
            seen.append(report.status)
        if report.status == wanted:
            return seen
        await asyncio.sleep(0.01)
    raise AssertionError(f"never reached {wanted}; saw {seen}")


# --- credentials ----------------------------------------------------------------------------


async def test_credentials_ok(hc: HealthcodeSim) -> None:
    async with hc.transport() as client:
        check = await client.check_credentials()
    assert check.ok and "SIM001" in check.message


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"site": "SIM999"}, "did not recognise this Site Id"),
        ({"user": "someone"}, "could not validate the username"),
        ({"password": "wrong"}, "Invalid Username/Password"),
        ({"site": "SIM002"}, "Access Denied"),
    ],
)
async def test_credentials_bad(hc: HealthcodeSim, kwargs: dict[str, Any], message: str) -> None:
    async with hc.transport(**kwargs) as client:
        check = await client.check_credentials()
    assert not check.ok and message in check.message


async def test_credentials_expired(hc: HealthcodeSim) -> None:
    await hc.fault("expiredCredentials", 2)
    async with hc.transport() as client:
        check = await client.check_credentials()
        assert not check.ok and "expired" in check.message
        with pytest.raises(HealthcodeCredentialsInvalid) as caught:
            await client.submit(load_bill())
        assert caught.value.extra["code"] == "CredentialsExpired"
        assert (await client.check_credentials()).ok
    assert await hc.bills() == []


async def test_password_never_in_repr_or_errors(hc: HealthcodeSim) -> None:
    client = hc.transport(password="s3cret-pass")
    assert "s3cret-pass" not in repr(client)
    async with client:
        with pytest.raises(HealthcodeCredentialsInvalid) as caught:
            await client.submit(load_bill())
    assert "s3cret-pass" not in str(caught.value)


# --- submit and the status lifecycle --------------------------------------------------------


async def test_submit_moves_to_collected_on_a_scaled_clock(hc: HealthcodeSim) -> None:
    async with hc.transport() as client:
        receipt = await client.submit(load_bill())
        assert receipt.status is BillStatus.UNPROCESSED and not receipt.duplicate
        assert 0 < len(receipt.reference) <= 25
        first = await client.status(receipt.reference)
        assert first.status is BillStatus.UNPROCESSED and first.at == NOW
        hc.clock.set(scale=20_000)  # the 720 simulated seconds pass in ~36 ms
        seen = await wait_for_status(client, receipt.reference, BillStatus.COLLECTED)
        final = await client.status(receipt.reference)
    # Polling sees some of the states, always in lifecycle order, never a correction.
    assert seen[-1] is BillStatus.COLLECTED
    assert all(can_reach(a, b) for a, b in zip([first.status, *seen], seen, strict=False) if a != b)
    assert BillStatus.AWAITING_CORRECTION not in seen
    assert final.at is not None and final.at > NOW
    assert final.invoice_number == "INV-0001"


async def test_unknown_member_goes_to_awaiting_correction(hc: HealthcodeSim) -> None:
    bill = load_bill()
    bill = bill.model_copy(update={"patient": bill.patient.model_copy(update={"membership_number": "BUP9999999"})})
    async with hc.transport() as client:
        problems = await client.validate(bill)
        assert [(p.healthcode_field, p.error) for p in problems] == [
            ("RegistrationNo", "No matching membership details can be found")]
        receipt = await client.submit(bill)
        hc.clock.set(scale=20_000)
        await wait_for_status(client, receipt.reference, BillStatus.AWAITING_CORRECTION)
        report = await client.status(receipt.reference)
    assert report.problems[0].error == "No matching membership details can be found"


async def test_validate_is_a_dry_run(hc: HealthcodeSim) -> None:
    async with hc.transport() as client:
        assert await client.validate(load_bill()) == []
    assert await hc.bills() == []


async def test_status_by_invoice_number_and_not_found(hc: HealthcodeSim) -> None:
    async with hc.transport() as client:
        missing = await client.status(invoice_number="INV-0001")
        assert missing.status is BillStatus.NOT_FOUND and missing.reference is None
        receipt = await client.submit(load_bill())
        found = await client.status(invoice_number="INV-0001")
        assert found.reference == receipt.reference
        assert (await client.status("SIM001-NOPE")).status is BillStatus.NOT_FOUND


async def test_malformed_bill_is_rejected(hc: HealthcodeSim) -> None:
    # A bill the model refuses cannot be sent; build one the simulator refuses by structure.
    bill = load_bill(setting="O")
    async with hc.transport() as client:
        # The model would not let it be sent: the body straight through the transport's one
        # request path (signed, pooled), as a submit.
        with pytest.raises(HealthcodeRejected) as caught:
            await client._call("POST", "bills", json_body={**bill.to_wire(), "setting": "X"},
                               operation="submit", mutating=True)
    assert caught.value.problems[0]["error"] == "Must be I, D or O"


# --- faults ---------------------------------------------------------------------------------


@pytest.mark.parametrize("fault", ["502", "503"])
async def test_5xx_is_retryable_and_nothing_was_stored(hc: HealthcodeSim, fault: str) -> None:
    await hc.fault(fault)
    async with hc.transport() as client:
        with pytest.raises(HealthcodeUnavailable) as caught:
            await client.submit(load_bill())
        assert caught.value.extra["httpStatus"] == int(fault)
        assert caught.value.__cause__ is None  # an HTTP answer, not an exception
        assert await hc.bills() == []
        receipt = await client.submit(load_bill())  # the retry
    assert [b["reference"] for b in await hc.bills()] == [receipt.reference]


async def test_connection_refused_is_unavailable() -> None:
    async with HealthcodeTransport("http://127.0.0.1:9/healthcode/", SITE, USER, PASSWORD, timeout=2) as client:
        with pytest.raises(HealthcodeUnavailable) as caught:
            await client.submit(load_bill())
    assert isinstance(caught.value.__cause__, aiohttp.ClientConnectorError)


async def test_drop_response_is_uncertain_and_the_bill_exists(hc: HealthcodeSim) -> None:
    await hc.fault("dropResponse")
    async with hc.transport(timeout=1.0) as client:
        with pytest.raises(HealthcodeOutcomeUncertain) as caught:
            await client.submit(load_bill())
        assert isinstance(caught.value.__cause__, aiohttp.ClientError)
        # The worker's move: look the invoice number up before anything else.
        report = await client.status(invoice_number="INV-0001")
    assert report.status is BillStatus.UNPROCESSED
    assert [b["reference"] for b in await hc.bills()] == [report.reference]


async def test_timeout_on_submit_is_uncertain_and_on_status_unavailable(hc: HealthcodeSim) -> None:
    await hc.fault("timeout", 2)
    async with hc.transport(timeout=0.3) as client:
        with pytest.raises(HealthcodeOutcomeUncertain):
            await client.submit(load_bill())
        with pytest.raises(HealthcodeUnavailable):
            await client.status(invoice_number="INV-0001")
    assert await hc.bills() == []


async def test_duplicate_invoice_is_refused_and_the_same_bill_gives_the_existing_one(hc: HealthcodeSim) -> None:
    async with hc.transport() as client:
        first = await client.submit(load_bill())
        again = await client.submit(load_bill())
        with pytest.raises(HealthcodeRejected) as refused:
            await client.submit(load_bill("clinic_payee_axa.json", invoiceNumber="INV-0001", insurer="bup"))
        problems = await client.validate(load_bill())
        found = await client.status(invoice_number="INV-0001", insurer="bup")
    assert again.duplicate and again.reference == first.reference
    assert [(p["healthcodeField"], p["error"]) for p in refused.value.problems] == [("InvoiceNo", "Duplicate Invoice")]
    assert [(p.healthcode_field, p.error) for p in problems] == [("InvoiceNo", "Duplicate Invoice")]
    assert found.reference == first.reference and found.bill == load_bill()
    assert len(await hc.bills()) == 1


async def test_drop_response_then_resubmit_gives_one_bill(hc: HealthcodeSim) -> None:
    await hc.fault("dropResponse")
    async with hc.transport(timeout=1.0) as client:
        with pytest.raises(HealthcodeOutcomeUncertain):
            await client.submit(load_bill())
        receipt = await client.submit(load_bill())
    assert receipt.duplicate
    assert len(await hc.bills()) == 1


# --- cancel ---------------------------------------------------------------------------------


async def test_cancel_before_collection(hc: HealthcodeSim) -> None:
    async with hc.transport() as client:
        receipt = await client.submit(load_bill())
        report = await client.cancel(receipt.reference)
        assert report.status is BillStatus.CANCELLED
        assert (await client.cancel(receipt.reference)).status is BillStatus.CANCELLED
        hc.clock.set(scale=20_000)
        await asyncio.sleep(0.1)
        assert (await client.status(receipt.reference)).status is BillStatus.CANCELLED
        # A cancelled invoice number may be billed again.
        again = await client.submit(load_bill())
    assert not again.duplicate and again.reference != receipt.reference


async def test_cancel_after_collection_is_refused(hc: HealthcodeSim) -> None:
    async with hc.transport() as client:
        receipt = await client.submit(load_bill())
        hc.clock.set(scale=20_000)
        await wait_for_status(client, receipt.reference, BillStatus.COLLECTED)
        with pytest.raises(NotAllowedNow):
            await client.cancel(receipt.reference)
        with pytest.raises(HealthcodeNotFound):
            await client.cancel("SIM001-NOPE")
