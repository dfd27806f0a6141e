"""Chromium's command-line flags for the daemon's headless browser (no internet of its own, no
desktop), shared by the daemon and the benchmarks."""

from __future__ import annotations

import os

__all__ = ["BROWSER_ARGS", "DRIVER_NODE_OPTIONS", "driver_node_options", "launch_args"]

#: Flags for a machine with no internet and no desktop (see reference/chromium-on-this-platform.md).
BROWSER_ARGS = (
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-gpu",
    "--no-first-run",
    "--disable-quic",
)

#: Node options for Playwright's driver process (node): young-generation semi-spaces of 2 MiB
#: instead of growing to 16. Measured with ``python -m bench.soak --claims 5000``: the driver's
#: PSS grew 148.5 -> 187.7 MiB over the run without it (the whole tree +11.8%), and stayed
#: 130.9 -> 126.2 MiB with it (+1.4%); a claim's latency did not change.
DRIVER_NODE_OPTIONS = "--max-semi-space-size=2"


def driver_node_options(current: str | None) -> str:
    """``NODE_OPTIONS`` for the driver: the operator's own, else :data:`DRIVER_NODE_OPTIONS`."""
    return current if current else DRIVER_NODE_OPTIONS


def launch_args(extra: tuple[str, ...] = ()) -> list[str]:
    """Chromium's flags: :data:`BROWSER_ARGS`, then the configured ``extra``, then
    ``--no-sandbox`` when running as root (Chromium refuses its sandbox to root)."""
    args = list(BROWSER_ARGS) + [a for a in extra if a not in BROWSER_ARGS]
    if os.geteuid() == 0 and "--no-sandbox" not in args:
        args.append("--no-sandbox")
    return args
