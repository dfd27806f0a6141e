"""The systemd units: key settings parsed from the files; ``systemd-analyze`` when it exists."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bridge.config import load_settings

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
SYSTEMD = ROOT / "systemd"
VENV = Path(sys.executable).parent.parent


def parse_unit(path: Path) -> dict[str, dict[str, list[str]]]:
    """Section -> key -> values (a key may repeat, like Environment=)."""
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] | None = None
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], {})
            continue
        assert current is not None, f"{path.name}: assignment outside a section: {line}"
        key, sep, value = line.partition("=")
        assert sep, f"{path.name}: not KEY=VALUE: {line}"
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


def one(section: dict[str, list[str]], key: str) -> str:
    values = section.get(key)
    assert values, f"{key}= missing"
    return values[-1]


def test_daemon_unit_key_settings() -> None:
    unit = parse_unit(SYSTEMD / "claimbridge.service")
    s = unit["Service"]
    expected = {
        "Type": "notify",
        "NotifyAccess": "main",
        "WatchdogSec": "30",
        "Restart": "on-failure",
        "User": "claimbridge",
        "StateDirectory": "claimbridge",
        "ExecStart": "/opt/claimbridge/.venv/bin/claimbridge --config /etc/claimbridge/claimbridge.toml run",
        "ProtectSystem": "strict",
        "ProtectHome": "true",
        "PrivateTmp": "true",
        "NoNewPrivileges": "true",
        "RestrictAddressFamilies": "AF_UNIX AF_INET AF_INET6",
        "ProcSubset": "pid",
        "ProtectProc": "invisible",
        "PrivateUsers": "yes",
        "PrivateMounts": "yes",
        "MemoryMax": "1G",
        "KillMode": "mixed",
        "LimitNOFILE": "8192",
    }
    assert {k: one(s, k) for k in expected} == expected
    assert "CLAIMBRIDGE_STATE_DIR=/var/lib/claimbridge" in s["Environment"]
    # V8's JIT (Chromium's, and node's in Playwright's driver) needs W+X memory: this one must
    # never be switched on for the daemon, and the unit says why.
    assert "MemoryDenyWriteExecute" not in s
    assert "#   MemoryDenyWriteExecute=true" in (SYSTEMD / "claimbridge.service").read_text()
    assert one(unit["Install"], "WantedBy") == "multi-user.target"


def test_simulator_unit_key_settings() -> None:
    unit = parse_unit(SYSTEMD / "claimbridge-sim.service")
    s = unit["Service"]
    assert one(s, "ExecStart").startswith("/opt/claimbridge/.venv/bin/claimbridge-sim ")
    assert "--host 127.0.0.1" in one(s, "ExecStart")
    assert one(s, "DynamicUser") == "true"
    assert one(s, "ProtectSystem") == "strict"


def test_example_config_loads(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("CLAIMBRIDGE_STATE_DIR", "CLAIMBRIDGE_LISTEN", "CLAIMBRIDGE_ICLIENT_URL"):
        monkeypatch.delenv(name, raising=False)
    settings = load_settings(SYSTEMD / "claimbridge.example.toml")
    assert settings.listen == "127.0.0.1:8765"
    assert str(settings.state_dir) == "/var/lib/claimbridge"
    assert settings.terminals["front-desk"].mid == 2187
    assert settings.mqtt.url is None


def _installed_copies(tmp_path: Path) -> list[Path]:
    # systemd-analyze checks that ExecStart= exists: point it at this checkout's venv.
    out = []
    for name in ("claimbridge.service", "claimbridge-sim.service"):
        text = (SYSTEMD / name).read_text().replace("/opt/claimbridge/.venv", str(VENV))
        target = tmp_path / name
        target.write_text(text)
        out.append(target)
    return out


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not installed")
def test_systemd_analyze_verify(tmp_path: Path) -> None:
    units = _installed_copies(tmp_path)
    proc = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", *map(str, units)],
        capture_output=True, text=True, timeout=60, cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert "claimbridge" not in proc.stderr, proc.stderr  # no warnings about our units


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not installed")
def test_systemd_analyze_security_exposure_is_low(tmp_path: Path) -> None:
    # The threshold is on systemd's internal 0-100 scale: 30 means at most 3.0 as printed.
    for unit in _installed_copies(tmp_path):
        proc = subprocess.run(
            ["systemd-analyze", "security", "--offline=true", "--threshold=30", "--no-pager", str(unit)],
            capture_output=True, text=True, timeout=60, cwd=tmp_path,
        )
        if "Unknown option" in proc.stderr or "unrecognized option" in proc.stderr:
            pytest.skip("this systemd-analyze cannot analyse unit files offline")
        assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr
