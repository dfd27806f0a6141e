"""The HTTP client under both Healthcode adapters: one pooled aiohttp session, one request shape.

:mod:`bridge.clearing.transport` (bills) and :mod:`bridge.clearing.v2` (Find Member,
remittances) each open one :func:`open_session` and send every request through :func:`fetch`,
which reads the whole answer and hands the connection back to the pool (kept alive: a bill's
submit and its Find Member never reconnect). aiohttp's errors pass through; each adapter maps
them to :class:`~bridge.errors.HealthcodeError`, telling with :func:`nothing_sent` whether the
request can have reached Healthcode.

aiohttp rather than httpx: at the concurrency of a busy clinic's PMS (tens of bills in flight)
httpx's connection pool spends several milliseconds of CPU per request checking every pooled
connection, which capped a daemon at about 80 bills/s; aiohttp costs a tenth of that
(``bench/healthcode_throughput.py``).
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
from yarl import URL

__all__ = ["Answer", "basic_auth", "fetch", "nothing_sent", "open_session"]

#: Seconds an idle pooled connection is kept (shorter than servers' usual keep-alive, so the
#: pool rarely hands out a connection the server is closing).
_KEEPALIVE_S = 10.0


@dataclass(frozen=True)
class Answer:
    """An HTTP answer, read whole."""

    status: int
    reason: str
    body: bytes


def open_session(timeout: float, connections: int, headers: Mapping[str, str]) -> aiohttp.ClientSession:
    """A session whose pool keeps up to ``connections`` connections alive (call in the event loop).

    ``timeout`` bounds the wait for a pooled connection plus connecting, and each wait for the
    server's answer. A proxy named by ``HTTPS_PROXY``/``HTTP_PROXY`` (``NO_PROXY`` honoured) is
    used, as a clinic whose internet goes through one needs.
    """
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=connections, keepalive_timeout=_KEEPALIVE_S),
        timeout=aiohttp.ClientTimeout(total=None, connect=timeout, sock_connect=timeout, sock_read=timeout),
        headers=dict(headers),
        trust_env=True,
    )


async def fetch(
    session: aiohttp.ClientSession,
    method: str,
    url: str | URL,
    *,
    headers: Mapping[str, str] | None = None,
    json_body: Any = None,
    form: Mapping[str, str] | None = None,
    params: Mapping[str, str] | None = None,
    follow_redirects: bool = False,
) -> Answer:
    """Send one request and read its answer whole.

    A :class:`yarl.URL` made with ``encoded=True`` is sent as given (a ``%2F`` in a path
    segment stays one); a string is escaped where it needs to be.

    Raises:
        aiohttp.ClientError, TimeoutError: As aiohttp raises them (see :func:`nothing_sent`).
    """
    async with session.request(
        method, url, headers=headers, json=json_body,
        data=dict(form) if form is not None else None, params=params, allow_redirects=follow_redirects,
    ) as response:
        body = await response.read()
        return Answer(response.status, response.reason or "", body)


def nothing_sent(exc: BaseException) -> bool:
    """Whether the request failed before any of it reached the server (connection refused,
    name not resolved, no pooled connection or connect in time): safe to send again."""
    return isinstance(exc, aiohttp.ClientConnectorError | aiohttp.ConnectionTimeoutError)


def basic_auth(user: str, password: str) -> str:
    """An ``Authorization`` header value for HTTP Basic (UTF-8)."""
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
