"""bridge/cli.py: argument handling and `doctor`, without a daemon."""

from pathlib import Path

import pytest

from bridge.cli import main


def _config(tmp_path: Path, listen: str = "127.0.0.1:1") -> Path:
    cfg = tmp_path / "claimbridge.toml"
    cfg.write_text(
        f'listen = "{listen}"\nstate_dir = "{tmp_path / "state"}"\n'
        'iclient_url = "http://127.0.0.1:1/iclient-v1.js"\n'
    )
    return cfg


def test_doctor_names_each_failure_with_a_fix(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["--config", str(_config(tmp_path)), "doctor"])
    out = capsys.readouterr().out
    assert code == 1
    assert "[FAIL] iClient URL" in out and "fix:" in out
    assert "[ok  ] config" in out


def test_doctor_warns_about_a_lan_listen_without_tls(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main(["--config", str(_config(tmp_path, "0.0.0.0:8765")), "doctor"])
    out = capsys.readouterr().out
    assert "without TLS" in out and "docs/operations.md" in out


def test_call_without_a_token_file_says_so(tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as err:
        main(["--config", str(_config(tmp_path)), "call", "system.health"])
    assert "token file" in str(err.value)


def test_call_with_bad_json_params(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    token = tmp_path / "token"
    token.write_text("t\n")
    code = main(["--config", str(_config(tmp_path)), "call", "system.health", "{nope", "--token-file", str(token)])
    assert code == 2 and "not valid JSON" in capsys.readouterr().err


def test_call_when_the_daemon_is_down(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    token = tmp_path / "token"
    token.write_text("t\n")
    code = main(["--config", str(_config(tmp_path)), "call", "system.health", "--token-file", str(token)])
    assert code == 1 and "cannot reach the daemon" in capsys.readouterr().err
