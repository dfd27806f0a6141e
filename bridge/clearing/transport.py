"""Healthcode HTTP adapter: the only code that talks to Healthcode's bill service.

Decides nothing about bills (that is :mod:`bridge.healthcode`) and keeps no state beyond its
connection pool (:mod:`bridge.clearing.http`, aiohttp, kept alive). Every aiohttp failure and
every unexpected answer becomes a
:class:`~bridge.errors.HealthcodeError` here, chained with ``from``:

=====================================  ===========================  ==========================
What happened                          read (check, validate,       submit, cancel
                                       status)
=====================================  ===========================  ==========================
connect failed / DNS / pool timeout    HealthcodeUnavailable        HealthcodeUnavailable
HTTP 500, 502, 503                     HealthcodeUnavailable        HealthcodeUnavailable
request sent, then timeout / cut /     HealthcodeUnavailable        HealthcodeOutcomeUncertain
HTTP 504 / unreadable answer
HTTP 401, 403                          HealthcodeCredentialsInvalid (``check_credentials``
                                       answers ``ok=False`` instead)
HTTP 404                               status(): ``NotFound`` report; cancel(): HealthcodeNotFound
HTTP 409                               NotAllowedNow (cancel after collection)
HTTP 400, 422                          HealthcodeRejected with the problems (validate() returns
                                       them instead)
=====================================  ===========================  ==========================

A read may always be retried. After :class:`~bridge.errors.HealthcodeOutcomeUncertain` on a
submit, ask :meth:`HealthcodeTransport.status` by invoice number before anything else: the
simulator (and, we assume, Healthcode) answers a re-submitted invoice number with the existing
bill, but the worker must not rely on that blindly.

Healthcode's PMS web-service wire format is not public (reference/healthcode.md §2.1); this
adapter speaks the simulator's documented JSON-over-HTTP dialect
(``simulator/README-healthcode.md``). A real adapter replaces this module once Healthcode
provides its integration pack (§7.1). The password is sent as HTTP Basic credentials and never
logged or shown in ``repr``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any, Self, TypeVar
from urllib.parse import quote

import aiohttp
from pydantic import ValidationError
from yarl import URL

from bridge.errors import (
    HealthcodeCredentialsInvalid,
    HealthcodeError,
    HealthcodeNotFound,
    HealthcodeOutcomeUncertain,
    HealthcodeRejected,
    HealthcodeUnavailable,
    NotAllowedNow,
)
from bridge.clearing.http import Answer, basic_auth, fetch, nothing_sent, open_session
from bridge.healthcode.bills import Bill, CredentialsCheck, Problem, StatusReport, SubmitReceipt
from bridge.healthcode.status import BillStatus

__all__ = ["DEFAULT_TIMEOUT_S", "HealthcodeTransport"]

#: Seconds for each of connect, read, write and pool wait.
DEFAULT_TIMEOUT_S = 15.0

#: Connections kept open to Healthcode (the worker sends at most twice ``concurrency`` at once).
_POOL = 100

#: 5xx answers that say the request was not processed (a gateway or an overloaded service).
_NOT_PROCESSED = frozenset({500, 502, 503})


class HealthcodeTransport:
    """A client for one Healthcode billing site; an async context manager.

    Args:
        url: Base URL of the service, e.g. ``http://127.0.0.1:8730/healthcode/``.
        site_id: Healthcode Site ID.
        user_id: Web Services User ID.
        password: Web Services password (Healthcode's "API key"), or a callable giving the
            current one (read again for each request: a changed password file needs no
            restart). Never logged.
        timeout: Seconds for a pooled connection (waiting for one and connecting), and for
            each wait for Healthcode's answer.

    Example::

        async with HealthcodeTransport(url, "SIM001", "claimbridge", secret) as hc:
            receipt = await hc.submit(bill)
            report = await hc.status(receipt.reference)
    """

    def __init__(
        self,
        url: str,
        site_id: str,
        user_id: str,
        password: str | Callable[[], str],
        *,
        timeout: float = DEFAULT_TIMEOUT_S,
    ) -> None:
        self._url = url if url.endswith("/") else url + "/"
        self._site_id = site_id
        self._user_id = user_id
        self._password: Callable[[], str] = password if callable(password) else (lambda: password)
        self._timeout = timeout
        self._client: aiohttp.ClientSession | None = None

    def __repr__(self) -> str:
        return f"HealthcodeTransport(url={self._url!r}, site_id={self._site_id!r})"

    async def __aenter__(self) -> Self:
        if self._client is not None:
            raise RuntimeError("HealthcodeTransport is already open")
        self._client = open_session(
            self._timeout, _POOL, {"X-Site-Id": self._site_id, "Accept": "application/json"},
        )
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.close()

    # --- operations -------------------------------------------------------------------------

    async def check_credentials(self) -> CredentialsCheck:
        """Ask Healthcode whether the site's credentials work.

        Returns:
            ``ok=True``, or ``ok=False`` with Healthcode's reason (invalid site, user or
            password, expired, Access Denied).

        Raises:
            HealthcodeUnavailable: Healthcode could not be asked.
        """
        try:
            body = await self._call("POST", "credentials/check", operation="checkCredentials")
        except HealthcodeCredentialsInvalid as exc:
            return CredentialsCheck(ok=False, message=str(exc.detail))
        return _parse(CredentialsCheck, body, operation="checkCredentials", mutating=False)

    async def validate(self, bill: Bill) -> list[Problem]:
        """Server-side dry run: Healthcode's checks, nothing stored, invoice number not used.

        Returns:
            The problems Healthcode reports; empty when the bill would be accepted.

        Raises:
            HealthcodeUnavailable: Healthcode could not be asked.
            HealthcodeCredentialsInvalid: The credentials were refused.
        """
        try:
            body = await self._call(
                "POST", "bills/validate", json_body=bill.to_wire(), operation="validate"
            )
        except HealthcodeRejected as exc:
            return [Problem.model_validate(p) for p in exc.problems]
        problems = body.get("problems", [])
        try:
            return [Problem.model_validate(p) for p in problems]
        except (ValidationError, TypeError) as exc:
            raise HealthcodeUnavailable("unreadable answer", operation="validate") from exc

    async def submit(self, bill: Bill, *, replaces: str | None = None) -> SubmitReceipt:
        """Submit a bill. The invoice number is the idempotency key.

        ``replaces`` is the provider reference of the cancelled, or collected and unpaid, bill
        this one resubmits: Healthcode's rule for reusing an invoice number is not public, and
        the simulator takes the same invoice number again only when the submit names the bill
        it replaces (``simulator/README-healthcode.md``).

        Returns:
            The provider reference and initial status; ``duplicate`` when Healthcode already
            held this invoice number (the reference is then that bill's).

        Raises:
            HealthcodeUnavailable: Nothing was submitted; safe to retry.
            HealthcodeOutcomeUncertain: The bill may have been stored; check
                :meth:`status` by invoice number, never re-send blindly.
            HealthcodeCredentialsInvalid: The credentials were refused.
            HealthcodeRejected: The bill was refused as malformed (problems attached).
        """
        body = await self._call(
            "POST", "bills", json_body=bill.to_wire(), operation="submit", mutating=True,
            params={"replaces": replaces} if replaces else None,
        )
        return _parse(SubmitReceipt, body, operation="submit", mutating=True)

    async def status(
        self, reference: str | None = None, *, invoice_number: str | None = None, insurer: str | None = None
    ) -> StatusReport:
        """A bill's current status, by provider reference or by invoice number (exactly one);
        ``insurer`` narrows an invoice-number search (numbers are unique per insurer). Found by
        invoice number, the report carries the bill's content (``bill``) when Healthcode gives it.

        Returns:
            The report; status ``NotFound`` (and no reference) when Healthcode has no such bill.

        Raises:
            ValueError: Neither or both of ``reference`` and ``invoice_number`` given.
            HealthcodeUnavailable: Healthcode could not be asked; retry later.
            HealthcodeCredentialsInvalid: The credentials were refused.
        """
        if (reference is None) == (invoice_number is None):
            raise ValueError("give exactly one of reference and invoice_number")
        params: dict[str, str] | None = None
        if reference is not None:
            path = f"bills/{_segment(reference)}"
        else:
            path = "bills"
            params = {"invoiceNumber": invoice_number or ""}
            if insurer is not None:
                params["insurer"] = insurer
        body = await self._call("GET", path, params=params, operation="status", allow_404=True)
        if body is None:
            return StatusReport(status=BillStatus.NOT_FOUND, invoice_number=invoice_number)
        return _parse(StatusReport, body, operation="status", mutating=False)

    async def cancel(self, reference: str) -> StatusReport:
        """Cancel a bill before the insurer collects it (cancelling twice is harmless).

        Returns:
            The report, status ``Cancelled``.

        Raises:
            NotAllowedNow: The insurer has already collected the bill.
            HealthcodeNotFound: Healthcode has no such bill.
            HealthcodeUnavailable: Nothing was done; safe to retry.
            HealthcodeOutcomeUncertain: The cancel may have happened; check :meth:`status`.
            HealthcodeCredentialsInvalid: The credentials were refused.
        """
        body = await self._call(
            "POST",
            f"bills/{_segment(reference)}/cancel",
            operation="cancel",
            mutating=True,
            allow_404=True,
        )
        if body is None:
            raise HealthcodeNotFound("no such bill", reference=reference)
        return _parse(StatusReport, body, operation="cancel", mutating=True)

    # --- the one place HTTP happens ---------------------------------------------------------

    async def _call(
        self,
        method: str,
        path: str,
        *,
        operation: str,
        json_body: Mapping[str, Any] | None = None,
        params: Mapping[str, str] | None = None,
        mutating: bool = False,
        allow_404: bool = False,
    ) -> Any:
        """Send one request; return the decoded JSON body (None for an allowed 404)."""
        if self._client is None:
            raise RuntimeError("use HealthcodeTransport as an async context manager")
        try:
            response = await fetch(
                self._client, method, URL(self._url + path, encoded=True), json_body=json_body, params=params,
                headers={"Authorization": basic_auth(self._user_id, self._password())},
            )
        except aiohttp.InvalidURL as exc:
            raise HealthcodeError(_describe(exc), operation=operation) from exc
        except (aiohttp.ClientError, TimeoutError) as exc:
            if nothing_sent(exc):
                # Nothing left this machine (or nothing reached Healthcode): safe to retry.
                raise HealthcodeUnavailable(_describe(exc), operation=operation) from exc
            # The request was (maybe partly) sent and the answer was lost or late.
            if mutating:
                raise HealthcodeOutcomeUncertain(_describe(exc), operation=operation) from exc
            raise HealthcodeUnavailable(_describe(exc), operation=operation) from exc
        return _decode(response, operation=operation, mutating=mutating, allow_404=allow_404)


def _segment(value: str) -> str:
    """A path segment: references are opaque, so escape everything but unreserved chars."""
    return quote(value, safe="")


def _describe(exc: BaseException) -> str:
    # The class name only: aiohttp messages may carry the URL, never credentials, but stay terse.
    return type(exc).__name__


def _decode(response: Answer, *, operation: str, mutating: bool, allow_404: bool) -> Any:
    status = response.status
    try:
        body: Any = json.loads(response.body)
    except (json.JSONDecodeError, UnicodeDecodeError):
        body = None
    data = body if isinstance(body, dict) else {}
    message = str(data.get("message") or response.reason or f"HTTP {status}")
    if 200 <= status < 300:
        if not isinstance(body, dict):
            if mutating:
                raise HealthcodeOutcomeUncertain(
                    "unreadable answer", operation=operation, httpStatus=status
                )
            raise HealthcodeUnavailable("unreadable answer", operation=operation, httpStatus=status)
        return body
    if status in (401, 403):
        raise HealthcodeCredentialsInvalid(
            message, operation=operation, httpStatus=status, code=str(data.get("error", ""))
        )
    if status == 404 and allow_404:
        return None
    if status == 404:
        raise HealthcodeNotFound(message, operation=operation)
    if status == 409:
        raise NotAllowedNow("healthcodeConflict", message, {"operation": operation, "status": data.get("status")})
    if status in (400, 422):
        problems = data.get("problems")
        if not isinstance(problems, list) or not all(isinstance(p, dict) for p in problems):
            problems = [{"field": "bill", "error": message, "suggestion": "Check the bill"}]
        raise HealthcodeRejected(tuple(problems), message)
    if status >= 500:
        if status in _NOT_PROCESSED or not mutating:
            raise HealthcodeUnavailable(message, operation=operation, httpStatus=status)
        # 504 and other gateway answers to a submit or cancel: it may have been processed.
        raise HealthcodeOutcomeUncertain(message, operation=operation, httpStatus=status)
    raise HealthcodeError(message, operation=operation, httpStatus=status)


_M = TypeVar("_M", CredentialsCheck, SubmitReceipt, StatusReport)


def _parse(model: type[_M], body: Any, *, operation: str, mutating: bool) -> _M:
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        if mutating:
            raise HealthcodeOutcomeUncertain("unreadable answer", operation=operation) from exc
        raise HealthcodeUnavailable("unreadable answer", operation=operation) from exc
