"""Healthcode V2 HTTP adapter (membership enquiry, remittances): OAuth 2.0, discovery, pooled HTTP.

The only code that talks to Healthcode's V2 APIs, following their published conventions
(reference/healthcode.md §2.3): endpoint URLs read from the discovery document by key (cached;
re-read once when an endpoint answers 404, as Healthcode may move them), an access token from
OAuth 2.0 client credentials (cached until it expires; fetched again once when a call answers
401), ``SU-SiteId`` and ``HC-API-Version`` on every call, FHIR JSON parsed with
:class:`~decimal.Decimal` for numbers so pounds reach :mod:`bridge.healthcode.fhir` exactly.

Every call here is a read, so a transport fault or a 5xx is retried with the project's backoff
(:func:`bridge.backoff.backoff_delay`). Every aiohttp failure (:mod:`bridge.clearing.http`) becomes a
:class:`~bridge.errors.HealthcodeError` here:

=========================================  =============================================
connect / timeout / cut / 5xx, after the    HealthcodeUnavailable
retries
token refused (wrong key), or 401/403       HealthcodeCredentialsInvalid
after a fresh token
other 4xx                                   HealthcodeError with the OperationOutcome's text
=========================================  =============================================

The API key is never logged or shown in ``repr``.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Mapping
from decimal import Decimal
from types import TracebackType
from typing import Any, Self

import aiohttp

from bridge.clearing.http import Answer, fetch, open_session
from bridge.errors import HealthcodeCredentialsInvalid, HealthcodeError, HealthcodeUnavailable
from bridge.backoff import backoff_delay

__all__ = ["API_VERSION", "DISCOVERY_KEYS", "HealthcodeV2"]

#: The ``HC-API-Version`` we speak (it defaults to 1 and should always be sent, §2.3).
API_VERSION = "1"

#: Discovery document keys we use (INTERFACES.md, the simulator's V2 stand-in).
DISCOVERY_KEYS = (
    "token_endpoint",
    "find_member_endpoint",
    "search_remittance_summary_endpoint",
    "get_remittance_details_endpoint",
)

#: Connections to Healthcode's V2 APIs at once (all kept alive between calls).
_POOL = 32

#: Seconds before a token's stated expiry at which it is renewed (clock skew, slow calls).
_TOKEN_MARGIN_S = 30.0


class HealthcodeV2:
    """A client of Healthcode's V2 APIs for one site; an async context manager.

    Args:
        discovery_url: The discovery document's URL.
        site_id: Sent as ``SU-SiteId``.
        api_key_id: The API Key Id (OAuth client id).
        api_key: The API Key (OAuth client secret), or a callable giving the current one (a
            changed key file is used for the next token, the old token dropped). Never logged.
        timeout: Seconds for each of connect, read, write and pool wait.
        attempts: Tries of one read before giving up on transport faults and 5xx.
        retry_initial_s: First wait between tries (doubling, capped by ``retry_max_s``).
        retry_max_s: Longest wait between tries.
        monotonic: Clock for token expiry (tests pass their own).
    """

    def __init__(
        self,
        discovery_url: str,
        site_id: str,
        api_key_id: str,
        api_key: str | Callable[[], str],
        *,
        timeout: float = 15.0,
        attempts: int = 4,
        retry_initial_s: float = 0.5,
        retry_max_s: float = 10.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._discovery_url = discovery_url
        self._site_id = site_id
        self._key_id = api_key_id
        self._key: Callable[[], str] = api_key if callable(api_key) else (lambda: api_key)
        #: The key the current token was fetched with: a new key drops the token.
        self._token_key: str | None = None
        self._timeout = timeout
        self._attempts = max(1, attempts)
        self._retry = (retry_initial_s, retry_max_s)
        self._monotonic = monotonic
        self._client: aiohttp.ClientSession | None = None
        self._endpoints: dict[str, str] | None = None
        self._token: tuple[str, float] | None = None
        self._token_lock = asyncio.Lock()
        #: Counters for tests and metrics: tokens fetched, discovery documents read.
        self.tokens_fetched = 0
        self.discoveries_read = 0

    def __repr__(self) -> str:
        return f"HealthcodeV2(discovery_url={self._discovery_url!r}, site_id={self._site_id!r})"

    async def __aenter__(self) -> Self:
        if self._client is not None:
            raise RuntimeError("HealthcodeV2 is already open")
        # Every pooled connection is kept alive: a pre-flight per submit must not reconnect.
        self._client = open_session(self._timeout, _POOL, {"Accept": "application/fhir+json, application/json"})
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None,
    ) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.close()

    # --- operations -------------------------------------------------------------------------

    async def sign_in(self) -> None:
        """Get a fresh access token with the API Key Id and Key (``claimbridge doctor``).

        Raises:
            HealthcodeCredentialsInvalid: Healthcode refused the key.
            HealthcodeUnavailable: Healthcode could not be asked.
        """
        await self._access_token(refresh=True, stale=self._token[0] if self._token else None)

    async def find_member(self, form: Mapping[str, str]) -> Any:
        """Find Member (POST form, Healthcode's parameter names); the FHIR Bundle as JSON.

        Raises:
            HealthcodeError: 4xx other than auth (e.g. a required field missing, or the
                insurer offers no membership enquiry: ``httpStatus`` 422).
            HealthcodeUnavailable, HealthcodeCredentialsInvalid: See the module docstring.
        """
        return await self._call("POST", "find_member_endpoint", form=form, operation="findMember")

    async def search_remittances(self, form: Mapping[str, str]) -> Any:
        """Search Remittance Summary (POST form: ``insurerIdentifier``, ``_since`` ...): a Bundle."""
        return await self._call("POST", "search_remittance_summary_endpoint", form=form, operation="remittances")

    async def remittance_details(self, remittance_id: str) -> Any:
        """Get Remittance Details of one summary: a Bundle of ``ClaimResponse``."""
        return await self._call(
            "GET", "get_remittance_details_endpoint", params={"remittanceId": remittance_id},
            operation="remittanceDetails",
        )

    # --- discovery, token, the one place HTTP happens ----------------------------------------

    def _http(self) -> aiohttp.ClientSession:
        if self._client is None:
            raise RuntimeError("use HealthcodeV2 as an async context manager")
        return self._client

    async def _send(self, method: str, url: str, operation: str, **kwargs: Any) -> Answer:
        """One request, retried on transport faults and 5xx (reads only: always safe)."""
        attempt = 0
        while True:
            try:
                response = await fetch(self._http(), method, url, follow_redirects=True, **kwargs)
            except aiohttp.InvalidURL as exc:
                raise HealthcodeError(type(exc).__name__, operation=operation) from exc
            except (aiohttp.ClientError, TimeoutError) as exc:
                failure: HealthcodeError = HealthcodeUnavailable(type(exc).__name__, operation=operation)
                cause: BaseException = exc
            else:
                if response.status < 500:
                    return response
                failure = HealthcodeUnavailable(
                    f"HTTP {response.status}", operation=operation, httpStatus=response.status,
                )
                cause = failure
            attempt += 1
            if attempt >= self._attempts:
                raise failure from cause
            await asyncio.sleep(backoff_delay(attempt - 1, *self._retry))

    async def _endpoint(self, key: str, *, refresh: bool = False) -> str:
        if self._endpoints is None or refresh:
            response = await self._send("GET", self._discovery_url, "discovery")
            body = _json(response)
            if response.status != 200 or not isinstance(body, dict):
                raise HealthcodeUnavailable(
                    "discovery document not readable", operation="discovery", httpStatus=response.status,
                )
            self._endpoints = {k: v for k, v in body.items() if isinstance(v, str)}
            self.discoveries_read += 1
        url = self._endpoints.get(key)
        if url is None:
            raise HealthcodeUnavailable(f"the discovery document has no {key}", operation="discovery")
        return url

    async def _access_token(self, *, refresh: bool = False, stale: str | None = None) -> str:
        async with self._token_lock:
            key = self._key()
            # Another call may have renewed it while this one waited for the lock.
            if self._token is not None and not (refresh and self._token[0] == stale) and key == self._token_key:
                token, expires = self._token
                if self._monotonic() < expires:
                    return token
            url = await self._endpoint("token_endpoint")
            response = await self._send(
                "POST", url, "token",
                form={"grant_type": "client_credentials", "client_id": self._key_id, "client_secret": key},
            )
            body = _json(response)
            if response.status in (400, 401, 403):
                raise HealthcodeCredentialsInvalid(
                    "Healthcode refused the API Key Id or API Key", operation="token",
                    httpStatus=response.status, code=str(_dict(body).get("error", "")),
                )
            issued = _dict(body).get("access_token")
            if response.status != 200 or not isinstance(issued, str):
                raise HealthcodeUnavailable("no access token", operation="token", httpStatus=response.status)
            lifetime = _dict(body).get("expires_in")
            seconds = float(lifetime) if isinstance(lifetime, int | Decimal) else 300.0
            self._token = (issued, self._monotonic() + max(0.0, seconds - _TOKEN_MARGIN_S))
            self._token_key = key
            self.tokens_fetched += 1
            return issued

    async def _call(self, method: str, key: str, *, operation: str, **kwargs: Any) -> Any:
        refreshed_token = rediscovered = False
        token = await self._access_token()
        while True:
            url = await self._endpoint(key)
            headers = {"Authorization": f"Bearer {token}", "SU-SiteId": self._site_id, "HC-API-Version": API_VERSION}
            response = await self._send(method, url, operation, headers=headers, **kwargs)
            status = response.status
            if status == 401 and not refreshed_token:
                # Expired or revoked early: one fresh token, once.
                refreshed_token = True
                token = await self._access_token(refresh=True, stale=token)
                continue
            if status == 404 and not rediscovered:
                # Healthcode may move endpoints without notice (§2.3): read the document again.
                rediscovered = True
                await self._endpoint(key, refresh=True)
                continue
            body = _json(response)
            if 200 <= status < 300:
                if body is None:
                    raise HealthcodeUnavailable("unreadable answer", operation=operation, httpStatus=status)
                return body
            if status in (401, 403):
                raise HealthcodeCredentialsInvalid(
                    _diagnostics(body) or "Access Denied", operation=operation, httpStatus=status,
                )
            raise HealthcodeError(_diagnostics(body) or f"HTTP {status}", operation=operation, httpStatus=status)


def _json(response: Answer) -> Any:
    try:
        return json.loads(response.body, parse_float=Decimal)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None


def _dict(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _diagnostics(body: Any) -> str:
    """The text of a FHIR OperationOutcome, or of an OAuth error."""
    issues = _dict(body).get("issue")
    if isinstance(issues, list):
        texts = [str(_dict(i).get("diagnostics") or "") for i in issues]
        return "; ".join(t for t in texts if t)
    return str(_dict(body).get("error_description") or _dict(body).get("error") or "")
