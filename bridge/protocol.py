"""The websocket protocol: JSON-RPC 2.0 envelope, method params and results, notifications.

Everything a PMS can send or receive is a frozen pydantic model here, with field names exactly as
INTERFACES.md spells them. :data:`METHODS` is the method table the dispatcher serves and
``rpc.discover`` describes; :func:`parse_params` turns bad params into one
:class:`~bridge.errors.InvalidParams` naming every bad field in plain words.

This is the one module where ``Any`` is allowed: raw JSON enters here. Pure: no I/O.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from types import MappingProxyType
from typing import Any, Literal, TypeAlias

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails, PydanticCustomError

from bridge.errors import (
    ERROR_CODES,
    ClaimbridgeError,
    FieldError,
    HealthcodeCredentialsInvalid,
    HealthcodeNotFound,
    HealthcodeRejected,
    HealthcodeUnavailable,
    InvalidParams,
    InvalidRequest,
    JobNotFound,
    MethodNotFound,
    NotAllowedNow,
    ParseError,
    RequestIdReused,
    TemporarilyUnavailable,
    TerminalNotPaired,
    to_jsonrpc_error,
)
from bridge.healthpoint import (
    FIELD_RULES as _HEALTHPOINT_RULES,
)
from bridge.healthpoint import (
    MAX_CLAIM_AMOUNT,
    MAX_ITEMS,
    ClaimItem,
    ClaimItemResult,
    ClaimRequest,
    ClaimResult,
    Fund,
    IsoDate,
)
from bridge.jobs import JobKind, JobState

__all__ = [
    "EVENT_TOPICS",
    "FIELD_RULES",
    "JSONRPC_VERSION",
    "METHODS",
    "NOTIFICATIONS",
    "AbortResult",
    "AnswerResult",
    "Batch",
    "BillProblem",
    "CancelParams",
    "ClaimItem",
    "ClaimItemResult",
    "ClaimParams",
    "ClaimResult",
    "CodeEntry",
    "ComponentHealth",
    "CredentialsResult",
    "EventsSubscribeParams",
    "Fund",
    "GapParams",
    "HealthResult",
    "HealthcodeCancelParams",
    "HealthcodeCodesParams",
    "HealthcodeSubmitParams",
    "HealthcodeValidateParams",
    "Incoming",
    "Job",
    "JobAbortParams",
    "JobAnswerParams",
    "JobGetParams",
    "JobListParams",
    "JobQuestion",
    "JobResolveParams",
    "JobStatus",
    "JobUpdated",
    "Message",
    "MethodSpec",
    "PairResult",
    "RebateEstimateParams",
    "ReconciliationParams",
    "ReconciliationReport",
    "Request",
    "RpcId",
    "SubscribeResult",
    "TerminalInfo",
    "TerminalPairParams",
    "TerminalPairing",
    "ValidateResult",
    "error_response",
    "notification",
    "openrpc_document",
    "parse_frame",
    "parse_params",
    "response",
    "to_json",
]

JSONRPC_VERSION = "2.0"

_PARAMS = ConfigDict(frozen=True, extra="forbid")
_RESULT = ConfigDict(frozen=True)

_REQUEST_ID = Field(min_length=1, max_length=64, description="The PMS's idempotency key.")
_JOB_ID = Field(min_length=1, max_length=64)
_TERMINAL_PATTERN = r"^[a-z0-9-]{1,40}$"

#: Plain-words rule per field name, used when a field breaks its constraints.
FIELD_RULES: Mapping[str, str] = MappingProxyType(
    {
        **_HEALTHPOINT_RULES,
        "requestId": "must be text of 1 to 64 characters",
        "jobId": "must be text of 1 to 64 characters",
        "claimJobId": "must be text of 1 to 64 characters",
        "terminal": "must be 1 to 40 lower-case letters, digits or '-'",
        "onApproved": "must be one of 'ask', 'accept', 'reject'",
        "amount": f"must be a whole number of cents from 1 to {MAX_CLAIM_AMOUNT}",
        "answer": "must be text of 1 to 64 characters (one of the question's options)",
        "state": "must be one of " + ", ".join(s.value for s in JobState),
        "kind": "must be one of " + ", ".join(k.value for k in JobKind),
        "limit": "must be a whole number from 1 to 1000",
        "outcome": "must be one of 'approved', 'declined', 'notProcessed'",
        "note": "must be text of 1 to 500 characters, not only spaces",
        "mid": "must be a positive whole number",
        "tid": "must be a positive whole number",
        "date": "must be a date written YYYY-MM-DD",
        "type": "must be 'claims' or 'payments'",
        "topics": "must be a list of topics from job.updated, job.status, job.question, "
        "terminal.pairing, *",
        "bill": "must be an object",
        "query": "must be text of 1 to 64 characters",
        "insurer": "must be text of 1 to 32 characters",
    }
)


# --------------------------------------------------------------------------- params


class ClaimParams(ClaimRequest):
    """``healthpoint.claim``: a claim, run on a terminal, answered when it ends."""

    requestId: str = _REQUEST_ID
    terminal: str | None = Field(default=None, pattern=_TERMINAL_PATTERN)
    #: What to answer the terminal's "Patient accepts?" question: ask the PMS, or answer at once.
    onApproved: Literal["ask", "accept", "reject"] = "ask"


class RebateEstimateParams(ClaimRequest):
    """``healthpoint.rebateEstimate``: as a claim, without ``onApproved`` (nothing to accept)."""

    requestId: str = _REQUEST_ID
    terminal: str | None = Field(default=None, pattern=_TERMINAL_PATTERN)


class CancelParams(BaseModel):
    """``healthpoint.cancel``: the original payload and refTag come from the journal."""

    model_config = _PARAMS

    requestId: str = _REQUEST_ID
    claimJobId: str = _JOB_ID


class GapParams(BaseModel):
    """``payment.gap``: pay a claim's gap; ``amount`` defaults to the claim's gap."""

    model_config = _PARAMS

    requestId: str = _REQUEST_ID
    claimJobId: str = _JOB_ID
    amount: StrictInt | None = Field(default=None, gt=0, le=MAX_CLAIM_AMOUNT)


class JobAnswerParams(BaseModel):
    """``job.answer``: one of the options of the pending question."""

    model_config = _PARAMS

    jobId: str = _JOB_ID
    answer: str = Field(min_length=1, max_length=64)


class JobAbortParams(BaseModel):
    """``job.abort``."""

    model_config = _PARAMS

    jobId: str = _JOB_ID


class JobGetParams(BaseModel):
    """``job.get``: exactly one of ``jobId`` or ``requestId``."""

    model_config = _PARAMS

    jobId: str | None = Field(default=None, min_length=1, max_length=64)
    requestId: str | None = Field(default=None, min_length=1, max_length=64)

    @model_validator(mode="after")
    def _exactly_one(self) -> JobGetParams:
        if (self.jobId is None) == (self.requestId is None):
            raise PydanticCustomError("one_of", "give exactly one of jobId or requestId")
        return self


class JobListParams(BaseModel):
    """``job.list``: filters, all optional."""

    model_config = _PARAMS

    state: JobState | None = None
    terminal: str | None = Field(default=None, pattern=_TERMINAL_PATTERN)
    kind: JobKind | None = None
    limit: StrictInt | None = Field(default=None, ge=1, le=1000)


class JobResolveParams(BaseModel):
    """``job.resolve``: an operator settles an ``unknown`` job, with a note saying why."""

    model_config = _PARAMS

    jobId: str = _JOB_ID
    #: What the operator found out: the fund approved it, declined it, or never processed it.
    outcome: Literal["approved", "declined", "notProcessed"]
    note: str = Field(min_length=1, max_length=500)

    @field_validator("note")
    @classmethod
    def _not_blank(cls, note: str) -> str:
        if not note.strip():
            raise PydanticCustomError("blank", FIELD_RULES["note"])
        return note


class TerminalPairParams(BaseModel):
    """``terminal.pair``: headless pairing; progress comes as ``terminal.pairing``."""

    model_config = _PARAMS

    terminal: str = Field(pattern=_TERMINAL_PATTERN)
    mid: StrictInt = Field(gt=0)
    tid: StrictInt = Field(gt=0)


class ReconciliationParams(BaseModel):
    """``healthpoint.reconciliation``: the HealthPoint report of one terminal for one day."""

    model_config = _PARAMS

    terminal: str = Field(pattern=_TERMINAL_PATTERN)
    date: IsoDate
    type: Literal["claims", "payments"]


EventTopic: TypeAlias = Literal["job.updated", "job.status", "job.question", "terminal.pairing", "*"]
#: Topics ``events.subscribe`` accepts; ``*`` means all.
EVENT_TOPICS: tuple[str, ...] = ("job.updated", "job.status", "job.question", "terminal.pairing", "*")


class EventsSubscribeParams(BaseModel):
    """``events.subscribe``: receive these notifications for every job, not only your own."""

    model_config = _PARAMS

    topics: tuple[EventTopic, ...] = Field(min_length=1, max_length=len(EVENT_TOPICS))


class HealthcodeValidateParams(BaseModel):
    """``healthcode.validate``: pre-flight check of a bill (the bill model lives in healthcode.py)."""

    model_config = _PARAMS

    bill: dict[str, Any]


class HealthcodeSubmitParams(BaseModel):
    """``healthcode.submit``."""

    model_config = _PARAMS

    requestId: str = _REQUEST_ID
    bill: dict[str, Any]


class HealthcodeCancelParams(BaseModel):
    """``healthcode.cancel``."""

    model_config = _PARAMS

    jobId: str = _JOB_ID


class HealthcodeCodesParams(BaseModel):
    """``healthcode.codes``: the pick-list a PMS shows while a code is typed."""

    model_config = _PARAMS

    kind: Literal["isc", "ccsd", "icd10"]
    query: str = Field(min_length=1, max_length=64)
    insurer: str | None = Field(default=None, min_length=1, max_length=32)
    limit: StrictInt | None = Field(default=None, ge=1, le=1000)


# --------------------------------------------------------------------------- results


class Job(BaseModel):
    """What every long operation returns and what notifications carry."""

    model_config = _RESULT

    jobId: str
    requestId: str
    kind: JobKind
    terminal: str | None = None
    state: JobState
    createdAt: datetime
    updatedAt: datetime
    #: The params as the PMS sent them (validated).
    request: dict[str, Any]
    #: Kind-specific: a :class:`ClaimResult` for claims, Healthcode's status for bills...
    result: dict[str, Any] | None = None
    #: A JSON-RPC-style ``{code, message, data?}`` when the job failed.
    error: dict[str, Any] | None = None


class AnswerResult(BaseModel):
    """``job.answer`` result."""

    model_config = _RESULT

    accepted: bool = True


class AbortResult(BaseModel):
    """``job.abort`` result: whether the transaction was asked to stop."""

    model_config = _RESULT

    aborted: bool


class TerminalInfo(BaseModel):
    """One terminal as ``terminal.list`` shows it."""

    model_config = _RESULT

    name: str
    mid: int
    tid: int
    paired: bool
    busy: bool
    queued: int


class PairResult(BaseModel):
    """``terminal.pair`` result (iClient ``pairingStatus``: ``success``/``failure``)."""

    model_config = _RESULT

    status: str
    message: str


class ReconciliationReport(BaseModel):
    """``healthpoint.reconciliation`` result: the report's XML as JSON (bridge/reconciliation.py).

    ``claims`` (or ``payments``) holds one object per ``<claim>`` with camelCase keys and integer
    cents; ``available`` is false, with ``message`` or ``error``, when there is no report.
    """

    model_config = ConfigDict(frozen=True, extra="allow")

    type: Literal["claims", "payments"]
    available: bool
    terminalId: str | None = None
    date: str | None = None
    totals: dict[str, Any] | None = None
    message: str | None = None
    error: dict[str, Any] | None = None


class CredentialsResult(BaseModel):
    """``healthcode.checkCredentials`` result."""

    model_config = _RESULT

    ok: bool
    message: str


class BillProblem(BaseModel):
    """One problem with a bill, VEDA style; ``field`` may add Healthcode's own name."""

    model_config = _RESULT

    field: str
    error: str
    suggestion: str | None = None
    #: Healthcode's own name for the field (``RegistrationNo``, ``AuthCode``, ``FDOS`` ...).
    healthcodeField: str | None = None


class ValidateResult(BaseModel):
    """``healthcode.validate`` result."""

    model_config = _RESULT

    valid: bool
    problems: tuple[BillProblem, ...] = ()


class CodeEntry(BaseModel):
    """One line of a ``healthcode.codes`` pick-list."""

    model_config = _RESULT

    code: str
    description: str
    allowed: bool


class ComponentHealth(BaseModel):
    """One component's health in ``system.health``: ``ok`` and a line for a person, plus
    the component's own figures (journal path, size and jobs by state; browser executable,
    restarts)."""

    model_config = ConfigDict(frozen=True, extra="allow")

    ok: bool
    message: str = ""


class HealthResult(BaseModel):
    """``system.health`` result."""

    model_config = _RESULT

    version: str
    uptimeS: float
    terminals: tuple[TerminalInfo, ...]
    journal: ComponentHealth
    browser: ComponentHealth


class SubscribeResult(BaseModel):
    """``events.subscribe`` result: the topics now subscribed."""

    model_config = _RESULT

    topics: tuple[str, ...]


# --------------------------------------------------------------------------- notifications


class JobUpdated(BaseModel):
    """``job.updated``: sent on every state change."""

    model_config = _RESULT

    job: Job


class JobStatus(BaseModel):
    """``job.status``: a terminal status line, e.g. "Reading card"."""

    model_config = _RESULT

    jobId: str
    message: str


class JobQuestion(BaseModel):
    """``job.question``: answer with ``job.answer``."""

    model_config = _RESULT

    jobId: str
    text: str
    options: tuple[str, ...]


class TerminalPairing(BaseModel):
    """``terminal.pairing``: pairing progress (iClient ``pairingStatus``)."""

    model_config = _RESULT

    terminal: str
    status: str
    message: str


#: Notification method -> params model.
NOTIFICATIONS: Mapping[str, type[BaseModel]] = MappingProxyType(
    {
        "job.updated": JobUpdated,
        "job.status": JobStatus,
        "job.question": JobQuestion,
        "terminal.pairing": TerminalPairing,
    }
)


# --------------------------------------------------------------------------- method table


_COMMON_ERRORS: tuple[type[ClaimbridgeError], ...] = (InvalidParams, TemporarilyUnavailable)


@dataclass(frozen=True, slots=True)
class MethodSpec:
    """One method: its params model (``None``: takes none), its result type, what it does."""

    params: type[BaseModel] | None
    result: Any
    summary: str
    errors: tuple[type[ClaimbridgeError], ...] = field(default=_COMMON_ERRORS)


_JOB_ERRORS = (*_COMMON_ERRORS, RequestIdReused, JobNotFound, TerminalNotPaired, NotAllowedNow)

#: Every method the daemon serves: exactly INTERFACES.md's table, plus ``events.subscribe``
#: and ``rpc.discover``. A unit test compares it with fixtures/protocol/methods.json.
METHODS: Mapping[str, MethodSpec] = MappingProxyType(
    {
        "healthpoint.claim": MethodSpec(
            ClaimParams, Job, "Make a HealthPoint claim; returns the Job when it ends.", _JOB_ERRORS
        ),
        "healthpoint.rebateEstimate": MethodSpec(
            RebateEstimateParams, Job, "Ask the fund for a rebate estimate.", _JOB_ERRORS
        ),
        "healthpoint.cancel": MethodSpec(
            CancelParams, Job, "Cancel an approved claim on its Sydney day.", _JOB_ERRORS
        ),
        "payment.gap": MethodSpec(
            GapParams, Job, "Take a card payment for an approved claim's gap.", _JOB_ERRORS
        ),
        "job.answer": MethodSpec(
            JobAnswerParams, AnswerResult, "Answer a job's pending question.",
            (*_COMMON_ERRORS, JobNotFound, NotAllowedNow),
        ),
        "job.abort": MethodSpec(
            JobAbortParams, AbortResult, "Ask a queued or running job to stop.",
            (*_COMMON_ERRORS, JobNotFound),
        ),
        "job.get": MethodSpec(
            JobGetParams, Job, "One job by jobId or requestId.", (*_COMMON_ERRORS, JobNotFound)
        ),
        "job.list": MethodSpec(JobListParams, list[Job], "Jobs, newest first, filtered."),
        "job.resolve": MethodSpec(
            JobResolveParams, Job, "Settle an unknown job by hand, with a note.",
            (*_COMMON_ERRORS, JobNotFound, NotAllowedNow),
        ),
        "terminal.list": MethodSpec(None, list[TerminalInfo], "The configured terminals."),
        "terminal.pair": MethodSpec(
            TerminalPairParams, PairResult, "Pair a terminal headlessly (progress as notifications)."
        ),
        "healthpoint.reconciliation": MethodSpec(
            ReconciliationParams, ReconciliationReport, "A terminal's HealthPoint report for a day.",
            (*_COMMON_ERRORS, TerminalNotPaired),
        ),
        "healthcode.checkCredentials": MethodSpec(
            None, CredentialsResult, "Check the site's Healthcode credentials.",
            (TemporarilyUnavailable, HealthcodeUnavailable),
        ),
        "healthcode.validate": MethodSpec(
            HealthcodeValidateParams, ValidateResult, "Pre-flight check of a Healthcode bill."
        ),
        "healthcode.submit": MethodSpec(
            HealthcodeSubmitParams, Job, "Submit a bill to Healthcode (queued, durable).",
            (*_COMMON_ERRORS, RequestIdReused, HealthcodeRejected, HealthcodeCredentialsInvalid),
        ),
        "healthcode.cancel": MethodSpec(
            HealthcodeCancelParams, Job, "Cancel a submitted Healthcode bill.",
            (*_COMMON_ERRORS, JobNotFound, HealthcodeNotFound, NotAllowedNow),
        ),
        "healthcode.codes": MethodSpec(
            HealthcodeCodesParams, list[CodeEntry], "Pick-list of ISC/CCSD/ICD-10 codes."
        ),
        "system.health": MethodSpec(None, HealthResult, "Version, uptime and component health."),
        "events.subscribe": MethodSpec(
            EventsSubscribeParams, SubscribeResult, "Receive notifications for every job."
        ),
        "rpc.discover": MethodSpec(
            None, dict[str, Any], "This service's OpenRPC document.", (TemporarilyUnavailable,)
        ),
    }
)


# --------------------------------------------------------------------------- params parsing


_CUSTOM_TYPES = frozenset({"items_total", "items_icd10", "one_of", "blank", "date_format"})


def _field_error(error: ErrorDetails) -> FieldError:
    loc = error["loc"]
    path = ".".join(str(part) for part in loc) or "params"
    kind = error["type"]
    names = [part for part in loc if isinstance(part, str)]
    name = names[-1] if names else ""
    if kind == "missing":
        return FieldError(path, "is required")
    if kind == "extra_forbidden":
        return FieldError(path, "is not a known field")
    if kind in _CUSTOM_TYPES:
        return FieldError(path, error["msg"])
    if kind in ("model_type", "model_attributes_type", "dict_type") and (
        not loc or isinstance(loc[-1], int)
    ):
        return FieldError(path, "must be an object")
    if name == "items" and loc[-1] == "items":
        if kind == "too_long":
            return FieldError(path, f"at most {MAX_ITEMS} items")
        if kind == "too_short":
            return FieldError(path, "at least one item")
    rule = FIELD_RULES.get(name)
    if rule is not None:
        return FieldError(path, rule)
    text = error["msg"].replace("Input should be", "must be")
    return FieldError(path, text[:1].lower() + text[1:])


def parse_params(method: str, raw: Any) -> BaseModel | None:
    """Validate a request's params against the method's model.

    Args:
        method: The JSON-RPC method name.
        raw: ``params`` as it came (``None`` when absent).

    Returns:
        The params model, or ``None`` for a method that takes no params.

    Raises:
        MethodNotFound: No such method.
        InvalidParams: Naming every bad field with a dotted path (``items.3.patientId``) and its
            rule in plain words.
    """
    spec = METHODS.get(method)
    if spec is None:
        raise MethodNotFound(method)
    if spec.params is None:
        if raw is None or raw == {} or raw == []:
            return None
        raise InvalidParams((FieldError("params", "this method takes no params"),))
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise InvalidParams((FieldError("params", "must be an object of named params"),))
    try:
        return spec.params.model_validate(raw)
    except ValidationError as exc:
        details = exc.errors(include_url=False, include_input=False)
        errors: list[FieldError] = []
        for detail in details:
            error = _field_error(detail)
            # pydantic counts only the members that validated, so a list with a bad member
            # also looks "too short"; the member's own error is the useful one.
            if detail["type"] == "too_short" and any(
                other["loc"][: len(detail["loc"])] == detail["loc"]
                and len(other["loc"]) > len(detail["loc"])
                for other in details
            ):
                continue
            if error not in errors:
                errors.append(error)
        # pydantic checks a tuple's length only when every member validated, so 17 bad items
        # would be reported as 17 bad items and not as too many: say both.
        items = raw.get("items")
        if issubclass(spec.params, ClaimRequest) and isinstance(items, list) and len(items) > MAX_ITEMS:
            too_many = FieldError("items", f"at most {MAX_ITEMS} items")
            if too_many not in errors:
                errors.insert(0, too_many)
        raise InvalidParams(tuple(errors)) from None


# --------------------------------------------------------------------------- envelope

#: A JSON-RPC id: text, integer or null.
RpcId: TypeAlias = str | int | None


@dataclass(frozen=True, slots=True)
class Request:
    """A valid JSON-RPC request; ``is_notification`` when it has no ``id`` (gets no reply)."""

    id: RpcId
    method: str
    params: dict[str, Any] | list[Any] | None
    is_notification: bool


#: One parsed request, or the error to answer it with (``error_response(err.request_id, err)``).
Message: TypeAlias = Request | InvalidRequest
#: A batch: one entry per member, in order.
Batch: TypeAlias = list[Message]
#: What :func:`parse_frame` returns.
Incoming: TypeAlias = Message | Batch


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _message(obj: Any) -> Message:
    if not isinstance(obj, dict):
        return InvalidRequest("a request must be an object")
    has_id = "id" in obj
    raw_id = obj.get("id")
    id_ok = raw_id is None or isinstance(raw_id, str) or (
        isinstance(raw_id, int) and not isinstance(raw_id, bool)
    )
    rid: RpcId = raw_id if id_ok else None
    if not id_ok:
        return InvalidRequest("id must be a string, an integer or null")
    if obj.get("jsonrpc") != JSONRPC_VERSION:
        return InvalidRequest('jsonrpc must be "2.0"', rid)
    method = obj.get("method")
    if not isinstance(method, str) or not method:
        return InvalidRequest("method must be a non-empty string", rid)
    params = obj.get("params")
    if "params" in obj and not isinstance(params, (dict, list)):
        return InvalidRequest("params must be an object or an array", rid)
    return Request(rid, method, params, not has_id)


def parse_frame(text: str | bytes, *, max_batch: int | None = None) -> Incoming:
    """Parse one websocket text frame as JSON-RPC 2.0.

    Args:
        text: The frame (bytes must be UTF-8).
        max_batch: Longest batch accepted, or ``None`` for no limit.

    Returns:
        A :class:`Request`, an :class:`~bridge.errors.InvalidRequest` (reply with
        ``error_response(err.request_id, err)``), or a
        :data:`Batch` list of those.

    Raises:
        ParseError: Not UTF-8 or not JSON (NaN/Infinity included); reply with id null.
        InvalidRequest: Neither an object nor an array, an empty batch or one longer than
            ``max_batch``; reply with id null.
    """
    try:
        if isinstance(text, bytes):
            text = text.decode("utf-8")
        data = json.loads(text, parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ParseError(type(exc).__name__) from None
    if isinstance(data, list):
        if not data:
            raise InvalidRequest("empty batch")
        if max_batch is not None and len(data) > max_batch:
            raise InvalidRequest(f"batch longer than {max_batch}")
        return [_message(member) for member in data]
    if isinstance(data, dict):
        return _message(data)
    raise InvalidRequest("a request must be an object or an array")


def to_json(value: Any) -> Any:
    """Models (and lists/dicts of them) as plain JSON values; datetimes ISO with offset."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, (list, tuple)):
        return [to_json(v) for v in value]
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return value


def response(id: RpcId, result: Any) -> dict[str, Any]:
    """A JSON-RPC success response; ``result`` may be a model or a list of models."""
    return {"jsonrpc": JSONRPC_VERSION, "id": id, "result": to_json(result)}


def error_response(id: RpcId, exc: BaseException) -> dict[str, Any]:
    """A JSON-RPC error response for ``exc`` (see :func:`bridge.errors.to_jsonrpc_error`)."""
    return {"jsonrpc": JSONRPC_VERSION, "id": id, "error": to_jsonrpc_error(exc)}


def notification(method: str, params: BaseModel | Mapping[str, Any]) -> dict[str, Any]:
    """A JSON-RPC notification (no id), e.g. ``notification("job.status", JobStatus(...))``."""
    return {"jsonrpc": JSONRPC_VERSION, "method": method, "params": to_json(params)}


# --------------------------------------------------------------------------- OpenRPC

_REF = "#/components/schemas/{model}"
_OPENRPC_META = "https://raw.githubusercontent.com/open-rpc/meta-schema/master/schema.json"


def _schema(tp: Any, mode: Literal["validation", "serialization"], defs: dict[str, Any]) -> Any:
    schema = TypeAdapter(tp).json_schema(ref_template=_REF, mode=mode)
    defs.update(schema.pop("$defs", {}))
    if mode == "serialization" and isinstance(tp, type) and issubclass(tp, BaseModel):
        # Results and notifications are named components, so docs can link to them.
        defs[tp.__name__] = schema
        return {"$ref": _REF.format(model=tp.__name__)}
    return schema


def _error_object(cls: type[ClaimbridgeError]) -> dict[str, Any]:
    return {"code": ERROR_CODES[cls], "message": cls.message}


def openrpc_document(version: str) -> dict[str, Any]:
    """The OpenRPC 1.2.6 document of the protocol, generated from the models.

    ``rpc.discover`` itself is left out of ``methods`` (``rpc.`` names are reserved for the
    discovery extension); notifications are listed under ``x-notifications``.

    Args:
        version: The daemon's version, for ``info.version``.
    """
    defs: dict[str, Any] = {}
    methods: list[dict[str, Any]] = []
    for name, spec in METHODS.items():
        if name.startswith("rpc."):
            continue
        params: list[dict[str, Any]] = []
        if spec.params is not None:
            model_schema = _schema(spec.params, "validation", defs)
            required = set(model_schema.get("required", ()))
            for pname, pschema in model_schema.get("properties", {}).items():
                params.append({"name": pname, "required": pname in required, "schema": pschema})
        seen: set[int] = set()
        errors = []
        for cls in spec.errors:
            obj = _error_object(cls)
            if obj["code"] not in seen:
                seen.add(obj["code"])
                errors.append(obj)
        methods.append(
            {
                "name": name,
                "summary": spec.summary,
                "paramStructure": "by-name",
                "params": params,
                "result": {"name": "result", "schema": _schema(spec.result, "serialization", defs)},
                "errors": errors,
            }
        )
    notifications = [
        {"name": name, "params": _schema(model, "serialization", defs)}
        for name, model in NOTIFICATIONS.items()
    ]
    return {
        "openrpc": "1.2.6",
        "info": {
            "title": "claimbridge",
            "version": version,
            "description": "HealthPoint claims, cancels and gap payments through Tyro iClient; "
            "Healthcode bills. JSON-RPC 2.0 over ws://HOST:8765/v1.",
        },
        "methods": methods,
        "components": {"schemas": dict(sorted(defs.items()))},
        "x-notifications": notifications,
        "x-discover": {"name": "rpc.discover", "result": {"$ref": _OPENRPC_META}},
    }
