"""Failover of the fleet link on two clustered ejabberd nodes: runs the cluster test
(tests/fleet/test_ejabberd_cluster.py: a fresh two-node cluster, the daemon's node killed
mid-claim) ``--runs`` times and prints each run's figures and the median failover.

Failover is the time from SIGKILL of the node the daemon publishes through to the answer of a
request the cloud client published on the other node right after. Usage:
``python -m bench.fleet_failover [--runs 5]``.
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys

__all__ = ["main"]

_FIGURES = re.compile(r"fleet figures: failover (\d+) ms .*requests lost (\d+), events lost (\d+), "
                      r"repeated events dropped by seq (\d+), claims at the fund (\d+)")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="fleet link failover on two clustered ejabberd nodes")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    failovers: list[int] = []
    lost_requests = lost_events = extra_claims = 0
    for run in range(1, args.runs + 1):
        out = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-s", "-p", "no:cacheprovider", "tests/fleet/test_ejabberd_cluster.py"],
            capture_output=True, text=True, timeout=600,
        )
        found = _FIGURES.search(out.stdout)
        if found is None:
            print(f"run {run}: no figures (exit {out.returncode}):\n{out.stdout[-2000:]}{out.stderr[-2000:]}")
            continue
        failover, requests, events, repeats, claims = (int(g) for g in found.groups())
        failovers.append(failover)
        lost_requests += requests
        lost_events += events
        extra_claims += claims - 1
        print(f"run {run}: failover {failover} ms, requests lost {requests}, events lost {events}, "
              f"repeats dropped {repeats}, claims at the fund {claims}", flush=True)
    if failovers:
        print(f"median failover {statistics.median(failovers):.0f} ms over {len(failovers)} runs "
              f"(min {min(failovers)}, max {max(failovers)}); requests lost {lost_requests}, events lost "
              f"{lost_events}, duplicate claims {extra_claims}")


if __name__ == "__main__":
    main()
