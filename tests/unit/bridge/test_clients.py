"""Tests for bridge/clients.py: token files, the registry, revocation noticed on change."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bridge.clients import ClientRegistry, create_client, read_registry, revoke_client
from bridge.roles import DEFAULT_CLIENT, ClientIdentity, Role


def _state(tmp_path: Path) -> Path:
    state = tmp_path / "state"
    state.mkdir(mode=0o700)
    (state / "token").write_text("engineer-token\n")
    return state


def test_the_default_token_is_the_engineer(tmp_path: Path) -> None:
    registry = ClientRegistry(_state(tmp_path))
    assert registry.identify("engineer-token") == DEFAULT_CLIENT
    assert registry.identify("nope") is None and registry.identify("") is None and registry.identify(None) is None


def test_created_client_gets_a_private_file_and_its_role(tmp_path: Path) -> None:
    state = _state(tmp_path)
    token, path = create_client(state, "desk-pms", Role.PMS, {})
    assert path == state / "clients" / "desk-pms.token"
    assert path.read_text().strip() == token and len(token) >= 40
    assert path.stat().st_mode & 0o777 == 0o600
    assert (state / "clients.json").stat().st_mode & 0o777 == 0o600
    assert (state / "clients").stat().st_mode & 0o777 == 0o700
    assert ClientRegistry(state).identify(token) == ClientIdentity("desk-pms", Role.PMS)
    assert json.loads((state / "clients.json").read_text())["clients"] == {"desk-pms": {"role": "pms"}}


def test_configured_clients_read_their_token_files(tmp_path: Path) -> None:
    state = _state(tmp_path)
    dash = tmp_path / "dash.token"
    dash.write_text("dash-token\n")
    registry = ClientRegistry(state, {"dash": (dash, Role.READONLY), "gone": (tmp_path / "missing", Role.PMS)})
    assert registry.identify("dash-token") == ClientIdentity("dash", Role.READONLY)
    assert ("gone", "pms") not in registry.names()


def test_a_revoked_client_is_noticed_and_the_callback_runs(tmp_path: Path) -> None:
    state = _state(tmp_path)
    calls: list[int] = []
    registry = ClientRegistry(state, on_change=lambda: calls.append(1))
    assert registry.check() is False and calls == []
    token, _ = create_client(state, "desk", Role.PMS, {})
    assert registry.check() is True and calls == [1]
    assert registry.identify(token) is not None
    assert "revoked" in revoke_client(state, "desk", {})
    assert not (state / "clients" / "desk.token").exists()
    assert registry.check() is True and calls == [1, 1]
    assert registry.identify(token) is None


def test_revoking_a_configured_client_lists_it_as_revoked(tmp_path: Path) -> None:
    state = _state(tmp_path)
    dash = tmp_path / "dash.token"
    dash.write_text("dash-token\n")
    configured = {"dash": (dash, Role.READONLY)}
    revoke_client(state, "dash", configured)
    assert read_registry(state).revoked == {"dash"}
    assert ClientRegistry(state, configured).identify("dash-token") is None
    assert dash.exists(), "the config's own file is left alone"


@pytest.mark.parametrize("name", ["", "a/b", "x" * 65, "engineer"])
def test_bad_or_taken_names_are_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(ValueError):
        create_client(_state(tmp_path), name, Role.PMS, {})


def test_a_config_name_is_refused_and_revoking_nobody_says_so(tmp_path: Path) -> None:
    state = _state(tmp_path)
    with pytest.raises(ValueError, match=r"\[clients.dash\]"):
        create_client(state, "dash", Role.PMS, {"dash": object()})
    with pytest.raises(ValueError, match="no client named"):
        revoke_client(state, "nobody", {})
    with pytest.raises(ValueError):
        revoke_client(state, "engineer", {})


def test_two_clients_with_one_token_are_both_refused_for_the_second(tmp_path: Path) -> None:
    state = _state(tmp_path)
    same = tmp_path / "same.token"
    same.write_text("engineer-token\n")
    registry = ClientRegistry(state, {"copy": (same, Role.READONLY)})
    assert registry.identify("engineer-token") == DEFAULT_CLIENT


def test_a_damaged_registry_keeps_the_clients_known_before(tmp_path: Path) -> None:
    state = _state(tmp_path)
    token, _ = create_client(state, "desk", Role.PMS, {})
    registry = ClientRegistry(state)
    (state / "clients.json").write_text("{not json")
    assert registry.check() is False
    assert registry.identify(token) is not None
