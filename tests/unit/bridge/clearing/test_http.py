"""Tests for bridge.clearing.http: one pooled session, kept alive, against an aiohttp server on
127.0.0.1; what counts as "nothing sent"."""

from __future__ import annotations

import asyncio
import base64
import socket
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web
from yarl import URL

from bridge.clearing.http import Answer, basic_auth, fetch, nothing_sent, open_session


@pytest.fixture
async def server() -> AsyncIterator[tuple[str, list[tuple[str, int]]]]:
    """A server answering every request with its path and body; records each request's peer."""
    peers: list[tuple[str, int]] = []

    async def echo(request: web.Request) -> web.StreamResponse:
        peer = request.transport.get_extra_info("peername") if request.transport is not None else None
        peers.append(tuple(peer) if peer else ("?", 0))
        if request.path == "/slow":
            await asyncio.sleep(1.0)
        body = await request.read()
        return web.json_response({"path": request.raw_path, "body": body.decode(), "auth": request.headers.get("Authorization")})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", echo)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}", peers
    await runner.cleanup()


async def test_connections_are_kept_alive_and_reused(server: tuple[str, list[tuple[str, int]]]) -> None:
    base, peers = server
    async with open_session(5.0, 4, {"X-Site-Id": "S"}) as session:
        for n in range(10):
            answer = await fetch(session, "POST", f"{base}/bills", json_body={"n": n})
            assert answer.status == 200
        await asyncio.gather(*(fetch(session, "GET", f"{base}/bills/{n}") for n in range(40)))
    assert len(peers) == 50
    assert len(set(peers)) <= 4  # at most the pool's connections, never one per request


async def test_answer_is_read_whole_with_form_params_and_escaped_path(server: tuple[str, list[tuple[str, int]]]) -> None:
    base, _ = server
    async with open_session(5.0, 2, {}) as session:
        answer = await fetch(session, "POST", URL(f"{base}/bills/A%2FB", encoded=True), form={"a": "1 2"},
                             params={"q": "x"}, headers={"Authorization": basic_auth("u", "p")})
    assert isinstance(answer, Answer) and answer.status == 200 and answer.reason == "OK"
    assert b'"path": "/bills/A%2FB?q=x"' in answer.body and b'"body": "a=1+2"' in answer.body


def test_basic_auth_is_utf8() -> None:
    value = basic_auth("claimbridge", "pässword")
    assert value == "Basic " + base64.b64encode("claimbridge:pässword".encode()).decode()


async def test_nothing_sent_tells_a_refused_connect_from_a_lost_answer(server: tuple[str, list[tuple[str, int]]]) -> None:
    base, _ = server
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with open_session(0.3, 2, {}) as session:
        with pytest.raises(aiohttp.ClientError) as refused:
            await fetch(session, "POST", f"http://127.0.0.1:{port}/bills")
        with pytest.raises(TimeoutError) as late:
            await fetch(session, "POST", f"{base}/slow")
    assert nothing_sent(refused.value)
    assert not nothing_sent(late.value)  # the server had the request
    assert nothing_sent(aiohttp.ConnectionTimeoutError())
    assert not nothing_sent(aiohttp.ServerDisconnectedError())


async def test_a_proxy_from_the_environment_is_used_unless_no_proxy_names_the_host(
    server: tuple[str, list[tuple[str, int]]], monkeypatch: pytest.MonkeyPatch,
) -> None:
    base, peers = server
    monkeypatch.setenv("HTTP_PROXY", base)  # the echo server plays the clinic's web proxy
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    async with open_session(5.0, 2, {}) as session:
        answer = await fetch(session, "GET", "http://healthcode.invalid/bills/1")
    assert answer.status == 200 and len(peers) == 1  # a name that resolves nowhere: only the proxy could answer

    monkeypatch.setenv("NO_PROXY", "healthcode.invalid")
    async with open_session(5.0, 2, {}) as session:
        with pytest.raises(aiohttp.ClientError) as err:
            await fetch(session, "GET", "http://healthcode.invalid/bills/1")
    assert nothing_sent(err.value) and len(peers) == 1
