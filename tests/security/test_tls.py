"""TLS on the one port, with real TLS handshakes against a real daemon (self-signed certificate
made in its state directory): a client that pins the fingerprint connects and claims; one that
does not is refused by its own verification; plain ws:// and http:// are refused; the CLI and
doctor pin it from the config, and the console logs in over https."""

from __future__ import annotations

import asyncio
import ssl
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidMessage

from bridge.cli.rpc import CliError, rpc_call, with_pin
from bridge.config import TlsConfig
from bridge.tls import pinned_context
from tests.daemon_harness import FRONT_DESK, Running, Sim, claim_request, make_settings, start_daemon, stop_daemon

pytestmark = pytest.mark.e2e


@pytest.fixture
async def tls_daemon(tmp_path: Path, sim: Sim) -> AsyncIterator[Running]:
    settings = make_settings(tmp_path / "state", sim, tls=TlsConfig(self_signed=True), transaction_timeout_s=20)
    running = await start_daemon(settings, sim)
    assert (await running.pair(*FRONT_DESK))["status"] == "success"
    yield running
    await stop_daemon(running)


def _port(running: Running) -> int:
    return running.daemon.server.port  # type: ignore[union-attr]


async def test_a_pinning_client_claims_over_wss(tls_daemon: Running) -> None:
    daemon = tls_daemon.daemon
    assert daemon.url.startswith("wss://") and daemon.tls_fingerprint
    assert (daemon.state_dir / "tls" / "cert.pem").is_file()
    pinned = with_pin(daemon.url, daemon.tls_fingerprint)
    answer = await rpc_call(pinned, daemon.token, "healthpoint.claim", claim_request(requestId="tls-1"), timeout=60)
    assert answer["result"]["state"] == "completed", answer
    assert answer["result"]["result"]["result"] == "APPROVED"
    assert [r["kind"] for r in await tls_daemon.sim.ledger()] == ["claim"]


async def test_a_client_that_does_not_pin_is_refused_by_its_own_verification(tls_daemon: Running) -> None:
    daemon = tls_daemon.daemon
    headers = {"Authorization": f"Bearer {daemon.token}"}
    with pytest.raises(ssl.SSLCertVerificationError):
        async with connect(daemon.url, additional_headers=headers, ssl=ssl.create_default_context()):
            pass
    with pytest.raises(CliError) as refused:
        await rpc_call(daemon.url, daemon.token, "system.health", None, timeout=20)
    assert "--fingerprint" in refused.value.line
    wrong = ":".join(["00"] * 32)
    with pytest.raises(CliError) as mismatch:
        await rpc_call(with_pin(daemon.url, wrong), daemon.token, "system.health", None, timeout=20)
    assert "not the one pinned" in mismatch.value.line


async def test_plain_ws_and_http_are_refused(tls_daemon: Running) -> None:
    port = _port(tls_daemon)
    headers = {"Authorization": f"Bearer {tls_daemon.daemon.token}"}
    with pytest.raises((InvalidMessage, ConnectionError, EOFError)):
        async with connect(f"ws://127.0.0.1:{port}/v1", additional_headers=headers, open_timeout=10):
            pass
    async with httpx.AsyncClient(timeout=10) as http:
        with pytest.raises(httpx.HTTPError):
            await http.get(f"http://127.0.0.1:{port}/healthz")


async def test_https_and_the_console_over_the_pinned_certificate(tls_daemon: Running) -> None:
    daemon = tls_daemon.daemon
    port = _port(tls_daemon)
    assert daemon.tls_fingerprint is not None
    context = await pinned_context("127.0.0.1", port, daemon.tls_fingerprint)
    async with httpx.AsyncClient(base_url=f"https://127.0.0.1:{port}", verify=context, timeout=10) as http:
        assert (await http.get("/healthz")).status_code == 200
        login = await http.get("/console/session", headers={"Authorization": f"Bearer {daemon.token}"})
        assert login.status_code == 200
        cookie = login.cookies.get("claimbridge_session")
        assert cookie
    origin = {"Origin": f"https://127.0.0.1:{port}", "Cookie": f"claimbridge_session={cookie}"}
    async with connect(daemon.url, additional_headers=origin, ssl=context) as ws:
        await ws.send('{"jsonrpc":"2.0","id":1,"method":"terminal.list"}')
        assert "front-desk" in str(await asyncio.wait_for(ws.recv(), 10))


async def test_the_cli_and_doctor_pin_the_certificate_from_the_config(tls_daemon: Running, tmp_path: Path) -> None:
    daemon = tls_daemon.daemon
    config = tmp_path / "claimbridge.toml"
    config.write_text(f'listen = "127.0.0.1:{_port(tls_daemon)}"\nstate_dir = "{daemon.state_dir}"\n'
                      f'iclient_url = "{tls_daemon.sim.base}/iclient-v1.js"\n[tls]\nself_signed = true\n')
    cli = [sys.executable, "-c", "from bridge.cli import main; raise SystemExit(main())", "--config", str(config)]
    loop = asyncio.get_running_loop()

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*cli, *args], capture_output=True, text=True, timeout=90)

    called = await loop.run_in_executor(None, run, "call", "terminal.list")
    assert called.returncode == 0 and "front-desk" in called.stdout, called.stderr
    pinned = await loop.run_in_executor(None, run, "call", "system.health", "--fingerprint", "ab" * 32)
    assert pinned.returncode == 3 and "not the one pinned" in pinned.stderr
    doctor = await loop.run_in_executor(None, run, "doctor")
    assert f"SHA-256 fingerprint {daemon.tls_fingerprint}" in doctor.stdout, doctor.stdout
    assert "version" in doctor.stdout and "without TLS" not in doctor.stdout
