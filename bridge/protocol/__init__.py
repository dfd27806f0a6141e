"""The websocket protocol, pure: one namespace for the envelope, params, results, methods and OpenRPC.

Everything a PMS can send or receive is a frozen pydantic model, with field names exactly as
INTERFACES.md spells them: params in :mod:`bridge.protocol.params`, results and notifications in
:mod:`bridge.protocol.results`, the method table (:data:`METHODS`, what the dispatcher serves
and ``rpc.discover`` describes) in :mod:`bridge.protocol.methods`, the JSON-RPC 2.0 envelope in
:mod:`bridge.protocol.envelope`, the OpenRPC document in :mod:`bridge.protocol.openrpc`.

Pure: no I/O.
"""

from __future__ import annotations

from bridge.protocol.envelope import (
    Batch,
    Incoming,
    JSONRPC_VERSION,
    Message,
    Request,
    RpcId,
    error_response,
    notification,
    parse_frame,
    response,
    to_json,
)
from bridge.protocol.methods import (
    METHODS,
    MethodSpec,
    parse_params,
)
from bridge.protocol.openrpc import (
    openrpc_document,
)
from bridge.protocol.params import (
    CancelParams,
    ClaimParams,
    EVENT_TOPICS,
    EventTopic,
    EventsSubscribeParams,
    FIELD_RULES,
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
from bridge.protocol.results import (
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
    NOTIFICATIONS,
    PairResult,
    ReconciliationReport,
    SubscribeResult,
    TerminalInfo,
    TerminalPairing,
    ValidateResult,
)

__all__ = [
    "AbortResult",
    "AnswerResult",
    "Batch",
    "BillProblem",
    "CancelParams",
    "ClaimParams",
    "CodeEntry",
    "ComponentHealth",
    "CredentialsResult",
    "EVENT_TOPICS",
    "EventTopic",
    "EventsSubscribeParams",
    "FIELD_RULES",
    "GapParams",
    "HealthResult",
    "HealthcodeCancelParams",
    "HealthcodeCodesParams",
    "HealthcodeSubmitParams",
    "HealthcodeValidateParams",
    "Incoming",
    "JSONRPC_VERSION",
    "Job",
    "JobAbortParams",
    "JobAnswerParams",
    "JobGetParams",
    "JobListParams",
    "JobQuestion",
    "JobResolveParams",
    "JobStatus",
    "JobUpdated",
    "METHODS",
    "Message",
    "MethodSpec",
    "NOTIFICATIONS",
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
