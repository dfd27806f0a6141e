"""Simulated Healthcode clearing service: the aiohttp sub-application mounted at ``/healthcode/``.

Owns the HTTP side only; the rules are in :mod:`simulator.healthcode.rules` and time comes from
the injected :class:`~simulator.clock.Clock`. Healthcode's PMS web-service wire format is not
public (reference/healthcode.md §2.1): this JSON-over-HTTP API is our own, described in
``simulator/README-healthcode.md``.

Routes (relative to the mount point)::

    POST /credentials/check          -> {ok, message}            | 401/403 {error, message}
    POST /bills/validate             -> {valid, problems}        (dry run, stores nothing)
    POST /bills                      -> 201 {reference, status, duplicate: false}
                                        200 {reference, status, duplicate: true, identical: true}
                                        422 {error: "InvalidBill", message, problems}
                                        422 {error: "DuplicateInvoice", message, problems}
    GET  /bills/{reference}          -> {reference, invoiceNumber, status, at, history, problems}
    GET  /bills?invoiceNumber=X[&insurer=I] -> the same and the bill, found by invoice number
    POST /bills/{reference}/cancel   -> the same (Cancelled)     | 409 after collection
    POST /_control                   {fault, count} | {timings} | {holdSeconds}
    POST /_control/reset
    GET  /_control/bills             -> {bills: [...]}

Authentication on every non-control route: header ``X-Site-Id`` and HTTP Basic
(Web Services User ID, password).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
from dataclasses import dataclass, field, replace
from collections.abc import Awaitable, Callable, Mapping
from datetime import date
from importlib.resources import files
from importlib.resources.abc import Traversable
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web

from simulator.clock import Clock
from simulator.healthcode.rules import (
    FaultPlan,
    CredentialOutcome,
    HcStatus,
    Member,
    Provider,
    StoredBill,
    Timings,
    check_credentials,
    check_required,
    check_rules,
    make_reference,
    status_at,
)
from simulator.healthcode.v2 import install_v2, reset_v2

__all__ = ["FAULTS", "create_healthcode_app", "reset_healthcode"]

#: Faults the control API accepts.
FAULTS = frozenset({"502", "503", "timeout", "dropResponse", "expiredCredentials"})

#: The simulator's own reference data (package data: SYNTHETIC members and providers, and its
#: copy of the insurers; the simulator never imports the bridge).
_DATA: Traversable = files("simulator.healthcode") / "data"
_UK = ZoneInfo("Europe/London")
_DEFAULT_HOLD_SECONDS = 30.0

#: InvoiceNo "Duplicate Invoice" (reference §3.2, §3.6 AXA): the number is the insurer's already.
_DUPLICATE_INVOICE: dict[str, Any] = {
    "field": "invoiceNumber",
    "error": "Duplicate Invoice",
    "suggestion": "Use a new invoice number, or check the status of the bill already sent",
    "healthcodeField": "InvoiceNo",
}


@dataclass(slots=True)
class _State:
    clock: Clock
    insurers: frozenset[str]
    member_db_insurers: frozenset[str]
    members: tuple[Member, ...]
    providers: Mapping[str, Provider]
    bills: dict[str, StoredBill] = field(default_factory=dict)
    #: (site, insurer, invoice number) -> the newest bill under it: invoice numbers are unique
    #: per insurer, and a duplicate check per submit must not scan every bill.
    invoices: dict[tuple[str, str, str], StoredBill] = field(default_factory=dict)
    sequence: int = 0
    faults: FaultPlan = field(default_factory=FaultPlan)
    timings: Timings = field(default_factory=Timings)
    hold_seconds: float = _DEFAULT_HOLD_SECONDS
    release: asyncio.Event = field(default_factory=asyncio.Event)

    def by_invoice(self, site_id: str, invoice_number: str, insurer: str | None = None) -> StoredBill | None:
        """The newest bill with this number for the insurer (any insurer when None)."""
        if insurer is not None:
            return self.invoices.get((site_id, insurer, invoice_number))
        found = [bill for (site, _, number), bill in self.invoices.items()
                 if site == site_id and number == invoice_number]
        return max(found, key=lambda bill: bill.submitted_at) if found else None

    def store(self, bill: StoredBill) -> None:
        self.bills[bill.reference] = bill
        self.invoices[(bill.site_id, bill.insurer, bill.invoice_number)] = bill


_STATE = web.AppKey("healthcode_state", _State)


def create_healthcode_app(clock: Clock) -> web.Application:
    """Build the simulated Healthcode service.

    Args:
        clock: The simulator's clock; bills move through their statuses on it.

    Returns:
        An application to mount with ``app.add_subapp("/healthcode/", ...)`` (or serve alone).
    """
    insurers = json.loads((_DATA / "insurers.json").read_text(encoding="utf-8"))
    members = json.loads((_DATA / "members.json").read_text(encoding="utf-8"))
    providers = json.loads((_DATA / "providers.json").read_text(encoding="utf-8"))
    app = web.Application()
    app[_STATE] = _State(
        clock=clock,
        insurers=frozenset(entry["code"] for entry in insurers["insurers"]),
        member_db_insurers=frozenset(members["insurersWithMemberDatabase"]),
        members=tuple(Member.from_row(row) for row in members["members"]),
        providers={p.healthcode_id: p for p in map(Provider.from_row, providers["providers"])},
    )
    app.router.add_post("/credentials/check", _credentials_check)
    app.router.add_post("/bills/validate", _validate)
    app.router.add_post("/bills", _submit)
    app.router.add_get("/bills", _status_by_invoice)
    app.router.add_get("/bills/{reference}", _status)
    app.router.add_post("/bills/{reference}/cancel", _cancel)
    state = app[_STATE]
    install_v2(
        app, clock, insurers["insurers"], state.members,
        lambda number, insurer: _newest_by_invoice(state, number, insurer),
        lambda bill: status_at(bill, state.clock.now(), state.timings)[-1][0],
    )
    app.router.add_post("/_control", _control)
    app.router.add_post("/_control/reset", _control_reset)
    app.router.add_get("/_control/bills", _control_bills)
    app.on_shutdown.append(_release_held)
    return app


def reset_healthcode(app: web.Application) -> None:
    """Forget every bill and fault, restore default timings, release held requests."""
    state = app[_STATE]
    state.bills.clear()
    state.invoices.clear()
    state.sequence = 0
    state.faults.arm(None, 0)
    state.timings = Timings()
    state.hold_seconds = _DEFAULT_HOLD_SECONDS
    state.release.set()
    state.release = asyncio.Event()
    reset_v2(app)


def _newest_by_invoice(state: _State, invoice_number: str, insurer: str | None) -> StoredBill | None:
    """The newest bill with this invoice number (and insurer, if given) on any site (the remit
    control call)."""
    found = [bill for bill in state.invoices.values() if bill.invoice_number == invoice_number
             and insurer in (None, bill.insurer)]
    return max(found, key=lambda bill: bill.submitted_at) if found else None


async def _release_held(app: web.Application) -> None:
    app[_STATE].release.set()


# --- plumbing -------------------------------------------------------------------------------


def _error(
    http_status: int, code: str, message: str, extra: dict[str, Any] | None = None
) -> web.Response:
    body = {"error": code, "message": message, **(extra or {})}
    return web.json_response(body, status=http_status)


def _auth(request: web.Request, expired: bool) -> CredentialOutcome:
    site_id = request.headers.get("X-Site-Id")
    user_id: str | None = None
    password: str | None = None
    scheme, _, encoded = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
        except (ValueError, binascii.Error):
            decoded = ""
        if ":" in decoded:
            user_id, _, password = decoded.partition(":")
    return check_credentials(site_id, user_id, password, expired=expired)


async def _hold(state: _State) -> None:
    """Keep a request hanging (the ``timeout`` and ``dropResponse`` faults)."""
    release = state.release
    try:
        await asyncio.wait_for(release.wait(), state.hold_seconds)
    except TimeoutError:
        pass


_Handler = Callable[[web.Request, "_State", str], Awaitable[web.Response]]


async def _guarded(request: web.Request, handler: _Handler) -> web.StreamResponse:
    """Apply the pending fault and authentication, then run ``handler(request, state, site)``."""
    state = request.app[_STATE]
    fault = state.faults.take()
    if fault in ("502", "503"):
        text = "Bad Gateway" if fault == "502" else "Service Unavailable"
        return _error(int(fault), f"Http{fault}", text)
    if fault == "timeout":
        await _hold(state)
        return _error(504, "Timeout", "Gateway Timeout")
    outcome = _auth(request, expired=fault == "expiredCredentials")
    if not outcome.ok:
        return _error(outcome.status, outcome.code, outcome.message)
    site_id = request.headers["X-Site-Id"]
    response = await handler(request, state, site_id)
    if fault == "dropResponse":
        # The work is done (a bill IS stored) but the answer never arrives.
        if request.transport is not None:
            request.transport.close()
        await _hold(state)
    return response


async def _json_body(request: web.Request) -> Any:
    try:
        return await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None


def _today(state: _State) -> date:
    return state.clock.now().astimezone(_UK).date()


def _report(state: _State, bill: StoredBill) -> dict[str, Any]:
    history = status_at(bill, state.clock.now(), state.timings)
    status, at = history[-1]
    return {
        "reference": bill.reference,
        "invoiceNumber": bill.invoice_number,
        "status": status.value,
        "at": at.isoformat(),
        "history": [{"status": s.value, "at": t.isoformat()} for s, t in history],
        "problems": bill.problems if status is HcStatus.AWAITING_CORRECTION else [],
    }


def _problems_for(state: _State, raw: dict[str, Any]) -> list[dict[str, Any]]:
    return check_rules(
        raw,
        today=_today(state),
        insurers=state.insurers,
        member_db_insurers=state.member_db_insurers,
        members=state.members,
        providers=state.providers,
    )


def _live(state: _State, bill: StoredBill | None) -> StoredBill | None:
    """The bill unless it was cancelled (a cancelled invoice number may be billed again)."""
    if bill is None:
        return None
    current = status_at(bill, state.clock.now(), state.timings)[-1][0]
    return None if current is HcStatus.CANCELLED else bill


# --- routes ---------------------------------------------------------------------------------


async def _credentials_check(request: web.Request) -> web.StreamResponse:
    async def handler(request: web.Request, state: _State, site_id: str) -> web.Response:
        message = f"Credentials accepted for site {site_id}"
        return web.json_response({"ok": True, "message": message})

    return await _guarded(request, handler)


async def _validate(request: web.Request) -> web.StreamResponse:
    async def handler(request: web.Request, state: _State, site_id: str) -> web.Response:
        raw = await _json_body(request)
        problems = check_required(raw)
        if not problems:
            problems = _problems_for(state, raw)
            if _live(state, state.by_invoice(site_id, raw["invoiceNumber"], raw["insurer"])) is not None:
                problems.append(_DUPLICATE_INVOICE)
        return web.json_response({"valid": not problems, "problems": problems})

    return await _guarded(request, handler)


async def _submit(request: web.Request) -> web.StreamResponse:
    async def handler(request: web.Request, state: _State, site_id: str) -> web.Response:
        raw = await _json_body(request)
        problems = check_required(raw)
        if problems:
            return _error(422, "InvalidBill", "Invalid Request Format", {"problems": problems})
        existing = _live(state, state.by_invoice(site_id, raw["invoiceNumber"], raw["insurer"]))
        replaces = request.query.get("replaces")
        if existing is not None and _may_replace(state, existing, replaces):
            existing = None  # a resubmission of a collected, unpaid bill: a new bill
        if existing is not None and dict(existing.wire) != raw:
            # Another bill under a number the insurer already holds: refused (reference §3.2).
            return _error(422, "DuplicateInvoice", "Duplicate Invoice", {"problems": [_DUPLICATE_INVOICE]})
        if existing is not None:
            # The same bill again (a retry after a lost answer): that bill, never a second one.
            report = _report(state, existing)
            return web.json_response(
                {
                    "reference": existing.reference,
                    "status": report["status"],
                    "duplicate": True,
                    "identical": dict(existing.wire) == raw,
                }
            )
        now = state.clock.now()
        state.sequence += 1
        bill = StoredBill(
            reference=make_reference(site_id, now, state.sequence),
            site_id=site_id,
            invoice_number=raw["invoiceNumber"],
            insurer=raw["insurer"],
            wire=raw,
            submitted_at=now,
            problems=_problems_for(state, raw),
            replaces=replaces or None,
        )
        state.store(bill)
        return web.json_response(
            {"reference": bill.reference, "status": HcStatus.UNPROCESSED.value, "duplicate": False},
            status=201,
        )

    return await _guarded(request, handler)


def _may_replace(state: _State, existing: StoredBill, replaces: str | None) -> bool:
    """Our invoice-number rule (Healthcode's is not public; README-healthcode.md): the same
    invoice number is taken again when the submit names, as ``?replaces=``, the bill it
    resubmits and that bill was collected and is unpaid, or the insurer paid nothing of it
    (a cancelled one frees its number)."""
    if replaces is None or replaces != existing.reference or existing.paid not in (None, 0):
        return False
    return status_at(existing, state.clock.now(), state.timings)[-1][0] is HcStatus.COLLECTED


def _not_found(key: str) -> web.Response:
    return _error(404, "NotFound", f"No bill {key}", {"status": "NotFound"})


async def _status(request: web.Request) -> web.StreamResponse:
    async def handler(request: web.Request, state: _State, site_id: str) -> web.Response:
        reference = request.match_info["reference"]
        bill = state.bills.get(reference)
        if bill is None or bill.site_id != site_id:
            return _not_found(reference)
        return web.json_response(_report(state, bill))

    return await _guarded(request, handler)


async def _status_by_invoice(request: web.Request) -> web.StreamResponse:
    async def handler(request: web.Request, state: _State, site_id: str) -> web.Response:
        number = request.query.get("invoiceNumber", "")
        bill = state.by_invoice(site_id, number, request.query.get("insurer"))
        if bill is None:
            return _not_found(number)
        # With its content: a caller whose submit answer was lost can tell its own bill.
        return web.json_response({**_report(state, bill), "bill": bill.wire})

    return await _guarded(request, handler)


async def _cancel(request: web.Request) -> web.StreamResponse:
    async def handler(request: web.Request, state: _State, site_id: str) -> web.Response:
        reference = request.match_info["reference"]
        bill = state.bills.get(reference)
        if bill is None or bill.site_id != site_id:
            return _not_found(reference)
        current = status_at(bill, state.clock.now(), state.timings)[-1][0]
        if current is HcStatus.COLLECTED:
            # Cancelled only before collection (reference §4, §7.2 C).
            return _error(
                409,
                "NotAllowed",
                "The insurer has collected this bill; it can no longer be cancelled",
                {"status": current.value},
            )
        if current is not HcStatus.CANCELLED:
            bill.cancelled_at = state.clock.now()
        return web.json_response(_report(state, bill))

    return await _guarded(request, handler)


# --- control API (tests) --------------------------------------------------------------------


async def _control(request: web.Request) -> web.Response:
    state = request.app[_STATE]
    body = await _json_body(request)
    if not isinstance(body, dict):
        return _error(400, "InvalidControl", "Send a JSON object")
    if "fault" in body:
        fault = body["fault"]
        count = body.get("count", 1)
        if fault is not None and fault not in FAULTS:
            return _error(400, "InvalidControl", f"fault must be one of {sorted(FAULTS)} or null")
        if not isinstance(count, int) or count < 0:
            return _error(400, "InvalidControl", "count must be an integer >= 0")
        state.faults.arm(fault, count)
    if "timings" in body:
        timings = body["timings"]
        names = {"unprocessed": "unprocessed", "inProcess": "in_process",
                 "validated": "validated", "awaitingCollection": "awaiting_collection"}
        if not isinstance(timings, dict) or not set(timings) <= set(names) or not all(
            isinstance(v, int | float) and v >= 0 for v in timings.values()
        ):
            return _error(400, "InvalidControl", f"timings keys: {sorted(names)}, seconds >= 0")
        state.timings = replace(state.timings, **{names[k]: float(v) for k, v in timings.items()})
    if "holdSeconds" in body:
        hold = body["holdSeconds"]
        if not isinstance(hold, int | float) or hold < 0:
            return _error(400, "InvalidControl", "holdSeconds must be >= 0")
        state.hold_seconds = float(hold)
    return web.json_response(
        {
            "fault": state.faults.fault,
            "count": state.faults.count,
            "timings": {
                "unprocessed": state.timings.unprocessed,
                "inProcess": state.timings.in_process,
                "validated": state.timings.validated,
                "awaitingCollection": state.timings.awaiting_collection,
            },
            "holdSeconds": state.hold_seconds,
        }
    )


async def _control_reset(request: web.Request) -> web.Response:
    reset_healthcode(request.app)
    return web.json_response({"reset": True})


async def _control_bills(request: web.Request) -> web.Response:
    state = request.app[_STATE]
    bills = []
    for bill in state.bills.values():
        report = _report(state, bill)
        bills.append(
            {
                **report,
                "siteId": bill.site_id,
                "insurer": bill.insurer,
                "submittedAt": bill.submitted_at.isoformat(),
                "bill": bill.wire,
            }
        )
    return web.json_response({"bills": bills})
