"""Who may call what: the three client roles and their methods, as one table (pure).

INTERFACES.md "Security on the LAN": each PMS, dashboard or engineer has its own token and a
role. ``readonly`` reads; ``pms`` also makes claims, rebate estimates, cancels, gaps and refunds,
answers and aborts its own jobs, and uses every ``healthcode.*`` method; ``engineer`` may do
everything (pairing, ``job.resolve``, answering as an operator, the console,
``healthpoint.reconcile``, and any method not named below). A method a role does not hold
answers -32006 (:class:`~bridge.errors.NotAllowedForRole`) before anything is done.

This module is pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

__all__ = [
    "DEFAULT_CLIENT",
    "NOBODY",
    "ROLE_METHODS",
    "ClientIdentity",
    "Role",
    "may_call",
    "may_name_operator",
]


class Role(StrEnum):
    """A client's role (``[clients.<name>] role``)."""

    READONLY = "readonly"
    PMS = "pms"
    ENGINEER = "engineer"


_READONLY = frozenset({
    "job.get",
    "job.list",
    "terminal.list",
    "system.health",
    "events.subscribe",
    "healthpoint.reconciliation",
    "healthcode.codes",
    "healthcode.remittances",
    "rpc.discover",
})

_PMS = _READONLY | frozenset({
    "healthpoint.claim",
    "healthpoint.rebateEstimate",
    "healthpoint.cancel",
    "payment.gap",
    "payment.refund",
    "job.answer",  # its own jobs only: naming an operator is an engineer's (may_name_operator)
    "job.abort",
})

#: The methods of each role, besides ``healthcode.*`` for ``pms`` (see :func:`may_call`);
#: ``engineer`` holds every method, so it has no list.
ROLE_METHODS: Mapping[Role, frozenset[str]] = MappingProxyType({
    Role.READONLY: _READONLY,
    Role.PMS: _PMS,
})


@dataclass(frozen=True, slots=True)
class ClientIdentity:
    """Who is calling: the client's name (history's ``by``) and its role (None: no valid token,
    every method refused)."""

    name: str
    role: Role | None


#: The client whose token is ``state_dir/token``: an engineer.
DEFAULT_CLIENT = ClientIdentity("engineer", Role.ENGINEER)

#: An MQTT request without a valid client token: it may call nothing.
NOBODY = ClientIdentity("(no valid token)", None)


def may_call(role: Role | None, method: str) -> bool:
    """Whether ``role`` may call ``method`` at all (an engineer anything, no role nothing)."""
    if role is None:
        return False
    if role is Role.ENGINEER:
        return True
    if role is Role.PMS and method.startswith("healthcode."):
        return True
    return method in ROLE_METHODS[role]


def may_name_operator(role: Role | None) -> bool:
    """Whether ``role`` may answer or abort as an operator (any job, not only its own)."""
    return role is Role.ENGINEER
