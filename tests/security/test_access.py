"""Security: the token guards every connection, browsers are held to their Origin, secrets stay
out of logs and files stay private, and the daemon stays on loopback unless told otherwise."""

from __future__ import annotations

import inspect
import logging
import subprocess
import sys
from pathlib import Path

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from bridge import server
from bridge.config import Settings
from tests.daemon_harness import Running, claim_request

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic abc"}])
async def test_handshake_without_the_token_is_401(daemon: Running, headers: dict[str, str]) -> None:
    with pytest.raises(InvalidStatus) as refused:
        async with connect(daemon.daemon.url, additional_headers=headers):
            pass
    assert refused.value.response.status_code == 401


async def test_subprotocol_token_works_and_a_wrong_one_does_not(daemon: Running) -> None:
    good = [f"bearer.{daemon.daemon.token}", "claimbridge.v1"]
    async with connect(daemon.daemon.url, subprotocols=good) as ws:  # type: ignore[arg-type]
        assert ws.subprotocol == "claimbridge.v1"
    with pytest.raises(InvalidStatus) as refused:
        async with connect(daemon.daemon.url, subprotocols=["bearer.nope", "claimbridge.v1"]):  # type: ignore[list-item]
            pass
    assert refused.value.response.status_code == 401


async def test_a_foreign_page_cannot_drive_the_daemon(daemon: Running) -> None:
    headers = {"Authorization": f"Bearer {daemon.daemon.token}", "Origin": "http://evil.example"}
    with pytest.raises(InvalidStatus) as refused:
        async with connect(daemon.daemon.url, additional_headers=headers):
            pass
    assert refused.value.response.status_code == 403
    own = {"Authorization": f"Bearer {daemon.daemon.token}", "Origin": f"http://127.0.0.1:{daemon.daemon.server.port}"}  # type: ignore[union-attr]
    async with connect(daemon.daemon.url, additional_headers=own):
        pass


def test_token_is_compared_in_constant_time() -> None:
    from bridge import clients

    identify = inspect.getsource(clients.ClientRegistry.identify)
    assert "hmac.compare_digest" in identify and "==" not in identify
    authorise = inspect.getsource(server.WebsocketServer._authorise)
    assert "clients.identify" in authorise and "==" not in authorise


async def test_token_file_is_private_and_never_logged(daemon: Running, caplog: pytest.LogCaptureFixture) -> None:
    token_file = daemon.daemon.state_dir / "token"
    assert token_file.stat().st_mode & 0o777 == 0o600
    caplog.set_level(logging.DEBUG)
    c = await daemon.client()
    job = await c.call("healthpoint.claim", claim_request(requestId="security-log"))
    assert job["state"] == "completed"
    await c.call("system.health")
    token = daemon.daemon.token
    assert caplog.records, "nothing was logged: the check would prove nothing"
    assert token not in caplog.text
    assert all(token not in str(r.args) for r in caplog.records)


def test_loopback_is_the_default() -> None:
    assert Settings().listen_host == "127.0.0.1"


def test_doctor_warns_on_a_lan_listen_without_tls(tmp_path: Path) -> None:
    config = tmp_path / "claimbridge.toml"
    config.write_text(f'listen = "0.0.0.0:1"\nstate_dir = "{tmp_path / "state"}"\niclient_url = "http://127.0.0.1:1/x.js"\n')
    out = subprocess.run(
        [sys.executable, "-c", "from bridge.cli import main; main()", "--config", str(config), "doctor"],
        capture_output=True, text=True, timeout=60,
    )
    assert "without TLS" in out.stdout and "TLS reverse proxy" in out.stdout, out.stdout + out.stderr
    config.write_text(f'listen = "127.0.0.1:1"\nstate_dir = "{tmp_path / "state"}"\niclient_url = "http://127.0.0.1:1/x.js"\n')
    out = subprocess.run(
        [sys.executable, "-c", "from bridge.cli import main; main()", "--config", str(config), "doctor"],
        capture_output=True, text=True, timeout=60,
    )
    assert "without TLS" not in out.stdout
