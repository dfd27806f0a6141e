"""Simulated Healthcode V2 APIs (membership enquiry, remittances): aiohttp routes.

Added to the Healthcode sub-application by :func:`install_v2`; the resources are built by
:mod:`simulator.healthcode.fhir` (pure). Conventions follow Healthcode's public V2 docs
(reference/healthcode.md §2.3): endpoints read from a discovery document, OAuth 2.0 client
credentials, a bearer token and ``SU-SiteId`` on every call, ``HC-API-Version``, FHIR JSON.
Documented for users in ``simulator/README-healthcode.md``.

Routes (relative to the mount point)::

    GET  /.well-known/discovery-document.json
    POST /v2/oauth/token                 grant_type=client_credentials, client_id, client_secret
    POST /v2/membership/find             Find Member (form)            -> Bundle of Coverage
    POST /v2/remittances/search          Search Remittance Summary     -> Bundle of PaymentReconciliation
    GET  /v2/remittances/details?remittanceId=ID                       -> Bundle of ClaimResponse
    POST /_control/v2                    {fault, count, slowSeconds, tokenLifetimeS}
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import secrets
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web

from simulator.clock import Clock
from simulator.healthcode.fhir import (
    INSURER_SYSTEM,
    Remittance,
    claim_response,
    find_members,
    member_bundle,
    missing_for_find,
    operation_outcome,
    payment_reconciliation,
)
from simulator.healthcode.rules import TEST_SITES, FaultPlan, HcStatus, Member, StoredBill

__all__ = ["API_KEYS", "SAMPLE_REJECTION", "V2_FAULTS", "install_v2", "remit", "reset_v2"]

#: API key id -> API key, documented in simulator/README-healthcode.md.
API_KEYS: Mapping[str, str] = {"claimbridge-v2": "healthcode-v2-test"}

#: Faults ``POST /_control/v2`` accepts: the token is refused as expired, 503, a slow answer.
V2_FAULTS = frozenset({"expiredToken", "503", "slow"})

_UK = ZoneInfo("Europe/London")
_DEFAULT_TOKEN_LIFETIME_S = 3600.0
_DEFAULT_SLOW_S = 2.0
_FHIR = "application/fhir+json"

BillLookup = Callable[[str, str | None], StoredBill | None]
StatusOf = Callable[[StoredBill], HcStatus]


@dataclass(slots=True)
class _V2:
    clock: Clock
    requires: Mapping[str, tuple[str, ...]]
    members: tuple[Member, ...]
    bill_by_invoice: BillLookup
    status_of: StatusOf
    tokens: dict[str, datetime] = field(default_factory=dict)
    remittances: list[Remittance] = field(default_factory=list)
    sequence: int = 0
    faults: FaultPlan = field(default_factory=FaultPlan)
    slow_s: float = _DEFAULT_SLOW_S
    token_lifetime_s: float = _DEFAULT_TOKEN_LIFETIME_S


_V2_KEY = web.AppKey("healthcode_v2", _V2)


def install_v2(
    app: web.Application,
    clock: Clock,
    insurers: list[Mapping[str, Any]],
    members: tuple[Member, ...],
    bill_by_invoice: BillLookup,
    status_of: StatusOf,
) -> None:
    """Add the V2 routes to the Healthcode sub-application.

    Args:
        app: The Healthcode sub-application.
        clock: The simulator's clock (token expiry, payment dates).
        insurers: The rows of simulator/healthcode/data/insurers.json (``findMemberRequires``).
        members: The SYNTHETIC member database.
        bill_by_invoice: The newest stored bill with an invoice number (and insurer), any site.
        status_of: A stored bill's current status.
    """
    requires = {
        str(row["code"]): tuple(row["findMemberRequires"])
        for row in insurers if row.get("findMemberRequires") is not None
    }
    app[_V2_KEY] = _V2(clock, requires, members, bill_by_invoice, status_of)
    app.router.add_get("/.well-known/discovery-document.json", _discovery)
    app.router.add_post("/v2/oauth/token", _token)
    app.router.add_post("/v2/membership/find", _find_member)
    app.router.add_post("/v2/remittances/search", _search_remittances)
    app.router.add_get("/v2/remittances/details", _remittance_details)
    app.router.add_post("/_control/v2", _control)


def reset_v2(app: web.Application) -> None:
    """Forget tokens, remittances and faults."""
    state = app[_V2_KEY]
    state.tokens.clear()
    state.remittances.clear()
    state.sequence = 0
    state.faults.arm(None, 0)
    state.slow_s, state.token_lifetime_s = _DEFAULT_SLOW_S, _DEFAULT_TOKEN_LIFETIME_S


#: The reason an insurer gives for paying nothing, when the control call names none. Healthcode
#: publishes no shortfall or rejection reason codes (reference/healthcode.md §2.3): a sample.
SAMPLE_REJECTION = ("NOTCOVERED", "Treatment not covered by the policy (sample reason)")


def _reason(value: Any, paid: int) -> tuple[str, str] | tuple[()] | None:
    """The remit call's ``reason`` ({code, text} or a text) as (code, text); ``()`` if malformed."""
    if value is None:
        return SAMPLE_REJECTION if paid == 0 else None
    if isinstance(value, str) and value.strip():
        return ("OTHER", value.strip())
    if isinstance(value, dict) and all(isinstance(value.get(k), str) and value[k].strip() for k in ("code", "text")):
        return (value["code"].strip(), value["text"].strip())
    return ()


def remit(app: web.Application, body: Any) -> tuple[int, dict[str, Any]]:
    """``POST /_sim/healthcode/remit {invoiceNumber, amountPaid, insurer?, reason?}``: the insurer
    pays a bill (the newest with the number; of that insurer when given). ``reason``
    (``{code, text}`` or a text) says why it paid less; paying nothing without one gives
    :data:`SAMPLE_REJECTION`.

    ``amountPaid`` is in pence; the shortfall is what was invoiced minus what was paid.

    Returns:
        The HTTP status and the answer: ``{remittanceId, paymentReference, invoiced, paid,
        shortfall}``, or ``{error, message}``.
    """
    state = app[_V2_KEY]
    if not isinstance(body, dict) or not isinstance(body.get("invoiceNumber"), str):
        return 400, {"error": "InvalidControl", "message": "Send {invoiceNumber, amountPaid}"}
    paid = body.get("amountPaid")
    insurer = body.get("insurer")
    if insurer is not None and not isinstance(insurer, str):
        return 400, {"error": "InvalidControl", "message": "insurer: a Healthcode insurer identifier"}
    bill = state.bill_by_invoice(body["invoiceNumber"], insurer)
    if bill is None:
        return 404, {"error": "NotFound", "message": f"No bill {body['invoiceNumber']}"}
    invoiced = sum(int(line["fee"]) * int(line.get("quantity", 1)) for line in bill.wire["lines"])
    if isinstance(paid, bool) or not isinstance(paid, int) or not 0 <= paid <= invoiced:
        return 400, {"error": "InvalidControl", "message": f"amountPaid: pence, 0 to {invoiced}"}
    status = state.status_of(bill)
    if status is not HcStatus.COLLECTED or bill.paid is not None:
        why = "already paid" if bill.paid is not None else f"not collected ({status.value})"
        return 409, {"error": "NotAllowed", "message": f"The bill is {why}"}
    reason = _reason(body.get("reason"), paid)
    if reason == ():
        return 400, {"error": "InvalidControl", "message": "reason: {code, text} (strings) or a text"}
    state.sequence += 1
    remittance = Remittance(
        remittance_id=f"PR{state.sequence:06d}",
        claim_response_id=f"CR{state.sequence:06d}",
        payment_reference=f"BACS{state.sequence:08d}",
        insurer=bill.insurer,
        site_id=bill.site_id,
        invoice_number=bill.invoice_number,
        invoiced=invoiced,
        paid=paid,
        created=state.clock.now(),
        reason=reason or None,
    )
    bill.paid = paid
    state.remittances.append(remittance)
    return 200, {
        "remittanceId": remittance.remittance_id,
        "paymentReference": remittance.payment_reference,
        "invoiced": invoiced, "paid": paid, "shortfall": remittance.shortfall,
    }


# --- plumbing -------------------------------------------------------------------------------


def _fhir(body: dict[str, Any], status: int = 200) -> web.Response:
    return web.json_response(body, status=status, content_type=_FHIR)


def _outcome(status: int, code: str, diagnostics: str) -> web.Response:
    return _fhir(operation_outcome(code, diagnostics), status)


_Handler = Callable[[web.Request, _V2, str], Awaitable[web.Response]]


async def _guarded(request: web.Request, handler: _Handler) -> web.Response:
    """Faults first, then the bearer token, ``SU-SiteId`` and ``HC-API-Version``."""
    state = request.app[_V2_KEY]
    fault = state.faults.take()
    if fault == "503":
        return _outcome(503, "transient", "Service Unavailable")
    if fault == "slow":
        await asyncio.sleep(state.slow_s)
    if fault == "expiredToken":
        state.tokens.clear()
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    expires = state.tokens.get(token.strip()) if scheme.lower() == "bearer" else None
    if expires is None or expires <= state.clock.now():
        return web.json_response(
            {"error": "invalid_token", "error_description": "The access token is missing or expired"},
            status=401, headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )
    site_id = request.headers.get("SU-SiteId", "")
    site = TEST_SITES.get(site_id)
    if site is None:
        return _outcome(401, "security", "SU-SiteId is missing or not a site of this caller")
    if not site.subscribed:
        return _outcome(403, "forbidden", "Access Denied")
    if request.headers.get("HC-API-Version", "1") != "1":
        return _outcome(400, "not-supported", "HC-API-Version: only version 1 is offered")
    return await handler(request, state, site_id)


def _today(state: _V2) -> date:
    return state.clock.now().astimezone(_UK).date()


def _form(data: Mapping[str, Any]) -> dict[str, str]:
    return {str(key): str(value) for key, value in data.items()}


# --- routes ---------------------------------------------------------------------------------


async def _discovery(request: web.Request) -> web.Response:
    # Absolute URLs on the host the caller used, under wherever the sub-application is mounted.
    root = f"{request.url.origin()}{request.path.rsplit('/.well-known/', 1)[0]}"
    return web.json_response({
        "token_endpoint": f"{root}/v2/oauth/token",
        "find_member_endpoint": f"{root}/v2/membership/find",
        "search_remittance_summary_endpoint": f"{root}/v2/remittances/search",
        "get_remittance_details_endpoint": f"{root}/v2/remittances/details",
    })


async def _token(request: web.Request) -> web.Response:
    state = request.app[_V2_KEY]
    form = _form(await request.post())
    client_id, secret = form.get("client_id"), form.get("client_secret")
    scheme, _, encoded = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "basic":
        try:
            client_id, _, secret = base64.b64decode(encoded.strip(), validate=True).decode().partition(":")
        except (ValueError, binascii.Error):
            client_id = secret = None
    if form.get("grant_type") != "client_credentials":
        return web.json_response({"error": "unsupported_grant_type"}, status=400)
    if client_id is None or API_KEYS.get(client_id) != secret:
        return web.json_response(
            {"error": "invalid_client", "error_description": "Unknown API Key Id or wrong API Key"},
            status=401,
        )
    token = secrets.token_urlsafe(24)
    state.tokens[token] = state.clock.now() + timedelta(seconds=state.token_lifetime_s)
    return web.json_response(
        {"access_token": token, "token_type": "Bearer", "expires_in": int(state.token_lifetime_s)}
    )


async def _find_member(request: web.Request) -> web.Response:
    async def handler(request: web.Request, state: _V2, site_id: str) -> web.Response:
        form = _form(await request.post())
        insurer = form.get("insurerIdentifier", "").strip()
        if not insurer:
            return _outcome(400, "required", "insurerIdentifier is mandatory")
        required = state.requires.get(insurer)
        if required is None:
            return _outcome(422, "not-supported", f"Membership enquiry is not offered for {insurer}")
        missing = missing_for_find(form, required)
        if missing:
            return _outcome(400, "required", f"{insurer} requires: {', '.join(missing)}")
        active_on = date.fromisoformat(form["policyActiveOn"]) if form.get("policyActiveOn") else _today(state)
        found = find_members(form, insurer, state.members)
        return _fhir(member_bundle(found, insurer, active_on))

    return await _guarded(request, handler)


async def _search_remittances(request: web.Request) -> web.Response:
    async def handler(request: web.Request, state: _V2, site_id: str) -> web.Response:
        form = _form(await request.post())
        insurer = form.get("insurerIdentifier", "").strip()
        if not insurer:
            return _outcome(400, "required", "insurerIdentifier is mandatory")
        try:
            since = date.fromisoformat(form["_since"]) if form.get("_since") else None
            page = max(1, int(form.get("page", "1")))
            count = max(1, min(100, int(form.get("count", "50"))))
        except ValueError:
            return _outcome(400, "invalid", "_since is YYYY-MM-DD; page and count are numbers")
        rows = [
            r for r in state.remittances
            if r.site_id == site_id and r.insurer == insurer
            and (since is None or r.created.astimezone(_UK).date() >= since)
            and (not form.get("invoiceNumber") or r.invoice_number == form["invoiceNumber"])
            and (form.get("hasShortFall") != "true" or r.shortfall > 0)
        ]
        if form.get("_sort") == "-createdOn":
            rows.reverse()
        chunk = rows[(page - 1) * count: page * count]
        return _fhir({
            "resourceType": "Bundle", "type": "searchset", "total": len(rows),
            "meta": {"tag": [{"code": "page", "display": str(page)}, {"code": "count", "display": str(count)},
                             {"code": "maxCount", "display": str(len(rows))}]},
            "entry": [{"resource": payment_reconciliation(r)} for r in chunk],
        })

    return await _guarded(request, handler)


async def _remittance_details(request: web.Request) -> web.Response:
    async def handler(request: web.Request, state: _V2, site_id: str) -> web.Response:
        wanted = request.query.get("remittanceId", "")
        rows = [r for r in state.remittances if r.remittance_id == wanted and r.site_id == site_id]
        if not rows:
            return _outcome(404, "not-found", f"No remittance {wanted}")
        return _fhir({
            "resourceType": "Bundle", "type": "searchset", "total": len(rows),
            "entry": [{"resource": claim_response(r)} for r in rows],
        })

    return await _guarded(request, handler)


async def _control(request: web.Request) -> web.Response:
    state = request.app[_V2_KEY]
    try:
        body = await request.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        return web.json_response({"error": "InvalidControl", "message": "Send a JSON object"}, status=400)
    if "fault" in body:
        fault, count = body["fault"], body.get("count", 1)
        if fault is not None and fault not in V2_FAULTS:
            return web.json_response(
                {"error": "InvalidControl", "message": f"fault: one of {sorted(V2_FAULTS)} or null"}, status=400,
            )
        if not isinstance(count, int) or count < 0:
            return web.json_response({"error": "InvalidControl", "message": "count: integer >= 0"}, status=400)
        state.faults.arm(fault, count)
    for key, attr in (("slowSeconds", "slow_s"), ("tokenLifetimeS", "token_lifetime_s")):
        if key in body:
            value = body[key]
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                return web.json_response({"error": "InvalidControl", "message": f"{key}: >= 0"}, status=400)
            setattr(state, attr, float(value))
    return web.json_response({
        "fault": state.faults.fault, "count": state.faults.count, "slowSeconds": state.slow_s,
        "tokenLifetimeS": state.token_lifetime_s, "insurerSystem": INSURER_SYSTEM,
    })
