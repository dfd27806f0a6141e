"""sd_notify against a real unix datagram socket: a harness daemon with NOTIFY_SOCKET set."""

from __future__ import annotations

import asyncio
import os
import socket
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.daemon_harness import FRONT_DESK, Sim, make_settings, start_daemon, stop_daemon

pytestmark = pytest.mark.e2e


@dataclass
class Listener:
    """What systemd would be: a bound datagram socket collecting (monotonic time, message)."""

    sock: socket.socket
    messages: list[tuple[float, dict[str, str]]] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            data = await loop.sock_recv(self.sock, 4096)
            fields = dict(line.split("=", 1) for line in data.decode().split("\n"))
            self.messages.append((time.monotonic(), fields))
            self.arrived.set()

    def with_key(self, key: str) -> list[tuple[float, dict[str, str]]]:
        return [m for m in self.messages if key in m[1]]

    async def wait_for(self, key: str, value: str | None = None, timeout: float = 20) -> dict[str, str]:
        async def scan() -> dict[str, str]:
            while True:
                for _, fields in self.messages:
                    if key in fields and (value is None or value in fields[key]):
                        return fields
                self.arrived.clear()
                await self.arrived.wait()

        return await asyncio.wait_for(scan(), timeout)


async def _listen(sock: socket.socket) -> AsyncIterator[Listener]:
    sock.setblocking(False)
    listener = Listener(sock)
    task = asyncio.get_running_loop().create_task(listener.run(), name="test-notify-listener")
    yield listener
    task.cancel()
    sock.close()


@pytest.fixture
async def path_socket(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Listener]:
    # A short directory: unix socket paths are limited to 108 bytes, pytest's tmp_path may be longer.
    with tempfile.TemporaryDirectory(prefix="cbn") as tmp:
        path = Path(tmp) / "notify"
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(str(path))
        monkeypatch.setenv("NOTIFY_SOCKET", str(path))
        monkeypatch.setenv("WATCHDOG_USEC", "100000")  # 0.1 s: pings every 0.05 s
        monkeypatch.setenv("WATCHDOG_PID", str(os.getpid()))
        async for listener in _listen(sock):
            yield listener


async def test_ready_after_readiness_then_watchdog_status_and_stopping(
    tmp_path: Path, sim: Sim, path_socket: Listener
) -> None:
    running = await start_daemon(make_settings(tmp_path, sim), sim)
    try:
        ready = await path_socket.wait_for("READY")
        ready_at = path_socket.with_key("READY")[0][0]
        daemon = running.daemon
        assert ready["READY"] == "1"
        assert ready["MAINPID"] == str(os.getpid())
        assert daemon.ready.is_set()
        assert all(w.ready for w in daemon.workers.values()) and daemon.browser is not None and daemon.browser.up
        assert "front-desk: not paired" in ready["STATUS"]
        assert len(path_socket.with_key("READY")) == 1

        await asyncio.sleep(0.6)
        pings = [at for at, fields in path_socket.with_key("WATCHDOG") if fields["WATCHDOG"] == "1"]
        assert len(pings) >= 5, pings
        assert any(at < ready_at for at in pings), "the watchdog runs from start-up, before READY"
        gaps = [b - a for a, b in zip(pings, pings[1:])]
        assert max(gaps) < 0.5, gaps

        result = await running.pair(*FRONT_DESK)
        assert result["status"] == "success"
        status = await path_socket.wait_for("STATUS", "front-desk: idle", timeout=10)
        assert status["STATUS"].startswith("ready")
    finally:
        await stop_daemon(running)
    stopping = await path_socket.wait_for("STOPPING", timeout=5)
    assert stopping["STOPPING"] == "1"
    assert len(path_socket.with_key("READY")) == 1


async def test_abstract_namespace_socket(tmp_path: Path, sim: Sim, monkeypatch: pytest.MonkeyPatch) -> None:
    name = f"claimbridge-test-{os.getpid()}-{time.monotonic_ns()}"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(b"\0" + name.encode())
    monkeypatch.setenv("NOTIFY_SOCKET", "@" + name)
    monkeypatch.delenv("WATCHDOG_USEC", raising=False)
    async for listener in _listen(sock):
        running = await start_daemon(make_settings(tmp_path, sim), sim)
        try:
            assert (await listener.wait_for("READY"))["READY"] == "1"
            await asyncio.sleep(0.3)
            assert listener.with_key("WATCHDOG") == []  # no WATCHDOG_USEC, no pings
        finally:
            await stop_daemon(running)


async def test_no_notify_socket_means_no_notifier(tmp_path: Path, sim: Sim, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    running = await start_daemon(make_settings(tmp_path, sim), sim)
    try:
        names = {t.get_name() for t in asyncio.all_tasks()}
        assert not any(n.startswith("claimbridge.sdnotify") for n in names)
    finally:
        await stop_daemon(running)
