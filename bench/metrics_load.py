"""Claim latency while Prometheus scrapers hammer ``/metrics``, with 100,000 jobs in the journal.

A daemon process (its own simulator, zero card and fund delay) gets a journal of ``--jobs`` jobs
(one real claim, copied in bulk straight into the SQLite file while the daemon is stopped; one in
a hundred left ``unknown``, so the waiting-jobs figures have work too), then claims are timed in
rounds: without scrapers, then with ``--scrapers`` clients each fetching ``/metrics`` in a loop
(in another process, so they do not share the timing client's event loop), alternating.

Run ``python -m bench.metrics_load [--jobs 100000] [--scrapers 20] [--claims 30] [--rounds 3]``
from the project root. Prints the claim p50 with and without scrapers per round, the median
ratio, and the scrapes per second the daemon served. Goal: with scrapers, p50 at most 10% slower.
``--path /healthz`` puts the same load on an endpoint that reads nothing: what is left beside
it is the cost of the scrapers' own requests on a shared machine; ``--scrapers 0`` runs the same
rounds with nothing scraping: the spread of the ratio on this machine (its noise floor).
Asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import SubprocessDaemon, default_terminals, running_sim
from bench.latency import percentile
from tests.daemon_harness import Client, RpcError, Sim, claim_request

__all__ = ["fill_journal", "main"]

_SCRAPER = """
import asyncio, sys, time
import httpx

async def scrape(url, stop_at, counts):
    async with httpx.AsyncClient(timeout=30) as http:
        while time.monotonic() < stop_at:
            r = await http.get(url)
            r.raise_for_status()
            counts.append(1)

async def main(url, clients, seconds):
    counts = []
    stop_at = time.monotonic() + seconds
    await asyncio.gather(*(scrape(url, stop_at, counts) for _ in range(clients)))
    print(len(counts) / seconds)

asyncio.run(main(sys.argv[1], int(sys.argv[2]), float(sys.argv[3])))
"""


def fill_journal(db: Path, jobs: int) -> None:
    """Copy the journal's one claim until it holds ``jobs`` jobs (1 in 100 ``unknown``)."""
    conn = sqlite3.connect(db)
    try:
        conn.row_factory = sqlite3.Row
        template = dict(conn.execute("SELECT * FROM jobs WHERE kind = 'claim' LIMIT 1").fetchone())
        start = int(conn.execute("SELECT COALESCE(MAX(seq), 0) FROM jobs").fetchone()[0])
        have = int(conn.execute("SELECT COUNT(*) FROM jobs").fetchone()[0])
        columns = list(template)
        rows, events = [], []
        for n in range(jobs - have):
            job_id = str(uuid.uuid4())
            row = {**template, "job_id": job_id, "request_id": f"bulk-{n}", "seq": start + n + 1}
            if n % 100 == 0:
                row["state"] = "unknown"
                events.append((job_id, row["updated_at"], "running", "unknown", "state"))
            rows.append(tuple(row[c] for c in columns))
        with conn:
            conn.executemany(f"INSERT INTO jobs ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})", rows)
            conn.executemany("INSERT INTO job_events (job_id, at, from_state, to_state, event) VALUES (?, ?, ?, ?, ?)",
                             events)
            if conn.execute("SELECT COUNT(*) FROM sqlite_master WHERE name = 'meta'").fetchone()[0]:
                conn.execute("UPDATE meta SET seq = (SELECT MAX(seq) FROM jobs)")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()


async def _claims(client: Client, sim: Sim, prefix: str, count: int) -> list[float]:
    times = []
    for i in range(count):
        await sim.scenario(cardDelayMs=0, fundDelayMs=0)
        for _ in range(20):  # -32005 (the terminal's page being replaced, say): try again, timed afresh
            start = time.perf_counter()
            try:
                job = await client.call("healthpoint.claim", claim_request(requestId=f"{prefix}-{i}"))
                break
            except RpcError as exc:
                if exc.code != -32005:
                    raise
                print(f"  {prefix}-{i}: -32005 {exc.data.get('reason') if isinstance(exc.data, dict) else ''}; again",
                      flush=True)
                await asyncio.sleep(0.5)
        times.append(time.perf_counter() - start)
        if job["result"]["result"] != "APPROVED":
            raise RuntimeError(f"claim not approved: {job}")
    return times


async def _main(jobs: int, scrapers: int, claims: int, rounds: int, path: str) -> None:
    with tempfile.TemporaryDirectory(prefix="claimbridge-metrics-load-") as tmp:
        async with running_sim(scale=50.0) as sim:  # x1000 times out the patient's question under load
            daemon = SubprocessDaemon(Path(tmp), sim, default_terminals(1))
            await daemon.start()
            await daemon.pair_all()
            client = await daemon.client()
            await _claims(client, sim, "seed", 1)
            await client.close()
            daemon.stop()
            started = time.perf_counter()
            fill_journal(daemon.state_dir / "claimbridge.db", jobs)
            print(f"journal filled to {jobs} jobs in {time.perf_counter() - started:.1f} s", flush=True)
            await daemon.start()
            client = await daemon.client()
            url = f"http://127.0.0.1:{daemon.port}{path}"
            try:
                await _claims(client, sim, "warm", 5)
                ratios = []
                for r in range(rounds):
                    quiet = await _claims(client, sim, f"quiet-{r}", claims)
                    seconds = claims * max(statistics.median(quiet), 0.05) * 3 + 5
                    load = subprocess.Popen([sys.executable, "-c", _SCRAPER, url, str(scrapers), str(seconds)],
                                            stdout=subprocess.PIPE, text=True)
                    await asyncio.sleep(1.0)  # the scrapers are going
                    loaded = await _claims(client, sim, f"loaded-{r}", claims)
                    # In a thread: this loop runs the simulator, which must keep answering meanwhile.
                    out, _ = await asyncio.to_thread(load.communicate, timeout=seconds + 60)
                    rate = float(out.strip() or 0)
                    p50_quiet, p50_loaded = percentile(quiet, 50), percentile(loaded, 50)
                    ratios.append(p50_loaded / p50_quiet)
                    print(f"round {r + 1}: claim p50 {p50_quiet * 1000:.1f} ms without scrapers, "
                          f"{p50_loaded * 1000:.1f} ms with {scrapers} on {path} ({rate:.0f} requests/s); "
                          f"ratio {ratios[-1]:.2f}", flush=True)
                print(f"median ratio with/without scrapers over {rounds} rounds: {statistics.median(ratios):.2f} "
                      "(goal <= 1.10)")
            finally:
                await client.close()
                daemon.stop()


def main(argv: list[str] | None = None) -> None:
    """``python -m bench.metrics_load``."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=100_000)
    parser.add_argument("--scrapers", type=int, default=20)
    parser.add_argument("--claims", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--path", default="/metrics",
                        help="what the scrapers fetch (/healthz: the same load on an endpoint that reads nothing)")
    args = parser.parse_args(argv)
    asyncio.run(_main(args.jobs, args.scrapers, args.claims, args.rounds, args.path))


if __name__ == "__main__":
    main()
