"""``claimbridge token create NAME --role ROLE`` and ``claimbridge token revoke NAME``.

``create`` prints a new token (stdout, one line: scripts capture it) and writes it to
``state_dir/clients/NAME.token`` (0600); the running daemon takes it within a second, no
restart. ``revoke`` ends a client at once: the daemon notices within a second and closes that
client's open connections. The files are :mod:`bridge.clients`'.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from bridge.cli.rpc import CliError
from bridge.clients import create_client, revoke_client
from bridge.config import Settings
from bridge.roles import Role

__all__ = ["add_token_command", "run_token"]


def add_token_command(command: Callable[[str, str], argparse.ArgumentParser]) -> None:
    """Add ``token create|revoke`` with the CLI's own ``command(name, help)`` factory."""
    token = command("token", "create or revoke a client's token (its own role)")
    actions = token.add_subparsers(dest="token_action", required=True)
    create = actions.add_parser("create", help="make a client with a new token; prints the token")
    create.add_argument("name", help="the client's name (history's `by`), e.g. front-desk-pms")
    create.add_argument("--role", required=True, choices=[str(r) for r in Role])
    revoke = actions.add_parser("revoke", help="end a client's token now (its connections are closed)")
    revoke.add_argument("name")


def run_token(args: argparse.Namespace, settings: Settings) -> int:
    """Run ``token create`` or ``token revoke``; returns the exit code.

    Raises:
        CliError: a bad name, an unknown client, or the state directory not writable.
    """
    state_dir = Path(settings.state_dir)
    try:
        if args.token_action == "create":
            token, path = create_client(state_dir, args.name, Role(args.role), settings.clients)
            print(token, flush=True)
            print(f"client {args.name} ({args.role}): token written to {path.resolve()}", file=sys.stderr, flush=True)
            return 0
        print(revoke_client(state_dir, args.name, settings.clients), file=sys.stderr, flush=True)
        return 0
    except ValueError as exc:
        raise CliError(f"{exc}", 2) from None
    except OSError as exc:
        raise CliError(f"cannot write in the state directory {state_dir} ({exc.strerror or exc}): "
                       "run as the daemon's user", 1) from None
