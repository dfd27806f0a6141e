"""Clients with roles, over real websockets against a real daemon and the simulator: each role's
methods, -32006 changing nothing, `by` in history, the console for engineers only, and a
revoked token's open connection closed at once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from bridge.clients import create_client, revoke_client
from bridge.config import ClientConfig
from bridge.roles import Role
from tests.daemon_harness import FRONT_DESK, RpcError, Running, Sim, claim_request, make_settings, start_daemon, stop_daemon

pytestmark = pytest.mark.e2e


@pytest.fixture
async def clinic(tmp_path: Path, sim: Sim) -> AsyncIterator[tuple[Running, dict[str, str]]]:
    """A daemon with a readonly dashboard and a PMS from the config; front-desk paired."""
    tokens = {"dash": "dash-token-" + "d" * 32, "desk": "desk-token-" + "p" * 32}
    clients = {}
    for name, role in (("dash", "readonly"), ("desk", "pms")):
        path = tmp_path / f"{name}.token"
        path.write_text(tokens[name] + "\n")
        clients[name] = ClientConfig(token_file=path, role=role)  # type: ignore[arg-type]
    running = await start_daemon(make_settings(tmp_path / "state", sim, clients=clients, transaction_timeout_s=20), sim)
    assert (await running.pair(*FRONT_DESK))["status"] == "success"
    yield running, tokens
    await stop_daemon(running)


async def _refused(call: asyncio.Future[object] | object, role: str, method: str) -> None:
    with pytest.raises(RpcError) as refused:
        await call  # type: ignore[misc]
    assert refused.value.code == -32006, refused.value.error
    assert refused.value.data == {"role": role, "method": method}


async def test_readonly_reads_and_is_refused_everything_else(clinic: tuple[Running, dict[str, str]]) -> None:
    running, tokens = clinic
    dash = await running.client(tokens["dash"])
    assert await dash.call("job.list") == []
    assert [t["name"] for t in await dash.call("terminal.list")] == ["front-desk"]
    assert (await dash.call("system.health"))["version"]
    assert await dash.call("events.subscribe", {"topics": ["job.updated"]})
    await _refused(dash.call("healthpoint.claim", claim_request(requestId="ro-1")), "readonly", "healthpoint.claim")
    await _refused(dash.call("terminal.pair", {"terminal": "x", "mid": 1, "tid": 1}), "readonly", "terminal.pair")
    await _refused(dash.call("healthcode.validate", {"bill": {}}), "readonly", "healthcode.validate")
    # Nothing changed: no job, nothing reached the fund, no terminal made.
    assert await dash.call("job.list") == []
    assert await running.sim.ledger() == []
    assert [t["name"] for t in await dash.call("terminal.list")] == ["front-desk"]
    with pytest.raises(RpcError) as missing:
        await dash.call("job.get", {"requestId": "ro-1"})
    assert missing.value.code == -32002


async def test_pms_claims_answers_its_own_jobs_and_history_names_it(clinic: tuple[Running, dict[str, str]]) -> None:
    running, tokens = clinic
    desk = await running.client(tokens["desk"])
    call = asyncio.ensure_future(desk.call("healthpoint.claim", claim_request(requestId="pms-1", onApproved="ask")))
    q = await desk.wait_note(lambda n: n["method"] == "job.question")
    job_id = q["params"]["jobId"]
    # Answering as an operator is an engineer's: refused, and the question is still pending.
    await _refused(desk.call("job.answer", {"jobId": job_id, "answer": "ACCEPT", "operator": "Reception"}),
                   "pms", "job.answer")
    assert (await desk.call("job.get", {"jobId": job_id}))["question"] is not None
    assert await desk.call("job.answer", {"jobId": job_id, "answer": "ACCEPT"}) == {"accepted": True}
    job = await call
    assert job["result"]["result"] == "APPROVED"
    history = (await desk.call("job.get", {"jobId": job_id, "history": True}))["history"]
    assert history[0]["state"] == "queued" and history[0]["by"] == "desk"
    assert next(e for e in history if e["event"] == "answer")["by"] == "desk"
    # Engineer-only methods are refused and change nothing.
    await _refused(desk.call("job.resolve", {"jobId": job_id, "outcome": "approved", "note": "x"}), "pms", "job.resolve")
    await _refused(desk.call("healthpoint.reconcile", {"terminal": "front-desk", "date": "2026-11-23"}),
                   "pms", "healthpoint.reconcile")
    await _refused(desk.call("terminal.pair", {"terminal": "new-one", "mid": 5, "tid": 5}), "pms", "terminal.pair")
    assert [t["name"] for t in await desk.call("terminal.list")] == ["front-desk"]
    assert (await desk.call("job.get", {"jobId": job_id}))["state"] == "completed"
    assert [r["kind"] for r in await running.sim.ledger()] == ["claim"]


async def test_a_pms_cannot_answer_another_clients_job_but_an_engineer_operator_can(
    clinic: tuple[Running, dict[str, str]],
) -> None:
    running, tokens = clinic
    engineer = await running.client()
    call = asyncio.ensure_future(engineer.call("healthpoint.claim", claim_request(requestId="eng-1", onApproved="ask")))
    q = await engineer.wait_note(lambda n: n["method"] == "job.question")
    job_id = q["params"]["jobId"]
    desk = await running.client(tokens["desk"])
    with pytest.raises(RpcError) as refused:
        await desk.call("job.answer", {"jobId": job_id, "answer": "REJECT"})
    assert refused.value.code == -32004
    console = await running.client()
    answer = {"jobId": job_id, "answer": "Reject", "operator": "Dr Jones"}
    assert await console.call("job.answer", answer) == {"accepted": True}
    assert (await call)["result"]["result"] == "CANCELLED"
    history = (await desk.call("job.get", {"jobId": job_id, "history": True}))["history"]
    assert history[0]["by"] == "engineer"
    assert next(e for e in history if e["event"] == "answer")["by"] == "Dr Jones via engineer"


async def test_the_console_is_for_engineers(clinic: tuple[Running, dict[str, str]]) -> None:
    running, tokens = clinic
    port = running.daemon.server.port  # type: ignore[union-attr]
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
        pms = await http.get("/console/session", headers={"Authorization": f"Bearer {tokens['desk']}"})
        assert pms.status_code == 403 and "set-cookie" not in pms.headers
        engineer = await http.get("/console/session", headers={"Authorization": f"Bearer {running.daemon.token}"})
        assert engineer.status_code == 200 and engineer.json()["client"] == "engineer"


async def test_a_revoked_token_closes_its_open_connection_at_once(clinic: tuple[Running, dict[str, str]]) -> None:
    running, _tokens = clinic
    state = running.daemon.state_dir
    token, _ = create_client(state, "laptop", Role.PMS, {})
    ws = None
    for _ in range(50):  # the daemon looks at the files twice a second
        try:
            ws = await connect(running.daemon.url, additional_headers={"Authorization": f"Bearer {token}"})
            break
        except InvalidStatus:
            await asyncio.sleep(0.1)
    assert ws is not None, "the created token was never accepted"
    await ws.send('{"jsonrpc":"2.0","id":1,"method":"job.list"}')
    assert '"result"' in str(await ws.recv())
    revoke_client(state, "laptop", {})
    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(ConnectionClosed) as closed:
        await asyncio.wait_for(ws.recv(), 5)
    assert loop.time() - started < 2.0
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
    with pytest.raises(InvalidStatus) as refused:
        async with connect(running.daemon.url, additional_headers={"Authorization": f"Bearer {token}"}):
            pass
    assert refused.value.response.status_code == 401


async def test_a_pms_submits_a_healthcode_bill_and_history_names_it(tmp_path: Path, sim: Sim) -> None:
    from tests.healthcode_harness import FAST, bill, control, hc_config, password_file

    await control(sim, {"timings": FAST})
    token = "hc-pms-token-" + "h" * 32
    (tmp_path / "hc.token").write_text(token + "\n")
    settings = make_settings(tmp_path / "state", sim, healthcode=hc_config(sim, password_file(tmp_path)),
                             clients={"billing": ClientConfig(token_file=tmp_path / "hc.token", role="pms")})
    running = await start_daemon(settings, sim)
    try:
        c = await running.client(token)
        job = await c.call("healthcode.submit", {"requestId": "hc-by-1", "bill": bill()})
        history = (await c.call("job.get", {"jobId": job["jobId"], "history": True}))["history"]
        assert history[0]["by"] == "billing"
    finally:
        await stop_daemon(running)
