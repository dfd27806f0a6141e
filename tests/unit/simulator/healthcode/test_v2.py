"""Tests for simulator.healthcode.v2: the V2 stand-in (discovery, token, Find Member, remittances).

Uses aiohttp's test server on 127.0.0.1 with the Healthcode sub-application alone; the remit
control call is :func:`simulator.healthcode.remit`, which the simulator serves as
``POST /_sim/healthcode/remit``.
"""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from simulator.clock import Clock
from simulator.healthcode import SAMPLE_REJECTION, create_healthcode_app, remit, reset_healthcode

BILL = json.loads(
    (Path(__file__).resolve().parents[4] / "fixtures" / "healthcode" / "bills" / "valid_bupa.json").read_text()
)
BASIC = {"X-Site-Id": "SIM001", "Authorization": "Basic " + base64.b64encode(b"claimbridge:healthcode-test").decode()}
NOW = datetime(2026, 11, 20, 14, 0, tzinfo=UTC)
KEY = {"grant_type": "client_credentials", "client_id": "claimbridge-v2", "client_secret": "healthcode-v2-test"}

Fixture = tuple[web.Application, TestClient[Any, Any], Clock]


@pytest.fixture
async def v2() -> AsyncIterator[Fixture]:
    clock = Clock(NOW, scale=0)
    app = create_healthcode_app(clock)
    async with TestClient(TestServer(app)) as client:
        yield app, client, clock


async def headers(client: TestClient[Any, Any]) -> dict[str, str]:
    answer = await (await client.post("/v2/oauth/token", data=KEY)).json()
    return {"Authorization": f"Bearer {answer['access_token']}", "SU-SiteId": "SIM001", "HC-API-Version": "1"}


async def test_discovery_document_names_every_endpoint(v2: Fixture) -> None:
    _, client, _ = v2
    doc = await (await client.get("/.well-known/discovery-document.json")).json()
    assert set(doc) == {"token_endpoint", "find_member_endpoint", "search_remittance_summary_endpoint",
                        "get_remittance_details_endpoint"}
    assert all(url.startswith("http://127.0.0.1:") for url in doc.values())


async def test_token_wrong_key_and_missing_token_are_401(v2: Fixture) -> None:
    _, client, clock = v2
    wrong = await client.post("/v2/oauth/token", data={**KEY, "client_secret": "nope"})
    assert wrong.status == 401 and (await wrong.json())["error"] == "invalid_client"
    good = await (await client.post("/v2/oauth/token", data=KEY)).json()
    assert good["token_type"] == "Bearer" and good["expires_in"] == 3600
    assert (await client.post("/v2/membership/find", data={"insurerIdentifier": "bup"})).status == 401
    auth = await headers(client)
    no_site = await client.post("/v2/membership/find", data={"insurerIdentifier": "bup"},
                                headers={"Authorization": auth["Authorization"]})
    assert no_site.status == 401
    clock.set(NOW + timedelta(seconds=3601), scale=0)
    expired = await client.post("/v2/membership/find", data={"insurerIdentifier": "bup"}, headers=auth)
    assert expired.status == 401 and (await expired.json())["error"] == "invalid_token"


@pytest.mark.parametrize(("insurer", "missing"), [
    ("nuh", ["lastName", "firstName", "dateOfbirth", "postCode"]),
    ("bup", ["membershipNumber", "lastName", "dateOfbirth"]),
    ("ppp", ["membershipNumber", "dateOfbirth"]),
    ("slh", ["membershipNumber", "lastName"]),
])
async def test_find_member_names_the_insurers_required_fields(v2: Fixture, insurer: str, missing: list[str]) -> None:
    _, client, _ = v2
    answer = await client.post("/v2/membership/find", data={"insurerIdentifier": insurer}, headers=await headers(client))
    assert answer.status == 400
    outcome = await answer.json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert outcome["issue"][0]["diagnostics"] == f"{insurer} requires: {', '.join(missing)}"


async def test_find_member_aviva_by_demographics_with_first_initial(v2: Fixture) -> None:
    _, client, _ = v2
    form = {"insurerIdentifier": "nuh", "lastName": "placeholder", "firstName": "F",
            "dateOfbirth": "1970-01-15", "postCode": "zz56ij"}
    bundle = await (await client.post("/v2/membership/find", data=form, headers=await headers(client))).json()
    assert bundle["total"] == 1
    coverage = bundle["entry"][0]["resource"]
    assert coverage["subscriberId"] == "AV5550001" and coverage["status"] == "active"
    none = await (await client.post("/v2/membership/find", data={**form, "firstName": "G"},
                                    headers=await headers(client))).json()
    assert none["total"] == 0
    lapsed = await (await client.post("/v2/membership/find", headers=await headers(client), data={
        "insurerIdentifier": "bup", "membershipNumber": "BUP1000003", "lastName": "Lapsington",
        "dateOfbirth": "1990-02-02"})).json()
    assert lapsed["entry"][0]["resource"]["status"] == "cancelled"
    other = await client.post("/v2/membership/find", data={"insurerIdentifier": "wpa"}, headers=await headers(client))
    assert other.status == 422


async def test_remit_builds_fhir_remittances_with_a_shortfall(v2: Fixture) -> None:
    app, client, clock = v2
    await client.post("/_control", json={"timings": {"unprocessed": 0, "inProcess": 0, "validated": 0,
                                                     "awaitingCollection": 0}})
    assert (await client.post("/bills", json=BILL, headers=BASIC)).status == 201
    assert remit(app, {"invoiceNumber": "NOPE", "amountPaid": 1})[0] == 404
    assert remit(app, {"invoiceNumber": "INV-0001", "amountPaid": 999999})[0] == 400
    clock.set(NOW + timedelta(seconds=1), scale=0)
    status, paid = remit(app, {"invoiceNumber": "INV-0001", "amountPaid": 15000})
    assert status == 200 and paid["invoiced"] == 16450 and paid["shortfall"] == 1450
    assert remit(app, {"invoiceNumber": "INV-0001", "amountPaid": 1})[0] == 409

    auth = await headers(client)
    search = await client.post("/v2/remittances/search", headers=auth,
                               data={"insurerIdentifier": "bup", "hasShortFall": "true"})
    bundle = await search.json()
    assert search.headers["Content-Type"].startswith("application/fhir+json")
    summary = bundle["entry"][0]["resource"]
    assert summary["resourceType"] == "PaymentReconciliation"
    assert summary["paymentAmount"]["value"] == 150.0 and summary["detail"][0]["identifier"]["value"] == "INV-0001"
    details = await (await client.get(f"/v2/remittances/details?remittanceId={summary['id']}", headers=auth)).json()
    response = details["entry"][0]["resource"]
    assert response["resourceType"] == "ClaimResponse"
    totals = {t["category"]["coding"][0]["code"]: t["amount"]["value"] for t in response["total"]}
    assert totals == {"submitted": 164.5, "benefit": 150.0, "shortfall": 14.5}
    empty = await (await client.post("/v2/remittances/search", headers=auth,
                                     data={"insurerIdentifier": "bup", "_since": "2026-11-21"})).json()
    assert empty["total"] == 0
    reset_healthcode(app)
    assert (await client.post("/v2/remittances/search", headers=auth, data={"insurerIdentifier": "bup"})).status == 401


async def test_faults_expired_token_503_and_slow(v2: Fixture) -> None:
    _, client, _ = v2
    auth = await headers(client)
    form = {"insurerIdentifier": "bup"}
    await client.post("/_control/v2", json={"fault": "503", "count": 1})
    assert (await client.post("/v2/remittances/search", data=form, headers=auth)).status == 503
    assert (await client.post("/v2/remittances/search", data=form, headers=auth)).status == 200
    await client.post("/_control/v2", json={"fault": "expiredToken", "count": 1})
    assert (await client.post("/v2/remittances/search", data=form, headers=auth)).status == 401
    assert (await client.post("/v2/remittances/search", data=form, headers=await headers(client))).status == 200
    await client.post("/_control/v2", json={"fault": "slow", "count": 1, "slowSeconds": 0.01})
    assert (await client.post("/v2/remittances/search", data=form, headers=auth)).status == 401  # revoked above
    bad = await client.post("/_control/v2", json={"fault": "nope"})
    assert bad.status == 400


async def test_a_zero_payment_carries_a_reason_and_a_bad_reason_is_refused(v2: Fixture) -> None:
    app, client, clock = v2
    await client.post("/_control", json={"timings": {"unprocessed": 0, "inProcess": 0, "validated": 0,
                                                     "awaitingCollection": 0}})
    assert (await client.post("/bills", json=BILL, headers=BASIC)).status == 201
    clock.set(NOW + timedelta(seconds=1), scale=0)
    assert remit(app, {"invoiceNumber": "INV-0001", "amountPaid": 0, "reason": {"code": "X"}})[0] == 400
    assert remit(app, {"invoiceNumber": "INV-0001", "amountPaid": 0, "insurer": "ppp"})[0] == 404
    status, paid = remit(app, {"invoiceNumber": "INV-0001", "amountPaid": 0})
    assert status == 200 and paid["paid"] == 0
    auth = await headers(client)
    details = await (await client.get(f"/v2/remittances/details?remittanceId={paid['remittanceId']}",
                                      headers=auth)).json()
    response = details["entry"][0]["resource"]
    benefit = response["item"][0]["adjudication"][1]
    assert benefit["reason"]["coding"][0]["code"] == SAMPLE_REJECTION[0]
    assert "sample" in benefit["reason"]["text"] and response["disposition"] == benefit["reason"]["text"]
