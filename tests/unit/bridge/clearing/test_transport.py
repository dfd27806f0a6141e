"""Tests for bridge.clearing.transport: the error map and request shape, against small aiohttp
servers on 127.0.0.1 that answer as each case needs (a status, a body, silence, a cut).

The tests against the simulated Healthcode service are in tests/e2e/test_healthcode_transport.py.
"""

from __future__ import annotations

import asyncio
import base64
import json
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

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

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Serve = Callable[[Handler], Awaitable[HealthcodeTransport]]


def load_bill() -> Bill:
    return Bill.model_validate(json.loads((BILLS / "valid_bupa.json").read_text(encoding="utf-8")))


# --- the error map, one row at a time (a server per case) -----------------------------------


@pytest.fixture
async def serve() -> AsyncIterator[Serve]:
    """Serve a handler on every path; give a transport pointed at it (timeout 0.5 s)."""
    runners: list[web.AppRunner] = []

    async def start(handler: Handler) -> HealthcodeTransport:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", handler)
        runner = web.AppRunner(app, shutdown_timeout=0.1)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        runners.append(runner)
        port = runner.addresses[0][1]
        return HealthcodeTransport(f"http://127.0.0.1:{port}/healthcode", SITE, USER, PASSWORD, timeout=0.5)

    yield start
    for runner in runners:
        await runner.cleanup()


def answering(status: int, body: Any = None, text: str | None = None) -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        await request.read()
        if text is not None:
            return web.Response(status=status, text=text)
        return web.json_response(body if body is not None else {"error": "X", "message": "m"}, status=status)
    return handler


async def silent(request: web.Request) -> web.StreamResponse:
    """Takes the request and answers after the client gave up (a read timeout)."""
    await request.read()
    await asyncio.sleep(2.0)
    return web.Response(status=200)


async def cut(request: web.Request) -> web.StreamResponse:
    """Takes the request, then closes the connection without answering."""
    await request.read()
    if request.transport is not None:
        request.transport.close()
    return web.Response(status=200)


async def garbled(request: web.Request) -> web.StreamResponse:
    """Answers bytes that are not HTTP, then closes."""
    await request.read()
    if request.transport is not None:
        request.transport.write(b"NOT HTTP AT ALL\r\n\r\n")
        request.transport.close()
    return web.Response(status=200)


@pytest.mark.parametrize(
    ("handler", "on_submit", "on_status"),
    [
        (silent, HealthcodeOutcomeUncertain, HealthcodeUnavailable),
        (cut, HealthcodeOutcomeUncertain, HealthcodeUnavailable),
        (garbled, HealthcodeOutcomeUncertain, HealthcodeUnavailable),
        (answering(500), HealthcodeUnavailable, HealthcodeUnavailable),
        (answering(502, text="<html>Bad Gateway</html>"), HealthcodeUnavailable, HealthcodeUnavailable),
        (answering(504), HealthcodeOutcomeUncertain, HealthcodeUnavailable),
        (answering(200, text="not json"), HealthcodeOutcomeUncertain, HealthcodeUnavailable),
        (answering(200, body={"unexpected": True}), HealthcodeOutcomeUncertain, HealthcodeUnavailable),
        (answering(401), HealthcodeCredentialsInvalid, HealthcodeCredentialsInvalid),
        (answering(403), HealthcodeCredentialsInvalid, HealthcodeCredentialsInvalid),
    ],
)
async def test_error_map(
    serve: Serve, handler: Handler,
    on_submit: type[Exception], on_status: type[Exception],
) -> None:
    async with await serve(handler) as client:
        with pytest.raises(on_submit) as submit_error:
            await client.submit(load_bill())
        with pytest.raises(on_status):
            await client.status("R1")
    assert type(submit_error.value) is on_submit


async def test_nothing_listening_is_unavailable_even_for_a_submit() -> None:
    with socket.socket() as probe:  # a port nobody listens on once closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with HealthcodeTransport(f"http://127.0.0.1:{port}/", SITE, USER, PASSWORD, timeout=0.5) as client:
        with pytest.raises(HealthcodeUnavailable):
            await client.submit(load_bill())
        with pytest.raises(HealthcodeUnavailable):
            await client.status("R1")


async def test_other_4xx_is_a_plain_healthcode_error(serve: Serve) -> None:
    async with await serve(answering(418)) as client:
        with pytest.raises(HealthcodeError) as caught:
            await client.submit(load_bill())
    assert type(caught.value) is HealthcodeError and caught.value.extra["httpStatus"] == 418


async def test_validate_returns_structural_problems(serve: Serve) -> None:
    body = {"error": "InvalidBill", "message": "Invalid Request Format",
            "problems": [{"field": "setting", "error": "Must be I, D or O", "suggestion": "I, D or O",
                          "healthcodeField": "Setting"}]}
    async with await serve(answering(422, body=body)) as client:
        problems = await client.validate(load_bill())
    assert [(p.field, p.healthcode_field) for p in problems] == [("setting", "Setting")]


async def test_requests_carry_site_and_basic_auth_and_escape_references(serve: Serve) -> None:
    seen: list[web.Request] = []

    async def handler(request: web.Request) -> web.StreamResponse:
        seen.append(request)
        return web.json_response({"status": "Validated", "reference": "A/B"})

    async with await serve(handler) as client:
        report = await client.status("A/B")
    assert report.status is BillStatus.VALIDATED
    request = seen[0]
    assert request.headers["X-Site-Id"] == SITE
    assert request.headers["Authorization"] == "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    assert request.raw_path == "/healthcode/bills/A%2FB"


async def test_status_needs_exactly_one_key_and_an_open_transport(serve: Serve) -> None:
    client = await serve(answering(200))
    with pytest.raises(RuntimeError):
        await client.status("R1")
    async with client:
        with pytest.raises(ValueError):
            await client.status()
        with pytest.raises(ValueError):
            await client.status("R1", invoice_number="INV-1")


async def test_rejected_submit_carries_the_problems(serve: Serve) -> None:
    body = {"error": "InvalidBill", "message": "Invalid Request Format",
            "problems": [{"field": "setting", "error": "Must be I, D or O", "suggestion": "I, D or O"}]}
    async with await serve(answering(422, body=body)) as client:
        with pytest.raises(HealthcodeRejected) as caught:
            await client.submit(load_bill())
    assert caught.value.problems[0]["field"] == "setting"
    assert caught.value.data() == {
        "errors": [{"field": "setting", "message": "Must be I, D or O"}],
        "problems": [body["problems"][0]],
    }


async def test_cancel_conflict_and_not_found(serve: Serve) -> None:
    async with await serve(answering(409, body={"error": "NotAllowed", "message": "collected", "status": "Collected"})) as client:
        with pytest.raises(NotAllowedNow):
            await client.cancel("R1")
    async with await serve(answering(404, body={"error": "NotFound", "status": "NotFound"})) as client:
        with pytest.raises(HealthcodeNotFound):
            await client.cancel("R1")
        report = await client.status(invoice_number="INV-1")
    assert report.status is BillStatus.NOT_FOUND and report.invoice_number == "INV-1"


async def test_credentials_check_reports_refusal_as_not_ok(serve: Serve) -> None:
    body = {"error": "InvalidPassword", "message": "Invalid Username/Password"}
    async with await serve(answering(401, body=body)) as client:
        check = await client.check_credentials()
    assert not check.ok and check.message == "Invalid Username/Password"


async def test_submit_sends_the_bill_json(serve: Serve) -> None:
    sent: list[Any] = []

    async def handler(request: web.Request) -> web.StreamResponse:
        sent.append(json.loads(await request.read()))
        return web.json_response(status=201, data={"reference": "SIM001-261120-00001",
                                                   "status": "Unprocessed", "duplicate": False})

    async with await serve(handler) as client:
        receipt = await client.submit(load_bill())
    assert receipt.reference == "SIM001-261120-00001" and receipt.status is BillStatus.UNPROCESSED
    assert sent == [load_bill().to_wire()]


def test_repr_hides_the_password() -> None:
    client = HealthcodeTransport("http://hc.invalid/", SITE, USER, "s3cret")
    assert "s3cret" not in repr(client) and "SIM001" in repr(client)
