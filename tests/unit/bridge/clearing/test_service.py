"""Tests for bridge/clearing/service.py: its surface and how :class:`HealthcodePart` is built
and opened (the pure helpers are tested in test_jobs.py; the methods end to end in
tests/e2e/test_healthcode_daemon.py)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bridge.config import HealthcodeConfig
from bridge.errors import CannotStart
from bridge.clearing import service
from bridge.hub import Hub
from bridge.journal import Journal


def test_exports_are_public_names_it_defines() -> None:
    assert service.__all__ and all(not name.startswith("_") for name in service.__all__)
    assert all(getattr(service, name).__module__ == service.__name__ for name in service.__all__)


# -- HealthcodePart: built from [healthcode], refuses to start with one plain line ----------------

URL = "http://127.0.0.1:1/healthcode/"


def _part(tmp_path: Path, config: HealthcodeConfig) -> service.HealthcodePart:
    # The journal is never opened: building the part reads only the secret files.
    return service.HealthcodePart(config, Journal(tmp_path / "j.db"), Hub(), lambda: datetime.now(UTC), lambda: True)


def _password(tmp_path: Path, name: str = "pw") -> Path:
    path = tmp_path / name
    path.write_text("s3cret-password\n")
    path.chmod(0o600)
    return path


async def test_an_incomplete_section_names_what_is_missing(tmp_path: Path) -> None:
    with pytest.raises(CannotStart) as refused:
        _part(tmp_path, HealthcodeConfig(url=URL, site_id="SIM001"))
    assert str(refused.value) == "claimbridge: [healthcode] url is set but user_id, password_file is not"


async def test_an_unreadable_password_file_cannot_start(tmp_path: Path) -> None:
    with pytest.raises(CannotStart, match=r"\[healthcode\] password_file .*absent: cannot read it") as refused:
        _part(tmp_path, HealthcodeConfig(url=URL, site_id="S", user_id="u", password_file=tmp_path / "absent"))
    assert "\n" not in str(refused.value)


async def test_member_check_needs_the_v2_key(tmp_path: Path) -> None:
    config = HealthcodeConfig(url=URL, site_id="S", user_id="u", password_file=_password(tmp_path), member_check=True)
    with pytest.raises(CannotStart, match="api_key_id and api_key_file"):
        _part(tmp_path, config)


async def test_the_part_opens_its_clients_and_closes_them(tmp_path: Path) -> None:
    config = HealthcodeConfig(
        url=URL, site_id="S", user_id="u", password_file=_password(tmp_path),
        api_key_id="key-id", api_key_file=_password(tmp_path, "key"),
    )
    part = _part(tmp_path, config)
    assert part.v2 is not None
    assert {"healthcode.submit", "healthcode.cancel", "healthcode.remittances"} <= set(part.methods())
    async with part:
        for client in (part.transport, part.v2):
            with pytest.raises(RuntimeError, match="already open"):
                await client.__aenter__()
    for client in (part.transport, part.v2):  # closed: each may be opened again
        await client.__aenter__()
        await client.__aexit__(None, None, None)
    assert not [t for t in asyncio.all_tasks() if t.get_name().startswith("claimbridge.healthcode")]
