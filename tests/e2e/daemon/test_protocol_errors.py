"""The protocol's edges through a running daemon: auth, JSON-RPC errors, idempotency."""

from __future__ import annotations

import asyncio
import json

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from tests.daemon_harness import RpcError, Running, claim_request

pytestmark = pytest.mark.e2e


async def test_no_token_is_refused_with_401(daemon: Running) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}):
        with pytest.raises(InvalidStatus) as err:
            async with connect(daemon.daemon.url, additional_headers=headers):
                pass
        assert err.value.response.status_code == 401


async def test_browser_subprotocol_token_and_origin_check(daemon: Running) -> None:
    token = daemon.daemon.token
    async with connect(daemon.daemon.url, subprotocols=["claimbridge.v1", f"bearer.{token}"]) as ws:  # type: ignore[list-item]
        assert ws.subprotocol == "claimbridge.v1"
        await ws.send(json.dumps({"jsonrpc": "2.0", "id": 1, "method": "terminal.list"}))
        assert json.loads(await ws.recv())["result"][0]["name"] == "front-desk"
    with pytest.raises(InvalidStatus) as err:
        async with connect(daemon.daemon.url, origin="http://evil.example",  # type: ignore[arg-type]
                           additional_headers={"Authorization": f"Bearer {token}"}):
            pass
    assert err.value.response.status_code == 403


async def test_jsonrpc_envelope_errors(daemon: Running) -> None:
    c = await daemon.client()
    reply = await c.raw('{"jsonrpc": "2.0", "id": 7, "method": 5}')
    assert reply["error"]["code"] == -32600 and reply["id"] == 7
    reply = await c.raw('{"jsonrpc": "2.0", "id": 8, "method": "no.such"}')
    assert reply["error"]["code"] == -32601
    batch = await c.raw(json.dumps([
        {"jsonrpc": "2.0", "id": "a", "method": "terminal.list"},
        {"jsonrpc": "2.0", "method": "terminal.list"},
        {"jsonrpc": "2.0", "id": "b", "method": "job.get", "params": {"jobId": "nope"}},
    ]))
    assert isinstance(batch, list) and {r["id"] for r in batch} == {"a", "b"}
    assert next(r for r in batch if r["id"] == "b")["error"]["code"] == -32002


async def test_parse_error_gets_id_null(daemon: Running) -> None:
    c = await daemon.client()
    c._pending[None] = fut = asyncio.get_running_loop().create_future()  # noqa: SLF001
    await c.ws.send("{not json")
    reply = await asyncio.wait_for(fut, 5)
    assert reply["error"]["code"] == -32700 and reply["id"] is None


async def test_invalid_params_name_every_field_and_change_nothing(daemon: Running) -> None:
    c = await daemon.client()
    bad = claim_request(requestId="bad-1", providerId="123", serviceType="X")
    bad["items"] = [dict(bad["items"][0], patientId="2", serviceDate="2026/11/23")] * 17
    with pytest.raises(RpcError) as err:
        await c.call("healthpoint.claim", bad)
    assert err.value.code == -32602
    fields = {e["field"] for e in err.value.data["errors"]}
    assert {"providerId", "serviceType", "items"} <= fields
    assert await daemon.sim.ledger() == []
    with pytest.raises(RpcError) as err2:
        await c.call("job.get", {"requestId": "bad-1"})
    assert err2.value.code == -32002


async def test_repeated_request_id_returns_the_same_job_once(daemon: Running) -> None:
    c1, c2 = await daemon.client(), await daemon.client()
    params = claim_request(requestId="idem-1")
    first, second = await asyncio.gather(c1.call("healthpoint.claim", params), c2.call("healthpoint.claim", params))
    assert first["jobId"] == second["jobId"] and first["state"] == "completed"
    third = await c1.call("healthpoint.claim", params)
    assert third == await c1.call("job.get", {"jobId": first["jobId"]})
    assert [r["kind"] for r in await daemon.sim.ledger()] == ["claim"]


async def test_request_id_reused_with_another_payload(daemon: Running) -> None:
    c = await daemon.client()
    await c.call("healthpoint.claim", claim_request(requestId="reuse-1"))
    with pytest.raises(RpcError) as err:
        await c.call("healthpoint.claim", claim_request(requestId="reuse-1", providerId="1455813F"))
    assert err.value.code == -32001 and err.value.data["requestId"] == "reuse-1"
    assert len(await daemon.sim.ledger()) == 1


async def test_answer_without_a_question_is_not_allowed(daemon: Running) -> None:
    c = await daemon.client()
    job = await c.call("healthpoint.claim", claim_request(requestId="ans-1"))
    with pytest.raises(RpcError) as err:
        await c.call("job.answer", {"jobId": job["jobId"], "answer": "ACCEPT"})
    # Its own submitter is told the job ended, not that it belongs to another client.
    assert err.value.code == -32004 and err.value.data["reason"] == "jobEnded"


async def test_unknown_job_and_resolve_rules(daemon: Running) -> None:
    c = await daemon.client()
    with pytest.raises(RpcError) as err:
        await c.call("job.get", {"jobId": "missing"})
    assert err.value.code == -32002
    job = await c.call("healthpoint.claim", claim_request(requestId="res-1"))
    with pytest.raises(RpcError) as err2:
        await c.call("job.resolve", {"jobId": job["jobId"], "outcome": "approved", "note": "checked"})
    assert err2.value.code == -32004 and err2.value.data["reason"] == "notUnknown"


async def test_rpc_discover_lists_the_methods(daemon: Running) -> None:
    c = await daemon.client()
    doc = await c.call("rpc.discover")
    names = {m["name"] for m in doc["methods"]}
    assert {"healthpoint.claim", "payment.gap", "job.resolve", "terminal.pair"} <= names


async def test_health_endpoints(daemon: Running) -> None:
    import httpx

    base = f"http://127.0.0.1:{daemon.daemon.server.port}"  # type: ignore[union-attr]
    async with httpx.AsyncClient() as http:
        assert (await http.get(f"{base}/healthz")).status_code == 200
        ready = await http.get(f"{base}/readyz")
        assert ready.status_code == 200 and ready.json()["terminals"] == {"front-desk": True}
    c = await daemon.client()
    health = await c.call("system.health")
    assert health["browser"]["up"] and health["terminals"][0]["paired"]
