"""Hostile input: at least 10 000 malformed or adversarial frames against a running daemon.

Every frame gets a JSON-RPC error (notifications: no reply at all), nothing reaches the terminal
(the simulator's ledger stays empty), the daemon stays up and its memory stays flat. The frame
and batch limits are configured small (see conftest.py) and checked exactly.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections import Counter
from contextlib import ExitStack
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from bench.common import SubprocessDaemon
from tests.daemon_harness import claim_request
from tests.fuzz.conftest import MAX_BATCH, MAX_FRAME_BYTES, SimProcess, rss_kib

pytestmark = [pytest.mark.fuzz, pytest.mark.timeout(170)]

TARGET_FRAMES = 10_000
#: Error codes a hostile frame may get; -32603 (internal error) would be a bug found.
ERROR_CODES = {-32700, -32600, -32601, -32602, -32001, -32002, -32003, -32004, -32005}
#: Methods that change something or reach a terminal (reads such as job.list may succeed).
WRITE_METHODS = (
    "healthpoint.claim", "healthpoint.rebateEstimate", "healthpoint.cancel", "payment.gap",
    "job.answer", "job.abort", "job.resolve", "terminal.pair", "healthpoint.reconciliation", "job.get",
)
_ids = itertools.count(1)

json_leaf = (
    st.none() | st.booleans() | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=24)
)
json_value = st.recursive(
    json_leaf, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)
bad_value = st.sampled_from([
    True, -1, 0, 1.5, 10**15, 2**63, -(2**63) - 1, "", "x" * 200, "\u202e\u0000\ud7ff", "٠١", [], {},
])
_CLAIM_KEYS = {"terminal", "requestId", "providerId", "serviceType", "items", "onApproved"}
_READS = {"job.list", "terminal.list", "system.health", "rpc.discover", "events.subscribe"}
# Strategies are built once here, not inside the draws: a strategy built per draw is validated
# afresh every time, which was most of the fuzzer's own cost.
_bad_amount = bad_value.filter(lambda v: v != 0)  # 0: see the report
_bad_request_id = bad_value.filter(lambda v: not (isinstance(v, str) and 0 < len(v) <= 64))
_extra_key = st.text(min_size=1, max_size=12).filter(lambda k: k not in _CLAIM_KEYS)
_garbage = st.text(max_size=200).filter(lambda t: not _is_json(t)) | st.sampled_from(
    ['{"jsonrpc":"2.0"', "[" * 5000, '{"a":NaN}', "Infinity", '{"id":1,}', "\ufeff{}"])
_envelope = st.dictionaries(st.sampled_from(["jsonrpc", "id", "method", "params", "x"]), json_value, max_size=5)
_request_method = st.sampled_from(WRITE_METHODS) | st.text(max_size=40).filter(lambda m: m not in _READS)
_request_params = st.dictionaries(st.text(max_size=12), json_value, max_size=5) | st.lists(json_value, max_size=3)
_notification_method = st.sampled_from(WRITE_METHODS) | st.text(min_size=1, max_size=40)
_notification_params = st.dictionaries(st.text(max_size=8), json_value, max_size=3)
_value = json_leaf | st.lists(json_leaf, min_size=1, max_size=3)


@st.composite
def hostile_claim(draw: st.DrawFn) -> dict[str, Any]:
    """A claim one mutation away from valid: too many items, bad amounts, types, unicode…"""
    params = claim_request(requestId=f"fz-{next(_ids)}")
    params.pop("terminal")
    item = dict(params["items"][0])
    mutation = draw(st.sampled_from(
        ["items-many", "items-none", "item-field", "item-missing", "top-field", "top-missing", "extra-key"]
    ))
    if mutation == "items-many":
        params["items"] = [item] * draw(st.integers(17, 40))
    elif mutation == "items-none":
        params["items"] = draw(st.sampled_from([[], None, {}, "items"]))
    elif mutation == "item-field":
        key = draw(st.sampled_from(["claimAmount", "serviceCode", "description", "patientId", "serviceDate",
                                    "serviceReference"]))
        item[key] = draw(_bad_amount if key == "claimAmount" else bad_value)
        params["items"] = [item]
    elif mutation == "item-missing":
        item.pop(draw(st.sampled_from(["claimAmount", "serviceCode", "patientId", "serviceDate", "description"])))
        params["items"] = [item]
    elif mutation == "top-field":
        key = draw(st.sampled_from(["providerId", "serviceType", "onApproved", "requestId", "terminal"]))
        params[key] = draw(_bad_request_id if key == "requestId" else bad_value)
    elif mutation == "top-missing":
        params.pop(draw(st.sampled_from(["providerId", "serviceType", "items", "requestId"])))
    else:
        params[draw(_extra_key)] = draw(json_leaf)
    return params


_hostile_claim = hostile_claim()
_kind = st.sampled_from(["garbage", "value", "envelope", "request", "claim", "notification", "batch", "big-batch"])


@st.composite
def frame(draw: st.DrawFn) -> tuple[str, str, Any]:
    """(kind, text, expected id) for one frame."""
    kind = draw(_kind)
    rid = f"f{next(_ids)}"
    if kind == "garbage":
        text = draw(_garbage)
        return kind, text, None
    if kind == "value":  # valid JSON but not a request object
        value = draw(_value)
        return ("value-batch" if isinstance(value, list) else kind), json.dumps(value), rid
    if kind == "envelope":  # an object that breaks JSON-RPC's rules
        body = draw(_envelope)
        body.setdefault("id", rid)
        if body.get("jsonrpc") == "2.0" and isinstance(body.get("method"), str):
            body["jsonrpc"] = draw(st.sampled_from(["1.0", 2, None, "2.0 "]))
        return kind, json.dumps(body), body["id"] if isinstance(body["id"], str) else None
    if kind == "request":
        method = draw(_request_method)
        params = draw(_request_params)
        return kind, json.dumps({"jsonrpc": "2.0", "id": rid, "method": method, "params": params}), rid
    if kind == "claim":
        method = draw(st.sampled_from(["healthpoint.claim", "healthpoint.rebateEstimate"]))
        return kind, json.dumps({"jsonrpc": "2.0", "id": rid, "method": method, "params": draw(_hostile_claim)}), rid
    if kind == "notification":
        method = draw(_notification_method)
        params = draw(_hostile_claim) if method == "healthpoint.claim" else draw(_notification_params)
        return kind, json.dumps({"jsonrpc": "2.0", "method": method, "params": params}), None
    size = draw(_big_batch_size if kind == "big-batch" else _batch_size)
    members = [_batch_member(draw(_member_kind), f"{rid}.{i}") for i in range(size)]
    return kind, json.dumps(members), rid


_big_batch_size = st.integers(MAX_BATCH + 1, 3 * MAX_BATCH)
_batch_size = st.integers(1, MAX_BATCH)
_member_kind = st.integers(0, 7)


def _batch_member(kind: int, mid: str) -> Any:
    """One member of a hostile batch: a request, a bad claim, a notification or a non-request."""
    return [
        {"jsonrpc": "2.0", "id": mid, "method": "no.such.method"},
        {"jsonrpc": "2.0", "id": mid, "method": "healthpoint.claim", "params": {"items": [1] * 20}},
        {"jsonrpc": "2.0", "method": "healthpoint.claim", "params": {}},
        1, "junk", None, [], {"id": mid},
    ][kind]


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def _ws(d: SubprocessDaemon) -> ClientConnection:
    """A connection to use in a ``with`` block.

    Keepalive pings are off: their payload comes from the global ``random`` module, drawn in a
    background thread, and Hypothesis takes that for a strategy using ``random``.
    """
    return connect(
        d.url, additional_headers={"Authorization": f"Bearer {d.token}"}, max_size=None, ping_interval=None
    )


def _check_error(msg: Any) -> None:
    assert isinstance(msg, dict) and "result" not in msg and "error" in msg, msg
    assert msg.get("jsonrpc") == "2.0" and msg["error"]["code"] in ERROR_CODES, msg


class Exchange:
    """Sends frames on one connection and checks what comes back, frame by frame.

    The connection stays open across examples: its context is entered here and left by
    :meth:`close` (or when an example fails, before a fresh one is opened).
    """

    def __init__(self, daemon: SubprocessDaemon) -> None:
        self.daemon = daemon
        self._stack = ExitStack()
        self.ws = self._stack.enter_context(_ws(daemon))
        self.sent = 0
        self.sentinels = itertools.count(1)

    def close(self) -> None:
        """Close the connection."""
        self._stack.close()

    def run(self, frames: list[tuple[str, str, Any]]) -> None:
        try:
            self._run(frames)
        except BaseException:
            self.close()  # what was left unread must not spill into the next example
            self.ws = self._stack.enter_context(_ws(self.daemon))
            raise

    def _run(self, frames: list[tuple[str, str, Any]]) -> None:
        expected_errors = 0  # replies with id null (parse errors, invalid values, too-long batches)
        expected_ids: Counter[str] = Counter()
        batches: dict[str, int] = {}
        other_ids = 0
        for kind, text, rid in frames:
            self.ws.send(text)
            self.sent += 1
            if kind in ("garbage", "value", "big-batch"):
                expected_errors += 1
            elif kind == "envelope" and rid is None:
                other_ids += 1  # answered with its own (odd) id echoed, or null
            elif kind == "envelope":
                expected_ids[rid] += 1
            elif kind in ("request", "claim"):
                expected_ids[rid] += 1
            elif kind == "value-batch":
                batches[rid] = len(json.loads(text))
            elif kind == "batch":
                answered = sum(1 for m in json.loads(text) if not (isinstance(m, dict) and "method" in m and "id" not in m))
                if answered:
                    batches[rid] = answered
        sentinel = f"sentinel-{next(self.sentinels)}"
        self.ws.send(json.dumps({"jsonrpc": "2.0", "id": sentinel, "method": "job.get", "params": {"jobId": "none"}}))
        seen_sentinel = False
        while not seen_sentinel or expected_errors or expected_ids or batches or other_ids:
            msg = json.loads(self.ws.recv(timeout=10))
            if isinstance(msg, list):
                assert msg, "an empty batch reply must not be sent"
                prefix = str(msg[0].get("id") or "").split(".")[0] if isinstance(msg[0], dict) else ""
                for m in msg:
                    _check_error(m)
                if prefix in batches:
                    assert len(msg) == batches.pop(prefix), msg
                else:  # a batch made only of invalid members: ids are null
                    key = next(k for k, n in batches.items() if n == len(msg))
                    batches.pop(key)
                continue
            _check_error(msg)
            if msg.get("id") == sentinel:
                assert msg["error"]["code"] == -32002
                seen_sentinel = True
            elif expected_ids[msg.get("id")] > 0:
                expected_ids[msg["id"]] -= 1
                expected_ids += Counter()  # drop zeros
            elif msg.get("id") is None and expected_errors:
                expected_errors -= 1
            elif other_ids:
                other_ids -= 1
            else:
                raise AssertionError(f"unexpected reply {msg} to {frames}")


def test_ten_thousand_hostile_frames(fuzz_daemon: SubprocessDaemon, sim_process: SimProcess) -> None:
    assert fuzz_daemon.proc is not None
    pid = fuzz_daemon.proc.pid
    exchanges: list[Exchange] = []
    try:
        exchanges.extend(Exchange(fuzz_daemon) for _ in range(3))
        warm = [("request", json.dumps({"jsonrpc": "2.0", "id": f"w{i}", "method": "x"}), f"w{i}") for i in range(500)]
        exchanges[0].run(warm)
        rss_before = rss_kib(pid)
        turn = itertools.count()

        # Each example is a run of frames sent back to back and answered together: the cost is
        # one round trip per example, not per frame.
        @settings(max_examples=400, deadline=None, database=None, derandomize=True,
                  suppress_health_check=list(HealthCheck))
        @given(st.lists(frame(), min_size=20, max_size=40))
        def send(frames: list[tuple[str, str, Any]]) -> None:
            if sum(e.sent for e in exchanges) < TARGET_FRAMES:
                exchanges[next(turn) % len(exchanges)].run(frames)

        started = time.monotonic()
        while sum(e.sent for e in exchanges) < TARGET_FRAMES:
            send()
        elapsed = time.monotonic() - started
        total = sum(e.sent for e in exchanges)
        rss_after = rss_kib(pid)
    finally:
        for e in exchanges:
            e.close()
    print(f"{total} hostile frames in {elapsed:.1f} s ({total / elapsed:.0f}/s); daemon RSS {rss_before} KiB -> {rss_after} KiB")
    assert total >= TARGET_FRAMES
    assert sim_process.ledger() == []  # nothing reached the terminal
    assert fuzz_daemon.proc.poll() is None
    assert httpx.get(f"http://127.0.0.1:{fuzz_daemon.port}/healthz").status_code == 200
    assert rss_after - rss_before < 60 * 1024, "the daemon's memory grew by more than 60 MiB"


def test_frame_size_limit_closes_with_1009(fuzz_daemon: SubprocessDaemon) -> None:
    with _ws(fuzz_daemon) as ws:
        ws.send(json.dumps({"jsonrpc": "2.0", "id": 1, "method": "job.get", "params": {"jobId": "x" * (MAX_FRAME_BYTES - 100)}}))
        assert json.loads(ws.recv(timeout=10))["error"]["code"] == -32602  # under the limit: answered
    with _ws(fuzz_daemon) as ws:
        ws.send(json.dumps({"jsonrpc": "2.0", "id": 1, "method": "job.get", "params": {"jobId": "x" * MAX_FRAME_BYTES}}))
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=10)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009


def test_batch_limit(fuzz_daemon: SubprocessDaemon) -> None:
    def batch(n: int) -> str:
        return json.dumps([{"jsonrpc": "2.0", "id": i, "method": "nope"} for i in range(n)])

    with _ws(fuzz_daemon) as ws:
        ws.send(batch(MAX_BATCH))
        replies = json.loads(ws.recv(timeout=10))
        assert sorted(r["id"] for r in replies) == list(range(MAX_BATCH))
        assert {r["error"]["code"] for r in replies} == {-32601}
        ws.send(batch(MAX_BATCH + 1))
        too_long = json.loads(ws.recv(timeout=10))
        assert too_long["id"] is None and too_long["error"]["code"] == -32600


def test_answers_for_another_clients_job_are_refused(fuzz_daemon: SubprocessDaemon, sim_process: SimProcess) -> None:
    async def scenario() -> None:
        async with httpx.AsyncClient(base_url=sim_process.base) as http:
            await http.post("/_sim/scenario", json={"answerTimeoutMs": 600_000})
        owner, other = await fuzz_daemon.client(), await fuzz_daemon.client()
        try:
            params = claim_request(requestId="owned-by-first", onApproved="ask")
            call = asyncio.ensure_future(owner.call("healthpoint.claim", params, timeout=60))
            q = await owner.wait_note(lambda n: n["method"] == "job.question")
            job_id = q["params"]["jobId"]
            refused = await other.request("job.answer", {"jobId": job_id, "answer": "ACCEPT"})
            await owner.call("job.answer", {"jobId": job_id, "answer": "REJECT"})
            await call
            assert refused.get("error", {}).get("code") == -32004, refused
        finally:
            await owner.close()
            await other.close()

    asyncio.run(scenario())
