"""Record docs/protocol_examples.json: a scripted session against the simulator, every exchange kept.

Usage: ``python docs/record_examples.py`` (a few seconds: it starts the simulator and a
daemon with headless Chromium in this process, on free loopback ports, pairs ``front-desk`` and
replays the session below), then ``python docs/generate_protocol.py`` to render docs/protocol.md.

Nothing in the file is written by hand: each request, notification and answer is what went over
the websocket. Methods added later (``healthpoint.reconcile``, ``payment.refund``,
``healthcode.findMember``, ``healthcode.remittances``) are recorded once the daemon serves them.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from aiohttp import web
from websockets.asyncio.client import ClientConnection, connect

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bridge.config import HealthcodeConfig, Settings, TerminalConfig  # noqa: E402
from bridge.daemon import Daemon  # noqa: E402
from bridge.protocol import METHODS  # noqa: E402
from simulator.app import create_app  # noqa: E402
from simulator.clock import Clock  # noqa: E402

__all__ = ["TARGET", "record"]

TARGET = Path(__file__).resolve().parent / "protocol_examples.json"
FIXTURES = ROOT / "fixtures"
#: A Monday morning in Sydney (10:00 AEDT, 23 November 2026); the simulator's clock runs fast.
NOW = datetime(2026, 11, 22, 23, 0, tzinfo=UTC)
SCALE = 50.0
TODAY = "2026-11-23"
#: Notifications worth showing per exchange (a claim sends a dozen; the docs show one of each).
_SHOWN = ("job.status", "job.question", "terminal.pairing")


class _Recorder:
    """One websocket; each call is kept as ``{params, result | error, notifications}``."""

    def __init__(self, ws: ClientConnection, every_note: list[dict[str, Any]] | None = None) -> None:
        self.ws = ws
        self.every_note = every_note if every_note is not None else []
        self.next_id = 0
        self.methods: dict[str, list[dict[str, Any]]] = {}
        self.errors: list[dict[str, Any]] = []
        self.on_note: Callable[[dict[str, Any]], Any] | None = None
        #: Answers to requests sent with :meth:`send_aside`, by id.
        self.aside: dict[int, dict[str, Any]] = {}
        self.aside_methods: dict[int, str] = {}
        #: (method, response) of every request, kept or not: for tests/e2e/test_schemas.py.
        self.every_answer: list[tuple[str, dict[str, Any]]] = []

    async def send_aside(self, method: str, params: Any) -> int:
        """Send a request while another waits for its answer (``job.answer`` during a claim)."""
        self.next_id += 1
        self.aside_methods[self.next_id] = method
        await self.ws.send(json.dumps({"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params}))
        return self.next_id

    async def _exchange(self, method: str, params: Any) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        self.next_id += 1
        own = self.next_id
        request: dict[str, Any] = {"jsonrpc": "2.0", "id": own, "method": method}
        if params is not None:
            request["params"] = params
        await self.ws.send(json.dumps(request))
        notes: list[dict[str, Any]] = []
        while True:
            message = json.loads(await asyncio.wait_for(self.ws.recv(), 120))
            if "id" not in message:
                notes.append({"method": message["method"], "params": message["params"]})
                self.every_note.append(message)
                if self.on_note is not None:
                    await self.on_note(message)
                continue
            if message["id"] == own:
                self.every_answer.append((method, message))
                return message, notes
            self.aside[message["id"]] = message
            self.every_answer.append((self.aside_methods.get(message["id"], "?"), message))

    async def call(self, method: str, params: Any = None, keep: bool = True) -> Any:
        message, notes = await self._exchange(method, params)
        if "error" in message:
            raise RuntimeError(f"{method} refused while recording: {message['error']}")
        if keep:
            shown: list[dict[str, Any]] = []
            for note in notes:
                if note["method"] in _SHOWN and all(n["method"] != note["method"] for n in shown):
                    shown.append(note)
            entry: dict[str, Any] = {"params": params, "result": message["result"]}
            if shown:
                entry["notifications"] = shown
            self.methods.setdefault(method, []).append(entry)
        return message["result"]

    async def refused(self, title: str, method: str, params: Any) -> None:
        message, _ = await self._exchange(method, params)
        if "error" not in message:
            print(f"{method} was expected to be refused ({title}): {json.dumps(message)[:500]}", file=sys.stderr)
            return
        self.errors.append({"title": title, "method": method, "params": params, "error": message["error"]})


def _claim(request_id: str, on_approved: str = "accept", amounts: tuple[int, ...] = (10000, 10100)) -> dict[str, Any]:
    params: dict[str, Any] = json.loads((FIXTURES / "protocol" / "claim-two-items.json").read_text())
    params["requestId"] = request_id
    params["onApproved"] = on_approved
    codes = ("500", "505", "506")
    params["items"] = [
        {**params["items"][0], "claimAmount": amount, "serviceCode": codes[i], "serviceDate": TODAY}
        for i, amount in enumerate(amounts)
    ]
    params["items"][1:] = [{**item, "description": "Subsequent Consult"} for item in params["items"][1:]]
    return params


def _bill(**changes: Any) -> dict[str, Any]:
    bill: dict[str, Any] = json.loads((FIXTURES / "healthcode" / "bills" / "valid_bupa.json").read_text())
    bill.update(changes)
    return bill


async def _pair(daemon: Daemon, http: httpx.AsyncClient, name: str, mid: int, tid: int) -> None:
    pairing = asyncio.ensure_future(daemon.workers[name].pair(mid, tid))
    while not pairing.done():
        await asyncio.sleep(0.05)
        if (await http.post(f"/_sim/terminals/{mid}/{tid}/authorise")).status_code < 300:
            break
    result = await pairing
    if result["status"] != "success":
        raise RuntimeError(f"pairing {name} failed: {result}")


async def _session(rec: _Recorder, daemon: Daemon, http: httpx.AsyncClient) -> None:
    # --- claims, the gap, a cancel
    claim = await rec.call("healthpoint.claim", _claim("pms-7781-claim"))
    await rec.call("healthpoint.rebateEstimate", {k: v for k, v in _claim("pms-7782-estimate").items()
                                                  if k != "onApproved"})
    await rec.call("payment.gap", {"requestId": "pms-7781-gap", "claimJobId": claim["jobId"]})
    second = await rec.call("healthpoint.claim", _claim("pms-7790-claim", amounts=(8000,)), keep=False)
    await rec.call("healthpoint.cancel", {"requestId": "pms-7790-cancel", "claimJobId": second["jobId"]})

    # --- a question answered by an operator at the desk, and one aborted (on the same
    # connection while the claim waits, as a PMS does)
    async def on_question(claim_params: dict[str, Any], method: str, make: Callable[[dict[str, Any]], Any]) -> None:
        sent: list[tuple[Any, int]] = []

        async def reply(note: dict[str, Any]) -> None:
            if note["method"] == "job.question" and not sent:
                params = make(note["params"])
                sent.append((params, await rec.send_aside(method, params)))

        rec.on_note = reply
        await rec.call("healthpoint.claim", claim_params, keep=False)
        rec.on_note = None
        for params, request_id in sent:
            rec.methods.setdefault(method, []).append({"params": params, "result": rec.aside[request_id]["result"]})

    await on_question(_claim("pms-7795-claim", on_approved="ask", amounts=(6500,)), "job.answer",
                      lambda q: {"jobId": q["jobId"], "answer": q["options"][0], "operator": "alice"})
    await on_question(_claim("pms-7796-claim", on_approved="ask", amounts=(6600,)), "job.abort",
                      lambda q: {"jobId": q["jobId"]})

    # --- an unknown outcome (the fund is silent and the autovoid fails), settled by hand
    unknown = await rec.call("healthpoint.claim", _claim("pms-7801-claim", amounts=(1015,)), keep=False)
    await rec.call("job.resolve", {"jobId": unknown["jobId"], "outcome": "notProcessed",
                                   "note": "Fund's portal shows no claim; patient will pay in full"})
    await rec.call("job.get", {"jobId": claim["jobId"]})
    await rec.call("job.list", {"kind": "cancel", "limit": 5})
    await rec.call("job.list", {"since": 0, "limit": 2})  # catching up: a page, then since: nextSince

    # --- terminals and reports
    await rec.call("terminal.list")
    pairing = asyncio.ensure_future(rec.call("terminal.pair", {"terminal": "back-office", "mid": 2187, "tid": 2}))
    while not pairing.done():
        await asyncio.sleep(0.05)
        if (await http.post("/_sim/terminals/2187/2/authorise")).status_code < 300:
            break
    await pairing
    await rec.call("healthpoint.reconciliation", {"terminal": "front-desk", "date": TODAY, "type": "claims"})
    await rec.call("healthpoint.reconciliation", {"terminal": "front-desk", "date": TODAY, "type": "payments"})
    await rec.call("healthpoint.reconciliation", {"terminal": "front-desk", "date": "2026-11-20", "type": "claims"})
    if "healthpoint.reconcile" in METHODS:
        await rec.call("healthpoint.reconcile", {"terminal": "front-desk", "date": TODAY})
    if "payment.refund" in METHODS:
        gap = rec.methods["payment.gap"][0]["result"]
        await rec.call("payment.refund", {"requestId": "pms-7781-refund", "paymentJobId": gap["jobId"], "amount": 1000})

    # --- Healthcode
    await rec.call("healthcode.checkCredentials")
    await rec.call("healthcode.validate", {"bill": _bill()})
    await rec.call("healthcode.validate", {"bill": _bill(patient={**_bill()["patient"], "membershipNumber": "12"})})
    await rec.call("healthcode.submit", {"requestId": "pms-hc-1001", "bill": _bill()})
    await http.post("/healthcode/_control", json={"timings": {"unprocessed": 3000, "inProcess": 3000,
                                                                "validated": 3000, "awaitingCollection": 3000}})
    other = await rec.call("healthcode.submit", {"requestId": "pms-hc-1002", "bill": _bill(invoiceNumber="INV-1002")},
                           keep=False)
    await rec.call("healthcode.cancel", {"jobId": other["jobId"]})
    await rec.call("healthcode.codes", {"kind": "icd10", "query": "m545", "limit": 3})
    await rec.call("healthcode.codes", {"kind": "isc", "query": "physio", "insurer": "bup", "limit": 3})
    if "healthcode.findMember" in METHODS:
        first = json.loads((ROOT / "simulator" / "healthcode" / "data" / "members.json").read_text())["members"][0]
        await rec.call("healthcode.findMember", {
            "insurer": first["insurer"], "membershipNumber": first["MembershipID"], "lastName": first["FamilyName"],
            "firstName": first["GivenName"], "dateOfBirth": first["DateofBirth"], "postcode": first["Postcode"],
        })
    if "healthcode.remittances" in METHODS:
        await rec.call("healthcode.remittances", {"insurer": "bup", "since": TODAY})
    await rec.call("system.health")
    await rec.call("events.subscribe", {"topics": ["job.updated", "job.status"]})
    await rec.call("events.subscribe", {"topics": ["reconciliation.done"], "since": 0})  # catching up: a replay, then live

    # --- refusals
    await rec.refused("Invalid params: every bad field named", "healthpoint.claim",
                      {"requestId": "pms-bad", "providerId": "2159081W", "serviceType": "P",
                       "items": [{"claimAmount": -5, "serviceCode": "500", "description": "Consult",
                                  "patientId": "02", "serviceDate": "23/11/2026"}]})
    await rec.refused("requestId reused with another payload", "healthpoint.claim",
                      _claim("pms-7781-claim", amounts=(9000,)))
    await rec.refused("Job not found", "job.get", {"jobId": "no-such-job"})
    await rec.refused("Not allowed now (data.reason jobEnded): an answer to a job that has ended", "job.answer",
                      {"jobId": claim["jobId"], "answer": "ACCEPT", "operator": "alice"})
    await rec.refused("Method not found", "healthpoint.refund", {})
    await rec.refused("Not allowed now: a name paired to another TID needs replace", "terminal.pair",
                      {"terminal": "front-desk", "mid": 2187, "tid": 4})
    await rec.call("terminal.unpair", {"terminal": "front-desk"})  # last: the terminal is unpaired from here on


async def record(
    every_note: list[dict[str, Any]] | None = None,
    every_answer: list[tuple[str, dict[str, Any]]] | None = None,
) -> dict[str, Any]:
    """Run the session; return what docs/protocol_examples.json holds.

    Args:
        every_note: Filled with every notification received (the file keeps one of each kind).
        every_answer: Filled with (method, response) of every request sent.
    """
    clock = Clock(NOW, scale=SCALE)
    runner = web.AppRunner(create_app(clock))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    base = f"http://127.0.0.1:{runner.addresses[0][1]}"
    try:
        with tempfile.TemporaryDirectory(prefix="claimbridge-record-") as tmp:
            pw = Path(tmp) / "healthcode-password"
            pw.write_text("healthcode-test\n")
            os.chmod(pw, 0o600)
            key = Path(tmp) / "healthcode-api-key"
            key.write_text("healthcode-v2-test\n")
            os.chmod(key, 0o600)
            settings = Settings(
                state_dir=Path(tmp) / "state", listen="127.0.0.1:0", iclient_url=f"{base}/iclient-v1.js",
                terminals={"front-desk": TerminalConfig(mid=2187, tid=1)}, transaction_timeout_s=30,
                healthcode=HealthcodeConfig(url=f"{base}/healthcode/", site_id="SIM001", user_id="claimbridge",
                                            password_file=pw, api_key_id="claimbridge-v2", api_key_file=key,
                                            poll_initial_s=0.05, poll_max_s=0.2,
                                            retry_initial_s=0.05, retry_max_s=0.2, submit_wait_s=10),
            )
            daemon = Daemon(settings, now=clock.now)
            task = asyncio.get_running_loop().create_task(daemon.run(install_signals=False), name="record.daemon")
            await asyncio.wait_for(daemon.ready.wait(), 60)
            try:
                async with httpx.AsyncClient(base_url=base, timeout=10) as http:
                    await http.post("/healthcode/_control", json={"timings": {
                        "unprocessed": 2, "inProcess": 2, "validated": 2, "awaitingCollection": 2}})
                    await _pair(daemon, http, "front-desk", 2187, 1)
                    headers = {"Authorization": f"Bearer {daemon.token}"}
                    async with connect(daemon.url, additional_headers=headers, max_size=None) as ws:
                        rec = _Recorder(ws, every_note)
                        try:
                            await _session(rec, daemon, http)
                        finally:
                            if every_answer is not None:
                                every_answer.extend(rec.every_answer)
            finally:
                daemon.stop()
                await asyncio.wait_for(task, 60)
    finally:
        await runner.cleanup()
    return {
        "about": "Recorded by docs/record_examples.py against the simulator; do not edit by hand.",
        "methods": dict(sorted(rec.methods.items())),
        "errors": rec.errors,
    }


def main() -> int:
    """Record the session and write docs/protocol_examples.json."""
    examples = asyncio.run(record())
    TARGET.write_text(json.dumps(examples, indent=2, ensure_ascii=False) + "\n")
    missing = sorted(name for name in METHODS if not name.startswith("rpc.") and name not in examples["methods"])
    if missing:
        print(f"no example recorded for: {', '.join(missing)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
