"""The daemon's life cycle as a table, and what each request may count on in each state (pure).

States::

    starting --> ready <--> degraded
        |          |           |
        +----------+-----------+--> draining

``starting``: listening, answering from the journal; the browser and the pages are loading.
``ready``: the journal takes writes, the browser is up, every page answers. ``degraded``: one of
those is not true now (a write probe failed, a page is hung, the browser restarts).
``draining``: SIGTERM; running transactions finish, nothing new starts.

Whatever the state, reads (``job.get``, ``job.list``, ``terminal.list``, ``system.health``,
``rpc.discover``) and a repeated ``requestId`` are answered from the journal; only new work
asks :func:`refusal` whether it can be taken now.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bridge.errors import TemporarilyUnavailable, UnavailableReason

__all__ = ["ICLIENT_UNREACHABLE", "iclient_unreachable", "DaemonState", "Health", "LEGAL_MOVES", "IllegalLifecycleMove", "check_lifecycle_move", "refusal", "state_for"]


class DaemonState(StrEnum):
    """Where the daemon is in its life."""

    STARTING = "starting"
    READY = "ready"
    DEGRADED = "degraded"
    DRAINING = "draining"


#: from state -> the states it may move to.
LEGAL_MOVES: dict[DaemonState, frozenset[DaemonState]] = {
    DaemonState.STARTING: frozenset({DaemonState.READY, DaemonState.DEGRADED, DaemonState.DRAINING}),
    DaemonState.READY: frozenset({DaemonState.DEGRADED, DaemonState.DRAINING}),
    DaemonState.DEGRADED: frozenset({DaemonState.READY, DaemonState.DRAINING}),
    DaemonState.DRAINING: frozenset(),
}


class IllegalLifecycleMove(ValueError):
    """A move the table forbids: a bug in the daemon's wiring, never a client's fault."""


def check_lifecycle_move(current: DaemonState, new: DaemonState) -> None:
    """Raise :class:`IllegalLifecycleMove` unless ``current -> new`` is in :data:`LEGAL_MOVES`
    (staying put is always allowed)."""
    if new is not current and new not in LEGAL_MOVES[current]:
        raise IllegalLifecycleMove(f"{current} -> {new}")


@dataclass(frozen=True, slots=True)
class Health:
    """What the daemon measured a moment ago.

    Attributes:
        journal_ok: the last write probe (or write) succeeded.
        browser_up: the browser process is connected.
        pages: terminal name -> its page is loaded and answered its last liveness probe.
        journal_behind: the journal was found behind its mark and the gap is not accepted yet
            (money work is refused by the journal itself: -32005 ``journalBehind``).
        iclient_ok: the iClient server answered the pages' last request to it.
    """

    journal_ok: bool
    browser_up: bool
    pages: dict[str, bool]
    journal_behind: bool = False
    iclient_ok: bool = True

    @property
    def all_ok(self) -> bool:
        """Whether everything is up (``/readyz`` 200)."""
        return (
            self.journal_ok and not self.journal_behind and self.browser_up and self.iclient_ok
            and all(self.pages.values())
        )


def state_for(current: DaemonState, health: Health, started: bool) -> DaemonState:
    """The state the daemon should be in now.

    Args:
        current: the state it is in.
        health: what was measured.
        started: whether start-up has finished (browser launched, first page loads tried).
    """
    if current is DaemonState.DRAINING:
        return current
    if current is DaemonState.STARTING and not started:
        return current
    return DaemonState.READY if health.all_ok else DaemonState.DEGRADED


#: retryAfterMs by reason: start-up takes a second or two; a browser restart about as long;
#: a journal fault is re-probed every couple of seconds.
_RETRY_MS = {"starting": 1000, "draining": 5000, "journal": 2000, "browser": 1000, "page": 1000, "iclient": 2000}

#: The refusal's reason while the iClient server cannot be reached (-32005's ``data.reason``).
ICLIENT_UNREACHABLE: UnavailableReason = "iclientUnreachable"


def iclient_unreachable(detail: str, retry_after_ms: int = _RETRY_MS["iclient"]) -> TemporarilyUnavailable:
    """-32005 ``{reason: "iclientUnreachable", message, retryAfterMs}``: the iClient server cannot
    be reached from the pages, so nothing was sent; ``detail`` (what failed) goes in ``message``."""
    return TemporarilyUnavailable(ICLIENT_UNREACHABLE, f"the iClient server cannot be reached: {detail}", retry_after_ms)


def refusal(
    state: DaemonState, health: Health, terminal: str | None,
) -> tuple[UnavailableReason, str, int] | None:
    """Why new work for ``terminal`` (None: work that needs only the journal) cannot be taken
    now, as ``(reason code, words, retryAfterMs)``; None when it can.

    Args:
        state: the daemon's state.
        health: what was measured.
        terminal: the terminal the work needs, if any.
    """
    if state is DaemonState.DRAINING:
        return "shuttingDown", "the daemon is shutting down", _RETRY_MS["draining"]
    if not health.journal_ok:
        return "journalUnavailable", "the journal cannot be written now", _RETRY_MS["journal"]
    if terminal is None:
        return None
    if state is DaemonState.STARTING:
        return "starting", "the daemon is starting", _RETRY_MS["starting"]
    if not health.browser_up:
        return "browserRestarting", "the browser is restarting", _RETRY_MS["browser"]
    if not health.iclient_ok:
        return ICLIENT_UNREACHABLE, "the iClient server cannot be reached", _RETRY_MS["iclient"]
    if terminal not in health.pages:
        return None  # a terminal ``terminal.pair`` creates: it needs only the browser
    if not health.pages[terminal]:
        return "pageNotReady", f"the page of terminal {terminal!r} is not ready", _RETRY_MS["page"]
    return None
