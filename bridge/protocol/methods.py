"""Protocol method table, pure: what each method takes, returns and may raise, and params parsing.

:data:`METHODS` is the method table the dispatcher serves and ``rpc.discover`` describes;
:func:`parse_params` turns bad params into one :class:`~bridge.errors.InvalidParams` naming
every bad field in plain words.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType, UnionType
from typing import Any, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from bridge.errors import (
    ClaimbridgeError,
    FieldError,
    HealthcodeCredentialsInvalid,
    HealthcodeNotFound,
    HealthcodeRejected,
    HealthcodeUnavailable,
    InvalidParams,
    JobNotFound,
    MethodNotFound,
    NotAllowedForRole,
    NotAllowedNow,
    RequestIdReused,
    TemporarilyUnavailable,
    TerminalNotPaired,
    field_path,
)
from bridge.healthpoint import MAX_ITEMS, ClaimRequest
from bridge.protocol.params import (
    FIELD_RULES,
    CancelParams,
    ClaimParams,
    EventsSubscribeParams,
    GapParams,
    HealthcodeCancelParams,
    HealthcodeCodesParams,
    HealthcodeFindMemberParams,
    HealthcodeRemittancesParams,
    HealthcodeSubmitParams,
    HealthcodeValidateParams,
    JobAbortParams,
    JobAnswerParams,
    JobGetParams,
    JobListParams,
    JobResolveParams,
    RebateEstimateParams,
    ReconcileParams,
    ReconciliationParams,
    RefundParams,
    TerminalPairParams,
    TerminalUnpairParams,
)
from bridge.protocol.billing import (
    CodeEntry,
    CredentialsResult,
    FindMemberResult,
    RemittanceEntry,
    ValidateResult,
)
from bridge.protocol.reports import ReconcileResult, ReconciliationReport
from bridge.protocol.results import (
    AbortResult,
    AnswerResult,
    HealthResult,
    Job,
    JobPage,
    PairResult,
    SubscribeResult,
    TerminalInfo,
    UnpairResult,
)

__all__ = [
    "METHODS",
    "MethodSpec",
    "fits_result",
    "invalid_where",
    "parse_params",
]

# --------------------------------------------------------------------------- method table


def invalid_where(exc: ValidationError) -> str:
    """Where and why a model refused its data, for a log line: never the values (they may name
    a patient or carry a key)."""
    return "; ".join(
        f"{field_path(e['loc']) or '(root)'}: {e['msg']}"
        for e in exc.errors(include_input=False, include_url=False, include_context=False)
    )



#: Every method may be outside the calling client's role (-32006).
_COMMON_ERRORS: tuple[type[ClaimbridgeError], ...] = (InvalidParams, TemporarilyUnavailable, NotAllowedForRole)


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
        "payment.refund": MethodSpec(
            RefundParams, Job, "Refund (part of) an approved gap payment (iClient initiateRefund).", _JOB_ERRORS
        ),
        "job.answer": MethodSpec(
            JobAnswerParams, AnswerResult, "Answer a job's pending question.",
            (*_COMMON_ERRORS, JobNotFound, NotAllowedNow),
        ),
        "job.abort": MethodSpec(
            JobAbortParams, AbortResult,
            "Stop a queued job before it reaches the terminal (aborted: true); a running one is asked "
            "to stop and runs to its outcome (aborted: false).",
            (*_COMMON_ERRORS, JobNotFound),
        ),
        "job.get": MethodSpec(
            JobGetParams, Job, "One job by jobId or requestId.", (*_COMMON_ERRORS, JobNotFound)
        ),
        "job.list": MethodSpec(
            JobListParams, list[Job] | JobPage,
            "Jobs, newest first, filtered; with since: a JobPage of the jobs changed after it, oldest change first.",
        ),
        "job.resolve": MethodSpec(
            JobResolveParams, Job, "Settle an unknown job by hand, with a note.",
            (*_COMMON_ERRORS, JobNotFound, NotAllowedNow),
        ),
        "terminal.list": MethodSpec(None, list[TerminalInfo], "The configured terminals and the paired ones."),
        "terminal.pair": MethodSpec(
            TerminalPairParams, PairResult,
            "Pair a terminal headlessly (progress as notifications); replace: true to re-pair a name.",
            (*_COMMON_ERRORS, NotAllowedNow),
        ),
        "terminal.unpair": MethodSpec(
            TerminalUnpairParams, UnpairResult, "Forget a terminal's pairing (not while a job of it waits or runs).",
            (*_COMMON_ERRORS, NotAllowedNow),
        ),
        "healthpoint.reconciliation": MethodSpec(
            ReconciliationParams, ReconciliationReport, "A terminal's HealthPoint report for a day.",
            (*_COMMON_ERRORS, TerminalNotPaired),
        ),
        "healthpoint.reconcile": MethodSpec(
            ReconcileParams, ReconcileResult,
            "Hold a day's claims report against the journal; settle unknown claims it proves.",
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
            (*_COMMON_ERRORS, RequestIdReused, HealthcodeRejected, HealthcodeCredentialsInvalid,
             JobNotFound, NotAllowedNow),
        ),
        "healthcode.cancel": MethodSpec(
            HealthcodeCancelParams, Job, "Cancel a submitted Healthcode bill.",
            (*_COMMON_ERRORS, JobNotFound, HealthcodeNotFound, NotAllowedNow),
        ),
        "healthcode.codes": MethodSpec(
            HealthcodeCodesParams, list[CodeEntry], "Pick-list of ISC/CCSD/ICD-10 codes and insurers."
        ),
        "healthcode.findMember": MethodSpec(
            HealthcodeFindMemberParams, FindMemberResult,
            "Healthcode's membership enquiry (Find Member, V2 API).",
            (*_COMMON_ERRORS, NotAllowedNow, HealthcodeCredentialsInvalid, HealthcodeUnavailable),
        ),
        "healthcode.remittances": MethodSpec(
            HealthcodeRemittancesParams, list[RemittanceEntry],
            "An insurer's remittances (V2 API), each line matched to its bill's job.",
            (*_COMMON_ERRORS, NotAllowedNow, HealthcodeCredentialsInvalid, HealthcodeUnavailable),
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


def fits_result(value: Any, documented: Any) -> bool:
    """Whether ``value`` is what a method documents as its result (:attr:`MethodSpec.result`):
    an instance of the model, a list of instances for ``list[Model]``, a dict for ``dict[...]``
    (``rpc.discover``)."""
    origin = get_origin(documented)
    if origin is UnionType:
        return any(fits_result(value, member) for member in get_args(documented))
    if origin is list:
        (member,) = get_args(documented)
        return isinstance(value, list) and all(fits_result(v, member) for v in value)
    if origin is dict:
        return isinstance(value, dict)
    return isinstance(documented, type) and isinstance(value, documented)


# --------------------------------------------------------------------------- params parsing


_CUSTOM_TYPES = frozenset({"items_total", "items_icd10", "one_of", "blank", "date_format"})


def _field_error(error: ErrorDetails) -> FieldError:
    loc = error["loc"]
    path = field_path(loc) or "params"
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
        InvalidParams: Naming every bad field by its path (``items[3].patientId``) and its
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
