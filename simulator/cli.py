"""``claimbridge-sim``: run the simulator alone on a TCP port (the only socket it opens)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys

from aiohttp import web

from simulator.app import create_app
from simulator.clock import Clock

__all__ = ["main"]


async def _serve(host: str, port: int, scale: float) -> None:
    runner = web.AppRunner(create_app(Clock(scale=scale)))
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    bound = int(runner.addresses[0][1]) if runner.addresses else port
    print(f"claimbridge simulator listening on http://{host}:{bound}/", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()


def main(argv: list[str] | None = None) -> int:
    """Entry point: ``claimbridge-sim [--host 127.0.0.1] [--port 8730] [--time-scale N]``."""
    parser = argparse.ArgumentParser(prog="claimbridge-sim", description="Tyro/HealthPoint/Healthcode simulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8730)
    parser.add_argument("--time-scale", type=float, default=1.0, help="simulated seconds per real second")
    args = parser.parse_args(argv)
    if args.time_scale < 0:
        parser.error("--time-scale must be >= 0")
    try:
        asyncio.run(_serve(args.host, args.port, args.time_scale))
    except OSError as exc:  # the port in use, reference data missing: one line, no traceback
        where = f" ({exc.filename})" if exc.filename else ""
        print(f"claimbridge-sim: cannot start on {args.host}:{args.port}: {exc.strerror or exc}{where}",
              file=sys.stderr, flush=True)
        return 1
    except KeyboardInterrupt:
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
