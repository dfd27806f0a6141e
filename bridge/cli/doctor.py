"""``claimbridge doctor``: each check one ``[ok  ]``/``[FAIL]`` line with a fix, never a traceback.

Checks the config (a file that does not load is a ``[FAIL]`` line per broken rule: file, key,
rule, fix), the browser, the journal, the token file, the iClient URL, Healthcode (a real
sign-in over HTTP, so a wrong password fails) and the running daemon (asked over the websocket
with ``system.health`` and ``healthcode.checkCredentials``: what it actually uses, which may differ
from this config under ``make run``). Exit 1 when any check fails.
"""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Mapping, Sequence
from pathlib import Path

import httpx

from bridge.cli.text import config_problems
from bridge.config import DEFAULT_CONFIG_FILE, BrowserConfig, Settings, load_settings
from bridge.errors import ClaimbridgeError
from bridge.cli.rpc import CliError, local_url, rpc_call
from bridge.cli.simulator import simulator_settings

__all__ = ["run_doctor"]


class _Report:
    """The lines printed so far and whether any failed."""

    def __init__(self) -> None:
        self.failed = False

    def check(self, name: str, ok: bool, detail: str, fix: str = "") -> None:
        print(f"[{'ok  ' if ok else 'FAIL'}] {name}: {detail}", flush=True)
        if not ok:
            self.failed = True
            if fix:
                print(f"       fix: {fix}", flush=True)

    @staticmethod
    def note(mark: str, name: str, detail: str, fix: str = "") -> None:
        print(f"[{mark}] {name}: {detail}", flush=True)
        if fix:
            print(f"       fix: {fix}", flush=True)


def _is_loopback(host: str) -> bool:
    try:
        infos = socket.getaddrinfo(host, None)
    except OSError:
        return False
    return all(str(info[4][0]).startswith("127.") or str(info[4][0]) == "::1" for info in infos)


def _browser(report: _Report, settings: Settings | None) -> None:
    exe = (settings.browser if settings else BrowserConfig()).executable_path
    report.check("browser", bool(exe and os.access(exe, os.X_OK)), exe or "no Chromium found",
                 "apt-get install chromium-headless-shell (or set [browser] executable_path)")


def _journal(report: _Report, settings: Settings) -> None:
    """The journal's integrity (``integrity_check``: indexes included) and its mark."""
    from bridge.cli.journal import journal_findings

    db = Path(settings.state_dir) / "claimbridge.db"
    findings = journal_findings(db)
    if not findings:
        report.check("journal", True, f"{db}: " + ("whole, not behind its mark" if db.exists() else "does not exist yet (created on first start)"))
    for finding in findings:  # each says what to do
        report.check("journal", False, finding)


def _token(report: _Report, token: Path) -> None:
    if token.exists():
        mode = token.stat().st_mode & 0o777
        report.check("token file", mode == 0o600, f"{token} mode {mode:o}", f"chmod 600 {token}")


def _iclient(report: _Report, settings: Settings) -> None:
    try:
        r = httpx.get(settings.iclient_url, timeout=5)
        ok = r.status_code == 200 and "TYRO" in r.text
        report.check("iClient URL", ok, f"{settings.iclient_url}: HTTP {r.status_code}",
                     "check iclient_url and the network path to it")
    except httpx.HTTPError as exc:
        report.check("iClient URL", False, f"{settings.iclient_url}: {type(exc).__name__}",
                     "check iclient_url; with the simulator, start it (make run, or claimbridge-sim)")


async def _healthcode_sign_in(url: str, site_id: str, user_id: str, password: str, timeout: float) -> tuple[bool, str]:
    from bridge.clearing.transport import HealthcodeTransport

    async with HealthcodeTransport(url, site_id, user_id, password, timeout=timeout) as hc:
        check = await hc.check_credentials()
    return check.ok, check.message


def _healthcode(report: _Report, settings: Settings) -> None:
    hc = settings.healthcode
    if not hc.url:
        report.note("skip", "healthcode (this config)", "not configured")
        return
    pw = Path(hc.password_file) if hc.password_file else None
    if pw is None or not pw.is_file():
        report.check("healthcode credentials", False, f"password_file {pw or '(not set)'} missing",
                     "set [healthcode] password_file to a file holding the password (mode 0600)")
        return
    mode = pw.stat().st_mode & 0o777
    if mode & 0o077:
        report.check("healthcode password file", False, f"{pw} mode {mode:o}: others may read it", f"chmod 600 {pw}")
    if not (hc.site_id and hc.user_id):
        report.check("healthcode credentials", False, "site_id or user_id missing",
                     "set [healthcode] site_id and user_id")
        return
    try:
        password = pw.read_text().strip()
    except OSError as exc:
        report.check("healthcode credentials", False, f"{pw}: {exc.strerror}", "run as the daemon's user")
        return
    try:
        ok, message = asyncio.run(_healthcode_sign_in(hc.url, hc.site_id, hc.user_id, password, min(hc.timeout_s, 10)))
    except ClaimbridgeError as exc:
        report.check("healthcode sign-in", False, f"{hc.url}: cannot ask Healthcode ({exc})",
                     "check [healthcode] url and the network path to it")
        return
    report.check("healthcode sign-in", ok, f"site {hc.site_id}, user {hc.user_id} at {hc.url}: {message}",
                 "check site_id, user_id and the password in password_file with Healthcode")
    if hc.api_key_id and hc.api_key_file:
        from bridge.cli.doctor_v2 import check_v2

        check_v2(report.check, hc)


def _mqtt(report: _Report, settings: Settings) -> None:
    """Each broker node of ``[mqtt]``: reachable, and speaking MQTT 5 (named when it does not)."""
    cfg = settings.mqtt
    if not cfg.enabled:
        return
    try:
        from bridge.mqtt.node import probe_mqtt5
    except ImportError:
        report.check("mqtt", False, "[mqtt] is set but the MQTT extra is not installed",
                     "pip install 'claimbridge[mqtt]'")
        return
    for url in cfg.broker_urls:
        ok, detail = asyncio.run(probe_mqtt5(url, cfg))
        report.check(f"mqtt {url}", ok, detail, "" if ok else "check [mqtt] urls, username, password_file, ca_file")


def _daemon_url(settings: Settings, url: str | None) -> str:
    return url or local_url(settings)


def _tls(report: _Report, settings: Settings) -> None:
    """``[tls]``: the certificate the port serves, and its fingerprint for clients to pin."""
    tls = settings.tls
    if not tls.enabled:
        return
    from bridge.tls import SELF_SIGNED_DIR, certificate_fingerprint

    cert = tls.cert_file or Path(settings.state_dir) / SELF_SIGNED_DIR / "cert.pem"
    try:
        fingerprint = certificate_fingerprint(cert)
    except FileNotFoundError:
        if tls.self_signed:
            report.note("skip", "tls", f"self-signed certificate not made yet ({cert})",
                        "it is made at the daemon's first start; run doctor again then")
        else:
            report.check("tls", False, f"no certificate at {cert}", "check [tls] cert_file")
        return
    except (OSError, ValueError) as exc:
        report.check("tls", False, f"{cert} cannot be read as a PEM certificate ({exc})", "check [tls] cert_file")
        return
    kind = "self-signed certificate" if tls.self_signed else "certificate"
    report.check("tls", True, f"{kind} {cert}, SHA-256 fingerprint {fingerprint}")


def _ask(url: str, token: str, method: str) -> Mapping[str, object]:
    return asyncio.run(rpc_call(url, token, method, None, timeout=20))


def _object(value: object) -> Mapping[str, object]:
    """A JSON object of the daemon's answer (``{}`` when it is missing or not an object)."""
    return value if isinstance(value, Mapping) else {}


def _array(value: object) -> Sequence[object]:
    """A JSON array of the daemon's answer (``()`` when it is missing or not an array)."""
    return value if isinstance(value, list) else ()


def _running_daemon(report: _Report, settings: Settings, url: str | None, token_file: Path) -> None:
    ws_url = _daemon_url(settings, url)
    if not token_file.is_file():
        report.note("skip", "daemon", f"not running here (no token file {token_file})",
                    "start it (make run, or claimbridge run) to have it checked too")
        return
    try:
        token = token_file.read_text().strip()
        health = _ask(ws_url, token, "system.health")
    except OSError as exc:
        report.check("daemon", False, f"cannot read {token_file} ({exc.strerror})", "run as the daemon's user")
        return
    except CliError as exc:
        if exc.exit_code == 3 and "connection refused" in exc.line:
            report.note("skip", "daemon", f"not running at {ws_url}", "start it (make run, or claimbridge run)")
        else:
            report.check("daemon", False, exc.line)
        return
    if "error" in health:
        report.check("daemon", False, f"system.health refused: {_object(health['error']).get('message')}",
                     "see the daemon's log")
        return
    h = _object(health.get("result"))
    report.check("daemon", True, f"version {h.get('version')} at {ws_url}, up {h.get('uptimeS')} s")
    _daemon_state(report, ws_url, h)
    try:
        answer = _ask(ws_url, token, "healthcode.checkCredentials")
    except CliError as exc:
        report.check("daemon's healthcode sign-in", False, exc.line)
        return
    if "error" in answer:
        error = _object(answer["error"])
        if error.get("code") == -32601:
            report.note("skip", "daemon's healthcode", "not configured in the daemon")
        else:
            report.check("daemon's healthcode sign-in", False, str(error.get("message")),
                         "check the daemon's [healthcode] settings and the network path")
        return
    result = _object(answer.get("result"))
    report.check("daemon's healthcode sign-in", bool(result.get("ok")), str(result.get("message")),
                 "check the daemon's [healthcode] site_id, user_id and password_file")


def _readiness(ws_url: str) -> tuple[int, Mapping[str, object]]:
    """``GET /readyz`` of the daemon behind ``ws_url``: its status and body (0 and {}: no answer)."""
    http_url = ws_url.replace("wss://", "https://", 1).replace("ws://", "http://", 1).rsplit("/", 1)[0]
    try:
        r = httpx.get(f"{http_url}/readyz", timeout=10)
        body = r.json()
    except (httpx.HTTPError, ValueError):
        return 0, {}
    return r.status_code, _object(body)


def _daemon_state(report: _Report, ws_url: str, h: Mapping[str, object]) -> None:
    """The daemon's own state and each terminal's, as it measures them (``system.health`` and
    ``/readyz``); a fix is never a command the daemon would refuse now."""
    status, ready = _readiness(ws_url)
    if status == 0:
        report.note("skip", "daemon's state", f"/readyz of {ws_url} did not answer over HTTP")
    else:
        failing = sorted(k for k, v in ready.items() if (v is False and k != "ready") or (k == "journalBehind" and v)) + sorted(
            f"page of {n}" for n, ok in _object(ready.get("terminals")).items() if not ok)
        report.check("daemon's state", status == 200, f"{ready.get('state')} (/readyz {status})"
                     + (f": not ready: {', '.join(failing)}" if failing else ""),
                     "the lines below say what; the daemon retries by itself and is ready once they are [ok]")
    for part in ("journal", "browser"):
        component = _object(h.get(part))
        report.check(f"daemon's {part}", bool(component.get("ok")), str(component.get("message", "")),
                     "see the daemon's log; /readyz says the same")
    iclient = _object(h.get("iclient"))
    reachable = bool(iclient.get("ok", True))
    report.check("daemon's iClient server", reachable,
                 f"reachable since {iclient.get('since')}" if reachable
                 else f"cannot be reached since {iclient.get('since')}: {iclient.get('reason')}",
                 "check this machine's internet connection (and any proxy or firewall on the way to the "
                 "iClient URL); the daemon retries by itself and claims work again within seconds of its return")
    for t in map(_object, _array(h.get("terminals"))):
        name, keys = t.get("name"), f"mid {t.get('mid')}, tid {t.get('tid')}"
        busy = f"busy ({t.get('queued', 0)} waiting)" if t.get("busy") else "idle"
        page = bool(t.get("pageReady", True))
        report.check(f"daemon's terminal {name} page", page, "loaded" if page else "not loaded",
                     "the daemon is loading it again by itself (every few seconds); "
                     + ("it loads once the iClient server can be reached" if not reachable else "if it stays so, see the daemon's log"))
        if t.get("paired"):
            report.check(f"daemon's terminal {name}", True, f"{keys}: paired, {busy}")
        elif page and reachable:
            report.check(f"daemon's terminal {name}", False, f"{keys}: not paired",
                         f"claimbridge pair {name} --mid {t.get('mid')} --tid {t.get('tid')}")
        else:
            report.check(f"daemon's terminal {name}", False, f"{keys}: not paired",
                         "pair it once its page is loaded and the iClient server can be reached (the lines above)")


def run_doctor(config_file: Path | None, *, simulator_port: int | None = None, url: str | None = None,
               token_file: Path | None = None) -> int:
    """Run every check, print one line each, and return the exit code (1 when any failed).

    Args:
        config_file: ``--config`` (``None``: ``./claimbridge.toml`` if present).
        simulator_port: Check as ``run --with-simulator --simulator-port`` sees things.
        url: The daemon's websocket URL (default from the config's ``listen``).
        token_file: The daemon's token file (default ``state_dir/token``).
    """
    report = _Report()
    shown = config_file if config_file is not None else (DEFAULT_CONFIG_FILE if DEFAULT_CONFIG_FILE.is_file() else None)
    try:
        settings = load_settings(config_file)
    except (OSError, ValueError) as exc:  # tomllib and pydantic errors are ValueErrors
        for problem in config_problems(exc, shown):
            where = f"{problem.file}: {problem.key}" if problem.key else problem.file
            report.check("config", False, f"{where}: {problem.rule}", problem.fix)
        _browser(report, None)
        report.note("skip", "other checks", "they need a config that loads")
        return 1
    if simulator_port is not None:
        settings = simulator_settings(settings, simulator_port, write_password=False)
    report.check("config", True, f"{shown or 'defaults and environment'}: listen {settings.listen}, "
                 f"state_dir {settings.state_dir}")
    _browser(report, settings)
    host = settings.listen_host
    _tls(report, settings)
    if not _is_loopback(host) and not settings.tls.enabled:
        report.note("warn", "listen", f"{host}, a LAN address, without TLS: tokens cross the network in clear",
                    "set [tls] self_signed = true (or cert_file and key_file), or keep listen on 127.0.0.1 "
                    "and put a TLS reverse proxy (nginx, caddy) in front; see docs/operations.md")
    _journal(report, settings)
    token = token_file or Path(settings.state_dir) / "token"
    _token(report, token)
    _iclient(report, settings)
    _healthcode(report, settings)
    _mqtt(report, settings)
    _running_daemon(report, settings, url, token)
    return 1 if report.failed else 0
