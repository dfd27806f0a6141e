"""Claims per minute on one terminal through the daemon (zero card and fund delay, clock x1000).

Run ``python -m bench.throughput [--claims 40]`` from the project root. Prints, asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import running_sim
from bench.latency import SCALE, DaemonSide

__all__ = ["main"]


async def _main(claims: int) -> None:
    async with running_sim(scale=SCALE) as sim:
        with tempfile.TemporaryDirectory(prefix="claimbridge-throughput-") as tmp:
            async with DaemonSide(sim, Path(tmp)) as daemon:
                for i in range(3):  # warm-up
                    await daemon.claim(f"warm-{i}")
                start = time.perf_counter()
                for i in range(claims):
                    await daemon.claim(f"tp-{i}")
                per_minute = claims / (time.perf_counter() - start) * 60
    print(f"throughput, one terminal, zero delays, clock x{SCALE:.0f}: {per_minute:.0f} claims/minute")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="claims per minute on one terminal")
    parser.add_argument("--claims", type=int, default=40)
    asyncio.run(_main(parser.parse_args(argv).claims))


if __name__ == "__main__":
    main()
