"""bridge/cli/commands.py: argument handling, plain errors and exit codes, without a daemon."""

from pathlib import Path

import pytest

from bridge.cli import main
from bridge.cli.text import EXIT_CODES


def _config(tmp_path: Path, listen: str = "127.0.0.1:1") -> Path:
    cfg = tmp_path / "claimbridge.toml"
    cfg.write_text(
        f'listen = "{listen}"\nstate_dir = "{tmp_path / "state"}"\n'
        'iclient_url = "http://127.0.0.1:1/iclient-v1.js"\n'
    )
    return cfg


def test_call_without_a_token_file_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["--config", str(_config(tmp_path)), "call", "system.health"])
    err = capsys.readouterr().err
    assert code == 3 and "no token file" in err and "make run" in err
    assert len(err.strip().splitlines()) == 1


def test_call_with_bad_json_params(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    token = tmp_path / "token"
    token.write_text("t\n")
    code = main(["--config", str(_config(tmp_path)), "call", "system.health", "{nope", "--token-file", str(token)])
    assert code == 2 and "not valid JSON" in capsys.readouterr().err


def test_call_when_the_daemon_is_down(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    token = tmp_path / "token"
    token.write_text("t\n")
    code = main(["--config", str(_config(tmp_path)), "call", "system.health", "--token-file", str(token)])
    err = capsys.readouterr().err
    assert code == 3 and "no daemon is running at ws://127.0.0.1:1/v1" in err
    assert "Errno" not in err and "Connect call failed" not in err


def test_operator_needs_answer(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["--config", str(_config(tmp_path)), "call", "job.list", "--operator", "alice"])
    assert code == 2 and "--answer" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('iclient_ulr = "x"\n', "iclient_ulr: is not a known setting"),
        ("[terminals.front]\nmid = \"abc\"\ntid = 1\n", "terminals.front.mid: must be a whole number"),
        ("[terminals.Front]\nmid = 1\ntid = 1\n", "terminal name 'Front'"),
        ("listen = \n", "is not valid TOML"),
    ],
)
def test_a_config_that_does_not_load_is_one_plain_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, expected: str
) -> None:
    cfg = tmp_path / "claimbridge.toml"
    cfg.write_text(text)
    code = main(["--config", str(cfg), "jobs"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith(f"claimbridge: config {cfg}") and expected in err and "fix:" in err
    assert "Traceback" not in err and "ValidationError" not in err and len(err.strip().splitlines()) == 1


def test_a_missing_config_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["--config", str(tmp_path / "none.toml"), "call", "system.health"])
    err = capsys.readouterr().err
    assert code == 2 and "does not exist" in err and "--config" in err


def test_run_refuses_a_port_in_use_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import socket

    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        code = main(["--config", str(_config(tmp_path, f"127.0.0.1:{port}")), "run"])
    err = capsys.readouterr().err
    assert code == 1 and f"port {port} (the daemon) is in use" in err and "PORT=" in err
    assert len(err.strip().splitlines()) == 1


def test_help_documents_the_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["call", "--help"])
    out = capsys.readouterr().out
    assert "exit codes:" in out
    for code in EXIT_CODES:
        assert f"  {code}  " in out
    assert "--answer" in out and "--operator" in out and "--json" in out and "--field" in out


def test_operations_md_documents_the_exit_codes() -> None:
    text = (Path(__file__).resolve().parents[4] / "docs" / "operations.md").read_text()
    for code, meaning in EXIT_CODES.items():
        assert f"| {code} | {meaning} |" in text


def test_address_in_use_walks_an_exception_cycle_once() -> None:
    import errno

    from bridge.cli.commands import _address_in_use

    # What the daemon's task group leaves: the error re-raised out of its group has the group as
    # context, and the group holds the error again.
    inner = RuntimeError("the browser did not start")
    group = ExceptionGroup("loops", [inner])
    inner.__context__ = group
    assert _address_in_use(inner) is False

    clash = OSError(errno.EADDRINUSE, "Address already in use")
    outer = RuntimeError("could not serve")
    wrapper = ExceptionGroup("loops", [outer])
    outer.__context__ = wrapper
    outer.__cause__ = clash
    assert _address_in_use(outer) is True


def test_every_option_of_every_command_has_help_and_cites_only_files_in_the_repository() -> None:
    import argparse
    from pathlib import Path

    from bridge.cli.commands import _parser

    root = Path(__file__).resolve().parents[4]
    missing: list[str] = []

    def walk(parser: argparse.ArgumentParser, where: str) -> None:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    walk(sub, f"{where} {name}")
                continue
            if action.help == argparse.SUPPRESS or isinstance(action, argparse._HelpAction):
                continue
            if not action.help:
                missing.append(f"{where} {'/'.join(action.option_strings) or action.dest}")
        for cited in __import__("re").findall(r"[\w/]+\.md", parser.description or ""):
            assert (root / cited).exists(), f"{where} --help cites {cited}, which is not in the repository"

    walk(_parser(), "claimbridge")
    assert missing == []


def test_field_walks_objects_and_arrays_of_the_result() -> None:
    from bridge.cli.commands import _field
    from bridge.cli.rpc import CliError

    result = {"jobs": [{"jobId": "j1", "result": {"paid": 100}}]}
    assert _field(result, "jobs.0.result.paid") == 100
    assert _field(result, "jobs.0") == {"jobId": "j1", "result": {"paid": 100}}
    for missing in ("jobs.1", "jobs.x", "jobs.0.jobId.more", "nope"):
        with pytest.raises(CliError, match="has no field"):
            _field(result, missing)
