"""A small cloud PMS: claim on a clinic's terminal through an MQTT 5 broker (claimbridge's fleet link).

Usage:
    python examples/cloud_pms.py --broker mqtt://broker-a:1883 --broker mqtt://broker-b:1883 \
        --site clinic-42 --token-file cloud-pms.token [--username cloud --password-file pw] \
        [--ca-file ca.pem] [--terminal front-desk] [--request-id pms-123] [--timeout 120]

The practice software runs in the cloud and cannot reach the clinic's LAN; the clinic's daemon
connects out to the same broker cluster. This client connects to the first node that answers
(``--broker`` may be given once per node), publishes a JSON-RPC ``healthpoint.claim`` to
``claimbridge/<site>/request`` with an MQTT 5 response topic, correlation data and its client
token (user property ``authorization: Bearer <token>``, a ``pms`` token made on the clinic's
machine with ``claimbridge token create cloud-pms --role pms``), prints the terminal's status
lines from ``claimbridge/<site>/events`` (dropping repeats by ``seq``), answers the patient's
question with ACCEPT, and prints the finished Job as JSON. When no answer comes within
``--timeout`` (its node died, say), it connects again (to the next node if needed) and
re-publishes the same request: the same ``requestId`` is the same job, never a second claim.
Needs only ``aiomqtt`` (``pip install aiomqtt``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import ssl
import sys
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiomqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties


def claim_params(request_id: str, terminal: str) -> dict[str, Any]:
    """A one-item physiotherapy claim (amounts in cents)."""
    return {
        "requestId": request_id,
        "terminal": terminal,
        "providerId": "2159081W",
        "serviceType": "P",
        "onApproved": "ask",
        "items": [{"claimAmount": 10000, "serviceCode": "500", "description": "Assessment Consult",
                   "patientId": "02", "serviceDate": "2026-11-23"}],
    }


class CloudPms:
    """One connection to one broker node, and the claim's conversation over it."""

    def __init__(self, client: aiomqtt.Client, site: str, token: str) -> None:
        self.client = client
        self.site = site
        self.token = token
        self.reply_to = f"pms/{uuid.uuid4().hex}/replies"
        self.answers: dict[bytes, asyncio.Future[dict[str, Any]]] = {}
        self.seen: set[tuple[str, int, str]] = set()
        self.question: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    async def start(self) -> None:
        await self.client.subscribe(self.reply_to, qos=1)
        await self.client.subscribe(f"claimbridge/{self.site}/events", qos=1)

    async def request(self, method: str, params: dict[str, Any]) -> asyncio.Future[dict[str, Any]]:
        """Publish one request; the future is its answer."""
        correlation = uuid.uuid4().bytes
        props = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
        props.ResponseTopic = self.reply_to
        props.CorrelationData = correlation
        props.UserProperty = ("authorization", f"Bearer {self.token}")
        answer: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.answers[correlation] = answer
        body = {"jsonrpc": "2.0", "id": uuid.uuid4().hex, "method": method, "params": params}
        await self.client.publish(f"claimbridge/{self.site}/request", json.dumps(body), qos=1, properties=props)
        return answer

    async def receive(self, job_of: dict[str, str]) -> None:
        """Route answers to their futures; print events of our job (each once)."""
        async for message in self.client.messages:
            payload = json.loads(message.payload if isinstance(message.payload, bytes) else str(message.payload))
            if str(message.topic) == self.reply_to:
                correlation = getattr(message.properties, "CorrelationData", None)
                future = self.answers.pop(bytes(correlation), None) if correlation is not None else None
                if future is not None and not future.done():
                    future.set_result(payload)
                continue
            params = payload.get("params") or {}
            job_id = params.get("jobId") or (params.get("job") or {}).get("jobId")
            if job_id is None or job_id != job_of.get("jobId"):
                if payload.get("method") == "job.updated" and (params.get("job") or {}).get("requestId") == job_of["requestId"]:
                    job_of["jobId"] = params["job"]["jobId"]  # our job's id, learnt from its first event
                else:
                    continue
            key = (str(payload.get("method")), int(params.get("seq") or 0), str(params.get("message", "")))
            if key in self.seen:
                continue  # the same event again (sent through another node after one died)
            self.seen.add(key)
            if payload["method"] == "job.status":
                print(f"terminal: {params['message']}", file=sys.stderr, flush=True)
            elif payload["method"] == "job.question":
                await self.question.put(params)


def _client(url: str, args: argparse.Namespace) -> aiomqtt.Client:
    parts = urlsplit(url)
    tls = None
    if parts.scheme == "mqtts":
        tls = ssl.create_default_context(cafile=args.ca_file)
    password = Path(args.password_file).read_text().strip() if args.password_file else None
    return aiomqtt.Client(parts.hostname or "127.0.0.1", parts.port or (8883 if tls else 1883),
                          username=args.username, password=password, protocol=aiomqtt.ProtocolVersion.V5,
                          identifier=f"cloud-pms-{uuid.uuid4().hex[:8]}", tls_context=tls, timeout=10)


async def claim_once(client: aiomqtt.Client, args: argparse.Namespace, token: str) -> dict[str, Any]:
    """On one node: send the claim (or send it again), answer its question, return the Job."""
    pms = CloudPms(client, args.site, token)
    await pms.start()
    job_of = {"requestId": args.request_id}
    reader = asyncio.create_task(pms.receive(job_of))
    try:
        answer = await pms.request("healthpoint.claim", claim_params(args.request_id, args.terminal))
        while not answer.done():
            asker = asyncio.ensure_future(pms.question.get())
            await asyncio.wait({answer, asker, reader}, timeout=args.timeout, return_when=asyncio.FIRST_COMPLETED)
            if reader.done():
                reader.result()  # the connection ended: raise its error
            if asker.done():
                q = asker.result()
                print(f"question: {q['text']} {q['options']} -> ACCEPT", file=sys.stderr, flush=True)
                await pms.request("job.answer", {"jobId": q["jobId"], "answer": "ACCEPT"})
            else:
                asker.cancel()
                if not answer.done():
                    raise TimeoutError(f"no answer within {args.timeout} s")
        reply = answer.result()
        if "error" in reply:
            raise RuntimeError(f"claim refused: {reply['error']}")
        job: dict[str, Any] = reply["result"]
        return job
    finally:
        reader.cancel()


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    token = Path(args.token_file).read_text().strip()
    for attempt in range(args.attempts):
        url = args.broker[attempt % len(args.broker)]
        try:
            async with _client(url, args) as client:
                return await claim_once(client, args, token)
        except (aiomqtt.MqttError, TimeoutError, OSError) as exc:
            print(f"{url}: {exc}; sending the same request again", file=sys.stderr, flush=True)
            await asyncio.sleep(min(2 ** attempt, 10) * 0.2)
    raise RuntimeError(f"no answer after {args.attempts} attempts")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--broker", action="append", required=True, help="mqtt[s]://host:port, once per node")
    parser.add_argument("--site", required=True)
    parser.add_argument("--token-file", required=True, help="the clinic's client token for this PMS (role pms)")
    parser.add_argument("--username")
    parser.add_argument("--password-file")
    parser.add_argument("--ca-file")
    parser.add_argument("--terminal", default="front-desk")
    parser.add_argument("--request-id", default=f"cloud-{uuid.uuid4().hex[:12]}")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for the answer before asking again")
    parser.add_argument("--attempts", type=int, default=6)
    args = parser.parse_args()
    job = asyncio.run(main_async(args))
    print(json.dumps(job), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
