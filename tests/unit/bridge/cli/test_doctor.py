"""bridge/cli/doctor.py: every check a line, config failures as [FAIL] lines, never a traceback."""

from pathlib import Path

import pytest

from bridge.cli import main


def _config(tmp_path: Path, listen: str = "127.0.0.1:1", extra: str = "") -> Path:
    cfg = tmp_path / "claimbridge.toml"
    cfg.write_text(
        f'listen = "{listen}"\nstate_dir = "{tmp_path / "state"}"\n'
        'iclient_url = "http://127.0.0.1:1/iclient-v1.js"\n' + extra
    )
    return cfg


def test_doctor_names_each_failure_with_a_fix(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["--config", str(_config(tmp_path)), "doctor"])
    out = capsys.readouterr().out
    assert code == 1
    assert "[FAIL] iClient URL" in out and "fix:" in out
    assert "[ok  ] config" in out
    assert "[skip] daemon: not running here" in out


def test_doctor_warns_about_a_lan_listen_without_tls(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main(["--config", str(_config(tmp_path, "0.0.0.0:8765")), "doctor"])
    out = capsys.readouterr().out
    assert "without TLS" in out and "docs/operations.md" in out


@pytest.mark.parametrize(
    ("text", "key", "rule"),
    [
        ("listen = \n", "", "is not valid TOML"),
        ('iclient_ulr = "http://x"\n', "iclient_ulr", "is not a known setting"),
        ('[terminals.front]\nmid = "abc"\ntid = 1\n', "terminals.front.mid", "must be a whole number"),
        ("[terminals.Front]\nmid = 1\ntid = 1\n", "terminals", "terminal name 'Front'"),
    ],
)
def test_doctor_reports_a_broken_config_as_fail_lines(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, key: str, rule: str
) -> None:
    cfg = tmp_path / "claimbridge.toml"
    cfg.write_text(text)
    code = main(["--config", str(cfg), "doctor"])
    captured = capsys.readouterr()
    assert code == 1
    assert f"[FAIL] config: {cfg}: {key + ': ' if key else ''}" in captured.out
    assert rule in captured.out and "fix:" in captured.out
    assert "Traceback" not in captured.out + captured.err and captured.err == ""


def test_doctor_with_a_missing_config_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["--config", str(tmp_path / "absent.toml"), "doctor"])
    out = capsys.readouterr().out
    assert code == 1 and "[FAIL] config:" in out and "does not exist" in out


def test_doctor_fails_when_healthcode_cannot_be_asked(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pw = tmp_path / "pw"
    pw.write_text("secret")
    pw.chmod(0o600)
    extra = (f'[healthcode]\nurl = "http://127.0.0.1:1/healthcode/"\nsite_id = "S"\nuser_id = "u"\n'
             f'password_file = "{pw}"\n')
    code = main(["--config", str(_config(tmp_path, extra=extra)), "doctor"])
    out = capsys.readouterr().out
    assert code == 1 and "[FAIL] healthcode sign-in: http://127.0.0.1:1/healthcode/: cannot ask Healthcode" in out


def test_doctor_honours_the_simulator_port(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main(["--config", str(_config(tmp_path)), "doctor", "--simulator-port", "1"])
    out = capsys.readouterr().out
    assert "http://127.0.0.1:1/iclient-v1.js" in out
    assert "8730" not in out


def test_doctor_reads_a_health_answer_with_parts_missing_or_of_another_shape(capsys: pytest.CaptureFixture[str]) -> None:
    # system.health is JSON from another process (perhaps another version): a part that is
    # missing or not an object is read as empty, never a traceback.
    from bridge.cli.doctor import _daemon_state, _Report

    report = _Report()
    health: dict[str, object] = {
        "journal": {"ok": True, "message": "journal.db, 3 jobs"}, "browser": "up",
        "terminals": [{"name": "front-desk", "mid": 200, "tid": 1, "paired": True, "busy": False,
                       "pageReady": True}, "not a terminal"],
    }
    _daemon_state(report, "ws://127.0.0.1:1/v1", health)  # nothing listens: /readyz is skipped
    out = capsys.readouterr().out
    assert "[skip] daemon's state: /readyz of ws://127.0.0.1:1/v1 did not answer" in out
    assert "[ok  ] daemon's journal: journal.db, 3 jobs" in out
    assert "[FAIL] daemon's browser: " in out
    assert "[ok  ] daemon's terminal front-desk: mid 200, tid 1: paired, idle" in out
    assert "daemon's terminal None: mid None, tid None: not paired" in out
    assert report.failed
