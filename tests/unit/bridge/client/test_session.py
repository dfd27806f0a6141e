"""bridge/client/session.py without a daemon (the end-to-end cases are tests/e2e/test_client.py)."""

from __future__ import annotations

import asyncio

import pytest

from bridge.client import Client, ConnectionLost, RpcError


def test_only_requests_with_a_request_id_are_resent() -> None:
    client = Client("ws://127.0.0.1:1/v1", "t")
    with pytest.raises(ValueError, match="use call"):
        asyncio.run(client.submit("job.answer", {"jobId": "j", "answer": "ACCEPT"}))


def test_an_error_answer_keeps_code_and_data() -> None:
    err = RpcError({"code": -32005, "message": "Temporarily unavailable", "data": {"reason": "starting", "retryAfterMs": 5}})
    assert err.code == -32005 and err.data["reason"] == "starting"


def test_a_closed_client_does_not_reconnect() -> None:
    async def go() -> None:
        client = Client("ws://127.0.0.1:1/v1", "t", since=41)
        await client.close()
        with pytest.raises(ConnectionLost):
            await client.call("system.health")
        assert client.last_seq == 41

    asyncio.run(go())
