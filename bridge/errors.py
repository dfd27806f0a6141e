"""Every error the daemon raises on purpose, and the one table that turns them into JSON-RPC codes.

The tree::

    ClaimbridgeError                      -32603  (never raised bare)
     +-- ProtocolError                    -32600
     |    +-- ParseError                  -32700
     |    +-- InvalidRequest              -32600
     |    +-- MethodNotFound              -32601
     +-- InvalidParams                    -32602  data.errors [{field, message}]
     +-- RequestIdReused                  -32001
     +-- JobNotFound                      -32002
     +-- TerminalNotPaired                -32003
     +-- NotAllowedNow                    -32004  data {reason, message}
     |    +-- JobMoved                    -32004  data {reason: "jobEnded", message, jobId, state}
     +-- NotAllowedForRole                -32006  data {role, method}
     +-- TemporarilyUnavailable           -32005  data {reason, message, retryAfterMs}
     |    +-- JournalUnavailable          -32005  (a sqlite3 error, stopped at the journal)
     |    +-- JournalBehind               -32005  data {reason: "journalBehind", retryAfterMs, message}
     +-- TerminalError                    -32005  (browser/page failures; details withheld)
     +-- HealthcodeError                  -32005
          +-- HealthcodeUnavailable       -32005
          +-- HealthcodeOutcomeUncertain  -32005
          +-- HealthcodeCredentialsInvalid -32005  (reason ``healthcodeCredentials``)
          +-- HealthcodeRejected          -32602  data.errors [{field, message}] + data.problems
          |    +-- BillHasProblems        -32602  (our pre-flight: nothing reached Healthcode)
          +-- HealthcodeNotFound          -32002
     +-- CannotStart                      -32603  (never on the wire: the daemon exits 1)
          +-- StateDirLocked                       (another daemon holds the state directory)
          +-- StateDirUnusable                     (the state directory cannot be written)

``data.reason`` of -32004 and -32005 is a stable camelCase code (:data:`NOT_ALLOWED_REASONS`,
:data:`UNAVAILABLE_REASONS`, listed in ``rpc.discover``) and ``data.message`` says it in words.
Field paths (``data.errors[].field``) are written by :func:`field_path`: ``items[0].claimAmount``.

Errors hold fields (the bad field and rule, the job id), never pre-formatted text. Each has a
short human :attr:`~ClaimbridgeError.message`, a JSON-RPC :attr:`~ClaimbridgeError.code` looked
up in :data:`ERROR_CODES` (most specific class wins) and :meth:`~ClaimbridgeError.data`.
:func:`to_jsonrpc_error` is the only place an exception becomes a JSON-RPC ``error`` member;
anything that is not a :class:`ClaimbridgeError` becomes -32603 with no details.

This module is pure: it imports no I/O library.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, ClassVar

from bridge.reasons import NOT_ALLOWED_REASONS, UNAVAILABLE_REASONS, NotAllowedReason, UnavailableReason, field_path

__all__ = [
    "ERROR_CODES", "INTERNAL_ERROR", "BillHasProblems", "CannotStart", "ClaimbridgeError",
    "FieldError", "HealthcodeCredentialsInvalid", "HealthcodeError", "HealthcodeNotFound",
    "HealthcodeOutcomeUncertain", "HealthcodeRejected", "HealthcodeUnavailable", "InvalidParams",
    "InvalidRequest", "JournalBehind", "JournalDamaged", "JournalUnavailable", "JobMoved",
    "JobNotFound", "MethodNotFound", "NOT_ALLOWED_REASONS", "NotAllowedNow", "NotAllowedReason",
    "ParseError", "ProtocolError", "RequestIdReused", "StateDirLocked", "StateDirUnusable",
    "TemporarilyUnavailable", "TerminalError", "TerminalNotPaired", "UNAVAILABLE_REASONS",
    "UnavailableReason", "field_path", "to_jsonrpc_error", "NotAllowedForRole",
]

#: JSON-RPC code for anything that is not one of ours (JSON-RPC 2.0 §5.1).
INTERNAL_ERROR = -32603


@dataclass(frozen=True, slots=True)
class FieldError:
    """One bad field of a request.

    Attributes:
        field: Path into the params (:func:`field_path`), e.g. ``"items[3].patientId"``.
        message: The rule it broke, in plain words, e.g. ``"must be exactly two digits"``.
    """

    field: str
    message: str

    def as_dict(self) -> dict[str, str]:
        """The ``{field, message}`` object that goes into ``data.errors``."""
        return {"field": self.field, "message": self.message}


class ClaimbridgeError(Exception):
    """Root of every error the daemon raises on purpose."""

    #: Short human text; JSON-RPC ``error.message``. Subclasses override it.
    message: ClassVar[str] = "Internal error"

    def __init__(self, *args: object) -> None:
        super().__init__(*args)

    @property
    def code(self) -> int:
        """The JSON-RPC error code, from :data:`ERROR_CODES` (most specific class wins)."""
        for cls in type(self).__mro__:
            if cls in ERROR_CODES:
                return ERROR_CODES[cls]
        return INTERNAL_ERROR  # pragma: no cover - ClaimbridgeError itself is in the table

    def data(self) -> dict[str, Any] | None:
        """The JSON-RPC ``error.data`` member, or ``None`` for none."""
        return None

    def __str__(self) -> str:
        data = self.data()
        return f"{self.message}: {data}" if data else self.message


class ProtocolError(ClaimbridgeError):
    """The frame is not a valid JSON-RPC 2.0 request."""

    message = "Invalid Request"

    def __init__(self, reason: str = "") -> None:
        super().__init__(reason)
        self.reason = reason

    def data(self) -> dict[str, Any] | None:
        return {"reason": self.reason} if self.reason else None


class ParseError(ProtocolError):
    """The frame is not JSON (or not UTF-8)."""

    message = "Parse error"


class InvalidRequest(ProtocolError):
    """The JSON is not a valid Request object (or the batch is empty or too long).

    ``request_id`` is the offending request's id when it could be read (reply with it), else
    ``None`` (reply with id null, JSON-RPC 2.0 §5).
    """

    message = "Invalid Request"

    def __init__(self, reason: str = "", request_id: str | int | None = None) -> None:
        super().__init__(reason)
        self.request_id = request_id


class MethodNotFound(ProtocolError):
    """No such method."""

    message = "Method not found"

    def __init__(self, method: str) -> None:
        super().__init__("")
        self.method = method

    def data(self) -> dict[str, Any] | None:
        return {"method": self.method}


class InvalidParams(ClaimbridgeError):
    """The params break one or more rules; every bad field is named."""

    message = "Invalid params"

    def __init__(self, errors: tuple[FieldError, ...]) -> None:
        super().__init__(errors)
        self.errors = errors

    def data(self) -> dict[str, Any] | None:
        return {"errors": [error.as_dict() for error in self.errors]}


class RequestIdReused(ClaimbridgeError):
    """A ``requestId`` already used with a different payload: never a second claim."""

    message = "requestId already used with a different payload"

    def __init__(self, request_id: str) -> None:
        super().__init__(request_id)
        self.request_id = request_id

    def data(self) -> dict[str, Any] | None:
        return {"requestId": self.request_id}


class JobNotFound(ClaimbridgeError):
    """No job with that ``jobId`` (or ``requestId``)."""

    message = "Not found"

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key

    def data(self) -> dict[str, Any] | None:
        return {"key": self.key}


class TerminalNotPaired(ClaimbridgeError):
    """The terminal is unknown or has no pairing keys."""

    message = "Terminal not paired"

    def __init__(self, terminal: str) -> None:
        super().__init__(terminal)
        self.terminal = terminal

    def data(self) -> dict[str, Any] | None:
        return {"terminal": self.terminal}


class NotAllowedNow(ClaimbridgeError):
    """The request is well formed but not allowed in the current state.

    Examples: a cancel after the claim's Sydney day, an answer with no question pending, a gap
    payment on a claim that was not approved.
    """

    message = "Not allowed now"

    def __init__(self, reason: NotAllowedReason, words: str = "", data: Mapping[str, Any] | None = None) -> None:
        super().__init__(reason)
        #: The stable code (:data:`NOT_ALLOWED_REASONS`).
        self.reason: NotAllowedReason = reason
        #: The reason in words (``data.message``); the code's own text when not given.
        self.words = words or NOT_ALLOWED_REASONS.get(reason, reason)
        self.extra: dict[str, Any] = dict(data) if data else {}

    def data(self) -> dict[str, Any] | None:
        return {"reason": self.reason, "message": self.words, **self.extra}


class JobMoved(NotAllowedNow):
    """A job is no longer in the state a change of it was made from: another task (the worker,
    an abort, an operator, reconciliation) moved it first. Raised by the journal inside the
    transaction that checked the state, so nothing was written."""

    def __init__(self, job_id: str, state: str, expected: str) -> None:
        super().__init__(
            "jobEnded", f"the job is {state} now, no longer {expected}: another request moved it first",
            {"jobId": job_id, "state": state},
        )
        self.job_id = job_id
        self.state = state
        self.expected = expected
class NotAllowedForRole(ClaimbridgeError):
    """The client's ``role`` (``None``: no valid client token) does not hold ``method`` (or
    naming an operator); nothing was done."""

    message = "Not allowed for this client's role"

    def __init__(self, role: str | None, method: str) -> None:
        super().__init__(role, method)
        self.role = role
        self.method = method

    def data(self) -> dict[str, Any] | None:
        return {"role": self.role, "method": self.method}


class TemporarilyUnavailable(ClaimbridgeError):
    """The daemon cannot serve this now (browser restarting, shutting down); try again later.

    Attributes:
        reason: what is not ready, a stable code (:data:`UNAVAILABLE_REASONS`).
        words: the same in plain words (``data.message``).
        retry_after_ms: when trying again is worth it.
    """

    message = "Temporarily unavailable"

    def __init__(self, reason: UnavailableReason, words: str = "", retry_after_ms: int = 1000) -> None:
        super().__init__(reason)
        self.reason: UnavailableReason = reason
        self.words = words or UNAVAILABLE_REASONS.get(reason, reason)
        self.retry_after_ms = retry_after_ms

    def data(self) -> dict[str, Any] | None:
        return {"reason": self.reason, "message": self.words, "retryAfterMs": self.retry_after_ms}


class JournalUnavailable(TemporarilyUnavailable):
    """The journal cannot be read or written now (locked by another process, disk full).

    Raised by the journal for every ``sqlite3`` error; ``detail`` is SQLite's own text, kept for
    the log and ``system.health`` (it names no secret).
    """

    def __init__(self, detail: str, retry_after_ms: int = 2000) -> None:
        super().__init__("journalUnavailable", "", retry_after_ms)
        self.detail = detail


class JournalBehind(TemporarilyUnavailable):
    """The journal is behind its mark (a restored backup, a lost ``-wal``, a replaced file): it
    may have forgotten a ``requestId`` that reached the fund, so no new money work is taken until
    an engineer runs ``claimbridge journal accept-gap``. Reads and repeated requests still answer."""

    def __init__(self, detail: str, retry_after_ms: int = 60_000) -> None:
        super().__init__(
            "journalBehind",
            f"the journal is behind its mark ({detail}); an engineer must run "
            "'claimbridge journal accept-gap --note TEXT' (docs/operations.md)",
            retry_after_ms,
        )
        self.detail = detail


class TerminalError(ClaimbridgeError):
    """The browser or the terminal page failed. Internal: its text never reaches a client."""

    message = "Temporarily unavailable"

    def __init__(self, detail: str, refused: bool = False) -> None:
        super().__init__(detail)
        self.detail, self.refused = detail, refused  # refused: iClient threw at once, nothing was sent

    def data(self) -> dict[str, Any] | None:
        return {"reason": "pageUnavailable", "message": UNAVAILABLE_REASONS["pageUnavailable"], "retryAfterMs": 1000}

    def __str__(self) -> str:
        return f"terminal error: {self.detail}"


class HealthcodeError(ClaimbridgeError):
    """Talking to Healthcode failed; ``data`` holds what is known (never credentials):
    ``reason`` (the class's code), ``message`` (the detail in words), ``retryAfterMs`` and
    what the adapter adds (``operation``, ``httpStatus``)."""

    message = "Healthcode error"
    #: ``data.reason``: a stable code.
    reason: ClassVar[str] = "healthcodeError"
    #: ``data.retryAfterMs`` for the -32005 ones.
    retry_after_ms: ClassVar[int | None] = 5000

    def __init__(self, detail: str = "", **data: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra: dict[str, Any] = data

    def data(self) -> dict[str, Any] | None:
        out: dict[str, Any] = {"reason": self.reason, "message": self.detail or self.message}
        if self.retry_after_ms is not None:
            out["retryAfterMs"] = self.retry_after_ms
        out.update(self.extra)
        return out


class HealthcodeUnavailable(HealthcodeError):
    """Healthcode cannot be reached or answered 5xx; nothing was submitted."""

    message = "Healthcode unavailable"
    reason = "healthcodeUnavailable"


class HealthcodeOutcomeUncertain(HealthcodeError):
    """A submit may or may not have reached Healthcode: never re-sent blindly."""

    message = "Healthcode outcome uncertain"
    reason = "healthcodeUncertain"


class HealthcodeCredentialsInvalid(HealthcodeError):
    """Healthcode refused the site's credentials: -32005 ``healthcodeCredentials`` (nothing was
    sent; it works again once the operator fixes ``[healthcode]``)."""

    message = "Healthcode credentials invalid"
    reason = "healthcodeCredentials"
    retry_after_ms = 60_000


class HealthcodeRejected(HealthcodeError):
    """Healthcode (or our pre-flight check) rejected the bill; ``problems`` says why.

    Each problem is a mapping ``{field, error, suggestion}``.
    """

    message = "Healthcode rejected the bill"

    def __init__(self, problems: tuple[Mapping[str, Any], ...], detail: str = "") -> None:
        super().__init__(detail)
        self.problems = problems

    def data(self) -> dict[str, Any] | None:
        errors = [
            {"field": str(p.get("field", "")), "message": str(p.get("error", ""))}
            for p in self.problems
        ]
        return {"errors": errors, "problems": [dict(p) for p in self.problems]}


class BillHasProblems(HealthcodeRejected):
    """Our pre-flight check found problems in a bill: nothing was sent to Healthcode."""

    message = "The bill has problems; nothing was sent to Healthcode"


class HealthcodeNotFound(HealthcodeError):
    """Healthcode does not know the bill."""

    message = "Not found"
    reason = "healthcodeNotFound"
    retry_after_ms = None


class CannotStart(ClaimbridgeError):
    """The daemon cannot start; ``str()`` is the one plain line the command prints."""

    message = "The daemon cannot start"

    def __init__(self, line: str) -> None:
        super().__init__(line)
        self.line = line

    def __str__(self) -> str:
        return self.line


class JournalDamaged(CannotStart):
    """The journal file is damaged (``integrity_check``, truncated, emptied): the daemon does
    not start on it."""

    def __init__(self, path: str, finding: str) -> None:
        super().__init__(
            f"claimbridge: the journal {path} {finding}; run 'claimbridge journal check' and restore "
            "the last backup as docs/operations.md says"
        )


class StateDirLocked(CannotStart):
    """Another daemon holds the state directory's lock; nothing was changed."""

    def __init__(self, state_dir: str, holder_pid: int | None) -> None:
        who = f"pid {holder_pid}" if holder_pid is not None else "a process whose pid is not recorded"
        super().__init__(
            f"claimbridge: the state directory {state_dir} is in use by another daemon ({who}); "
            "stop that one first or give this one its own state_dir"
        )
        self.state_dir = state_dir
        self.holder_pid = holder_pid


class StateDirUnusable(CannotStart):
    """The state directory cannot be made or written (read-only, not the daemon's user's)."""

    def __init__(self, state_dir: str, reason: str) -> None:
        super().__init__(
            f"claimbridge: the state directory {state_dir} cannot be written ({reason}); "
            "make it writable by the daemon's user, or set state_dir (CLAIMBRIDGE_STATE_DIR)"
        )
        self.state_dir = state_dir
        self.reason = reason


#: The one table from error class to JSON-RPC code. A unit test checks every subclass is
#: listed and every code of INTERFACES.md has a class.
ERROR_CODES: Mapping[type[ClaimbridgeError], int] = MappingProxyType(
    {
        ClaimbridgeError: INTERNAL_ERROR,
        ProtocolError: -32600,
        ParseError: -32700,
        InvalidRequest: -32600,
        MethodNotFound: -32601,
        InvalidParams: -32602,
        RequestIdReused: -32001,
        JobNotFound: -32002,
        TerminalNotPaired: -32003,
        NotAllowedNow: -32004,
        JobMoved: -32004,
        NotAllowedForRole: -32006,
        TemporarilyUnavailable: -32005,
        JournalUnavailable: -32005,
        JournalBehind: -32005,
        TerminalError: -32005,
        HealthcodeError: -32005,
        HealthcodeUnavailable: -32005,
        HealthcodeOutcomeUncertain: -32005,
        HealthcodeCredentialsInvalid: -32005,
        HealthcodeRejected: -32602,
        BillHasProblems: -32602,
        HealthcodeNotFound: -32002,
        CannotStart: INTERNAL_ERROR, StateDirLocked: INTERNAL_ERROR,  # start-up: never on the wire
        JournalDamaged: INTERNAL_ERROR, StateDirUnusable: INTERNAL_ERROR,
    }
)


def to_jsonrpc_error(exc: BaseException) -> dict[str, Any]:
    """Turn any exception into a JSON-RPC 2.0 ``error`` object: ``{code, message}`` plus ``data``
    when the error carries some. Exceptions that are not :class:`ClaimbridgeError` give -32603
    "Internal error" with no details: their text may hold a token or card data. Log those once,
    with the traceback, at the call site."""
    if not isinstance(exc, ClaimbridgeError) or type(exc) is ClaimbridgeError:
        return {"code": INTERNAL_ERROR, "message": "Internal error"}
    error: dict[str, Any] = {"code": exc.code, "message": exc.message}
    data = exc.data()
    if data is not None:
        error["data"] = data
    return error
