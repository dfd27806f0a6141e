"""bridge/browser/pagelink.py: the loopback link to the terminal pages, with a real websocket client
standing in for the page (the host page itself runs in tests/e2e/daemon)."""

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus

from bridge.errors import TerminalError
from bridge.browser.pagelink import PageChannel, PageLink


class Recorder:
    """What the daemon side heard: event batches and whether the link ended."""

    def __init__(self) -> None:
        self.batches: list[tuple[str, list[Any]]] = []
        self.closed = 0
        self.got_batch = asyncio.Event()

    def events(self, op_id: str, batch: list[Any]) -> None:
        self.batches.append((op_id, batch))
        self.got_batch.set()

    def ended(self) -> None:
        self.closed += 1


@pytest.fixture
async def link() -> AsyncIterator[PageLink]:
    async with PageLink() as link:
        yield link


async def _page(link: PageLink, rec: Recorder) -> tuple[ClientConnection, PageChannel]:
    url, channel = link.channel(rec.events, rec.ended)
    ws = await connect(url)
    await channel.wait_connected(5)
    return ws, channel


async def _answer(ws: ClientConnection, reply: dict[str, Any]) -> dict[str, Any]:
    """Read one command as the page and answer it with ``reply`` (plus the command's id)."""
    command = json.loads(await ws.recv())
    await ws.send(json.dumps({"id": command["id"], **reply}))
    return dict(command)


async def test_a_call_gets_the_pages_answer(link: PageLink) -> None:
    rec = Recorder()
    ws, channel = await _page(link, rec)
    assert channel.up
    answering = asyncio.ensure_future(_answer(ws, {"ok": True, "value": True}))
    assert await channel.call("run", ["op-1", "initiateHealthPointClaim", {"mid": 1}, []], 5) is True
    command = await answering
    assert command["cmd"] == "run"
    assert command["args"] == ["op-1", "initiateHealthPointClaim", {"mid": 1}, []]
    await ws.close()


async def test_a_refusal_is_a_terminal_error_with_the_pages_words(link: PageLink) -> None:
    rec = Recorder()
    ws, channel = await _page(link, rec)
    answering = asyncio.ensure_future(_answer(ws, {"ok": False, "error": "Transaction already in progress."}))
    with pytest.raises(TerminalError, match="Transaction already in progress"):
        await channel.call("run", ["op-1", "initiateHealthPointClaim", {}, []], 5)
    await answering
    await ws.close()


async def test_a_page_that_does_not_answer_times_out(link: PageLink) -> None:
    rec = Recorder()
    ws, channel = await _page(link, rec)
    with pytest.raises(TerminalError, match="did not answer within 0.1 s"):
        await channel.call("abort", [], 0.1)
    assert channel.up  # slow is not gone: the liveness probe decides that
    await ws.close()


async def test_pushed_events_reach_the_sink_and_junk_is_ignored(link: PageLink) -> None:
    rec = Recorder()
    ws, channel = await _page(link, rec)
    await ws.send("not json")
    await ws.send(json.dumps([1, 2]))
    await ws.send(json.dumps({"id": 99, "ok": True}))  # a reply nobody waits for
    await ws.send(json.dumps({"op": "op-1", "events": [["status", "Processing"], ["complete", {"result": "APPROVED"}]]}))
    await asyncio.wait_for(rec.got_batch.wait(), 5)
    assert rec.batches == [("op-1", [["status", "Processing"], ["complete", {"result": "APPROVED"}]])]
    assert channel.up
    await ws.close()


async def test_tell_sends_a_command_that_wants_no_reply(link: PageLink) -> None:
    rec = Recorder()
    ws, channel = await _page(link, rec)
    channel.tell("finish", ["op-1"])
    assert json.loads(await asyncio.wait_for(ws.recv(), 5)) == {"cmd": "finish", "args": ["op-1"]}
    await ws.close()


async def test_the_link_ending_fails_waiting_calls_and_is_reported_once(link: PageLink) -> None:
    rec = Recorder()
    ws, channel = await _page(link, rec)
    call = asyncio.ensure_future(channel.call("answer", ["op-1", "ACCEPT"], 5))
    await ws.recv()  # the page got the command, then goes away without answering
    await ws.close()
    with pytest.raises(TerminalError, match="closed"):
        await call
    assert not channel.up
    assert rec.closed == 1
    with pytest.raises(TerminalError, match="down"):
        await channel.call("abort", [], 5)
    channel.tell("finish", ["op-1"])  # lost quietly


async def test_no_page_gets_in_without_its_secret(link: PageLink) -> None:
    url, _channel = link.channel(Recorder().events, Recorder().ended)
    wrong = url[: url.rindex("/") + 1] + "x" * 43
    with pytest.raises(InvalidStatus) as refused:
        await connect(wrong)
    assert refused.value.response.status_code == 403


async def test_a_secret_admits_one_connection(link: PageLink) -> None:
    rec = Recorder()
    url, channel = link.channel(rec.events, rec.ended)
    first = await connect(url)
    await channel.wait_connected(5)
    with pytest.raises(InvalidStatus):
        await connect(url)
    await first.close()


async def test_a_forgotten_page_cannot_connect(link: PageLink) -> None:
    url, channel = link.channel(Recorder().events, Recorder().ended)
    link.forget(channel)
    with pytest.raises(InvalidStatus):
        await connect(url)
    with pytest.raises(TerminalError, match="did not connect"):
        await channel.wait_connected(0.05)


async def test_the_link_listens_on_loopback_only(link: PageLink) -> None:
    url, _channel = link.channel(Recorder().events, Recorder().ended)
    assert url.startswith(f"ws://127.0.0.1:{link.port}/page/")
    assert len(url.rsplit("/", 1)[1]) >= 43  # 32 random bytes, base64url


async def test_no_channel_before_the_link_listens() -> None:
    with pytest.raises(TerminalError, match="not listening"):
        PageLink().channel(Recorder().events, Recorder().ended)


async def test_the_link_deflates_nothing(link: PageLink) -> None:
    """Chromium offers permessage-deflate; on loopback it would only cost both ends time."""
    rec = Recorder()
    url, channel = link.channel(rec.events, rec.ended)
    ws = await connect(url)  # websockets' client offers permessage-deflate by default, as Chromium does
    await channel.wait_connected(5)
    assert ws.response is not None
    assert "Sec-WebSocket-Extensions" not in ws.response.headers
    await ws.close()
