"""Tests for bridge/cli/doctor_v2.py: doctor signs in to the V2 APIs for real (the simulator's
V2 stand-in, served in this process), and a wrong API key fails it."""

from __future__ import annotations

import os
from pathlib import Path

from aiohttp.test_utils import TestServer

from bridge.cli.doctor_v2 import check_v2
from bridge.config import HealthcodeConfig
from simulator.clock import Clock
from simulator.healthcode import API_KEYS, create_healthcode_app


async def _checks(tmp_path: Path, key: str) -> list[tuple[str, bool, str, str]]:
    import asyncio

    server = TestServer(create_healthcode_app(Clock()))
    await server.start_server()
    try:
        path = tmp_path / "key"
        path.write_text(key + "\n")
        os.chmod(path, 0o600)
        (key_id,) = API_KEYS
        config = HealthcodeConfig(url=str(server.make_url("/")), site_id="SIM001", user_id="claimbridge",
                                  password_file=tmp_path / "pw", api_key_id=key_id, api_key_file=path)
        found: list[tuple[str, bool, str, str]] = []
        # doctor is synchronous (asyncio.run inside): run it off this event loop.
        await asyncio.to_thread(check_v2, lambda *args: found.append(args), config)
        return found
    finally:
        await server.close()


async def test_the_right_key_signs_in_and_a_wrong_one_fails(tmp_path: Path) -> None:
    (key,) = API_KEYS.values()
    [(name, ok, detail, _)] = await _checks(tmp_path, key)
    assert name == "healthcode V2 sign-in" and ok, detail
    [(name, ok, detail, fix)] = await _checks(tmp_path, "wrong-key")
    assert not ok and "refused" in detail and "wrong-key" not in detail + fix


def test_a_missing_key_file_is_named(tmp_path: Path) -> None:
    found: list[tuple[str, bool, str, str]] = []
    config = HealthcodeConfig(url="http://127.0.0.1:1/", site_id="S", user_id="u", password_file=tmp_path / "pw",
                              api_key_id="k", api_key_file=tmp_path / "absent")
    check_v2(lambda *args: found.append(args), config)
    assert found[0][1] is False and "absent" in found[0][2]


