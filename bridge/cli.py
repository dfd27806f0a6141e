"""``claimbridge run | call | pair | jobs | doctor`` (INTERFACES.md "Commands").

``call`` is the small client engineers, scripts and our checks use: one request, each
notification printed as one JSON line, then the result (exit 0) or the error (exit 1).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import httpx
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus, WebSocketException

from bridge.config import Settings, TerminalConfig, load_settings
from bridge.jobs import JobState

__all__ = ["main"]

log = logging.getLogger("claimbridge.cli")

SIMULATOR_TERMINAL = ("front-desk", 2187, 1)


def _default_url(settings: Settings) -> str:
    host, _, port = settings.listen.rpartition(":")
    if host in ("0.0.0.0", "::", "[::]", ""):
        host = "127.0.0.1"
    return f"ws://{host}:{port}/v1"


async def rpc_call(
    url: str,
    token: str,
    method: str,
    params: Any,
    on_notification: Callable[[dict[str, Any]], None] | None = None,
    timeout: float | None = None,
) -> dict[str, Any]:
    """Send one request; return the response object (``result`` or ``error``)."""
    async with connect(url, additional_headers={"Authorization": f"Bearer {token}"}, max_size=None) as ws:
        request: dict[str, Any] = {"jsonrpc": "2.0", "id": 1, "method": method}
        if params is not None:
            request["params"] = params
        await ws.send(json.dumps(request))

        async def receive() -> dict[str, Any]:
            while True:
                message = json.loads(await ws.recv())
                if isinstance(message, dict) and "id" not in message and "method" in message:
                    if on_notification is not None:
                        on_notification(message)
                    continue
                return dict(message)

        return await asyncio.wait_for(receive(), timeout)


def _print_json(obj: Any) -> None:
    print(json.dumps(obj, ensure_ascii=False), flush=True)


def _read_token(path: Path) -> str:
    try:
        return path.read_text().strip()
    except OSError as exc:
        raise SystemExit(f"cannot read the token file {path}: {exc.strerror}. Is the daemon started?") from exc


def _client_args(args: argparse.Namespace, settings: Settings) -> tuple[str, str]:
    url = args.url or _default_url(settings)
    token_file = Path(args.token_file) if args.token_file else Path(settings.state_dir) / "token"
    return url, _read_token(token_file)


def _cmd_call(args: argparse.Namespace, settings: Settings) -> int:
    url, token = _client_args(args, settings)
    try:
        params = json.loads(args.params) if args.params else None
    except json.JSONDecodeError as exc:
        print(f"JSON-PARAMS is not valid JSON: {exc}", file=sys.stderr)
        return 2
    try:
        response = asyncio.run(rpc_call(url, token, args.method, params, _print_json))
    except InvalidStatus as exc:
        print(f"the daemon refused the connection: HTTP {exc.response.status_code}", file=sys.stderr)
        return 1
    except (OSError, WebSocketException) as exc:
        print(f"cannot reach the daemon at {url}: {exc}", file=sys.stderr)
        return 1
    if "error" in response:
        _print_json({"error": response["error"]})
        return 1
    _print_json(response.get("result"))
    return 0


def _cmd_pair(args: argparse.Namespace, settings: Settings) -> int:
    url, token = _client_args(args, settings)

    def progress(note: dict[str, Any]) -> None:
        p = note.get("params", {})
        if note.get("method") == "terminal.pairing" and p.get("terminal") == args.terminal:
            print(f"[{p.get('status')}] {p.get('message')}", flush=True)

    params = {"terminal": args.terminal, "mid": args.mid, "tid": args.tid}
    try:
        response = asyncio.run(rpc_call(url, token, "terminal.pair", params, progress, timeout=settings.pairing_timeout_s + 30))
    except (OSError, WebSocketException, TimeoutError) as exc:
        print(f"pairing failed: {exc}", file=sys.stderr)
        return 1
    if "error" in response:
        print(f"pairing refused: {response['error'].get('message')} {response['error'].get('data') or ''}", file=sys.stderr)
        return 1
    result = response["result"]
    print(f"{result['status']}: {result['message']}")
    return 0 if result["status"] == "success" else 1


def _cmd_jobs(args: argparse.Namespace, settings: Settings) -> int:
    url, token = _client_args(args, settings)
    params: dict[str, Any] = {"limit": args.limit}
    if args.state:
        params["state"] = args.state
    response = asyncio.run(rpc_call(url, token, "job.list", params))
    if "error" in response:
        _print_json({"error": response["error"]})
        return 1
    for job in response["result"]:
        result = job.get("result") or {}
        print(f"{job['createdAt']}  {job['jobId']}  {job['kind']:<14} {job['terminal'] or '-':<12} "
              f"{job['state']:<10} {result.get('result', '')}")
    return 0


# -- doctor --------------------------------------------------------------------------------------

def _check(name: str, ok: bool, detail: str, fix: str = "") -> bool:
    mark = "ok  " if ok else "FAIL"
    print(f"[{mark}] {name}: {detail}")
    if not ok and fix:
        print(f"       fix: {fix}")
    return ok


def _is_loopback(host: str) -> bool:
    try:
        infos = socket.getaddrinfo(host, None)
    except OSError:
        return False
    return all(str(info[4][0]).startswith("127.") or str(info[4][0]) == "::1" for info in infos)


def _cmd_doctor(args: argparse.Namespace, settings: Settings) -> int:
    from bridge.terminal import find_browser_executable

    results = []
    exe = find_browser_executable(settings.browser.executable_path)
    results.append(_check(
        "browser", bool(exe and os.access(exe, os.X_OK)), exe or "no Chromium found",
        "apt-get install chromium-headless-shell (or set [browser] executable_path)",
    ))
    results.append(_check("config", True, f"listen {settings.listen}, state_dir {settings.state_dir}"))
    host = settings.listen.rpartition(":")[0].strip("[]")
    if not _is_loopback(host):
        print(f"[warn] listening on {host}, a LAN address, without TLS: tokens cross the network in clear.\n"
              "       fix: keep listen on 127.0.0.1 and put a TLS reverse proxy (nginx, caddy) in front; "
              "see docs/operations.md")
    db = Path(settings.state_dir) / "claimbridge.db"
    if db.exists():
        try:
            with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
                verdict = conn.execute("PRAGMA quick_check").fetchone()[0]
            results.append(_check("journal", verdict == "ok", f"{db}: {verdict}", "restore the journal from a backup"))
        except sqlite3.Error as exc:
            results.append(_check("journal", False, f"{db}: {exc}", "check the file's permissions"))
    else:
        results.append(_check("journal", True, f"{db} does not exist yet (created on first start)"))
    token = Path(settings.state_dir) / "token"
    if token.exists():
        mode = token.stat().st_mode & 0o777
        results.append(_check("token file", mode == 0o600, f"{token} mode {mode:o}", f"chmod 600 {token}"))
    try:
        r = httpx.get(settings.iclient_url, timeout=5)
        ok = r.status_code == 200 and "TYRO" in r.text
        results.append(_check("iClient URL", ok, f"{settings.iclient_url}: HTTP {r.status_code}",
                              "check iclient_url and the network path to it"))
    except httpx.HTTPError as exc:
        results.append(_check("iClient URL", False, f"{settings.iclient_url}: {exc}",
                              "check iclient_url; with the simulator, start it (claimbridge-sim)"))
    hc = settings.healthcode
    if hc.url:
        pw = Path(hc.password_file) if hc.password_file else None
        if pw is None or not pw.exists():
            results.append(_check("healthcode credentials", False, "password_file missing",
                                  "set [healthcode] password_file to a file holding the password"))
        else:
            mode = pw.stat().st_mode & 0o777
            results.append(_check("healthcode credentials", mode == 0o600 and bool(hc.site_id and hc.user_id),
                                  f"site {hc.site_id}, user {hc.user_id}, password file mode {mode:o}",
                                  f"chmod 600 {pw}; set site_id and user_id"))
    else:
        print("[skip] healthcode: not configured")
    return 0 if all(results) else 1


# -- run -----------------------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start_simulator(port: int) -> subprocess.Popen[bytes]:
    code = "from simulator.cli import main; main()"
    proc = subprocess.Popen([sys.executable, "-c", code, "--host", "127.0.0.1", "--port", str(port)])
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the simulator exited at start (code {proc.returncode})")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/_sim/health", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.terminate()
    raise SystemExit(f"the simulator did not answer on port {port}")


async def _pair_with_simulator(daemon: Any, sim_base: str) -> None:
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
    print(f"terminal {name} (mid {mid}, tid {tid}) pairing: {result['status']}: {result['message']}", flush=True)


#: The simulator's documented Healthcode test credentials (simulator/README-healthcode.md).
SIMULATOR_HEALTHCODE = {"site_id": "SIM001", "user_id": "claimbridge", "password": "healthcode-test"}


def _simulator_settings(settings: Settings, base: str, updates: dict[str, Any]) -> Settings:
    """Point iClient and Healthcode at the simulator (the password goes to a 0600 file)."""
    state = Path(settings.state_dir)
    state.mkdir(parents=True, exist_ok=True)
    pw = state / "healthcode-password"
    fd = os.open(pw, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(SIMULATOR_HEALTHCODE["password"])
    healthcode = settings.healthcode.model_copy(update={
        "url": f"{base}/healthcode/",
        "site_id": SIMULATOR_HEALTHCODE["site_id"],
        "user_id": SIMULATOR_HEALTHCODE["user_id"],
        "password_file": pw,
    })
    return settings.model_copy(update={**updates, "healthcode": healthcode})


def _cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    from bridge.daemon import Daemon
    from bridge.errors import CannotStart
    from bridge.observability import configure_logging

    configure_logging(settings.log_level)
    for noisy in ("websockets", "httpx"):
        logging.getLogger(noisy).setLevel(logging.WARNING)  # one line per HTTP request is noise
    sim: subprocess.Popen[bytes] | None = None
    if args.with_simulator:
        port = args.simulator_port
        sim = _start_simulator(port)
        base = f"http://127.0.0.1:{port}"
        updates: dict[str, Any] = {"iclient_url": f"{base}/iclient-v1.js"}
        if not settings.terminals:
            name, mid, tid = SIMULATOR_TERMINAL
            updates["terminals"] = {name: TerminalConfig(mid=mid, tid=tid)}
        settings = _simulator_settings(settings, base, updates)
        print(f"simulator: {base}/", flush=True)
    daemon = Daemon(settings)

    async def main() -> None:
        runner = asyncio.create_task(daemon.run(), name="claimbridge.daemon")
        ready = asyncio.create_task(daemon.ready.wait(), name="claimbridge.daemon.ready")
        await asyncio.wait({runner, ready}, return_when=asyncio.FIRST_COMPLETED)
        if runner.done():
            await runner
            return
        print(f"claimbridge ready: {daemon.url}", flush=True)
        print(f"token file: {Path(settings.state_dir).resolve() / 'token'}", flush=True)
        if sim is not None:
            await _pair_with_simulator(daemon, f"http://127.0.0.1:{args.simulator_port}")
        await runner

    try:
        asyncio.run(main())
    except CannotStart as exc:  # a second daemon on this state_dir, a port in use: one plain line
        print(exc, file=sys.stderr)
        return 1
    finally:
        if sim is not None:
            sim.terminate()
            sim.wait(timeout=10)
    return 0


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="claimbridge", description=__doc__)
    p.add_argument("--config", help="TOML file (default ./claimbridge.toml if present)")
    sub = p.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run the daemon")
    run.add_argument("--config", dest="sub_config", help=argparse.SUPPRESS)
    run.add_argument("--with-simulator", action="store_true", help="start the simulator as a child and use it")
    run.add_argument("--simulator-port", type=int, default=8730)

    def client(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--config", dest="sub_config", help=argparse.SUPPRESS)
        sp.add_argument("--url", help="websocket URL (default from the config's listen)")
        sp.add_argument("--token-file", help="token file (default state_dir/token)")

    call = sub.add_parser("call", help="send one JSON-RPC request")
    call.add_argument("method")
    call.add_argument("params", nargs="?", help="JSON params")
    client(call)

    pair = sub.add_parser("pair", help="headless pairing of a terminal")
    pair.add_argument("terminal")
    pair.add_argument("--mid", type=int, required=True)
    pair.add_argument("--tid", type=int, required=True)
    client(pair)

    jobs = sub.add_parser("jobs", help="list jobs")
    jobs.add_argument("--state", choices=[str(s) for s in JobState])
    jobs.add_argument("--limit", type=int, default=50)
    client(jobs)

    doctor = sub.add_parser("doctor", help="check browser, config, journal, iClient URL, Healthcode")
    doctor.add_argument("--config", dest="sub_config", help=argparse.SUPPRESS)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``claimbridge`` command."""
    args = _parser().parse_args(argv)
    config = getattr(args, "sub_config", None) or args.config
    settings = load_settings(Path(config) if config else None)
    commands = {"run": _cmd_run, "call": _cmd_call, "pair": _cmd_pair, "jobs": _cmd_jobs, "doctor": _cmd_doctor}
    return commands[args.command](args, settings)


if __name__ == "__main__":
    raise SystemExit(main())
