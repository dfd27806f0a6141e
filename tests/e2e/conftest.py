"""Fixtures for the browser end-to-end tests.

One event loop in a background thread runs the simulator (``simulator.app.create_app`` with its
own :class:`simulator.clock.Clock`) and a tiny static server for the test PMS page, each on a
free port of 127.0.0.1, so the PMS page has its own origin like a real practice system. One
headless Chromium serves each test module; every test gets a fresh context and page.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from aiohttp import web
from playwright.sync_api import Browser, Page, Playwright, sync_playwright

__all__: list[str] = []

T = TypeVar("T")

CHROMIUM = "/usr/bin/chromium-headless-shell"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PMS_DIR = Path(__file__).resolve().parents[2] / "fixtures" / "pms"

#: Default simulated time for a test: a Monday morning in Sydney (AEDT).
DEFAULT_NOW = "2026-11-23T10:00:00+11:00"
#: Default clock speed: fast enough for quick tests, slow enough for the 55 s / 120 s timers.
DEFAULT_SCALE = 20.0


class BackgroundLoop:
    """An asyncio loop running in a daemon thread, for servers the tests talk to."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="e2e-servers", daemon=True)
        self.runners: list[web.AppRunner] = []

    def start(self) -> None:
        """Start the thread."""
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 30.0) -> T:
        """Run a coroutine on the loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    async def serve(self, app: web.Application) -> int:
        """Serve an app on 127.0.0.1 with a free port; return the port."""
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        self.runners.append(runner)
        address = runner.addresses[0]
        return int(address[1])

    def stop(self) -> None:
        """Clean up every runner and stop the loop."""
        for runner in reversed(self.runners):
            self.run(runner.cleanup())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)


@dataclass
class Sim:
    """The running simulator and its control API."""

    base_url: str
    clock: Any
    http: httpx.Client = field(repr=False)

    def reset(self) -> None:
        """POST /_sim/reset."""
        self.http.post("/_sim/reset").raise_for_status()

    def set_clock(self, now: str | None = None, scale: float | None = None) -> dict[str, Any]:
        """POST /_sim/clock with an ISO-8601 time and/or a scale."""
        body: dict[str, Any] = {}
        if now is not None:
            body["now"] = now
        if scale is not None:
            body["scale"] = scale
        response = self.http.post("/_sim/clock", json=body)
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result

    def scenario(self, **fields: Any) -> None:
        """POST /_sim/scenario for the next transaction."""
        self.http.post("/_sim/scenario", json=fields).raise_for_status()

    def ledger(self) -> list[dict[str, Any]]:
        """GET /_sim/ledger records."""
        response = self.http.get("/_sim/ledger")
        response.raise_for_status()
        records: list[dict[str, Any]] = response.json()["records"]
        return records

    def authorise(self, mid: int, tid: int) -> httpx.Response:
        """The engineer pressing "Authorise POS" on the terminal."""
        return self.http.post(f"/_sim/terminals/{mid}/{tid}/authorise")


class Pms:
    """The test PMS page (fixtures/pms) driven through ``window.pms``."""

    def __init__(self, page: Page, url: str) -> None:
        self.page = page
        self.url = url

    def load(self) -> None:
        """Open (or reload) the PMS page and wait for iClient to load."""
        self.page.goto(self.url)
        self.wait_ready()

    def reload(self) -> None:
        """Reload the page, as a crashed or restarted PMS would."""
        self.page.reload()
        self.wait_ready()

    def wait_ready(self) -> None:
        """Wait until the page has created its TYRO.IClient."""
        self.page.wait_for_function("window.pms && (window.pms.ready || window.pms.loadError)")
        error = self.page.evaluate("window.pms.loadError")
        assert error is None, error

    def call(self, name: str, *args: Any) -> Any:
        """Call ``pms[name](...args)`` and await its result."""
        return self.page.evaluate("([name, args]) => window.pms[name](...args)", [name, list(args)])

    def start(self, name: str, *args: Any) -> None:
        """Start ``pms[name](...args)`` without awaiting it; :meth:`wait` gets the result."""
        self.page.evaluate("([name, args]) => window.pms.start(name, ...args)", [name, list(args)])

    def wait(self) -> Any:
        """Await the operation started by :meth:`start`."""
        return self.page.evaluate("window.pms.wait()")

    def wait_for_event(self, kind: str, timeout: float = 15_000) -> None:
        """Wait until the running operation has produced an event of this kind."""
        self.page.wait_for_function(
            "kind => window.pms.events.some(e => e.type === kind)", arg=kind, timeout=timeout
        )

    def events(self, kind: str) -> list[Any]:
        """Values of the running operation's events of this kind."""
        values: list[Any] = self.page.evaluate(
            "kind => window.pms.events.filter(e => e.type === kind).map(e => e.value)", kind
        )
        return values

    def attempt(self, body: str) -> dict[str, Any]:
        """Run ``(TYRO, client) => { body }`` in the page; return {ok} or {error: {name, message}}."""
        result: dict[str, Any] = self.page.evaluate(
            f"() => window.pms.attempt((TYRO, client) => {{ {body} }})"
        )
        return result


@pytest.fixture(scope="session")
def browser_servers() -> Iterator[tuple[BackgroundLoop, Sim, str]]:
    """The simulator and the PMS page server, for the whole session."""
    from simulator.app import create_app
    from simulator.clock import Clock

    background = BackgroundLoop()
    background.start()

    async def start_all() -> tuple[Any, int, int]:
        clock = Clock()
        sim_port = await background.serve(create_app(clock))
        pms_app = web.Application()
        pms_app.router.add_static("/", PMS_DIR)
        pms_port = await background.serve(pms_app)
        return clock, sim_port, pms_port

    clock, sim_port, pms_port = background.run(start_all())
    sim_base = f"http://127.0.0.1:{sim_port}/"
    with httpx.Client(base_url=sim_base, timeout=10) as http:
        yield background, Sim(base_url=sim_base, clock=clock, http=http), f"http://127.0.0.1:{pms_port}/"
    background.stop()


@pytest.fixture
def browser_sim(browser_servers: tuple[BackgroundLoop, Sim, str]) -> Sim:
    """The simulator, reset, with its clock at :data:`DEFAULT_NOW` running at :data:`DEFAULT_SCALE`."""
    simulator = browser_servers[1]
    simulator.reset()
    simulator.set_clock(DEFAULT_NOW, DEFAULT_SCALE)
    return simulator


@pytest.fixture(scope="module")
def sync_playwright_driver() -> Iterator[Playwright]:
    """Playwright's sync driver, for one test module at a time.

    The sync API drives its own event loop on the main thread; while it is alive, pytest-asyncio
    cannot run the async tests of other modules ("Cannot run the event loop while another loop
    is running"), so it must stop when the module's tests end.
    """
    with sync_playwright() as instance:
        yield instance


@pytest.fixture(scope="module")
def chromium(sync_playwright_driver: Playwright) -> Iterator[Browser]:
    """One headless Chromium for the test module (launching it takes well under a second)."""
    browser = sync_playwright_driver.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@pytest.fixture
def pms(chromium: Browser, browser_servers: tuple[BackgroundLoop, Sim, str], browser_sim: Sim) -> Iterator[Pms]:
    """The test PMS page in a fresh browser context, loaded and ready."""
    context = chromium.new_context()
    context.set_default_timeout(20_000)
    page = context.new_page()
    page_errors: list[str] = []
    page.on("pageerror", lambda error: page_errors.append(str(error)))
    pms_page = Pms(page, f"{browser_servers[2]}pms-page.html?sim={browser_sim.base_url}")
    pms_page.load()
    yield pms_page
    context.close()
    assert page_errors == [], page_errors
