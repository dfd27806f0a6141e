"""What a job becomes when its iClient call could not start, pure.

The evidence decides, never a guess (INTERFACES.md "When the iClient server cannot be reached"):

- ``refused``: iClient threw at once ("Transaction already in progress.", a bad request it
  checks itself); the call never left the page, so the job is ``failed`` with the terminal's
  reason.
- ``unreachable``: iClient's frame (or its script) could not load from Tyro's server; the
  request never left the page either: ``failed``.
- ``lost``: the page failed or stopped answering while the call was being made; the request may
  have reached the terminal: ``unknown`` (recovery and reconciliation settle it).
"""

from __future__ import annotations

from enum import StrEnum

from bridge.errors import to_jsonrpc_error
from bridge.healthpoint.iclient import Failure
from bridge.lifecycle import iclient_unreachable
from bridge.jobs import JobState

__all__ = ["StartFailure", "refused_before_start", "start_error", "state_after_start_failure"]


class StartFailure(StrEnum):
    """Why an iClient call did not start (see the module's text)."""

    REFUSED = "refused"
    UNREACHABLE = "unreachable"
    LOST = "lost"


def state_after_start_failure(failure: StartFailure) -> JobState:
    """The state a ``running`` job moves to when its call did not start: ``failed`` when the
    evidence says nothing left the page, ``unknown`` otherwise."""
    return JobState.UNKNOWN if failure is StartFailure.LOST else JobState.FAILED


def start_error(failure: StartFailure, detail: str) -> Failure:
    """A ``failed`` job's ``error`` for a call that did not start: the terminal's refusal, or
    -32005 ``iclientUnreachable`` (what a new request gets during the outage)."""
    if failure is StartFailure.UNREACHABLE:
        error = to_jsonrpc_error(iclient_unreachable(detail))  # the one mapping: {code, message, data}
        out: Failure = {"code": int(error["code"]), "message": str(error["message"])}
        if "data" in error:
            out["data"] = error["data"]
        return out
    return refused_before_start(detail)


def refused_before_start(reason: str) -> Failure:
    """A job's ``error`` when the terminal's iClient refused the call before it started."""
    text = reason.strip() or "refused"
    return {
        "message": f"the terminal refused it before it started: {text}",
        "data": {"reason": "refusedBeforeStart", "terminalMessage": text},
    }
