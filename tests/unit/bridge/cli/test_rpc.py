"""bridge/cli/rpc.py: the CLI's websocket client against a real local websocket server."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from websockets.asyncio.server import ServerConnection, serve

from bridge.cli.rpc import Answer, CliError, read_token, rpc_call


def test_a_missing_token_file_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(CliError) as err:
        read_token(tmp_path / "token")
    assert err.value.exit_code == 3 and "make run" in err.value.line


async def test_no_daemon_is_exit_3_in_plain_words() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(CliError) as err:
        await rpc_call(f"ws://127.0.0.1:{port}/v1", "t", "system.health", None)
    assert err.value.exit_code == 3 and "no daemon is running" in err.value.line
    assert "Errno" not in err.value.line


async def test_answer_is_sent_on_the_same_connection_as_the_terminal_spells_it() -> None:
    received: list[dict[str, object]] = []

    async def daemon(ws: ServerConnection) -> None:
        request = json.loads(await ws.recv())
        received.append(request)
        await ws.send(json.dumps({"jsonrpc": "2.0", "method": "job.question",
                                  "params": {"jobId": "j-1", "text": "Accept?", "options": ["ACCEPT", "REJECT"]}}))
        answer = json.loads(await ws.recv())
        received.append(answer)
        await ws.send(json.dumps({"jsonrpc": "2.0", "id": answer["id"], "result": {"accepted": True}}))
        await ws.send(json.dumps({"jsonrpc": "2.0", "id": request["id"], "result": {"jobId": "j-1"}}))

    answered: list[tuple[dict[str, object], dict[str, object]]] = []
    notes: list[dict[str, object]] = []
    async with serve(daemon, "127.0.0.1", 0) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        response = await rpc_call(f"ws://127.0.0.1:{port}/v1", "t", "healthpoint.claim", {"requestId": "r"},
                                  notes.append, timeout=10, answer=Answer("accept", "alice"),
                                  on_answered=lambda sent, reply: answered.append((sent, reply)))
    assert response["result"] == {"jobId": "j-1"}
    assert received[1]["method"] == "job.answer"
    assert received[1]["params"] == {"jobId": "j-1", "answer": "ACCEPT", "operator": "alice"}
    assert answered and answered[0][1]["result"] == {"accepted": True}
    assert [n["method"] for n in notes] == ["job.question"]
