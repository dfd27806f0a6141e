"""Chromium's command-line flags for the daemon's headless browser (no internet of its own, no
desktop), shared by the daemon and the benchmarks."""

from __future__ import annotations

import os

__all__ = ["BROWSER_ARGS", "launch_args"]

#: Flags for a machine with no internet and no desktop (see reference/chromium-on-this-platform.md).
BROWSER_ARGS = (
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-gpu",
    "--no-first-run",
    "--disable-quic",
)

def launch_args(extra: tuple[str, ...] = ()) -> list[str]:
    """Chromium's flags: :data:`BROWSER_ARGS`, then the configured ``extra``, then
    ``--no-sandbox`` when running as root (Chromium refuses its sandbox to root)."""
    args = list(BROWSER_ARGS) + [a for a in extra if a not in BROWSER_ARGS]
    if os.geteuid() == 0 and "--no-sandbox" not in args:
        args.append("--no-sandbox")
    return args
