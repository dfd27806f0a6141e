"""The websocket protocol: one namespace for the envelope, params, results and notifications.

Everything a PMS can send or receive is a frozen pydantic model, with field names exactly as
INTERFACES.md spells them. The parts live in their own modules and are re-exported here:
params models in :mod:`bridge.protocol_params`, results and notifications in
:mod:`bridge.protocol_results`, the method table (:data:`METHODS`, what the dispatcher serves
and ``rpc.discover`` describes) and :func:`parse_params` in :mod:`bridge.protocol_methods`, the
JSON-RPC 2.0 envelope in :mod:`bridge.jsonrpc`, the OpenRPC document in :mod:`bridge.openrpc`.

Pure: no I/O.
"""

from __future__ import annotations

from bridge.healthpoint import (
    ClaimItem,
    ClaimItemResult,
    ClaimResult,
    Fund,
)
from bridge.jsonrpc import (
    JSONRPC_VERSION,
    Batch,
    Incoming,
    Message,
    Request,
    RpcId,
    error_response,
    notification,
    parse_frame,
    response,
    to_json,
)
from bridge.openrpc import (
    openrpc_document,
)
from bridge.protocol_methods import (
    METHODS,
    MethodSpec,
    parse_params,
)
from bridge.protocol_params import (
    EVENT_TOPICS,
    FIELD_RULES,
    CancelParams,
    ClaimParams,
    EventsSubscribeParams,
    GapParams,
    HealthcodeCancelParams,
    HealthcodeCodesParams,
    HealthcodeSubmitParams,
    HealthcodeValidateParams,
    JobAbortParams,
    JobAnswerParams,
    JobGetParams,
    JobListParams,
    JobResolveParams,
    RebateEstimateParams,
    ReconciliationParams,
    TerminalPairParams,
)
from bridge.protocol_results import (
    NOTIFICATIONS,
    AbortResult,
    AnswerResult,
    BillProblem,
    CodeEntry,
    ComponentHealth,
    CredentialsResult,
    HealthResult,
    Job,
    JobQuestion,
    JobStatus,
    JobUpdated,
    PairResult,
    ReconciliationReport,
    SubscribeResult,
    TerminalInfo,
    TerminalPairing,
    ValidateResult,
)

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
