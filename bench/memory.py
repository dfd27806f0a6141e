"""Memory of the daemon + Playwright's node driver + every Chromium process, summed over the
daemon's whole process tree, with 1 and 4 terminals.

Two measures per process, from ``/proc/<pid>/smaps_rollup``: PSS (shared pages split among the
processes that map them — the goal's measure, but it moves with whatever else on the machine
runs Chromium or Python) and USS (private pages only — what the tree alone would free).
``--rounds`` runs 1 and 4 terminals alternately and prints the median per extra terminal, so one
lucky or unlucky sample cannot decide.

Run ``python -m bench.memory [--rounds 3]`` from the project root. Prints figures, asserts nothing.
Goal (issue 19): <= 400 MB for one terminal, <= 20 MiB per extra terminal.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import SubprocessDaemon, comm, default_terminals, process_tree, pss_kib, running_sim, uss_kib

__all__ = ["main", "measure"]


async def measure(terminals: int, settle_s: float) -> dict[str, dict[str, int]]:
    """``{"pss": …, "uss": …}``, each KiB by process name plus ``"total"``, for a daemon with
    ``terminals`` paired pages."""
    async with running_sim() as sim:
        with tempfile.TemporaryDirectory(prefix="claimbridge-memory-") as tmp:
            d = SubprocessDaemon(Path(tmp), sim, default_terminals(terminals))
            await d.start()
            try:
                await d.pair_all()
                await asyncio.sleep(settle_s)
                if d.proc is None:
                    raise RuntimeError("the daemon is not running")
                out: dict[str, dict[str, int]] = {"pss": defaultdict(int), "uss": defaultdict(int)}
                for pid in process_tree(d.proc.pid):
                    name = "daemon (python)" if pid == d.proc.pid else comm(pid)
                    out["pss"][name] += pss_kib(pid)
                    out["uss"][name] += uss_kib(pid)
                for figures in out.values():
                    figures["total"] = sum(figures.values())
                return {kind: dict(figures) for kind, figures in out.items()}
            finally:
                d.stop()


def _print_tree(terminals: int, figures: dict[str, dict[str, int]]) -> None:
    pss, uss = figures["pss"], figures["uss"]
    print(f"{terminals} terminal(s): PSS {pss['total'] / 1024:.1f} MiB, USS {uss['total'] / 1024:.1f} MiB")
    for name in sorted(pss, key=lambda n: -pss[n]):
        if name != "total":
            print(f"    {name:24s} PSS {pss[name] / 1024:7.1f} MiB  USS {uss[name] / 1024:7.1f} MiB")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="daemon memory (PSS and USS)")
    parser.add_argument("--settle", type=float, default=2.0, help="seconds to wait after pairing")
    parser.add_argument("--rounds", type=int, default=3, help="1-and-4-terminal pairs measured; the median is reported")
    args = parser.parse_args(argv)
    extra: dict[str, list[float]] = {"pss": [], "uss": []}
    one_pss: list[float] = []
    for n in range(1, args.rounds + 1):
        one, four = asyncio.run(measure(1, args.settle)), asyncio.run(measure(4, args.settle))
        if n == 1:
            _print_tree(1, one)
            _print_tree(4, four)
        one_pss.append(one["pss"]["total"] / 1024)
        for kind in extra:
            extra[kind].append((four[kind]["total"] - one[kind]["total"]) / 3 / 1024)
        print(f"round {n}: one terminal PSS {one_pss[-1]:.1f} MiB; per extra terminal "
              f"PSS {extra['pss'][-1]:.1f} MiB, USS {extra['uss'][-1]:.1f} MiB")
    print(f"median of {args.rounds} rounds: one terminal PSS {statistics.median(one_pss):.1f} MiB; "
          f"per extra terminal PSS {statistics.median(extra['pss']):.1f} MiB, "
          f"USS {statistics.median(extra['uss']):.1f} MiB (goals: <= 400 MB for one, <= 20 MiB per extra)")


if __name__ == "__main__":
    main()
