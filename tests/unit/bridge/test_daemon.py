"""bridge/daemon.py: the optional parts are chosen by the settings, in plain code, and a part
that cannot start stops the daemon with one plain line before anything is served."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from bridge.config import HealthcodeConfig, MqttConfig, Settings
from bridge.daemon import Daemon
from bridge.errors import CannotStart

DAEMON = Path(__file__).resolve().parents[3] / "bridge" / "daemon.py"


def test_without_mqtt_or_healthcode_neither_library_is_imported() -> None:
    # A fresh interpreter: this test process may have imported both already.
    code = "import sys, bridge.daemon; print('aiomqtt' in sys.modules, 'httpx' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


def test_parts_are_not_imported_by_name() -> None:
    tree = ast.parse(DAEMON.read_text())
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert not {name for name in imported if name.startswith("importlib") and name != "importlib.metadata"}
    calls = {node.func.attr for node in ast.walk(tree)
             if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)}
    assert "import_module" not in calls


def test_a_bad_broker_url_refuses_at_construction(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="mqtt://"):
        Daemon(Settings(state_dir=tmp_path, mqtt=MqttConfig(url="http://broker.example:1883")))


async def test_an_incomplete_healthcode_section_cannot_start(tmp_path: Path) -> None:
    settings = Settings(state_dir=tmp_path, listen="127.0.0.1:0",
                        healthcode=HealthcodeConfig(url="http://127.0.0.1:1/healthcode/", site_id="SIM001"))
    daemon = Daemon(settings)
    with pytest.raises(CannotStart) as refused:
        await daemon.run(install_signals=False)
    line = str(refused.value)
    assert "user_id, password_file" in line and "\n" not in line
    assert not daemon.listening.is_set()  # refused before the server answered anything
