"""``claimbridge run | call | pair | jobs | doctor | journal`` (INTERFACES.md "Commands"; ``journal`` in bridge/cli/journal.py).

``call`` is the small client engineers, scripts and our checks use: one request, each
notification as one JSON line on stdout (INTERFACES.md), then the result as JSON on stdout
(exit 0) or the refusal as one plain line (exit 1). At a terminal (stdout a TTY) a person reads
a short line per notification on stderr instead, unless ``--json`` asks for the raw lines; with
``--field`` stdout carries only that field and the short lines go to stderr. Every error is one
plain line (what is wrong, what to do), never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import errno
import json
import logging
import os
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

from bridge.cli.text import EXIT_CODES, config_problems, error_line, event_line, job_line, pairing_outcome
from bridge.config import Settings, load_settings
from bridge.jobs import JobState
from bridge.cli.rpc import Answer, CliError, local_url, read_token, rpc_call, with_pin
from bridge.cli.simulator import SIMULATOR_TERMINAL, simulator_settings
from bridge.cli.token import add_token_command, run_token

if TYPE_CHECKING:
    from bridge.daemon import Daemon

__all__ = ["main"]

log = logging.getLogger("claimbridge.cli")

def _default_url(settings: Settings) -> str:
    return local_url(settings)


def _print_json(obj: object) -> None:
    print(json.dumps(obj, ensure_ascii=False), flush=True)


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _say_failure(line: str) -> None:
    """Why a command stops, as one line on stderr (under journald, one JSON record at priority 3)."""
    from bridge.logs import journal_error_line

    print(journal_error_line("claimbridge.cli", line, sys.stderr), file=sys.stderr, flush=True)


def _client_args(args: argparse.Namespace, settings: Settings) -> tuple[str, str]:
    url = with_pin(args.url or _default_url(settings), getattr(args, "fingerprint", None))
    token_file = Path(args.token_file) if args.token_file else Path(settings.state_dir) / "token"
    return url, read_token(token_file)


def _field(value: object, path: str) -> object:
    """``--field a.b.0``: one value out of the result."""
    for part in path.split("."):
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            raise CliError(f"the result has no field {path!r}: leave --field out to see the whole result", 1)
    return value


def _cmd_call(args: argparse.Namespace, settings: Settings) -> int:
    try:
        params = json.loads(args.params) if args.params else None
    except json.JSONDecodeError as exc:
        raise CliError(f"JSON-PARAMS is not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno}): "
                       "quote it for the shell, e.g. '{\"jobId\": \"...\"}'", 2) from None
    url, token = _client_args(args, settings)

    raw = not args.field and (args.json or not sys.stdout.isatty())

    def notification(note: Mapping[str, object]) -> None:
        if raw:
            _print_json(note)
        else:
            _say(event_line(note))

    def answered(sent: Mapping[str, object], response: Mapping[str, object]) -> None:
        who = f" as {sent['operator']}" if sent.get("operator") else ""
        error = response.get("error")
        if isinstance(error, Mapping):
            _say(error_line("job.answer", error))
        else:
            _say(f"job {sent['jobId']}: answered {sent['answer']!r}{who}")

    answer = Answer(args.answer, args.operator) if args.answer else None
    response = asyncio.run(rpc_call(url, token, args.method, params, notification, answer=answer,
                                    on_answered=answered))
    if "error" in response:
        if args.json:
            _print_json({"error": response["error"]})
        raise CliError(error_line(args.method, response["error"]), 1)
    result = response.get("result")
    if args.field:
        value = _field(result, args.field)
        print(value if isinstance(value, str) else json.dumps(value, ensure_ascii=False), flush=True)
    else:
        _print_json(result)
    return 0


def _cmd_pair(args: argparse.Namespace, settings: Settings) -> int:
    url, token = _client_args(args, settings)

    def progress(note: Mapping[str, object]) -> None:
        p = note.get("params")
        if note.get("method") == "terminal.pairing" and isinstance(p, Mapping) and p.get("terminal") == args.terminal:
            print(f"[{p.get('status')}] {p.get('message')}", flush=True)

    params = {"terminal": args.terminal, "mid": args.mid, "tid": args.tid, "replace": args.replace}
    response = asyncio.run(rpc_call(url, token, "terminal.pair", params, progress,
                                    timeout=settings.pairing_timeout_s + 30))
    if "error" in response:
        raise CliError(error_line("terminal.pair", response["error"]), 1)
    result = response["result"]
    print(pairing_outcome(result["status"], result["message"]))
    return 0 if result["status"] == "success" else 1


def _cmd_unpair(args: argparse.Namespace, settings: Settings) -> int:
    url, token = _client_args(args, settings)
    response = asyncio.run(rpc_call(url, token, "terminal.unpair", {"terminal": args.terminal}))
    if "error" in response:
        raise CliError(error_line("terminal.unpair", response["error"]), 1)
    r = response["result"]
    was = f"mid {r['mid']} tid {r['tid']}" if r["wasPaired"] else "no pairing"
    print(f"terminal {r['terminal']} unpaired (was {was})", flush=True)
    return 0


def _cmd_jobs(args: argparse.Namespace, settings: Settings) -> int:
    url, token = _client_args(args, settings)
    params: dict[str, object] = {"limit": args.limit}
    if args.state:
        params["state"] = args.state
    response = asyncio.run(rpc_call(url, token, "job.list", params))
    if "error" in response:
        raise CliError(error_line("job.list", response["error"]), 1)
    jobs = response["result"]
    if not jobs:
        print(f"no jobs in state {args.state}" if args.state else "no jobs")
    for job in jobs:
        print(job_line(job))
    return 0


# -- run -----------------------------------------------------------------------------------------

def _start_simulator(port: int) -> subprocess.Popen[bytes]:
    code = "import sys; from simulator.cli import main; sys.exit(main())"
    proc = subprocess.Popen([sys.executable, "-c", code, "--host", "127.0.0.1", "--port", str(port)])
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise CliError(f"the simulator exited at start (code {proc.returncode}): see its lines above", 1)
        try:
            if httpx.get(f"http://127.0.0.1:{port}/_sim/health", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.terminate()
    raise CliError(f"the simulator did not answer on port {port} within 20 s: see its lines above", 1)


async def _pair_with_simulator(daemon: Daemon, sim_base: str) -> None:
    """Pair ``front-desk`` with the simulator and press "Authorise POS" for the engineer.

    Done at every start: the simulator child is new each time and remembers no pairing,
    while the journal keeps the old keys.
    """
    name, mid, tid = SIMULATOR_TERMINAL
    worker = daemon.workers.get(name)
    if worker is None:
        return
    pairing = asyncio.create_task(worker.pair(mid, tid), name=f"claimbridge[{name}].pair")
    async with httpx.AsyncClient() as client:
        for _ in range(100):
            await asyncio.sleep(0.1)
            r = await client.post(f"{sim_base}/_sim/terminals/{mid}/{tid}/authorise")
            if r.status_code < 300 or pairing.done():
                break
    result = await pairing
    print(f"terminal {name} (mid {mid}, tid {tid}) pairing: {pairing_outcome(result['status'], result['message'])}", flush=True)


def _port_in_use(host: str, port: int) -> bool:
    """Whether a listening socket holds HOST:PORT (SO_REUSEADDR as the servers bind)."""
    if port == 0:
        return False
    try:
        infos = socket.getaddrinfo(host or "127.0.0.1", port, type=socket.SOCK_STREAM)
    except OSError:
        return False
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(address)
        except OSError as exc:
            return exc.errno == errno.EADDRINUSE
    return False


def _address_in_use(exc: BaseException) -> bool:
    """Whether EADDRINUSE is anywhere in ``exc``'s groups, causes or contexts.

    Each exception is looked at once: a task group's error re-raised out of its group has the
    group as context, and the group holds it again (a cycle).
    """
    seen: set[int] = set()
    todo = [exc]
    while todo:
        current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, OSError) and current.errno == errno.EADDRINUSE:
            return True
        if isinstance(current, BaseExceptionGroup):
            todo.extend(current.exceptions)
        todo.extend(e for e in (current.__cause__, current.__context__) if e is not None)
    return False


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else "(no message)"


def _in_use_line(what: str, port: int, variable: str, setting: str) -> str:
    # A second make run needs its own state directory (the first holds ./var's lock) and both ports.
    other = "SIM_PORT=8731" if variable == "PORT" else "PORT=8766"
    return (f"port {port} ({what}) is in use: is another claimbridge (make run) already running? "
            f"Stop it, or run a second one beside it: CLAIMBRIDGE_STATE_DIR=./var2 make run {variable}={port + 1} "
            f"{other} (or {setting})")


def _cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    from bridge.daemon import Daemon
    from bridge.errors import CannotStart
    from bridge.logs import configure_logging, journald_stream
    from bridge.statelock import StateDirLock

    try:
        # Another daemon on this state directory is named by its pid before any port is looked at.
        with StateDirLock(Path(settings.state_dir)):
            pass
    except CannotStart as exc:
        _say_failure(str(exc))
        return 1
    if _port_in_use(settings.listen_host, settings.listen_port):
        raise CliError(_in_use_line("the daemon", settings.listen_port, "PORT", "listen in the config, or CLAIMBRIDGE_LISTEN"), 1)
    if args.with_simulator and _port_in_use("127.0.0.1", args.simulator_port):
        raise CliError(_in_use_line("the simulator", args.simulator_port, "SIM_PORT", "--simulator-port"), 1)
    os.umask(0o077)  # the journal, its -wal/-shm, the token and the browser's files: the daemon's user's only
    configure_logging(settings.log_level)
    # Under journald every line is a JSON log record (docs/operations.md pipes them to jq): the
    # daemon's own "ready" record says what these plain lines say to a person at a terminal.
    plain = not journald_stream(sys.stdout)
    if args.with_simulator:
        settings = simulator_settings(settings, args.simulator_port)
    try:
        daemon = Daemon(settings)
    except CannotStart as exc:  # a configured feature whose package is missing
        _say_failure(str(exc))
        return 1
    sim: subprocess.Popen[bytes] | None = None
    if args.with_simulator:
        sim = _start_simulator(args.simulator_port)
        print(f"simulator: http://127.0.0.1:{args.simulator_port}/", flush=True)

    async def main() -> None:
        runner = asyncio.create_task(daemon.run(), name="claimbridge.daemon")
        ready = asyncio.create_task(daemon.ready.wait(), name="claimbridge.daemon.ready")
        await asyncio.wait({runner, ready}, return_when=asyncio.FIRST_COMPLETED)
        if runner.done():
            await runner
            return
        if plain:
            print(f"claimbridge ready: {daemon.url}", flush=True)
            print(f"token file: {Path(settings.state_dir).resolve() / 'token'}", flush=True)
        if daemon.tls_fingerprint is not None:
            print(f"TLS certificate SHA-256 fingerprint (clients pin it): {daemon.tls_fingerprint}", flush=True)
        if sim is not None:
            await _pair_with_simulator(daemon, f"http://127.0.0.1:{args.simulator_port}")
        await runner

    try:
        asyncio.run(main())
    except CannotStart as exc:  # a second daemon on this state_dir, an unwritable one, no browser: one plain line
        _say_failure(str(exc))
        return 1
    except KeyboardInterrupt:
        return 0
    except Exception as exc:
        if _address_in_use(exc):
            raise CliError(_in_use_line("the daemon", settings.listen_port, "PORT", "listen in the config, or CLAIMBRIDGE_LISTEN"), 1) from None
        # Not foreseen: still one line; the traceback goes to the log at DEBUG (log_level = "DEBUG").
        log.debug("the daemon stopped on an unexpected error", exc_info=exc)
        started = "stopped" if daemon.ready.is_set() else "could not start"
        raise CliError(f"the daemon {started}: {type(exc).__name__}: {_first_line(exc)} "
                       "(set log_level = \"DEBUG\" to log the details)", 1) from None
    finally:
        if sim is not None:
            sim.terminate()
            sim.wait(timeout=10)
    return 0


_EPILOG = "exit codes:\n" + "\n".join(f"  {code}  {text}" for code, text in EXIT_CODES.items())


_DESCRIPTION = """claimbridge: HealthPoint claims on a Tyro terminal for practice systems (README.md,
docs/operations.md, docs/protocol.md).

'call' sends one request: each notification as one JSON line on stdout, then the result as JSON
(exit 0) or the refusal as one plain line (exit 1). At a terminal a person reads a short line
per notification on stderr instead, unless --json asks for the raw lines; with --field stdout
carries only that field. Every error is one plain line (what is wrong, what to do)."""


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="claimbridge", description=_DESCRIPTION, epilog=_EPILOG,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", help="TOML file (default ./claimbridge.toml if present)")
    sub = p.add_subparsers(dest="command", required=True)

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        sp = sub.add_parser(name, help=help_text, description=help_text, epilog=_EPILOG,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
        sp.add_argument("--config", dest="sub_config", help=argparse.SUPPRESS)
        return sp

    run = command("run", "run the daemon")
    run.add_argument("--with-simulator", action="store_true", help="start the simulator as a child and use it")
    run.add_argument("--simulator-port", type=int, default=8730, metavar="PORT",
                     help="with --with-simulator: the simulator's port (default 8730)")

    def client(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--url", help="websocket URL (default from the config's listen)")
        sp.add_argument("--token-file", help="token file (default state_dir/token)")
        sp.add_argument("--fingerprint", metavar="SHA256",
                        help="with wss://: the daemon certificate's SHA-256 fingerprint to pin (doctor prints it)")

    call = command("call", "send one JSON-RPC request")
    call.add_argument("method", help="the JSON-RPC method, e.g. healthpoint.claim (docs/protocol.md)")
    call.add_argument("params", nargs="?", help="JSON params")
    call.add_argument("--json", action="store_true",
                      help="at a terminal too, print each notification (and an error) as one raw JSON line on stdout "
                      "(the default when stdout is not a terminal)")
    call.add_argument("--field", metavar="PATH",
                      help="print only this field of the result (dotted, e.g. jobId or result.gap)")
    call.add_argument("--answer", metavar="LABEL", help="answer the job's question with this option as it arrives")
    call.add_argument("--operator", metavar="NAME", help="with --answer: answer as this operator (recorded)")
    client(call)

    pair = command("pair", "headless pairing of a terminal")
    pair.add_argument("terminal", help="the terminal's name, e.g. front-desk")
    pair.add_argument("--mid", type=int, required=True, help="the terminal's merchant ID")
    pair.add_argument("--tid", type=int, required=True, help="the terminal's terminal ID")
    pair.add_argument("--replace", action="store_true",
                      help="move a name already paired to another mid/tid (recorded in the journal's history)")
    client(pair)

    unpair = command("unpair", "forget a terminal's pairing (refused while a job of it waits or runs)")
    unpair.add_argument("terminal", help="the terminal's name, e.g. front-desk")
    client(unpair)

    jobs = command("jobs", "list jobs")
    jobs.add_argument("--state", choices=[str(s) for s in JobState], help="only jobs in this state")
    jobs.add_argument("--limit", type=int, default=50, help="at most this many, newest first (default 50)")
    client(jobs)

    doctor = command("doctor", "check browser, config, journal, iClient URL, Healthcode and the running daemon")
    doctor.add_argument("--simulator-port", type=int,
                        help="check as run --with-simulator --simulator-port PORT (make run) sees things")
    client(doctor)
    add_token_command(command)

    from bridge.cli.journal import add_journal_commands

    add_journal_commands(command("journal", "check, back up, or accept a gap in the journal (docs/operations.md)"))

    from bridge.cli.codes import add_codes_arguments

    add_codes_arguments(command("codes", "an insurer's own code lists: codes import --insurer INS --kind isc|ccsd FILE.csv"))
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``claimbridge`` command: returns the exit code (see ``--help``)."""
    args = _parser().parse_args(argv)
    if args.command == "call" and args.operator and not args.answer:
        _say("claimbridge: --operator names who answers: give --answer LABEL too")
        return 2
    config = getattr(args, "sub_config", None) or args.config
    config_file = Path(config) if config else None
    if args.command == "doctor":
        from bridge.cli.doctor import run_doctor

        return run_doctor(config_file, simulator_port=args.simulator_port, url=args.url,
                          token_file=Path(args.token_file) if args.token_file else None)
    try:
        settings = load_settings(config_file)
    except (OSError, ValueError) as exc:  # tomllib and pydantic errors are ValueErrors
        from bridge.config import DEFAULT_CONFIG_FILE

        shown = config_file if config_file is not None else (DEFAULT_CONFIG_FILE if DEFAULT_CONFIG_FILE.is_file() else None)
        for problem in config_problems(exc, shown):
            _say_failure(f"claimbridge: {problem.line()}")
        return 2
    from bridge.cli.codes import run_codes
    from bridge.cli.journal import run_journal

    commands = {"run": _cmd_run, "call": _cmd_call, "pair": _cmd_pair, "unpair": _cmd_unpair, "jobs": _cmd_jobs,
                "journal": run_journal, "codes": run_codes, "token": run_token}
    try:
        return commands[args.command](args, settings)
    except CliError as exc:
        _say_failure(f"claimbridge: {exc.line}")
        return exc.exit_code


if __name__ == "__main__":
    raise SystemExit(main())
