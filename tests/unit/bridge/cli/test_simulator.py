"""bridge/cli/simulator.py: the settings of run --with-simulator."""

from pathlib import Path

from bridge.config import Settings
from bridge.cli.simulator import SIMULATOR_HEALTHCODE, simulator_settings


def test_everything_points_at_the_simulators_port(tmp_path: Path) -> None:
    settings = simulator_settings(Settings(state_dir=tmp_path), 18730)
    assert settings.iclient_url == "http://127.0.0.1:18730/iclient-v1.js"
    assert settings.healthcode.url == "http://127.0.0.1:18730/healthcode/"
    assert set(settings.terminals) == {"front-desk"}
    pw = settings.healthcode.password_file
    assert pw is not None and pw.read_text() == SIMULATOR_HEALTHCODE["password"]
    assert pw.stat().st_mode & 0o777 == 0o600


def test_doctor_reads_without_writing(tmp_path: Path) -> None:
    settings = simulator_settings(Settings(state_dir=tmp_path / "state"), 1, write_password=False)
    assert settings.healthcode.password_file == tmp_path / "state" / "healthcode-password"
    assert not (tmp_path / "state").exists()
