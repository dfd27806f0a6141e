"""Tests for bridge.clearing.transport: the error map and request shape, over httpx.MockTransport.

No server and no socket; the real-HTTP tests against the simulator are in
tests/e2e/test_healthcode_transport.py.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from bridge.errors import (
    HealthcodeCredentialsInvalid,
    HealthcodeError,
    HealthcodeNotFound,
    HealthcodeOutcomeUncertain,
    HealthcodeRejected,
    HealthcodeUnavailable,
    NotAllowedNow,
)
from bridge.healthcode import Bill, BillStatus
from bridge.clearing.transport import HealthcodeTransport

BILLS = Path(__file__).resolve().parents[4] / "fixtures" / "healthcode" / "bills"
SITE, USER, PASSWORD = "SIM001", "claimbridge", "healthcode-test"


def load_bill() -> Bill:
    return Bill.model_validate(json.loads((BILLS / "valid_bupa.json").read_text(encoding="utf-8")))


# --- the error map, one row at a time (httpx.MockTransport, no server) ----------------------


def mock(handler: Any) -> HealthcodeTransport:
    return HealthcodeTransport("http://hc.invalid/healthcode", SITE, USER, PASSWORD,
                               transport=httpx.MockTransport(handler))


def raising(exc_type: type[httpx.TransportError]) -> Any:
    def handler(request: httpx.Request) -> httpx.Response:
        raise exc_type("boom", request=request)
    return handler


def answering(status: int, body: Any = None, text: str | None = None) -> Any:
    def handler(request: httpx.Request) -> httpx.Response:
        if text is not None:
            return httpx.Response(status, text=text)
        return httpx.Response(status, json=body if body is not None else {"error": "X", "message": "m"})
    return handler


@pytest.mark.parametrize(
    ("handler", "on_submit", "on_status"),
    [
        (raising(httpx.ConnectError), HealthcodeUnavailable, HealthcodeUnavailable),
        (raising(httpx.ConnectTimeout), HealthcodeUnavailable, HealthcodeUnavailable),
        (raising(httpx.ReadTimeout), HealthcodeOutcomeUncertain, HealthcodeUnavailable),
        (raising(httpx.WriteTimeout), HealthcodeOutcomeUncertain, HealthcodeUnavailable),
        (raising(httpx.RemoteProtocolError), HealthcodeOutcomeUncertain, HealthcodeUnavailable),
        (raising(httpx.ReadError), HealthcodeOutcomeUncertain, HealthcodeUnavailable),
        (answering(500), HealthcodeUnavailable, HealthcodeUnavailable),
        (answering(502, text="<html>Bad Gateway</html>"), HealthcodeUnavailable, HealthcodeUnavailable),
        (answering(504), HealthcodeOutcomeUncertain, HealthcodeUnavailable),
        (answering(200, text="not json"), HealthcodeOutcomeUncertain, HealthcodeUnavailable),
        (answering(200, body={"unexpected": True}), HealthcodeOutcomeUncertain, HealthcodeUnavailable),
        (answering(401), HealthcodeCredentialsInvalid, HealthcodeCredentialsInvalid),
        (answering(403), HealthcodeCredentialsInvalid, HealthcodeCredentialsInvalid),
    ],
)
async def test_error_map(handler: Any, on_submit: type[Exception], on_status: type[Exception]) -> None:
    async with mock(handler) as client:
        with pytest.raises(on_submit) as submit_error:
            await client.submit(load_bill())
        with pytest.raises(on_status):
            await client.status("R1")
    assert type(submit_error.value) is on_submit


async def test_other_4xx_is_a_plain_healthcode_error() -> None:
    async with mock(answering(418)) as client:
        with pytest.raises(HealthcodeError) as caught:
            await client.submit(load_bill())
    assert type(caught.value) is HealthcodeError and caught.value.extra["httpStatus"] == 418


async def test_validate_returns_structural_problems() -> None:
    body = {"error": "InvalidBill", "message": "Invalid Request Format",
            "problems": [{"field": "setting", "error": "Must be I, D or O", "suggestion": "I, D or O",
                          "healthcodeField": "Setting"}]}
    async with mock(answering(422, body=body)) as client:
        problems = await client.validate(load_bill())
    assert [(p.field, p.healthcode_field) for p in problems] == [("setting", "Setting")]


async def test_requests_carry_site_and_basic_auth_and_escape_references() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"status": "Validated", "reference": "A/B"})

    async with mock(handler) as client:
        report = await client.status("A/B")
    assert report.status is BillStatus.VALIDATED
    request = seen[0]
    assert request.headers["X-Site-Id"] == SITE
    assert request.headers["Authorization"].startswith("Basic ")
    assert request.url.raw_path == b"/healthcode/bills/A%2FB"


async def test_status_needs_exactly_one_key_and_an_open_transport() -> None:
    client = mock(answering(200))
    with pytest.raises(RuntimeError):
        await client.status("R1")
    async with client:
        with pytest.raises(ValueError):
            await client.status()
        with pytest.raises(ValueError):
            await client.status("R1", invoice_number="INV-1")


async def test_rejected_submit_carries_the_problems() -> None:
    body = {"error": "InvalidBill", "message": "Invalid Request Format",
            "problems": [{"field": "setting", "error": "Must be I, D or O", "suggestion": "I, D or O"}]}
    async with mock(answering(422, body=body)) as client:
        with pytest.raises(HealthcodeRejected) as caught:
            await client.submit(load_bill())
    assert caught.value.problems[0]["field"] == "setting"
    assert caught.value.data() == {
        "errors": [{"field": "setting", "message": "Must be I, D or O"}],
        "problems": [body["problems"][0]],
    }


async def test_cancel_conflict_and_not_found() -> None:
    async with mock(answering(409, body={"error": "NotAllowed", "message": "collected", "status": "Collected"})) as client:
        with pytest.raises(NotAllowedNow):
            await client.cancel("R1")
    async with mock(answering(404, body={"error": "NotFound", "status": "NotFound"})) as client:
        with pytest.raises(HealthcodeNotFound):
            await client.cancel("R1")
        report = await client.status(invoice_number="INV-1")
    assert report.status is BillStatus.NOT_FOUND and report.invoice_number == "INV-1"


async def test_credentials_check_reports_refusal_as_not_ok() -> None:
    body = {"error": "InvalidPassword", "message": "Invalid Username/Password"}
    async with mock(answering(401, body=body)) as client:
        check = await client.check_credentials()
    assert not check.ok and check.message == "Invalid Username/Password"


async def test_submit_sends_the_bill_json() -> None:
    sent: list[Any] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(json.loads(request.content))
        return httpx.Response(201, json={"reference": "SIM001-261120-00001", "status": "Unprocessed",
                                         "duplicate": False})

    async with mock(handler) as client:
        receipt = await client.submit(load_bill())
    assert receipt.reference == "SIM001-261120-00001" and receipt.status is BillStatus.UNPROCESSED
    assert sent == [load_bill().to_wire()]


def test_repr_hides_the_password() -> None:
    client = HealthcodeTransport("http://hc.invalid/", SITE, USER, "s3cret")
    assert "s3cret" not in repr(client) and "SIM001" in repr(client)
