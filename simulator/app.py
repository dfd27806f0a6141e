"""The simulator's aiohttp application: static iClient files, the iframe link websocket
(``/_term/ws``) and the control API (``/_sim/...``, INTERFACES.md "The simulator").

HTTP and websocket I/O live here only; every behaviour is in :mod:`simulator.runtime`.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from pathlib import Path
from typing import Any

from aiohttp import WSMsgType, web
from pydantic import ValidationError

from simulator.clock import Clock
from simulator.errors import PairingNotPending
from simulator.runtime import Simulator
from simulator.sessions import Session
from simulator.scenarios import Scenario

from simulator.healthcode import create_healthcode_app, remit, reset_healthcode

__all__ = ["BASE_URL_PLACEHOLDER", "CLOCK_KEY", "SIMULATOR_KEY", "STATIC_DIR", "create_app"]

_log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).resolve().parent / "static"
"""Where iclient-v1.js, iclient.html, configuration.html and logs.html live."""
BASE_URL_PLACEHOLDER = "__CLAIMBRIDGE_SIM_BASE_URL__"
"""Literal in iclient-v1.js replaced by the base URL the request came in on."""

SIMULATOR_KEY = web.AppKey("simulator", Simulator)
CLOCK_KEY = web.AppKey("clock", Clock)
_HEALTHCODE_KEY = web.AppKey("healthcode", web.Application)

_NO_CACHE = {"Cache-Control": "no-store"}


def _base_url(request: web.Request) -> str:
    return f"{request.scheme}://{request.host}/"


async def _iclient_js(request: web.Request) -> web.StreamResponse:
    path = STATIC_DIR / request.match_info["name"]
    if not path.is_file():
        raise web.HTTPNotFound(text=f"{path.name} is not built yet")
    text = path.read_text(encoding="utf-8").replace(BASE_URL_PLACEHOLDER, _base_url(request))
    return web.Response(text=text, content_type="application/javascript", headers=_NO_CACHE)


async def _page(request: web.Request) -> web.StreamResponse:
    path = STATIC_DIR / request.match_info["name"]
    if not path.is_file():
        raise web.HTTPNotFound(text=f"{path.name} is not built yet")
    return web.FileResponse(path, headers=_NO_CACHE)


async def _term_ws(request: web.Request) -> web.StreamResponse:
    simulator = request.app[SIMULATOR_KEY]
    ws = web.WebSocketResponse(heartbeat=None)
    await ws.prepare(request)

    async def send(frame: dict[str, Any]) -> None:
        await ws.send_str(json.dumps(frame))

    session = Session(send)
    try:
        async for message in ws:
            if message.type is not WSMsgType.TEXT:
                continue
            try:
                frame = json.loads(message.data)
            except ValueError:
                continue
            if isinstance(frame, dict):
                await simulator.handle_frame(session, frame)
    finally:
        simulator.detach(session)
    return ws


async def _json_body(request: web.Request) -> dict[str, Any]:
    if not request.can_read_body:
        return {}
    try:
        body = await request.json()
    except ValueError:
        raise _bad_request("body is not JSON") from None
    if not isinstance(body, dict):
        raise _bad_request("body must be an object")
    return body


def _bad_request(message: str) -> web.HTTPBadRequest:
    return web.HTTPBadRequest(text=json.dumps({"error": message}), content_type="application/json")


async def _health(request: web.Request) -> web.StreamResponse:
    return web.json_response({"status": "ok"})


async def _reset(request: web.Request) -> web.StreamResponse:
    await request.app[SIMULATOR_KEY].reset()
    reset_healthcode(request.app[_HEALTHCODE_KEY])
    return web.json_response({"status": "reset"})


async def _ledger(request: web.Request) -> web.StreamResponse:
    records = request.app[SIMULATOR_KEY].ledger.records
    return web.json_response({"records": [r.to_json() for r in records]})


async def _terminals(request: web.Request) -> web.StreamResponse:
    return web.json_response({"terminals": request.app[SIMULATOR_KEY].terminals_json()})


async def _scenario(request: web.Request) -> web.StreamResponse:
    body = await _json_body(request)
    try:
        scenario = Scenario.model_validate(body)
    except ValidationError as error:
        errors = [
            {"field": ".".join(str(p) for p in e["loc"]), "message": e["msg"]} for e in error.errors()
        ]
        return web.json_response({"error": "invalid scenario", "errors": errors}, status=400)
    simulator = request.app[SIMULATOR_KEY]
    if scenario.card is not None and simulator.reference.fund_for(scenario.card) is None:
        return web.json_response(
            {
                "error": "invalid scenario",
                "errors": [{"field": "card.fundId", "message": "unknown fund"}],
            },
            status=400,
        )
    simulator.scenarios.add(scenario)
    return web.json_response({"accepted": True, "queued": len(simulator.scenarios)})


def _clock_state(clock: Clock) -> dict[str, Any]:
    return {"now": clock.now().isoformat(), "scale": clock.scale}


async def _clock(request: web.Request) -> web.StreamResponse:
    clock = request.app[CLOCK_KEY]
    if request.method == "GET":
        return web.json_response(_clock_state(clock))
    body = await _json_body(request)
    now = body.get("now")
    scale = body.get("scale")
    errors = []
    moment: datetime | None = None
    if now is not None:
        try:
            moment = datetime.fromisoformat(str(now).replace("Z", "+00:00"))
        except ValueError:
            moment = None
        if moment is None or moment.tzinfo is None:
            errors.append({"field": "now", "message": "ISO 8601 with an offset"})
    bad_scale = isinstance(scale, bool) or not isinstance(scale, int | float) or scale < 0
    if scale is not None and bad_scale:
        errors.append({"field": "scale", "message": "a number >= 0"})
    if errors:
        return web.json_response({"error": "invalid clock request", "errors": errors}, status=400)
    clock.set(now=moment, scale=float(scale) if scale is not None else None)
    return web.json_response(_clock_state(clock))


async def _authorise(request: web.Request) -> web.StreamResponse:
    try:
        mid, tid = int(request.match_info["mid"]), int(request.match_info["tid"])
    except ValueError:
        raise web.HTTPNotFound() from None
    try:
        answer = request.app[SIMULATOR_KEY].authorise(mid, tid)
    except PairingNotPending as error:
        return web.json_response({"status": "failure", "message": str(error)}, status=409)
    return web.json_response(answer)


async def _on_cleanup(app: web.Application) -> None:
    await app[SIMULATOR_KEY].close()


async def _healthcode_remit(request: web.Request) -> web.StreamResponse:
    """``POST /_sim/healthcode/remit {invoiceNumber, amountPaid}``: the insurer pays a bill."""
    try:
        body = await request.json()
    except ValueError:
        body = None
    status, answer = remit(request.app[_HEALTHCODE_KEY], body)
    return web.json_response(answer, status=status)


def create_app(clock: Clock | None = None, *, seed: int = 0) -> web.Application:
    """Build the simulator application.

    Args:
        clock: The simulated clock (a real-time one by default).
        seed: Seed of the deterministic ids.

    Returns:
        The aiohttp application, Healthcode mounted at ``/healthcode/``.
    """
    clock = clock or Clock()
    app = web.Application()
    app[CLOCK_KEY] = clock
    app[SIMULATOR_KEY] = Simulator(clock, seed=seed)
    app.router.add_get("/{name:iclient-v1\\.js|iclient-with-ui-v1\\.js}", _iclient_js)
    app.router.add_get("/{name:iclient\\.html|configuration\\.html|logs\\.html}", _page)
    app.router.add_get("/_term/ws", _term_ws)
    app.router.add_get("/_sim/health", _health)
    app.router.add_post("/_sim/reset", _reset)
    app.router.add_get("/_sim/ledger", _ledger)
    app.router.add_get("/_sim/terminals", _terminals)
    app.router.add_post("/_sim/scenario", _scenario)
    app.router.add_route("*", "/_sim/clock", _clock)
    app.router.add_post("/_sim/terminals/{mid}/{tid}/authorise", _authorise)
    sub = create_healthcode_app(clock)
    app[_HEALTHCODE_KEY] = sub
    app.add_subapp("/healthcode/", sub)
    app.router.add_post("/_sim/healthcode/remit", _healthcode_remit)
    app.on_cleanup.append(_on_cleanup)
    return app
