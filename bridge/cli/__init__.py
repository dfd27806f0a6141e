"""The ``claimbridge`` command: commands.py (run | call | pair | jobs | doctor), text.py (pure: the
plain error lines, exit codes and notification summaries), rpc.py (the one-request client
``call`` uses), doctor.py (``claimbridge doctor``), simulator.py (the settings of
``run --with-simulator``)."""

from bridge.cli.commands import main

__all__ = ["main"]
