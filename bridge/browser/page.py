"""Headless Chromium through Playwright: the only code that imports playwright.

:class:`Browser` launches Debian's Chromium (the headless shell by default) and relaunches it
with backoff when it dies; it also runs the :class:`~bridge.browser.pagelink.PageLink` its pages connect
to. :class:`TerminalPage` is one terminal's page: Playwright loads the daemon's host page, which
loads iClient and connects back to the daemon over the page link; from then on operations go to
the page and its callbacks come back over that link (one loopback hop, where ``page.evaluate``
crosses four processes each way), as a closed set of :class:`PageEvent` kinds (status,
question, receipt, complete, pairing, info, report, crashed). It decides nothing about jobs:
that is :mod:`bridge.terminals.runner`'s business.

Every call into a page has a timeout (``call_timeout_s``): a renderer that stopped (SIGSTOP, a
busy loop, a wedged GPU process) must not block the caller. :meth:`TerminalPage.probe` is the
liveness probe the daemon runs (through Playwright, and the link must be up); a page that fails
it is marked :attr:`~TerminalPage.hung` and its operations end as ``crashed``, exactly as when
the page dies.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import time
from collections.abc import Callable, Coroutine, Mapping
from types import TracebackType
from typing import Any

from playwright.async_api import Browser as PwBrowser
from playwright.async_api import BrowserContext, Page, Playwright, Request, Response, async_playwright
from playwright.async_api import Error as PlaywrightError

from bridge.backoff import backoff_delay
from bridge.errors import TerminalError
from bridge.memory import release_free_memory
from bridge.browser.events import Operation, PageEvent, PageEventKind
from bridge.browser.flags import BROWSER_ARGS, launch_args
from bridge.browser.pagelink import PageChannel, PageLink
from bridge.browser.reachability import PROBE_MS, PROBE_SCRIPT, Evidence, Reachability, request_failed, response_seen

__all__ = ["Browser", "TerminalPage", "PageEvent", "PageEventKind", "Operation", "BROWSER_ARGS", "launch_args"]

log = logging.getLogger("claimbridge.browser.page")


class Browser:
    """One Chromium process for all terminals, relaunched with backoff after a crash.

    Args:
        executable_path: the browser binary (``[browser] executable_path``, which defaults to the
            first Debian build found; None: Playwright's own, which this machine lacks).
        extra_args: added to :data:`BROWSER_ARGS` (see :func:`launch_args`).
        on_crash: awaited (in a task) when the browser disconnects unexpectedly.
        stable_after_s: how long a launched browser must stay up before a crash is relaunched
            at once again (:meth:`relaunch`).
    """

    def __init__(
        self,
        executable_path: str | None,
        extra_args: tuple[str, ...] = (),
        on_crash: Callable[[], Coroutine[Any, Any, None]] | None = None,
        stable_after_s: float = 60.0,
    ) -> None:
        self.executable_path = executable_path
        self.extra_args = extra_args
        self._on_crash = on_crash
        self._pw: Playwright | None = None
        self._browser: PwBrowser | None = None
        #: Where the pages connect back to the daemon (listening while the browser is entered).
        self.link = PageLink()
        self._closing = False
        self.restarts = 0
        self.generation = 0
        #: The browser process's id, learnt at launch (to kill it when it will not close).
        self.pid: int | None = None
        #: A browser up this long counts as started: its next relaunch waits no longer than the first.
        self.stable_after_s = stable_after_s
        self._launched_at: float | None = None
        self._short_lived = 0
        #: Whether the iClient server can be reached, as the pages see it (shared by all pages).
        self.iclient = Reachability()

    async def __aenter__(self) -> Browser:
        await self.link.__aenter__()
        try:
            self._pw = await async_playwright().start()
            await self.launch()
        except BaseException:
            await self.__aexit__(None, None, None)
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._closing = True
        await self._close_browser()
        if self._pw is not None:
            await self._pw.stop()
            self._pw = None
        await self.link.__aexit__(exc_type, exc, tb)

    @property
    def up(self) -> bool:
        """Whether a browser process is connected now."""
        return self._browser is not None and self._browser.is_connected()

    async def process_id(self) -> int | None:
        """The browser process's id (asked of Chromium itself), for tests that kill it."""
        if self.pid is not None and self.up:
            return self.pid
        return await self._ask_process_id()

    async def _ask_process_id(self) -> int | None:
        for _ in range(20):
            if self._browser is not None:
                try:
                    cdp = await self._browser.new_browser_cdp_session()
                    info = await cdp.send("SystemInfo.getProcessInfo")
                    await cdp.detach()
                except PlaywrightError:
                    info = {}
                for proc in info.get("processInfo", []):
                    if proc.get("type") == "browser":
                        return int(proc["id"])
            await asyncio.sleep(0.1)  # relaunching after a crash, or not answering yet
        return None

    async def launch(self) -> None:
        """Start Chromium; raises TerminalError when it cannot start."""
        if self._pw is None:
            raise TerminalError("the browser driver is not started")
        path = self.executable_path
        if path is not None and not (os.path.isfile(path) and os.access(path, os.X_OK)):
            raise TerminalError(f"cannot start the browser {path}: no executable file there")
        try:
            self._browser = await self._pw.chromium.launch(
                executable_path=self.executable_path, args=launch_args(self.extra_args), headless=True,
            )
        except PlaywrightError as exc:
            raise TerminalError(f"cannot start the browser {self.executable_path}: {exc.message}") from exc
        self.generation += 1
        self._launched_at = time.monotonic()
        self._browser.on("disconnected", self._disconnected)
        self.pid = None
        self.pid = await self._ask_process_id()
        log.info("browser started (%s, generation %d)", self.executable_path, self.generation)

    def _disconnected(self, _browser: PwBrowser) -> None:
        if self._closing:
            return
        log.error("browser disconnected (generation %d)", self.generation)
        self._browser = None
        if self._on_crash is not None:
            asyncio.get_running_loop().create_task(self._on_crash(), name="claimbridge.browser.on_crash")

    async def relaunch(self, max_delay: float = 30.0, close_timeout_s: float = 10.0) -> None:
        """Launch again after a crash, backing off 0.25 s, 0.5 s, 1 s … up to ``max_delay``.

        A browser that died within :attr:`stable_after_s` of its launch (a syscall filter kills
        it at its first page, say) did not really start: the delay goes on growing from where
        the last relaunch left it, rather than starting again from nothing at every crash.
        """
        lived = None if self._launched_at is None else time.monotonic() - self._launched_at
        self._short_lived = self._short_lived + 1 if lived is not None and lived < self.stable_after_s else 0
        attempt = self._short_lived
        while not self._closing:
            if attempt:
                delay = backoff_delay(attempt - 1, 0.25, max_delay)
                log.warning("relaunching the browser in %.2f s (%d launches in a row did not stay up)", delay, attempt)
                await asyncio.sleep(delay)
            await self._close_browser(close_timeout_s)
            try:
                await self.launch()
                self.restarts += 1
                return
            except TerminalError as exc:
                attempt += 1
                log.error("browser relaunch failed: %s", exc)

    async def _close_browser(self, timeout_s: float = 10.0) -> None:
        browser, self._browser = self._browser, None
        if browser is None:
            return
        # A close we asked for is not a crash: no second relaunch from the handler.
        browser.remove_listener("disconnected", self._disconnected)
        try:
            await asyncio.wait_for(browser.close(), timeout_s)
        except PlaywrightError:
            pass  # already gone; close() still cleans Playwright's temporary profile
        except TimeoutError:
            # A hung renderer can keep Chromium from closing: end the process.
            log.error("browser did not close within %.0f s: killing pid %s", timeout_s, self.pid)
            if self.pid is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(self.pid, signal.SIGKILL)

    async def restart(self, why: str) -> None:
        """Close a browser that is up but not answering (a hung page), then launch again."""
        log.error("restarting the browser: %s", why)
        # A browser with a stopped renderer may never finish closing: do not wait long for it.
        await self.relaunch(close_timeout_s=2.0)

    async def new_context(self) -> BrowserContext:
        """A fresh context: each terminal gets its own storage, as separate POS machines would."""
        if self._browser is None:
            raise TerminalError("the browser is not running")
        try:
            return await self._browser.new_context()
        except PlaywrightError as exc:
            raise TerminalError(f"cannot open a browser context: {exc.message}") from exc


class TerminalPage:
    """One terminal's page running iClient.

    Args:
        browser: the shared browser.
        host_url: the daemon's host page (a stable loopback origin).
        iclient_url: where iClient is loaded from (Tyro's or the simulator's).
        api_key: the POS vendor's iClient API key.
        pos_product: ``posProductData`` sent with every request.
        call_timeout_s: the longest any call into the page may take (loading it: 3x, at least 30 s).
    """

    def __init__(
        self,
        browser: Browser,
        host_url: str,
        iclient_url: str,
        api_key: str,
        pos_product: dict[str, str],
        call_timeout_s: float = 10.0,
    ) -> None:
        self._browser = browser
        self.call_timeout_s = call_timeout_s
        #: Set when the page failed a liveness probe; cleared by :meth:`open`.
        self.hung = False
        self.host_url = host_url
        self.iclient_url = iclient_url
        self.api_key = api_key
        self.pos_product = pos_product
        self._context: BrowserContext | None = None
        self._page: Page | None = None
        self._channel: PageChannel | None = None
        self._ops: dict[str, Operation] = {}
        self.generation = 0
        #: iClient holds a half-open channel: load the page again before it takes work (see :meth:`open`).
        self.stale = False
        #: The last network failure seen while the page was being opened (None: none).
        self._network_failure: str | None = None

    @property
    def iclient(self) -> Reachability:
        """Whether the iClient server can be reached (shared by all pages of the browser)."""
        return self._browser.iclient

    @property
    def loaded(self) -> bool:
        """Whether the page is open with iClient loaded and connected to the daemon."""
        return (
            self._page is not None and not self._page.is_closed() and not self.hung and not self.stale
            and self._channel is not None and self._channel.up
            and self.generation == self._browser.generation
        )

    async def _evaluate(self, page: Page, script: str, arg: Any, timeout_s: float | None = None) -> Any:
        """``page.evaluate`` with a timeout; a timeout is a TerminalError like any page failure."""
        limit = self.call_timeout_s if timeout_s is None else timeout_s
        try:
            return await asyncio.wait_for(page.evaluate(script, arg), limit)
        except TimeoutError as exc:
            raise TerminalError(f"the page did not answer within {limit:.1f} s") from exc
        except PlaywrightError as exc:
            raise TerminalError(exc.message) from exc

    async def probe(self) -> bool:
        """Liveness: the page evaluates a trivial script within ``call_timeout_s``, and its link
        to the daemon is up.

        A page that fails is marked :attr:`hung` and its operations end as ``crashed`` (their
        outcome is unknown); only :meth:`open` (after a browser restart) clears it.
        """
        page = self._page
        if page is None or page.is_closed():
            return False
        try:
            await self._evaluate(page, "() => 1", None)
            if self._channel is None or not self._channel.up:
                raise TerminalError("its link to the daemon is down")
        except TerminalError as exc:
            if page is not self._page:
                return True  # replaced (recycled) while it was probed: the new one is not hung
            log.error("terminal page failed its liveness probe: %s", exc.detail)
            self.hung = True
            self._fail_all("the page stopped answering")
            return False
        return True

    async def probe_iclient(self) -> bool | None:
        """Reachability: the page asks the iClient server for iClient's script (``HEAD``, no
        cache); the answer or the failure goes to :attr:`iclient`. None when the page is not
        there to ask (its own liveness is :meth:`probe`'s business)."""
        page = self._page
        if page is None or page.is_closed() or self.hung:
            return None
        try:
            error = await self._evaluate(page, PROBE_SCRIPT, [self.iclient_url, PROBE_MS], PROBE_MS / 1000 + self.call_timeout_s)
        except TerminalError:
            return None
        return self.iclient.probed(error, self.iclient_url)

    def _request_failed(self, request: Request) -> None:
        self._witness(request_failed(request.url, request.failure or "", request.resource_type, self.host_url))

    def _response(self, response: Response) -> None:
        self._witness(response_seen(response.url, response.status, response.request.resource_type, self.host_url))

    def _witness(self, evidence: Evidence | None) -> None:
        """What a request of the page says about the iClient server (:mod:`~bridge.browser.reachability`)."""
        if evidence is None or evidence.reached:
            if evidence is not None:
                self.iclient.reached()
            return
        self._network_failure = evidence.reason
        self.iclient.failed(evidence.reason)
        if evidence.frame and self._ops:  # iClient's frame did not load: the operations never left the page
            self.stale = True
            for op in list(self._ops.values()):
                op.events.put_nowait(PageEvent("unreachable", evidence.reason))
            self._ops.clear()

    async def open(self) -> None:
        """Open the host page, load iClient into it and connect it (again, after a crash)."""
        await self.close()
        self._install(*await self._load())

    async def recycle(self) -> None:
        """Replace the loaded page by a fresh one, the old one kept until the new one answers.

        Playwright keeps an object for every frame and request a page ever made until its
        context closes (iClient makes a frame per transaction): without this, the daemon and
        the renderer grow with every claim served. Call it only while no operation runs.

        Raises:
            TerminalError: the new page did not load (the old one stays in use).
        """
        context, page, channel = await self._load()
        old_context, old_channel = self._context, self._channel
        self._install(context, page, channel)
        if old_channel is not None:
            await old_channel.close()
        if old_context is not None:
            with contextlib.suppress(PlaywrightError, TimeoutError):
                await asyncio.wait_for(old_context.close(), self.call_timeout_s)
        release_free_memory()  # what the old page's objects held, back to the system (bridge.memory)

    async def _load(self) -> tuple[BrowserContext, Page, PageChannel]:
        context = await self._browser.new_context()
        # Loading fetches iClient over the network: a slower bound than a call into a live page.
        load_timeout = max(3 * self.call_timeout_s, 30.0)
        channel: PageChannel | None = None
        self._network_failure = None
        try:
            page = await asyncio.wait_for(context.new_page(), load_timeout)
            page.on("crash", lambda p: self._gone(p, "the page crashed"))
            page.on("close", lambda p: self._gone(p, "the page closed"))
            page.on("requestfailed", self._request_failed)
            page.on("response", self._response)
            await page.goto(self.host_url, timeout=load_timeout * 1000)
            link_url, channel = self._browser.link.channel(self._on_events, lambda: self._link_closed(channel))
            await self._evaluate(
                page, "([u, k, p, l]) => window.claimbridge.init(u, k, p, l)",
                [self.iclient_url, self.api_key, self.pos_product, link_url], load_timeout,
            )
            await channel.wait_connected(self.call_timeout_s)
        except (TerminalError, TimeoutError, PlaywrightError) as exc:
            self._forget(channel)
            with contextlib.suppress(PlaywrightError, TimeoutError):
                await asyncio.wait_for(context.close(), self.call_timeout_s)
            if isinstance(exc, TimeoutError):
                raise TerminalError(f"cannot open a page within {load_timeout:.0f} s") from exc
            detail = exc.detail if isinstance(exc, TerminalError) else exc.message
            if self._network_failure is None and "could not load iClient" in detail:
                self.iclient.failed(detail)  # the script did not load: no request event told us why
            raise TerminalError(f"cannot load iClient from {self.iclient_url}: {self._network_failure or detail}") from exc
        return context, page, channel

    def _install(self, context: BrowserContext, page: Page, channel: PageChannel) -> None:
        self._context = context
        self.hung = False
        self.stale = False
        self._page = page
        self._channel = channel
        self.generation = self._browser.generation
        self.iclient.reached()

    def _gone(self, page: Page, why: str) -> None:
        """A page crashed or closed: its operations are over if it is the current one (a page
        replaced by :meth:`recycle` closes with none)."""
        if page is self._page:
            self._fail_all(why)

    def _forget(self, channel: PageChannel | None) -> None:
        if channel is not None:
            self._browser.link.forget(channel)

    def _link_closed(self, channel: PageChannel | None) -> None:
        """The page's link ended: if it is this page's current one, its operations are over."""
        if channel is not None and channel is self._channel:
            self._fail_all("the page's link to the daemon closed")

    def _on_events(self, op_id: str, batch: list[Any]) -> None:
        op = self._ops.get(op_id)
        if op is None:
            return  # finished already: nobody follows it any more
        for kind, payload in batch:
            log.debug("page operation %s (%s): %s", op_id, op.method, kind)  # the payload may hold a patient's details
            op.events.put_nowait(PageEvent(kind, payload))
            op.over = op.over or kind == "complete"

    async def close(self) -> None:
        """Close the page and its context; safe after a crash."""
        context, self._context, self._page = self._context, None, None
        channel, self._channel = self._channel, None
        if channel is not None:
            await channel.close()
        if context is not None:
            try:
                await asyncio.wait_for(context.close(), self.call_timeout_s)
            except (PlaywrightError, TimeoutError):
                pass  # gone already, or hung: the browser restart that follows takes it away

    def _fail_all(self, why: str) -> None:
        for op in list(self._ops.values()):
            op.events.put_nowait(PageEvent("crashed", why))
        self._ops.clear()

    def browser_died(self) -> None:
        """Told by the daemon when the browser disconnected: every operation ends as crashed."""
        self._fail_all("the browser died")
        self._page = None

    def _live_channel(self) -> PageChannel:
        page, channel = self._page, self._channel
        if page is None or page.is_closed() or self.hung or self.stale or channel is None or not channel.up:
            raise TerminalError("the terminal page is not loaded")
        return channel

    async def start(
        self, op_id: str, method: str, request: Mapping[str, object] | None, auto_answers: tuple[str, ...] = ()
    ) -> Operation:
        """Call one iClient method; its events arrive on the returned operation.

        ``auto_answers`` are option labels the page answers at once when a question offers them
        (the claim's ``onApproved`` policy); such a question still arrives as an event, with
        ``answered`` set. Every other question is only relayed.

        Raises:
            TerminalError: with ``refused``, iClient refused the call at once (nothing was sent;
                its text); else the page is gone or did not answer (the call may have been made).
        """
        channel = self._live_channel()
        op = Operation(op_id, method)
        self._ops[op_id] = op
        try:
            await channel.call("run", [op_id, method, request or {}, list(auto_answers)], self.call_timeout_s)
        except TerminalError as exc:
            self._ops.pop(op_id, None)
            if exc.refused:  # iClient's own words: the terminal's reason for the job
                # Nothing of the daemon's is in progress (one call at a time): a fresh page clears iClient's.
                self.stale = self.stale or "in progress" in exc.detail
                raise
            raise TerminalError(f"iClient did not take {method}: {exc.detail}") from exc
        return op

    def finish(self, op_id: str) -> None:
        """Stop tracking an operation (and let the page drop it, unless it completed)."""
        op = self._ops.pop(op_id, None)
        channel = self._channel
        if op is not None and not op.over and channel is not None:
            channel.tell("finish", [op_id])

    async def answer(self, op_id: str, label: str) -> bool:
        """Answer the pending question of an operation; False when none is pending."""
        return bool(await self._live_channel().call("answer", [op_id, label], self.call_timeout_s))

    async def abort(self) -> bool:
        """``cancelCurrentTransaction``; False when iClient has nothing in progress."""
        return bool(await self._live_channel().call("abort", [], self.call_timeout_s))
