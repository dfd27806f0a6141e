"""Tests for simulator.healthcode: routes, authentication, faults and the control API.

Uses aiohttp's test server on 127.0.0.1; the HealthcodeTransport end-to-end tests are in
tests/e2e/test_healthcode_transport.py.
"""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from simulator.clock import Clock
from simulator.healthcode import create_healthcode_app, reset_healthcode

BILL = json.loads(
    (Path(__file__).resolve().parents[4] / "fixtures" / "healthcode" / "bills" / "valid_bupa.json").read_text()
)
AUTH = {"X-Site-Id": "SIM001", "Authorization": "Basic " + base64.b64encode(b"claimbridge:healthcode-test").decode()}
NOW = datetime(2026, 11, 20, 14, 0, tzinfo=UTC)


@pytest.fixture
async def app_client() -> AsyncIterator[tuple[web.Application, TestClient[Any, Any], Clock]]:
    clock = Clock(NOW, scale=0)
    app = create_healthcode_app(clock)
    async with TestClient(TestServer(app)) as client:
        yield app, client, clock


async def test_every_api_route_needs_credentials(app_client: Any) -> None:
    _, client, _ = app_client
    for method, path in [("POST", "/credentials/check"), ("POST", "/bills/validate"), ("POST", "/bills"),
                         ("GET", "/bills/X"), ("GET", "/bills?invoiceNumber=X"), ("POST", "/bills/X/cancel")]:
        response = await client.request(method, path, json=BILL)
        assert response.status == 401, path
        assert (await response.json())["error"] == "InvalidSiteId"


async def test_submit_then_list_then_reset(app_client: Any) -> None:
    app, client, _ = app_client
    response = await client.post("/bills", json=BILL, headers=AUTH)
    assert response.status == 201
    reference = (await response.json())["reference"]
    listed = (await (await client.get("/_control/bills")).json())["bills"]
    assert [(b["reference"], b["status"], b["siteId"]) for b in listed] == [(reference, "Unprocessed", "SIM001")]
    assert listed[0]["bill"] == BILL
    reset_healthcode(app)
    assert (await (await client.get("/_control/bills")).json())["bills"] == []
    assert (await client.get(f"/bills/{reference}", headers=AUTH)).status == 404


async def test_malformed_json_is_refused(app_client: Any) -> None:
    _, client, _ = app_client
    response = await client.post("/bills", data=b"{nope", headers={**AUTH, "Content-Type": "application/json"})
    assert response.status == 422
    assert (await response.json())["problems"][0]["error"] == "Invalid Request Format"
    dry = await (await client.post("/bills/validate", data=b"[]", headers=AUTH)).json()
    assert dry["valid"] is False


async def test_fault_counts_down(app_client: Any) -> None:
    _, client, _ = app_client
    control = await (await client.post("/_control", json={"fault": "503", "count": 2})).json()
    assert (control["fault"], control["count"]) == ("503", 2)
    statuses = [(await client.post("/credentials/check", headers=AUTH)).status for _ in range(3)]
    assert statuses == [503, 503, 200]


async def test_fault_cleared_by_null(app_client: Any) -> None:
    _, client, _ = app_client
    await client.post("/_control", json={"fault": "502", "count": 5})
    await client.post("/_control", json={"fault": None})
    assert (await client.post("/credentials/check", headers=AUTH)).status == 200


@pytest.mark.parametrize(
    "body",
    [{"fault": "teapot"}, {"fault": "502", "count": -1}, {"fault": "502", "count": "2"},
     {"timings": {"bogus": 1}}, {"timings": {"unprocessed": -1}}, {"holdSeconds": "x"}, []],
)
async def test_control_refuses_bad_input(app_client: Any, body: Any) -> None:
    _, client, _ = app_client
    response = await client.post("/_control", json=body)
    assert response.status == 400


async def test_timings_drive_the_statuses(app_client: Any) -> None:
    _, client, clock = app_client
    timings = {"unprocessed": 1, "inProcess": 1, "validated": 1, "awaitingCollection": 1}
    assert (await (await client.post("/_control", json={"timings": timings})).json())["timings"] == {
        k: float(v) for k, v in timings.items()}
    reference = (await (await client.post("/bills", json=BILL, headers=AUTH)).json())["reference"]
    clock.set(datetime(2026, 11, 20, 14, 0, 3, tzinfo=UTC))
    report = await (await client.get(f"/bills/{reference}", headers=AUTH)).json()
    assert report["status"] == "AwaitingCollection"
    assert [h["status"] for h in report["history"]] == ["Unprocessed", "In-process", "Validated", "AwaitingCollection"]
    clock.set(datetime(2026, 11, 20, 14, 0, 4, tzinfo=UTC))
    report = await (await client.get(f"/bills?invoiceNumber={BILL['invoiceNumber']}", headers=AUTH)).json()
    assert (report["status"], report["at"]) == ("Collected", "2026-11-20T14:00:04+00:00")


async def test_other_site_cannot_see_the_bill(app_client: Any) -> None:
    _, client, _ = app_client
    reference = (await (await client.post("/bills", json=BILL, headers=AUTH)).json())["reference"]
    other = {**AUTH, "X-Site-Id": "SIM002"}
    assert (await client.get(f"/bills/{reference}", headers=other)).status == 403  # no subscription


async def test_resubmission_takes_the_invoice_number_of_a_collected_unpaid_bill(app_client: Any) -> None:
    from datetime import timedelta

    from simulator.healthcode import remit

    app, client, clock = app_client
    await client.post("/_control", json={"timings": {"unprocessed": 0, "inProcess": 0, "validated": 0,
                                                     "awaitingCollection": 0}})
    first = await (await client.post("/bills", json=BILL, headers=AUTH)).json()
    clock.set(NOW + timedelta(seconds=1), scale=0)
    # Without naming the bill it replaces, the number is a duplicate.
    again = await (await client.post("/bills", json=BILL, headers=AUTH)).json()
    assert again["duplicate"] is True and again["reference"] == first["reference"]
    wrong = await (await client.post("/bills?replaces=OTHER", json=BILL, headers=AUTH)).json()
    assert wrong["duplicate"] is True
    second = await client.post(f"/bills?replaces={first['reference']}", json=BILL, headers=AUTH)
    assert second.status == 201
    new = (await second.json())["reference"]
    assert new != first["reference"]
    found = await (await client.get("/bills?invoiceNumber=INV-0001", headers=AUTH)).json()
    assert found["reference"] == new
    # Once paid, the resubmission's number is held for good.
    clock.set(NOW + timedelta(seconds=2), scale=0)
    assert remit(app, {"invoiceNumber": "INV-0001", "amountPaid": 100})[0] == 200
    third = await (await client.post(f"/bills?replaces={new}", json=BILL, headers=AUTH)).json()
    assert third["duplicate"] is True and third["reference"] == new


async def test_another_bill_under_a_held_number_is_refused_and_the_same_bill_is_the_same(app_client: Any) -> None:
    app, client, clock = app_client
    first = await (await client.post("/bills", json=BILL, headers=AUTH)).json()
    same = await (await client.post("/bills", json=BILL, headers=AUTH)).json()
    assert same["duplicate"] is True and same["identical"] is True and same["reference"] == first["reference"]
    other = await client.post("/bills", json={**BILL, "setting": "D"}, headers=AUTH)
    assert other.status == 422
    assert [(p["healthcodeField"], p["error"]) for p in (await other.json())["problems"]] == [
        ("InvoiceNo", "Duplicate Invoice")]
    # Another insurer's number is its own; found by number and insurer, with the bill's content.
    axa = await client.post("/bills", json={**BILL, "insurer": "ppp", "patient": {
        **BILL["patient"], "membershipNumber": "1234567A", "lastName": "Madeup", "firstName": "Edwin",
        "dateOfBirth": "1962-11-05"}}, headers=AUTH)
    assert axa.status == 201
    found = await (await client.get("/bills?invoiceNumber=INV-0001&insurer=bup", headers=AUTH)).json()
    assert found["reference"] == first["reference"] and found["bill"] == BILL


async def test_a_practitioner_not_mapped_for_the_insurer(app_client: Any) -> None:
    app, client, clock = app_client
    made_up = {**BILL, "practitioner": {"healthcodeId": "0999999"}, "payee": {"healthcodeId": "0999999"}}
    answer = await (await client.post("/bills/validate", json=made_up, headers=AUTH)).json()
    assert ("practitioner.healthcodeId", "Provider not mapped") in [(p["field"], p["error"]) for p in answer["problems"]]
    no_payee = {**BILL, "practitioner": {"healthcodeId": "0777777"}, "payee": {"healthcodeId": "0777777"}}
    answer = await (await client.post("/bills/validate", json=no_payee, headers=AUTH)).json()
    assert ("payee.healthcodeId", "Payee Provider \u2013 Must be M") in [(p["field"], p["error"]) for p in answer["problems"]]
