"""A daemon and a simulator in their own processes, driven synchronously (hypothesis tests are
plain functions): the daemon's memory can be read from /proc without the test's own."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from bench.common import SubprocessDaemon, free_port
from tests.daemon_harness import FRONT_DESK

#: Small limits so the fuzzer can reach them cheaply.
MAX_FRAME_BYTES = 65_536
MAX_BATCH = 10


@dataclass
class SimProcess:
    """The simulator as ``claimbridge-sim`` would run it."""

    base: str
    proc: subprocess.Popen[bytes]

    async def authorise(self, mid: int, tid: int) -> int:
        async with httpx.AsyncClient() as http:
            return (await http.post(f"{self.base}/_sim/terminals/{mid}/{tid}/authorise")).status_code

    def ledger(self) -> list[dict[str, object]]:
        return list(httpx.get(f"{self.base}/_sim/ledger").json()["records"])


@pytest.fixture(scope="module")
def sim_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimProcess]:
    port = free_port()
    log = (tmp_path_factory.mktemp("sim") / "sim.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-c", "import sys; from simulator.cli import main; sys.exit(main())",
         "--port", str(port), "--time-scale", "50"],
        stdout=log, stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                if httpx.get(f"{base}/_sim/health").status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.05)
        yield SimProcess(base, proc)
    finally:
        proc.terminate()
        proc.wait(10)
        log.close()


@pytest.fixture(scope="module")
def fuzz_daemon(tmp_path_factory: pytest.TempPathFactory, sim_process: SimProcess) -> Iterator[SubprocessDaemon]:
    """A paired daemon with ``max_frame_bytes`` and ``max_batch`` set small."""
    name, mid, tid = FRONT_DESK
    d = SubprocessDaemon(
        tmp_path_factory.mktemp("fuzz"), sim_process, {name: (mid, tid)},  # type: ignore[arg-type]
        extra_toml=f"max_frame_bytes = {MAX_FRAME_BYTES}\nmax_batch = {MAX_BATCH}\n",
    )
    d.spawn()
    try:
        asyncio.run(d.wait_ready())
        asyncio.run(d.pair_all())
        yield d
    finally:
        d.stop()


def rss_kib(pid: int) -> int:
    """Resident set size of a process in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0
