"""A minimal practice-management client for claimbridge: make one HealthPoint claim.

Usage:
    python examples/pms_client.py [--url ws://127.0.0.1:8765/v1] [--token-file var/token] \
        [--terminal front-desk] [--request-id pms-123]

It connects with the bearer token, subscribes to nothing (the claim's own notifications come
anyway), prints each status line and question, answers the patient's question with ACCEPT,
and prints the finished Job as JSON. Re-running with the same --request-id returns the same
job: claimbridge never sends a claim twice. Needs only the ``websockets`` package.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import sys
from pathlib import Path
from typing import Any

from websockets.asyncio.client import connect


async def claim(url: str, token: str, terminal: str, request_id: str) -> dict[str, Any]:
    """Send a two-item claim and follow it to its end; return the Job."""
    ids = itertools.count(1)
    params = {
        "requestId": request_id,
        "terminal": terminal,
        "providerId": "2159081W",
        "serviceType": "P",
        "onApproved": "ask",
        "items": [
            {"claimAmount": 10000, "serviceCode": "500", "description": "Assessment Consult",
             "patientId": "02", "serviceDate": "2026-11-23"},
        ],
    }
    async with connect(url, additional_headers={"Authorization": f"Bearer {token}"}) as ws:
        claim_id = next(ids)
        await ws.send(json.dumps({"jsonrpc": "2.0", "id": claim_id, "method": "healthpoint.claim", "params": params}))
        async for frame in ws:
            message = json.loads(frame)
            method = message.get("method")
            if method == "job.status":
                print(f"terminal: {message['params']['message']}", flush=True)
            elif method == "job.question":
                q = message["params"]
                print(f"question: {q['text']} {q['options']} -> ACCEPT", flush=True)
                answer = {"jobId": q["jobId"], "answer": "ACCEPT"}
                await ws.send(json.dumps({"jsonrpc": "2.0", "id": next(ids), "method": "job.answer", "params": answer}))
            elif message.get("id") == claim_id:
                if "error" in message:
                    raise RuntimeError(f"claim refused: {message['error']}")
                job: dict[str, Any] = message["result"]
                return job
    raise RuntimeError("the daemon closed the connection")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="ws://127.0.0.1:8765/v1")
    parser.add_argument("--token-file", default="var/token")
    parser.add_argument("--terminal", default="front-desk")
    parser.add_argument("--request-id", default="example-python-1")
    args = parser.parse_args()
    token = Path(args.token_file).read_text().strip()
    job = asyncio.run(claim(args.url, token, args.terminal, args.request_id))
    print(json.dumps(job), flush=True)
    result = job.get("result") or {}
    print(f"{job['state']}: {result.get('result')} benefit {result.get('totalBenefit')} gap {result.get('gap')} (cents)",
          file=sys.stderr)
    return 0 if job["state"] == "completed" else 1


if __name__ == "__main__":
    raise SystemExit(main())
