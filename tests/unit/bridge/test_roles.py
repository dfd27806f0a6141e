"""Tests for bridge/roles.py: each role holds exactly the methods INTERFACES.md lists."""

from __future__ import annotations

import pytest

from bridge.protocol import METHODS
from bridge.roles import DEFAULT_CLIENT, ROLE_METHODS, Role, may_call, may_name_operator

# INTERFACES.md "Security on the LAN: TLS and clients with roles", word for word.
READONLY = {
    "job.get", "job.list", "terminal.list", "system.health", "events.subscribe",
    "healthpoint.reconciliation", "healthcode.codes", "healthcode.remittances", "rpc.discover",
}
PMS_MORE = {
    "healthpoint.claim", "healthpoint.rebateEstimate", "healthpoint.cancel", "payment.gap",
    "payment.refund", "job.answer", "job.abort",
}
ENGINEER_ONLY = {"terminal.pair", "job.resolve", "healthpoint.reconcile"}


def test_readonly_holds_exactly_its_list() -> None:
    assert {m for m in METHODS if may_call(Role.READONLY, m)} == READONLY & set(METHODS)
    assert ROLE_METHODS[Role.READONLY] == READONLY


def test_pms_holds_readonly_claims_and_every_healthcode_method() -> None:
    healthcode = {m for m in METHODS if m.startswith("healthcode.")}
    assert healthcode, "the table lists no healthcode method: the check would prove nothing"
    assert {m for m in METHODS if may_call(Role.PMS, m)} == (READONLY | PMS_MORE | healthcode) & set(METHODS)


@pytest.mark.parametrize("method", sorted(ENGINEER_ONLY))
def test_engineer_only_methods(method: str) -> None:
    assert method in METHODS
    assert may_call(Role.ENGINEER, method)
    assert not may_call(Role.PMS, method) and not may_call(Role.READONLY, method)


def test_engineer_may_call_everything_even_methods_added_later() -> None:
    assert all(may_call(Role.ENGINEER, m) for m in METHODS)
    assert may_call(Role.ENGINEER, "terminal.unpair")
    assert not may_call(Role.PMS, "terminal.unpair")


def test_only_an_engineer_answers_as_an_operator() -> None:
    assert may_name_operator(Role.ENGINEER)
    assert not may_name_operator(Role.PMS) and not may_name_operator(Role.READONLY)


def test_the_state_directory_token_is_an_engineer() -> None:
    assert DEFAULT_CLIENT.role is Role.ENGINEER
