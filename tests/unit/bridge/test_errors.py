"""Tests for bridge/errors.py: the error tree and its one code table."""

from __future__ import annotations

import inspect
import json
from pathlib import Path

import pytest

from bridge import errors
from bridge.errors import (
    ERROR_CODES,
    ClaimbridgeError,
    FieldError,
    HealthcodeCredentialsInvalid,
    HealthcodeRejected,
    InvalidParams,
    InvalidRequest,
    JournalUnavailable,
    JobNotFound,
    MethodNotFound,
    NotAllowedNow,
    ParseError,
    RequestIdReused,
    StateDirLocked,
    TemporarilyUnavailable,
    TerminalError,
    TerminalNotPaired,
    field_path,
    to_jsonrpc_error,
)

METHODS_FIXTURE = Path(__file__).parents[3] / "fixtures" / "protocol" / "methods.json"


def _subclasses(cls: type[ClaimbridgeError]) -> set[type[ClaimbridgeError]]:
    out: set[type[ClaimbridgeError]] = set()
    for sub in cls.__subclasses__():
        out |= {sub} | _subclasses(sub)
    return out


def _interfaces_codes() -> set[int]:
    # INTERFACES.md "Errors:" paragraph, copied into the fixture.
    return {int(code) for code in json.loads(METHODS_FIXTURE.read_text())["errorCodes"]}


def test_every_class_in_the_module_is_in_the_table():
    defined = {
        obj
        for _, obj in inspect.getmembers(errors, inspect.isclass)
        if issubclass(obj, ClaimbridgeError) and obj.__module__ == errors.__name__
    }
    assert defined == set(ERROR_CODES)
    assert _subclasses(ClaimbridgeError) <= set(ERROR_CODES)


def test_every_interfaces_code_has_a_class():
    assert _interfaces_codes() <= set(ERROR_CODES.values())


@pytest.mark.parametrize("cls", sorted(ERROR_CODES, key=str))
def test_every_class_has_a_message_and_exports(cls: type[ClaimbridgeError]) -> None:
    assert cls.message and len(cls.message) < 60
    assert cls.__name__ in errors.__all__
    assert cls.__doc__


@pytest.mark.parametrize(
    ("exc", "code", "data"),
    [
        (ParseError("JSONDecodeError"), -32700, {"reason": "JSONDecodeError"}),
        (InvalidRequest(), -32600, None),
        (InvalidRequest("empty batch"), -32600, {"reason": "empty batch"}),
        (MethodNotFound("nope"), -32601, {"method": "nope"}),
        (
            InvalidParams((FieldError("items[3].patientId", "must be exactly two digits"),)),
            -32602,
            {"errors": [{"field": "items[3].patientId", "message": "must be exactly two digits"}]},
        ),
        (RequestIdReused("r1"), -32001, {"requestId": "r1"}),
        (JobNotFound("j1"), -32002, {"key": "j1"}),
        (TerminalNotPaired("front-desk"), -32003, {"terminal": "front-desk"}),
        (NotAllowedNow("pastCancelDeadline", "too late", {"deadline": "x"}), -32004,
         {"reason": "pastCancelDeadline", "message": "too late", "deadline": "x"}),
        (NotAllowedNow("noQuestion"), -32004, {"reason": "noQuestion", "message": "no question is pending for the job"}),
        (TemporarilyUnavailable("shuttingDown"), -32005,
         {"reason": "shuttingDown", "message": "the daemon is shutting down", "retryAfterMs": 1000}),
        (TemporarilyUnavailable("starting", "", 250), -32005,
         {"reason": "starting", "message": "the daemon is starting", "retryAfterMs": 250}),
        (JournalUnavailable("database is locked"), -32005,
         {"reason": "journalUnavailable", "message": "the journal cannot be written now", "retryAfterMs": 2000}),
        (HealthcodeCredentialsInvalid("refused", operation="token"), -32005,
         {"reason": "healthcodeCredentials", "message": "refused", "retryAfterMs": 60000, "operation": "token"}),
    ],
)
def test_to_jsonrpc_error(exc, code, data):
    out = to_jsonrpc_error(exc)
    assert out["code"] == code == exc.code
    assert out["message"] == type(exc).message
    assert out.get("data") == data


def test_terminal_error_withholds_its_detail():
    exc = TerminalError("Target page crashed at file:///secret token=abc")
    out = to_jsonrpc_error(exc)
    assert out["code"] == -32005
    assert "secret" not in repr(out) and "abc" not in repr(out)
    assert "crashed" in str(exc)  # kept for the log


def test_unknown_exceptions_become_internal_error_without_details():
    out = to_jsonrpc_error(RuntimeError("token=s3cret"))
    assert out == {"code": -32603, "message": "Internal error"}
    assert to_jsonrpc_error(ClaimbridgeError("raw")) == {"code": -32603, "message": "Internal error"}
    assert to_jsonrpc_error(KeyboardInterrupt()) == {"code": -32603, "message": "Internal error"}


def test_healthcode_rejected_names_fields_and_problems():
    problem = {"field": "patient.membershipNumber (RegistrationNo)", "error": "missing", "suggestion": "x"}
    out = to_jsonrpc_error(HealthcodeRejected((problem,)))
    assert out["code"] == -32602
    assert out["data"]["errors"] == [{"field": problem["field"], "message": "missing"}]
    assert out["data"]["problems"] == [problem]


def test_most_specific_code_wins():
    class Custom(TemporarilyUnavailable):
        pass

    assert Custom("x").code == -32005


def test_invalid_request_keeps_the_request_id():
    assert InvalidRequest("bad", 7).request_id == 7
    assert InvalidRequest("bad").request_id is None


def test_errors_hold_fields():
    exc = InvalidParams((FieldError("a", "b"),))
    assert exc.errors == (FieldError("a", "b"),)
    assert "a" in str(exc)


def test_state_dir_locked_is_one_plain_line_naming_the_holder():
    line = str(StateDirLocked("/var/lib/claimbridge", 4242))
    assert "pid 4242" in line and "/var/lib/claimbridge" in line and "\n" not in line


def test_journal_unavailable_is_temporarily_unavailable_with_a_retry_hint():
    exc = JournalUnavailable("database or disk is full")
    assert isinstance(exc, TemporarilyUnavailable)
    assert to_jsonrpc_error(exc)["data"] == {"reason": "journalUnavailable", "message": "the journal cannot be written now", "retryAfterMs": 2000}
    assert exc.detail == "database or disk is full"


def test_healthcode_credentials_are_not_a_32004():
    assert HealthcodeCredentialsInvalid("x").code == -32005


@pytest.mark.parametrize(
    ("loc", "path"),
    [((), ""), (("items", 0, "claimAmount"), "items[0].claimAmount"), (("bill", "lines", 2), "bill.lines[2]"),
     (("a",), "a"), ((0, "x"), "[0].x")],
)
def test_field_path_has_one_syntax(loc, path):
    assert field_path(loc) == path
