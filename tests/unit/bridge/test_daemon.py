"""bridge/daemon.py's helpers and bridge/parts.py: the token file and which parts a config turns on."""

import stat
from pathlib import Path

import pytest

from bridge.config import HealthcodeConfig, MqttConfig, Settings
from bridge.daemon import _split_listen, ensure_token
from bridge.parts import PARTS


def test_token_created_once_with_mode_0600(tmp_path: Path) -> None:
    path = tmp_path / "state" / "token"
    token = ensure_token(path)
    assert len(token) >= 32 and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert ensure_token(path) == token


def test_a_too_open_token_file_is_tightened(tmp_path: Path) -> None:
    path = tmp_path / "token"
    path.write_text("existing-token-value\n")
    path.chmod(0o644)
    assert ensure_token(path) == "existing-token-value"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


@pytest.mark.parametrize(("listen", "expected"), [
    ("127.0.0.1:8765", ("127.0.0.1", 8765)), ("[::1]:9000", ("::1", 9000)), (":8765", ("127.0.0.1", 8765)),
])
def test_split_listen(listen: str, expected: tuple[str, int]) -> None:
    assert _split_listen(listen) == expected


def test_optional_parts_follow_the_settings(tmp_path: Path) -> None:
    wanted = {name: on for name, on in PARTS}
    plain = Settings(state_dir=tmp_path)
    assert not wanted["bridge.mqtt.link"](plain) and not wanted["bridge.healthcode.service"](plain)
    assert wanted["bridge.observability"](plain) and wanted["bridge.console"](plain)
    full = Settings(state_dir=tmp_path, mqtt=MqttConfig(url="mqtt://127.0.0.1:1883"),
                    healthcode=HealthcodeConfig(url="http://127.0.0.1:1/healthcode/"))
    assert wanted["bridge.mqtt.link"](full) and wanted["bridge.healthcode.service"](full)


def test_a_port_in_use_cannot_be_bound_and_says_so_in_one_line() -> None:
    import socket

    from bridge.daemon import _bind
    from bridge.errors import CannotStart

    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    try:
        with pytest.raises(CannotStart) as refused:
            _bind("127.0.0.1", taken.getsockname()[1])
        line = str(refused.value)
        assert str(taken.getsockname()[1]) in line and "\n" not in line
    finally:
        taken.close()
