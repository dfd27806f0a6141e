"""``claimbridge codes import --insurer INS --kind isc|ccsd FILE.csv``: an insurer's own code list.

The CSV (columns ``code,description``) is the list an insurer's contracts team gives a clinic
(seeds/001). It is checked whole (every bad row named, nothing written unless all are good) and
stored under ``state_dir`` (:mod:`bridge.clearing.codelists`), where the running daemon's
``healthcode.codes`` finds it without a restart: codes outside the list are then
``allowed: false`` for that insurer only.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path

from bridge.clearing.codelists import CODES_DIRNAME, CodeListStore
from bridge.clearing.reference import load_reference
from bridge.config import Settings
from bridge.errors import InvalidParams
from bridge.healthcode.refdata import INSURER_ID, parse_code_list

__all__ = ["add_codes_arguments", "run_codes"]


def add_codes_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``codes`` subcommand's arguments."""
    actions = parser.add_subparsers(dest="codes_action", required=True)
    imported = actions.add_parser("import", help="import an insurer's ISC or CCSD list (CSV: code,description)")
    imported.add_argument("--insurer", required=True, help="the insurer's Healthcode identifier, e.g. bup")
    imported.add_argument("--kind", required=True, choices=["isc", "ccsd"])
    imported.add_argument("file", type=Path, help="the CSV file (header: code,description)")


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def run_codes(args: argparse.Namespace, settings: Settings) -> int:
    """Run ``codes import``; 0 when stored, 2 for bad input (each problem one line)."""
    insurer = str(args.insurer)
    known = load_reference(settings.healthcode.reference_dir).insurers
    if not INSURER_ID.fullmatch(insurer) or insurer not in known:
        _say(f"claimbridge: --insurer {insurer!r} is not a Healthcode insurer identifier; "
             f"one of: {', '.join(sorted(known))}")
        return 2
    try:
        text = Path(args.file).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        _say(f"claimbridge: {args.file}: cannot read it ({getattr(exc, 'strerror', None) or type(exc).__name__})")
        return 2
    try:
        codes = parse_code_list(text, args.kind)
    except InvalidParams as exc:
        for error in exc.errors:
            _say(f"claimbridge: {args.file}: {error.field}: {error.message}")
        _say("claimbridge: nothing imported")
        return 2
    store = CodeListStore(Path(settings.state_dir) / CODES_DIRNAME)
    try:
        path = store.save(insurer, args.kind, codes, str(args.file), datetime.now(UTC))
    except OSError as exc:
        _say(f"claimbridge: cannot write {store.folder} ({exc.strerror or type(exc).__name__})")
        return 1
    print(f"imported {len(codes)} {args.kind.upper()} code(s) for {known[insurer].name} ({insurer}) into {path}",
          flush=True)
    return 0
