"""Time from process start to ``/readyz`` 200 (journal open, Chromium up, every page loaded).

Run ``python -m bench.startup [--runs 5]`` from the project root. Prints figures, asserts nothing.
Goal (issue 5): ready <= 1.5 s.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import SubprocessDaemon, default_terminals, running_sim

__all__ = ["main"]


async def measure(runs: int, terminals: int) -> list[float]:
    """Seconds to ready for each run (the first on a fresh state directory, the rest warm)."""
    times = []
    async with running_sim() as sim:
        with tempfile.TemporaryDirectory(prefix="claimbridge-startup-") as tmp:
            d = SubprocessDaemon(Path(tmp), sim, default_terminals(terminals))
            for _ in range(runs):
                times.append(await d.start())
                d.stop()
    return times


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="daemon start-up time")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--terminals", type=int, default=1)
    args = parser.parse_args(argv)
    times = asyncio.run(measure(args.runs, args.terminals))
    print(f"start to /readyz 200, {args.terminals} terminal(s), {args.runs} runs (first = fresh state dir):")
    print("  " + ", ".join(f"{t:.3f}s" for t in times))
    print(f"  median {statistics.median(times):.3f}s (goal <= 1.5 s)")


if __name__ == "__main__":
    main()
