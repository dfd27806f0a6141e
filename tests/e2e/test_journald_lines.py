"""Log levels reach journald (INTERFACES.md "Installing and running anywhere"): a real
``claimbridge run`` whose stdout and stderr are the stream ``$JOURNAL_STREAM`` names, as systemd
gives a service (systemd.exec(5)). Every line is then ``<N>`` + one JSON record, N the syslog
priority journald files it under and strips (sd-daemon(3)), so ``journalctl -p warning`` finds the
warnings and ``journalctl -o cat | jq .`` reads every line; at ``log_level = "DEBUG"`` the daemon's
own debug lines are there and the HTTP libraries' are not."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

BIN = Path(sys.executable).parent
LINE = re.compile(r"^<([0-7])>(\{.*\})$")
PRIORITY = {"CRITICAL": 2, "ERROR": 3, "WARNING": 4, "INFO": 6, "DEBUG": 7}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(tmp: Path, log: Path, journald: bool, log_level: str = "DEBUG") -> tuple[subprocess.Popen[bytes], dict[str, str]]:
    port = _free_port()
    (tmp / "claimbridge.toml").write_text(
        f'listen = "127.0.0.1:{port}"\nstate_dir = "{tmp / "var"}"\nlog_level = "{log_level}"\n'
        'iclient_url = "http://127.0.0.1:9/iclient-v1.js"\n'  # nothing there: the page load fails (an ERROR line)
        '[terminals.front-desk]\nmid = 1\ntid = 1\n'
    )
    out = log.open("wb")
    st = os.fstat(out.fileno())
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLAIMBRIDGE_") and k != "JOURNAL_STREAM"}
    if journald:
        env["JOURNAL_STREAM"] = f"{st.st_dev}:{st.st_ino}"
    proc = subprocess.Popen([str(BIN / "claimbridge"), "run"], cwd=tmp, env=env, stdout=out, stderr=out)
    out.close()
    return proc, env


def _wait_for(log: Path, text: str, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while text not in log.read_text(errors="replace"):
        assert proc.poll() is None, log.read_text(errors="replace")
        assert time.monotonic() < deadline, f"{text!r} not logged within {timeout} s:\n{log.read_text()[-3000:]}"
        time.sleep(0.1)


def test_every_line_carries_its_priority_and_is_json_after_it(tmp_path: Path) -> None:
    log = tmp_path / "journal-stream.log"
    proc, env = _start(tmp_path, log, journald=True)
    try:
        _wait_for(log, '"ready: ws://', proc)
        call = subprocess.run([str(BIN / "claimbridge"), "call", "system.health"], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=60)
        assert call.returncode == 0, call.stderr
        _wait_for(log, "method system.health answered", proc)
    finally:
        proc.terminate()
        proc.wait(timeout=60)
    lines = log.read_text().splitlines()
    priorities: set[int] = set()
    for line in lines:
        match = LINE.match(line)
        assert match, f"not <N>{{json}}: {line!r}"
        record = json.loads(match.group(2))  # what `journalctl -o cat | jq .` reads
        assert int(match.group(1)) == PRIORITY[record["level"]], line
        priorities.add(int(match.group(1)))
        if record["level"] in ("DEBUG", "INFO"):
            assert record["logger"].startswith("claimbridge"), f"a library's chatter at {record['level']}: {line}"
    assert {3, 6, 7} <= priorities, sorted(priorities)
    assert not any("claimbridge ready:" in line for line in lines)  # the plain lines are for a terminal


def test_without_journald_the_lines_are_plain_json(tmp_path: Path) -> None:
    log = tmp_path / "stderr.log"
    proc, _ = _start(tmp_path, log, journald=False, log_level="INFO")
    try:
        _wait_for(log, "claimbridge ready:", proc)
    finally:
        proc.terminate()
        proc.wait(timeout=60)
    records = [line for line in log.read_text().splitlines() if line.startswith("{")]
    assert records and not any(line.startswith("<") for line in log.read_text().splitlines())
    assert all(json.loads(line)["level"] != "DEBUG" for line in records)


def test_a_start_up_failure_under_journald_is_one_error_record(tmp_path: Path) -> None:
    (tmp_path / "var").mkdir()
    (tmp_path / "var" / "claimbridge.db").write_bytes(b"not a database\n" * 100)
    log = tmp_path / "journal-stream.log"
    proc, _ = _start(tmp_path, log, journald=True, log_level="INFO")
    assert proc.wait(timeout=60) != 0
    lines = log.read_text().splitlines()
    failure = LINE.match(lines[-1])
    assert failure and failure.group(1) == "3", lines
    assert "journal" in json.loads(failure.group(2))["msg"] and len(lines) <= 3, lines
    assert all(LINE.match(line) for line in lines), lines


def test_an_invalid_config_under_journald_is_error_records(tmp_path: Path) -> None:
    log = tmp_path / "journal-stream.log"
    with log.open("wb") as out:
        st = os.fstat(out.fileno())
        env = {**{k: v for k, v in os.environ.items() if not k.startswith("CLAIMBRIDGE_")},
               "JOURNAL_STREAM": f"{st.st_dev}:{st.st_ino}", "CLAIMBRIDGE_LOG_LEVEL": "LOUD"}
        code = subprocess.run([str(BIN / "claimbridge"), "run"], cwd=tmp_path, env=env, stdout=out, stderr=out,
                              timeout=60).returncode
    lines = log.read_text().splitlines()
    assert code == 2 and lines, lines
    for line in lines:
        match = LINE.match(line)
        assert match and match.group(1) == "3", line
        assert "LOG_LEVEL" in json.loads(match.group(2))["msg"], line
