"""Whether the iClient server (Tyro's, the simulator's in tests) can be reached, as the pages see it.

The pages are the only part of the daemon that talks to iClient's servers, so they are the
witnesses: a page load that fails on the network, a request of the page (iClient's script, its
iframe, a probe) that fails, and every request that succeeds, are reported here. One
:class:`Reachability` is shared by all pages (they load iClient from one server).

An outage starts at the first failure and ends at the first success; each change is logged once
at WARNING (not once per failed request) and counted.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

__all__ = [
    "FRAME_LOADS", "PROBE_MS", "PROBE_SCRIPT", "Evidence", "Reachability", "is_daemon_url", "is_network_failure",
    "request_failed", "response_seen", "where",
]

log = logging.getLogger("claimbridge.browser.iclient")

#: Chromium's error for a request the page itself cancelled (an iframe removed, a page closed):
#: no evidence about the server.
_NOT_EVIDENCE = ("net::ERR_ABORTED", "net::ERR_BLOCKED_BY_CLIENT")


def is_network_failure(error_text: str) -> bool:
    """Whether Chromium's failure text of a request says the server could not be reached
    (refused, reset, timed out, no route, no DNS …) rather than that the page cancelled it."""
    text = error_text.strip()
    return bool(text) and not any(text.startswith(skip) for skip in _NOT_EVIDENCE)


#: How long a page's reachability probe (a ``HEAD`` of iClient's script) may take, in ms.
PROBE_MS = 3000
#: Requests whose failure means iClient never ran in its frame: the operation did not leave the page.
FRAME_LOADS = frozenset({"document", "script"})
#: The probe, run in a terminal's page: None when the server answered, else what failed.
PROBE_SCRIPT = """async ([url, ms]) => {
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), ms);
  try {
    await fetch(url, {method: "HEAD", mode: "no-cors", cache: "no-store", signal: ctl.signal});
    return null;
  } catch (e) {
    return ctl.signal.aborted ? `no answer within ${ms} ms` : String((e && e.message) || e);
  } finally {
    clearTimeout(timer);
  }
}"""


def where(url: str) -> str:
    """A request's URL without its query (iClient's frame URL carries the API key)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


def is_daemon_url(url: str, host_url: str) -> bool:
    """Whether a page's request went to the daemon itself (its host page, its link) or to no
    network at all (``data:``, ``about:``): no evidence about the iClient server."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https", "ws", "wss"):
        return True
    host = urlsplit(host_url)
    return parts.netloc == host.netloc


@dataclass(frozen=True, slots=True)
class Evidence:
    """What one request of a page says about the iClient server: ``reached``, or what failed
    (``reason``) and whether it was iClient's frame or script (``frame``: iClient never ran)."""

    reached: bool
    reason: str = ""
    frame: bool = False


def request_failed(url: str, failure: str, resource_type: str, host_url: str) -> Evidence | None:
    """A request of the page failed (Chromium's ``failure`` text): evidence of an outage when it
    went to the iClient server and failed on the network; None otherwise."""
    if is_daemon_url(url, host_url) or not is_network_failure(failure):
        return None
    return Evidence(False, f"{failure} ({where(url)})", resource_type in FRAME_LOADS)


def response_seen(url: str, status: int, resource_type: str, host_url: str) -> Evidence | None:
    """An answer to a request of the page: the iClient server is reachable, unless it is a 5xx
    to iClient's script or frame (a proxy's or the server's failure: iClient did not load)."""
    if is_daemon_url(url, host_url):
        return None
    if status >= 500 and resource_type in FRAME_LOADS:
        return Evidence(False, f"HTTP {status} ({where(url)})", True)
    return Evidence(True)


def _utcnow() -> datetime:
    return datetime.now(UTC)


class Reachability:
    """The iClient server's reachability: ``ok``, ``since`` (when that began) and ``reason``.

    Args:
        now: the wall clock ``since`` is read from.
    """

    def __init__(self, now: Callable[[], datetime] = _utcnow) -> None:
        self._now = now
        self.ok = True
        self.since: datetime = now()
        #: What failed, while an outage lasts (None when reachable).
        self.reason: str | None = None
        #: How many outages began since the daemon started.
        self.outages = 0
        #: Bumped on every change; waiters compare it.
        self.changes = 0

    def failed(self, reason: str) -> None:
        """A request to the iClient server failed on the network."""
        if not self.ok:
            return
        self.ok, self.since, self.reason = False, self._now(), reason
        self.outages += 1
        self.changes += 1
        log.warning("the iClient server cannot be reached: %s", reason)

    def reached(self) -> None:
        """A request to the iClient server was answered."""
        if self.ok:
            return
        lasted = (self._now() - self.since).total_seconds()
        self.ok, self.since, self.reason = True, self._now(), None
        self.changes += 1
        log.warning("the iClient server can be reached again (outage of %.0f s)", lasted)

    def probed(self, error: str | None, url: str) -> bool:
        """A page's probe of ``url`` (:data:`PROBE_SCRIPT`) answered (``error`` None) or failed."""
        if error is None:
            self.reached()
            return True
        self.failed(f"{error} ({where(url)})")
        return False

    def view(self) -> dict[str, object]:
        """``system.health``'s ``iclient`` part."""
        return {"ok": self.ok, "since": self.since.isoformat(), "reason": self.reason}
