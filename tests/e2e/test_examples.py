"""examples/pms_client.py and examples/pms_client.js against a harness daemon."""

from __future__ import annotations

import asyncio
import json
import shutil
import sys
from pathlib import Path

import pytest

from tests.daemon_harness import Running

pytestmark = pytest.mark.e2e

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


async def _run(*argv: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(proc.communicate(), 90)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


def _last_job(stdout: str) -> dict[str, object]:
    job: dict[str, object] = json.loads(stdout.strip().splitlines()[-1])
    return job


async def test_python_example_makes_one_claim(daemon: Running) -> None:
    token_file = str(daemon.daemon.state_dir / "token")
    argv = [sys.executable, str(EXAMPLES / "pms_client.py"), "--url", daemon.daemon.url,
            "--token-file", token_file, "--request-id", "ex-py-1"]
    code, out, err = await _run(*argv)
    assert code == 0, err
    job = _last_job(out)
    assert job["state"] == "completed" and job["result"]["result"] == "APPROVED"  # type: ignore[index]
    assert "question:" in err or "question:" in out
    # the same requestId again: the same job, and the fund saw one claim
    code, out, err = await _run(*argv)
    assert code == 0, err
    assert _last_job(out)["jobId"] == job["jobId"]
    assert [r["kind"] for r in await daemon.sim.ledger()] == ["claim"]


@pytest.mark.skipif(shutil.which("node") is None, reason="node not installed")
async def test_javascript_example_makes_one_claim(daemon: Running) -> None:
    token_file = str(daemon.daemon.state_dir / "token")
    code, out, err = await _run(
        "node", "--experimental-websocket", str(EXAMPLES / "pms_client.js"),
        daemon.daemon.url, token_file, "front-desk", "ex-js-1",
    )
    assert code == 0, err
    job = _last_job(out)
    assert job["state"] == "completed" and job["result"]["result"] == "APPROVED"  # type: ignore[index]
    assert "question:" in err
