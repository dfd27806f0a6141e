"""The CLI's JSON-RPC client: the one websocket the ``claimbridge`` commands open to the daemon.

websockets' and the socket's errors stop here: each becomes a :class:`CliError` carrying one
plain line (what is wrong, what to do) and the exit code (see :data:`bridge.cli.text.EXIT_CODES`).
"""

from __future__ import annotations

import asyncio
import errno
import json
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from urllib.parse import urlsplit

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus, WebSocketException

from bridge.config import Settings

__all__ = ["CliError", "Answer", "local_url", "read_token", "rpc_call", "with_pin"]

#: The URL fragment that carries the certificate fingerprint a ``wss://`` client pins.
_PIN = "#sha256="


class CliError(Exception):
    """A failure the CLI reports as one plain line and an exit code, never a traceback."""

    def __init__(self, line: str, exit_code: int = 1) -> None:
        super().__init__(line)
        self.line = line
        self.exit_code = exit_code


@dataclass(frozen=True, slots=True)
class Answer:
    """``call --answer``: answer the job's question with ``label``, as ``operator`` if given."""

    label: str
    operator: str | None = None


def with_pin(url: str, fingerprint: str | None) -> str:
    """``url`` carrying the certificate fingerprint to pin (``wss://…/v1#sha256=AB:CD:…``)."""
    if not fingerprint or not url.startswith("wss://"):
        return url
    return url.split("#", 1)[0] + _PIN + fingerprint.strip().removeprefix("sha256:")


def local_url(settings: Settings) -> str:
    """The daemon's URL as a client on this machine reaches it: loopback for a wildcard
    ``listen``, ``wss://`` with the certificate's fingerprint pinned when ``[tls]`` is on
    (``[tls] fingerprint``, else the fingerprint of the daemon's own certificate file)."""
    host, _, port = settings.listen.rpartition(":")
    if host in ("0.0.0.0", "::", "[::]", ""):
        host = "127.0.0.1"
    tls = settings.tls
    if not tls.enabled:
        return f"ws://{host}:{port}/v1"
    fingerprint = tls.fingerprint
    if fingerprint is None:
        from bridge.tls import SELF_SIGNED_DIR, certificate_fingerprint

        cert = tls.cert_file or Path(settings.state_dir) / SELF_SIGNED_DIR / "cert.pem"
        try:
            fingerprint = certificate_fingerprint(cert)
        except (OSError, ValueError):
            fingerprint = None  # not made yet: the daemon never started; the connection says so
    return with_pin(f"wss://{host}:{port}/v1", fingerprint)


async def _tls_for(url: str) -> tuple[str, ssl.SSLContext | None]:
    """The URL without its pin, and the TLS context for it (pinned, or the system's CAs)."""
    target, sep, pin = url.partition(_PIN)
    if not target.startswith("wss://"):
        return target, None
    if not sep:
        return target, ssl.create_default_context()
    from bridge.tls import PinMismatch, pinned_context

    parts = urlsplit(target)
    try:
        return target, await pinned_context(parts.hostname or "127.0.0.1", parts.port or 443, pin)
    except PinMismatch as exc:
        raise CliError(f"the daemon at {target} is not the one pinned: {exc}. If its certificate was "
                       "made again, check the new fingerprint (claimbridge doctor on the daemon's "
                       "machine) and give it with --fingerprint", 3) from None
    except ValueError as exc:
        raise CliError(f"--fingerprint: {exc}", 2) from None


def read_token(path: Path) -> str:
    """The daemon's token from its token file.

    Raises:
        CliError: The file is missing or unreadable (exit 3).
    """
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        raise CliError(
            f"no token file at {path}: the daemon is not running with this state directory. "
            "Start it (make run, or claimbridge run), or give --token-file", 3) from None
    except OSError as exc:
        raise CliError(f"cannot read the token file {path} ({exc.strerror}): run as the daemon's user, "
                       "or give --token-file", 3) from None


async def _session(
    ws: ClientConnection,
    method: str,
    params: Any,
    on_notification: Callable[[dict[str, Any]], None] | None,
    answer: Answer | None,
    on_answered: Callable[[dict[str, Any], dict[str, Any]], None] | None,
) -> dict[str, Any]:
    request: dict[str, Any] = {"jsonrpc": "2.0", "id": 1, "method": method}
    if params is not None:
        request["params"] = params
    await ws.send(json.dumps(request))
    asked: dict[int, dict[str, Any]] = {}
    next_id = 2
    while True:
        message = json.loads(await ws.recv())
        if not isinstance(message, dict):
            continue
        if "id" not in message and "method" in message:
            if on_notification is not None:
                on_notification(message)
            note_params = message.get("params") or {}
            if answer is not None and message["method"] == "job.question" and isinstance(note_params, dict):
                # The option as the terminal spells it ("accept" -> "ACCEPT"): the daemon matches
                # without regard to case, and so must an older one that did not.
                options = note_params.get("options") or ()
                label = next((str(o) for o in options if str(o).casefold() == answer.label.casefold()), answer.label)
                reply: dict[str, Any] = {"jobId": note_params.get("jobId"), "answer": label}
                if answer.operator is not None:
                    reply["operator"] = answer.operator
                asked[next_id] = reply
                await ws.send(json.dumps({"jsonrpc": "2.0", "id": next_id, "method": "job.answer", "params": reply}))
                next_id += 1
            continue
        if message.get("id") in asked:
            sent = asked.pop(message["id"])
            if on_answered is not None:
                on_answered(sent, message)
            continue
        return message


async def rpc_call(
    url: str,
    token: str,
    method: str,
    params: Any,
    on_notification: Callable[[dict[str, Any]], None] | None = None,
    timeout: float | None = None,
    answer: Answer | None = None,
    on_answered: Callable[[dict[str, Any], dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Send one request; return the response object (``result`` or ``error``).

    Args:
        url: The daemon's websocket URL; a ``wss://`` one may carry the certificate
            fingerprint to pin as ``#sha256=…`` (:func:`with_pin`).
        token: The daemon's token.
        method: The JSON-RPC method.
        params: Its params (``None``: none).
        on_notification: Called with each notification on the way.
        timeout: Seconds to wait for the answer (``None``: as long as it takes).
        answer: Answer each ``job.question`` that arrives with ``job.answer`` on the same
            connection.
        on_answered: Called with (the ``job.answer`` params sent, the response) for each answer.

    Raises:
        CliError: No daemon at ``url`` (exit 3), the token refused (exit 3), the connection
            lost or the answer not in time (exit 1).
    """
    try:
        url, tls = await _tls_for(url)
        async with connect(url, additional_headers={"Authorization": f"Bearer {token}"}, max_size=None,
                           open_timeout=10, ssl=tls) as ws:
            return await asyncio.wait_for(
                _session(ws, method, params, on_notification, answer, on_answered), timeout)
    except InvalidStatus as exc:
        status = exc.response.status_code
        if status == 401:
            raise CliError(f"the daemon at {url} refused the token (HTTP 401): the token file is not this "
                           "daemon's; give --token-file STATE_DIR/token", 3) from None
        raise CliError(f"the daemon at {url} refused the connection (HTTP {status}): see its log", 3) from None
    except TimeoutError:
        raise CliError(f"no answer from the daemon at {url} in {timeout} s: see the daemon's log "
                       "(claimbridge jobs shows the job's state)", 1) from None
    except ssl.SSLCertVerificationError as exc:
        raise CliError(f"the daemon at {url} has a certificate this machine does not trust "
                       f"({exc.verify_message}): pin it with --fingerprint (claimbridge doctor on the "
                       "daemon's machine prints it)", 3) from None
    except ssl.SSLError as exc:
        raise CliError(f"TLS with the daemon at {url} failed ({exc.reason}): is it serving TLS "
                       "(wss://) on that port?", 3) from None
    except ConnectionRefusedError:
        raise CliError(f"no daemon is running at {url} (connection refused): start it with make run "
                       "or claimbridge run, or give --url", 3) from None
    except OSError as exc:
        if exc.errno in (errno.ECONNREFUSED, errno.EHOSTUNREACH, errno.ENETUNREACH) or "Connect call failed" in str(exc):
            raise CliError(f"no daemon is running at {url} (connection refused): start it with make run "
                           "or claimbridge run, or give --url", 3) from None
        raise CliError(f"cannot reach the daemon at {url} ({exc.strerror or exc}): check --url and the "
                       "network", 3) from None
    except WebSocketException as exc:
        raise CliError(f"the connection to the daemon at {url} failed ({type(exc).__name__}): see the "
                       "daemon's log, then try again", 1) from None
