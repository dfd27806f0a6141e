"""Daemon test harness (a pytest plugin loaded by tests/conftest.py): real simulator over HTTP, real
websockets, real SQLite, all in the test's own event loop on free loopback ports."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiohttp import web
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from bridge.config import Settings, TerminalConfig
from bridge.daemon import Daemon
from simulator.app import create_app
from simulator.clock import Clock

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
FRONT_DESK = ("front-desk", 2187, 1)
#: A Monday morning in Sydney (AEDT); tests move it where they need.
DEFAULT_NOW = datetime(2026, 11, 22, 23, 0, tzinfo=UTC)  # 10:00 AEDT, Monday 23 November
SCALE = 50.0


def claim_request(name: str = "claim-two-items.json", **overrides: Any) -> dict[str, Any]:
    """A claim's params from fixtures/protocol, with overrides."""
    params: dict[str, Any] = json.loads((FIXTURES / "protocol" / name).read_text())
    params.update(overrides)
    return params


class RpcError(Exception):
    def __init__(self, error: dict[str, Any]) -> None:
        # The code and data too: "Temporarily unavailable" alone does not say why (the reason).
        super().__init__(f"{error.get('message')} ({error.get('code')}: {error.get('data')})")
        self.error = error
        self.code = error.get("code")
        self.data = error.get("data")


class Client:
    """A JSON-RPC client on one websocket; notifications are collected in ``notes``."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.notes: list[dict[str, Any]] = []
        self._next = 0
        self._pending: dict[Any, asyncio.Future[dict[str, Any]]] = {}
        self._reader = asyncio.get_running_loop().create_task(self._read(), name="test-client-reader")
        self.note_event = asyncio.Event()

    async def _read(self) -> None:
        try:
            await self._read_frames()
        except ConnectionClosed:
            pass  # the daemon went away (crash tests kill it); pending calls time out

    async def _read_frames(self) -> None:
        async for frame in self.ws:
            msg = json.loads(frame)
            if isinstance(msg, dict) and "id" not in msg:
                self.notes.append(msg)
                self.note_event.set()
                continue
            key = msg["id"] if isinstance(msg, dict) else "batch"
            fut = self._pending.pop(key, None)
            if fut is not None and not fut.done():
                fut.set_result(msg)

    async def request(self, method: str, params: Any = None, timeout: float = 60) -> dict[str, Any]:
        self._next += 1
        rid = self._next
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[rid] = fut
        body: dict[str, Any] = {"jsonrpc": "2.0", "id": rid, "method": method}
        if params is not None:
            body["params"] = params
        await self.ws.send(json.dumps(body))
        return await asyncio.wait_for(fut, timeout)

    async def call(self, method: str, params: Any = None, timeout: float = 60) -> Any:
        msg = await self.request(method, params, timeout)
        if "error" in msg:
            raise RpcError(msg["error"])
        return msg["result"]

    async def raw(self, frame: str, timeout: float = 10) -> Any:
        """Send a raw frame and return the next non-notification message."""
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        try:
            parsed = json.loads(frame)
            key = parsed.get("id") if isinstance(parsed, dict) else "batch"
        except ValueError:
            key = None
        self._pending[key] = fut
        await self.ws.send(frame)
        return await asyncio.wait_for(fut, timeout)

    async def wait_note(self, pred: Callable[[dict[str, Any]], bool], timeout: float = 30) -> dict[str, Any]:
        async def scan() -> dict[str, Any]:
            while True:
                for n in self.notes:
                    if pred(n):
                        return n
                self.note_event.clear()
                await self.note_event.wait()

        return await asyncio.wait_for(scan(), timeout)

    async def close(self) -> None:
        await self.ws.close()
        self._reader.cancel()


@dataclass
class Sim:
    base: str
    clock: Clock
    http: httpx.AsyncClient

    async def scenario(self, **fields: Any) -> None:
        (await self.http.post("/_sim/scenario", json=fields)).raise_for_status()

    async def ledger(self) -> list[dict[str, Any]]:
        r = await self.http.get("/_sim/ledger")
        r.raise_for_status()
        return list(r.json()["records"])

    async def authorise(self, mid: int, tid: int) -> int:
        return (await self.http.post(f"/_sim/terminals/{mid}/{tid}/authorise")).status_code


@pytest.fixture
async def sim() -> AsyncIterator[Sim]:
    clock = Clock(DEFAULT_NOW, scale=SCALE)
    runner = web.AppRunner(create_app(clock))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    base = f"http://127.0.0.1:{port}"
    async with httpx.AsyncClient(base_url=base, timeout=10) as http:
        yield Sim(base, clock, http)
    await runner.cleanup()


@dataclass
class Running:
    daemon: Daemon
    task: asyncio.Task[None]
    sim: Sim
    clients: list[Client] = field(default_factory=list)

    async def client(self, token: str | None = None) -> Client:
        ws = await connect(self.daemon.url, additional_headers={"Authorization": f"Bearer {token or self.daemon.token}"})
        c = Client(ws)
        self.clients.append(c)
        return c

    async def pair(self, name: str, mid: int, tid: int) -> dict[str, Any]:
        worker = self.daemon.workers[name]
        pairing = asyncio.ensure_future(worker.pair(mid, tid))
        for _ in range(200):
            await asyncio.sleep(0.02)
            if await self.sim.authorise(mid, tid) < 300 or pairing.done():
                break
        return await pairing


class DaemonClock:
    """The daemon's business clock: follows the simulator's clock so both agree on the Sydney day."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock

    def __call__(self) -> datetime:
        return self.clock.now()


def make_settings(tmp: Path, sim: Sim, terminals: dict[str, tuple[int, int]] | None = None, **kw: Any) -> Settings:
    terminals = terminals if terminals is not None else {FRONT_DESK[0]: FRONT_DESK[1:]}
    return Settings(
        state_dir=tmp,
        listen="127.0.0.1:0",
        iclient_url=f"{sim.base}/iclient-v1.js",
        terminals={n: TerminalConfig(mid=m, tid=t) for n, (m, t) in terminals.items()},
        **kw,
    )


async def start_daemon(settings: Settings, sim: Sim) -> Running:
    daemon = Daemon(settings, now=DaemonClock(sim.clock))
    task = asyncio.get_running_loop().create_task(daemon.run(install_signals=False), name="test-daemon")
    ready = asyncio.ensure_future(daemon.ready.wait())
    await asyncio.wait({task, ready}, timeout=30, return_when=asyncio.FIRST_COMPLETED)
    if task.done():
        task.result()
    assert daemon.ready.is_set(), "daemon not ready within 30 s"
    return Running(daemon, task, sim)


async def stop_daemon(running: Running) -> None:
    for c in running.clients:
        await c.close()
    running.daemon.stop()
    await asyncio.wait_for(running.task, 30)


@asynccontextmanager
async def running_daemon(settings: Settings, sim: Sim, topics: Sequence[str] = ()) -> AsyncIterator[tuple[Running, Client]]:
    """A daemon started with ``settings`` and one connected client (subscribed to ``topics`` when
    given); the daemon is stopped on the way out, whatever happened inside."""
    running = await start_daemon(settings, sim)
    try:
        c = await running.client()
        if topics:
            await c.call("events.subscribe", {"topics": list(topics)})
        yield running, c
    finally:
        await stop_daemon(running)


@pytest.fixture
async def daemon(tmp_path: Path, sim: Sim) -> AsyncIterator[Running]:
    """A daemon with one terminal, front-desk, paired with the simulator."""
    running = await start_daemon(make_settings(tmp_path, sim, transaction_timeout_s=20), sim)
    result = await running.pair(*FRONT_DESK)
    assert result["status"] == "success", result
    yield running
    await stop_daemon(running)


# --------------------------------------------------------------------------- schemas


def _openrpc() -> dict[str, Any]:
    from bridge.protocol import openrpc_document

    global _DOC
    if _DOC is None:
        _DOC = openrpc_document("")
    return _DOC


_DOC: dict[str, Any] | None = None


def _validate(schema: dict[str, Any], value: Any, what: str, doc: dict[str, Any]) -> None:
    import jsonschema  # type: ignore[import-untyped]  # (no stubs installed; jsonschema ships none)

    root = {**schema, "components": doc["components"]}
    validator = jsonschema.Draft202012Validator(root, format_checker=jsonschema.FormatChecker())
    errors = sorted(validator.iter_errors(value), key=lambda e: list(e.absolute_path))
    if errors:
        lines = [f"{'/'.join(str(p) for p in e.absolute_path) or '(top)'}: {e.message[:300]}" for e in errors[:10]]
        raise AssertionError(f"{what} does not fit its schema in rpc.discover:\n  " + "\n  ".join(lines))


def validate_answer(method: str, result: Any, doc: dict[str, Any] | None = None) -> None:
    """Check a method's result against its result schema in ``rpc.discover`` (jsonschema).

    Args:
        method: The method that answered.
        result: Its ``result``.
        doc: The OpenRPC document (default: the models' own, which ``rpc.discover`` returns).

    Raises:
        AssertionError: naming each path that does not fit.
    """
    doc = doc or _openrpc()
    spec = next((m for m in doc["methods"] if m["name"] == method), None)
    assert spec is not None, f"{method} is not in rpc.discover"
    _validate(spec["result"]["schema"], result, f"the result of {method}", doc)


def validate_notification(note: dict[str, Any], doc: dict[str, Any] | None = None) -> None:
    """Check a notification's params against ``x-notifications`` in ``rpc.discover``."""
    doc = doc or _openrpc()
    spec = next((n for n in doc["x-notifications"] if n["name"] == note["method"]), None)
    assert spec is not None, f"notification {note['method']} is not in rpc.discover"
    _validate(spec["params"], note["params"], f"notification {note['method']}", doc)


def validate_error(error: dict[str, Any]) -> None:
    """Check a JSON-RPC error object: integer code, text message, ``data.errors`` as documented."""
    assert isinstance(error.get("code"), int) and isinstance(error.get("message"), str), error
    data = error.get("data")
    if isinstance(data, dict) and "errors" in data:
        assert all(set(e) == {"field", "message"} for e in data["errors"]), data
        # one path syntax: items[0].claimAmount, never items.0.claimAmount
        assert not any(re.search(r"\.\d+(\.|$)", e["field"]) for e in data["errors"]), data
    if error["code"] in (-32004, -32005):
        from bridge.reasons import NOT_ALLOWED_REASONS, UNAVAILABLE_REASONS

        codes = NOT_ALLOWED_REASONS if error["code"] == -32004 else UNAVAILABLE_REASONS
        assert isinstance(data, dict) and data.get("reason") in codes and isinstance(data.get("message"), str), data
