"""Tests for bridge/cli/token.py: `claimbridge token create|revoke` through the real entry point."""

from __future__ import annotations

from pathlib import Path

import pytest

from bridge.cli import main
from bridge.clients import ClientRegistry
from bridge.roles import ClientIdentity, Role


def test_create_prints_the_token_and_revoke_ends_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    state = tmp_path / "state"
    monkeypatch.setenv("CLAIMBRIDGE_STATE_DIR", str(state))
    monkeypatch.chdir(tmp_path)
    assert main(["token", "create", "reception", "--role", "pms"]) == 0
    out, err = capsys.readouterr()
    token = out.strip()
    assert len(out.splitlines()) == 1 and token
    assert "reception" in err and token not in err
    assert (state / "clients" / "reception.token").stat().st_mode & 0o777 == 0o600
    assert ClientRegistry(state).identify(token) == ClientIdentity("reception", Role.PMS)
    assert main(["token", "revoke", "reception"]) == 0
    assert ClientRegistry(state).identify(token) is None


def test_bad_role_and_unknown_client_are_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("CLAIMBRIDGE_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit):
        main(["token", "create", "x", "--role", "admin"])
    capsys.readouterr()
    assert main(["token", "revoke", "nobody"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no client named 'nobody'" in err
