"""Memory of the daemon + Playwright's node driver + every Chromium process: PSS summed from
``/proc/<pid>/smaps_rollup`` over the daemon's whole process tree, with 1 and 4 terminals.

Run ``python -m bench.memory`` from the project root. Prints figures, asserts nothing.
Goal (issue 5): <= 400 MB for one terminal, <= 20 MB per extra terminal.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import SubprocessDaemon, comm, default_terminals, process_tree, pss_kib, running_sim

__all__ = ["main"]


async def measure(terminals: int, settle_s: float) -> dict[str, int]:
    """PSS in KiB by process name (plus "total") for a daemon with ``terminals`` paired pages."""
    async with running_sim() as sim:
        with tempfile.TemporaryDirectory(prefix="claimbridge-memory-") as tmp:
            d = SubprocessDaemon(Path(tmp), sim, default_terminals(terminals))
            await d.start()
            try:
                await d.pair_all()
                await asyncio.sleep(settle_s)
                assert d.proc is not None
                by_name: dict[str, int] = defaultdict(int)
                for pid in process_tree(d.proc.pid):
                    name = "daemon (python)" if pid == d.proc.pid else comm(pid)
                    by_name[name] += pss_kib(pid)
                by_name["total"] = sum(by_name.values())
                return dict(by_name)
            finally:
                d.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="daemon memory (PSS)")
    parser.add_argument("--settle", type=float, default=2.0, help="seconds to wait after pairing")
    args = parser.parse_args(argv)
    results = {n: asyncio.run(measure(n, args.settle)) for n in (1, 4)}
    for n, figures in results.items():
        print(f"{n} terminal(s): total PSS {figures['total'] / 1024:.1f} MiB")
        for name, kib in sorted(figures.items(), key=lambda kv: -kv[1]):
            if name != "total":
                print(f"    {name:24s} {kib / 1024:7.1f} MiB")
    per_extra = (results[4]["total"] - results[1]["total"]) / 3 / 1024
    print(f"per extra terminal: {per_extra:.1f} MiB (goals: <= 400 MB for one, <= 20 MB per extra)")


if __name__ == "__main__":
    main()
