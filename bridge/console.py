"""The engineers' console: serves the static files in ``bridge/console/`` and two small JSON
documents; owns no other I/O.

Everything the console shows or changes goes through the JSON-RPC websocket at ``/v1`` (the page
logs in by opening it with the ``bearer.<token>`` subprotocol, then keeps the token in a
``SameSite=Strict`` cookie that ``/v1`` also accepts). Two things are not protocol methods and
are served here behind the same cookie: ``/console/logs.json`` (the last 200 log records, from
:func:`bridge.observability.recent_logs`) and ``/console/info.json`` (the POS product data and
where the daemon keeps its files).
"""

from __future__ import annotations

import contextlib
import hmac
import json
import mimetypes
from http import HTTPStatus
from importlib import resources
from typing import TYPE_CHECKING, Any

from bridge.observability import recent_logs
from bridge.server import token_cookie

if TYPE_CHECKING:
    from websockets.http11 import Request

    from bridge.daemon import Daemon

__all__ = ["PREFIX", "install"]

#: Where the console lives on the daemon's port.
PREFIX = "/console/"

_Response = tuple[HTTPStatus, bytes, str]
_FILES = ("index.html", "console.js", "console.css")


def _static(name: str) -> _Response:
    if name not in _FILES:
        return HTTPStatus.NOT_FOUND, b"not found\n", "text/plain; charset=utf-8"
    resource = resources.files("bridge").joinpath("console", name)
    ctype = mimetypes.guess_type(name)[0] or "application/octet-stream"
    return HTTPStatus.OK, resource.read_bytes(), f"{ctype}; charset=utf-8"


def _json(value: Any) -> _Response:
    return HTTPStatus.OK, json.dumps(value, ensure_ascii=False).encode(), "application/json"


class _Console:
    def __init__(self, daemon: Daemon) -> None:
        self.daemon = daemon

    def _logged_in(self, request: Request) -> bool:
        cookie = token_cookie(request)
        token = self.daemon.token
        if not cookie or not token:
            return False
        return hmac.compare_digest(cookie.encode(), token.encode())

    def _info(self) -> dict[str, Any]:
        s = self.daemon.settings
        return {
            "posProduct": {
                "posProductVendor": s.pos_product.vendor,
                "posProductName": s.pos_product.name,
                "posProductVersion": s.pos_product.version,
            },
            "iclientUrl": s.iclient_url,
            "stateDir": str(self.daemon.state_dir),
            "healthcode": s.healthcode.url is not None,
            "mqtt": s.mqtt.url is not None,
        }

    async def route(self, request: Request) -> _Response:
        path = request.path.split("?", 1)[0]
        name = path[len(PREFIX):] if path.startswith(PREFIX) else ""
        if name in ("logs.json", "info.json"):
            if not self._logged_in(request):
                return HTTPStatus.UNAUTHORIZED, b'{"error":"log in first"}', "application/json"
            return _json(recent_logs(self.daemon) if name == "logs.json" else self._info())
        return _static(name or "index.html")


def install(daemon: Daemon) -> None:
    """Always on: the console is how field engineers pair terminals."""
    console = _Console(daemon)

    async def setup(d: Daemon, stack: contextlib.AsyncExitStack) -> None:
        d.extra_routes["/console"] = console.route  # the server drops a trailing slash
        d.extra_routes[PREFIX] = console.route

    daemon.add_setup(setup)
