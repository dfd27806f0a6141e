"""Approval policy, pure: what the page may answer by itself, without asking the desk.

A claim's ``onApproved`` (INTERFACES.md: ``ask`` by default, ``accept``, ``reject``) answers the
terminal's Accept/Reject question at once (the page is given the answer in advance). Error
questions with a single option (e.g. "Invalid transaction details (400)." OK) are acknowledged by
the daemon, their outcome following as NOT STARTED (:mod:`bridge.healthpoint.operation`).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

__all__ = ["ACCEPT", "REJECT", "auto_answers"]

ACCEPT = "ACCEPT"
REJECT = "REJECT"

_AUTOMATIC: Mapping[str, tuple[str, ...]] = MappingProxyType({"accept": (ACCEPT,), "reject": (REJECT,)})


def auto_answers(on_approved: str | None) -> tuple[str, ...]:
    """The answers the page gives by itself for a job whose policy is ``on_approved``.

    Args:
        on_approved: The claim's ``onApproved`` (None for jobs that have none).

    Returns:
        ``("ACCEPT",)`` or ``("REJECT",)`` for a set policy; ``()`` for ``ask``: the question goes
        to the desk.
    """
    return _AUTOMATIC.get(on_approved or "ask", ())
