"""Shared pieces of the benchmarks and fault campaigns: an in-process simulator, a daemon in its
own process (so it can be SIGKILLed and measured), and process-memory readings."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from aiohttp import web
from websockets.asyncio.client import connect

from simulator.app import create_app
from simulator.clock import Clock
from tests.daemon_harness import DEFAULT_NOW, FRONT_DESK, Client, RpcError, Sim

__all__ = [
    "comm",
    "default_terminals",
    "SubprocessDaemon",
    "free_port",
    "pss_kib",
    "uss_kib",
    "process_tree",
    "running_sim",
]

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    """A loopback port free right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.asynccontextmanager
async def running_sim(scale: float = 50.0) -> AsyncIterator[Sim]:
    """The simulator on a free loopback port in this event loop."""
    clock = Clock(DEFAULT_NOW, scale=scale)
    runner = web.AppRunner(create_app(clock))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    base = f"http://127.0.0.1:{runner.addresses[0][1]}"
    try:
        async with httpx.AsyncClient(base_url=base, timeout=10) as http:
            yield Sim(base, clock, http)
    finally:
        await runner.cleanup()


@dataclass
class SubprocessDaemon:
    """``claimbridge run`` in a child process with its own TOML file and state directory.

    Args:
        workdir: holds the config, ``state/`` and ``daemon.log``.
        sim: the simulator whose iClient the daemon loads.
        terminals: name -> (mid, tid).
    """

    workdir: Path
    sim: Sim
    terminals: dict[str, tuple[int, int]]
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None
    #: top-level TOML lines added to the config (e.g. ``max_batch = 10``).
    extra_toml: str = ""

    def __post_init__(self) -> None:
        self.port = self.port or free_port()
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.config.write_text(
            f'listen = "127.0.0.1:{self.port}"\nstate_dir = "{self.state_dir}"\n'
            f'iclient_url = "{self.sim.base}/iclient-v1.js"\nlog_level = "INFO"\n{self.extra_toml}\n'
            + "".join(f"[terminals.{n}]\nmid = {m}\ntid = {t}\n" for n, (m, t) in self.terminals.items())
        )

    @property
    def config(self) -> Path:
        return self.workdir / "claimbridge.toml"

    @property
    def state_dir(self) -> Path:
        return self.workdir / "state"

    @property
    def log_path(self) -> Path:
        return self.workdir / "daemon.log"

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/v1"

    @property
    def token(self) -> str:
        return (self.state_dir / "token").read_text().strip()

    def spawn(self) -> None:
        """Start the process (its output goes to ``daemon.log``, never to a pipe that could fill)."""
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-c", "from bridge.cli import main; main()", "--config", str(self.config), "run"],
                stdout=log, stderr=subprocess.STDOUT, cwd=ROOT,
            )

    async def wait_ready(self, timeout: float = 30.0) -> float:
        """Poll ``/readyz`` until 200; returns the seconds it took."""
        loop = asyncio.get_running_loop()
        start = loop.time()
        async with httpx.AsyncClient() as http:
            while loop.time() - start < timeout:
                assert self.proc is not None
                if self.proc.poll() is not None:
                    raise RuntimeError(f"daemon exited {self.proc.returncode}:\n{self.log_path.read_text()[-3000:]}")
                with contextlib.suppress(httpx.HTTPError):
                    if (await http.get(f"http://127.0.0.1:{self.port}/readyz", timeout=2)).status_code == 200:
                        return loop.time() - start
                await asyncio.sleep(0.01)
        raise RuntimeError("daemon not ready in time")

    async def start(self) -> float:
        self.spawn()
        return await self.wait_ready()

    def kill(self) -> None:
        """SIGKILL: no drain, no clean close of anything (Chromium is left to die with its pipe)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def stop(self) -> None:
        """SIGTERM and wait (drain); SIGKILL after 20 s."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)

    async def client(self) -> Client:
        ws = await connect(self.url, additional_headers={"Authorization": f"Bearer {self.token}"}, max_size=None)
        return Client(ws)

    async def pair_all(self) -> None:
        """Pair every terminal with the simulator (pressing "Authorise POS" for it)."""
        c = await self.client()
        try:
            for name, (mid, tid) in self.terminals.items():
                for attempt in range(50):  # a page may still be loading just after /readyz
                    pairing = asyncio.ensure_future(c.call("terminal.pair", {"terminal": name, "mid": mid, "tid": tid}))
                    while not pairing.done():
                        await asyncio.sleep(0.02)
                        if await self.sim.authorise(mid, tid) < 300:
                            break
                    try:
                        result: dict[str, Any] = await pairing
                        break
                    except RpcError as exc:
                        if exc.code != -32005 or attempt == 49:
                            raise RuntimeError(f"pairing {name}: {exc.error}") from exc
                        await asyncio.sleep(0.1)
                if result["status"] != "success":
                    raise RuntimeError(f"pairing {name} failed: {result}")
        finally:
            await c.close()


def default_terminals(count: int = 1) -> dict[str, tuple[int, int]]:
    """``front-desk`` and then ``room-2``, ``room-3``… on the simulator's merchant."""
    name, mid, tid = FRONT_DESK
    out = {name: (mid, tid)}
    for i in range(2, count + 1):
        out[f"room-{i}"] = (mid, tid + i - 1)
    return out


def process_tree(pid: int) -> list[int]:
    """``pid`` and all its descendants (from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def pss_kib(pid: int) -> int:
    """Proportional set size of one process in KiB (``/proc/<pid>/smaps_rollup``); 0 if gone."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def uss_kib(pid: int) -> int:
    """Unique set size of one process in KiB (its private pages: ``Private_Clean`` +
    ``Private_Dirty`` of ``/proc/<pid>/smaps_rollup``); 0 if gone. Unlike PSS it does not depend
    on what else runs the same binaries on the machine."""
    total = 0
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith(("Private_Clean:", "Private_Dirty:")):
                total += int(line.split()[1])
    except OSError:
        return 0
    return total


def comm(pid: int) -> str:
    """The process's command name."""
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return "?"
