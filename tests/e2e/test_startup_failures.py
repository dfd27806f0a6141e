"""Every start-up failure of ``claimbridge run`` is one plain line and a non-zero exit, never a
traceback (INTERFACES.md "Installing and running anywhere"): real ``claimbridge run``
processes, each given one thing that cannot work — a state directory it cannot write, a
damaged or unreadable journal, a missing or wrong browser, a port in use, an invalid config, a
configured feature whose package is missing."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

BIN = Path(sys.executable).parent
CLAIMBRIDGE = str(BIN / "claimbridge")
UNSHARE = shutil.which("unshare")
SETPRIV = shutil.which("setpriv")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _run(tmp: Path, env: dict[str, str] | None = None, prefix: list[str] | None = None,
         args: tuple[str, ...] = ()) -> tuple[int, list[str]]:
    """``claimbridge run`` in ``tmp`` (its own port, state directory ``tmp/var``): exit code and lines."""
    full = {**os.environ, "CLAIMBRIDGE_LISTEN": f"127.0.0.1:{_free_port()}",
            "CLAIMBRIDGE_STATE_DIR": str(tmp / "var"), "CLAIMBRIDGE_ICLIENT_URL": "http://127.0.0.1:9/iclient-v1.js",
            **(env or {})}
    done = subprocess.run([*(prefix or []), CLAIMBRIDGE, "run", *args], env=full, cwd=tmp,
                          capture_output=True, text=True, timeout=60)
    return done.returncode, (done.stdout + done.stderr).strip().splitlines()


def _one_plain_line(code: int, lines: list[str], *words: str) -> None:
    text = "\n".join(lines)
    print(f"exit {code}:", text)  # shown when the test fails, or with -s
    assert code != 0, text
    assert "Traceback" not in text and "RecursionError" not in text, text[:3000]
    assert len(lines) <= 3, text[:3000]
    last = lines[-1]
    for word in words:
        assert word in last, text


def test_a_state_directory_under_a_file(tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("not a directory\n")
    code, lines = _run(tmp_path, {"CLAIMBRIDGE_STATE_DIR": str(tmp_path / "afile" / "var")})
    _one_plain_line(code, lines, "state directory", "afile", "state_dir")


def test_a_state_directory_the_user_cannot_write(tmp_path: Path) -> None:
    state = tmp_path / "var"
    state.mkdir()
    state.chmod(0o555)
    tmp_path.chmod(0o755)
    prefix: list[str] = []
    if os.geteuid() == 0:  # root writes anywhere: run as nobody, as a service user would
        if SETPRIV is None:
            pytest.skip("running as root and setpriv(1) is not installed: cannot run the daemon as another user")
        prefix = [SETPRIV, "--reuid=65534", "--regid=65534", "--clear-groups"]
    code, lines = _run(tmp_path, prefix=prefix)
    _one_plain_line(code, lines, "state directory", str(state), "cannot be written")


def test_a_read_only_state_directory_with_its_journal(tmp_path: Path) -> None:
    state = tmp_path / "var"
    state.mkdir()
    (state / "claimbridge.db").write_bytes(b"")
    if os.geteuid() != 0 or UNSHARE is None or subprocess.run(
            [UNSHARE, "-m", "true"], capture_output=True).returncode != 0:
        pytest.skip("a read-only mount needs root and unshare(1) with mount namespaces here")
    script = (f'mount --bind "{state}" "{state}" && mount -o remount,bind,ro "{state}" && exec "$@"')
    code, lines = _run(tmp_path, prefix=[UNSHARE, "-m", "sh", "-c", script, "sh"])
    _one_plain_line(code, lines, "state directory", "Read-only file system")


def test_a_damaged_journal(tmp_path: Path) -> None:
    (tmp_path / "var").mkdir()
    (tmp_path / "var" / "claimbridge.db").write_bytes(b"this is no SQLite database\n" * 200)
    code, lines = _run(tmp_path)
    _one_plain_line(code, lines, "journal", "claimbridge.db", "backup")


def test_an_unreadable_journal(tmp_path: Path) -> None:
    (tmp_path / "var" / "claimbridge.db").mkdir(parents=True)  # a directory where the file should be
    code, lines = _run(tmp_path)
    _one_plain_line(code, lines, "journal", "claimbridge.db", "cannot be opened")


def test_a_browser_that_is_not_there(tmp_path: Path) -> None:
    code, lines = _run(tmp_path, {"CLAIMBRIDGE_BROWSER__EXECUTABLE_PATH": str(tmp_path / "no-chromium")})
    _one_plain_line(code, lines, "browser", "no-chromium", "executable_path")


def test_a_browser_path_that_is_not_a_browser(tmp_path: Path) -> None:
    code, lines = _run(tmp_path, {"CLAIMBRIDGE_BROWSER__EXECUTABLE_PATH": shutil.which("false") or "/bin/false"})
    _one_plain_line(code, lines, "browser", "executable_path")


def test_a_port_in_use(tmp_path: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        code, lines = _run(tmp_path, {"CLAIMBRIDGE_LISTEN": f"127.0.0.1:{port}"})
    _one_plain_line(code, lines, f"port {port}", "in use")


def test_an_address_not_ours_to_bind(tmp_path: Path) -> None:
    code, lines = _run(tmp_path, {"CLAIMBRIDGE_LISTEN": "192.0.2.1:8765"})  # TEST-NET-1: never ours
    _one_plain_line(code, lines, "192.0.2.1")


def test_an_invalid_config(tmp_path: Path) -> None:
    (tmp_path / "claimbridge.toml").write_text('log_level = "LOUD"\n[browser]\nexecutable_path = 3\n')
    code, lines = _run(tmp_path)
    assert code == 2
    assert "Traceback" not in "\n".join(lines) and 1 <= len(lines) <= 3, lines
    assert any("log_level" in line for line in lines) and any("executable_path" in line for line in lines), lines


def test_mqtt_configured_without_its_package(tmp_path: Path) -> None:
    # aiomqtt is installed in the test venv: a directory first on the path hides it, as a venv
    # installed without the extra would (tests/e2e/test_install.py does it for real).
    hide = tmp_path / "hide"
    hide.mkdir()
    (hide / "aiomqtt.py").write_text("raise ModuleNotFoundError(\"No module named 'aiomqtt'\", name='aiomqtt')\n")
    code, lines = _run(tmp_path, {"CLAIMBRIDGE_MQTT__URL": "mqtt://127.0.0.1:1883", "PYTHONPATH": str(hide)})
    _one_plain_line(code, lines, "[mqtt] url", "pip install 'claimbridge[mqtt]'")


def test_the_simulator_on_a_port_in_use(tmp_path: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        done = subprocess.run([str(BIN / "claimbridge-sim"), "--port", str(port)], cwd=tmp_path,
                              capture_output=True, text=True, timeout=60)
    _one_plain_line(done.returncode, (done.stdout + done.stderr).strip().splitlines(), "claimbridge-sim", str(port))


def test_run_with_the_simulator_on_a_port_in_use(tmp_path: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        code, lines = _run(tmp_path, args=("--with-simulator", "--simulator-port", str(port)))
    _one_plain_line(code, lines, f"port {port}", "simulator")
