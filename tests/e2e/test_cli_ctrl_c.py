"""Ctrl-C on ``claimbridge run`` (as on ``make run``): the terminal sends SIGINT to the whole
process group — the daemon, Playwright's driver, the simulator child — and the daemon drains and
stops with no ERROR line and exit 0."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench.common import free_port

pytestmark = pytest.mark.e2e

BIN = Path(sys.executable).parent


def test_ctrl_c_stops_the_daemon_without_an_error_line(tmp_path: Path) -> None:
    env = {**os.environ, "CLAIMBRIDGE_LISTEN": f"127.0.0.1:{free_port()}", "CLAIMBRIDGE_STATE_DIR": str(tmp_path / "var")}
    out = (tmp_path / "out.txt").open("w+")
    proc = subprocess.Popen(
        [str(BIN / "claimbridge"), "run", "--with-simulator", "--simulator-port", str(free_port())],
        env=env, cwd=tmp_path, stdout=out, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while "pairing:" not in (tmp_path / "out.txt").read_text():
            assert proc.poll() is None and time.monotonic() < deadline, (tmp_path / "out.txt").read_text()
            time.sleep(0.2)
        os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C at the terminal does
        assert proc.wait(60) == 0
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        out.close()
    text = (tmp_path / "out.txt").read_text()
    assert "terminal front-desk (mid 2187, tid 1) pairing: success\n" in text
    assert '"level": "ERROR"' not in text and "Traceback" not in text, text
    assert '"msg": "stopped"' in text
