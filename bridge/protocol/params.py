"""Protocol params, pure: the frozen model of each method's params and the plain-words field rules.

Field names are exactly as INTERFACES.md spells them; :data:`FIELD_RULES` gives the rule
that :func:`bridge.protocol.methods.parse_params` reports for a field that breaks it.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Literal, TypeAlias

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, field_validator, model_validator
from pydantic_core import PydanticCustomError

from bridge.healthpoint import (
    FIELD_RULES as _HEALTHPOINT_RULES,
    MAX_CLAIM_AMOUNT,
    ClaimRequest,
    IsoDate,
)
from bridge.jobs import JobId, JobKind, JobState, RequestId

__all__ = [
    "EVENT_TOPICS",
    "FIELD_RULES",
    "CancelParams",
    "ClaimParams",
    "EventTopic",
    "EventsSubscribeParams",
    "GapParams",
    "HealthcodeCancelParams",
    "HealthcodeCodesParams",
    "HealthcodeFindMemberParams",
    "HealthcodeRemittancesParams",
    "HealthcodeSubmitParams",
    "HealthcodeValidateParams",
    "JobAbortParams",
    "JobAnswerParams",
    "JobGetParams",
    "JobListParams",
    "JobResolveParams",
    "RebateEstimateParams",
    "ReconcileParams",
    "ReconciliationParams",
    "RefundParams",
    "TerminalPairParams",
    "TerminalUnpairParams",
]

_PARAMS = ConfigDict(frozen=True, extra="forbid")

_REQUEST_ID = Field(min_length=1, max_length=64, description="The PMS's idempotency key.")
_JOB_ID = Field(min_length=1, max_length=64)
_TERMINAL_PATTERN = r"^[a-z0-9-]{1,40}$"
#: The rule for ``terminal`` on the methods that run on one, as rpc.discover states it.
_TERMINAL_RULE = (
    "The terminal (its name in terminal.list). May be left out while the daemon has one terminal; "
    "required once a second terminal is paired (-32602 naming terminal, with the known names)."
)

#: Plain-words rule per field name, used when a field breaks its constraints.
FIELD_RULES: Mapping[str, str] = MappingProxyType(
    {
        **_HEALTHPOINT_RULES,
        "requestId": "must be text of 1 to 64 characters",
        "jobId": "must be text of 1 to 64 characters",
        "claimJobId": "must be text of 1 to 64 characters",
        "paymentJobId": "must be text of 1 to 64 characters",
        "operator": "must be text of 1 to 64 characters (the name of who answers)",
        "history": "must be true or false",
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
        "terminal.pairing, reconciliation.done, *",
        "bill": "must be an object",
        "query": "must be text of 1 to 64 characters",
        "insurer": "must be text of 1 to 32 characters",
    }
)


# --------------------------------------------------------------------------- params


class ClaimParams(ClaimRequest):
    """``healthpoint.claim``: a claim, run on a terminal, answered when it ends."""

    requestId: RequestId = _REQUEST_ID
    terminal: str | None = Field(default=None, pattern=_TERMINAL_PATTERN, description=_TERMINAL_RULE)
    #: What to answer the terminal's "Patient accepts?" question: ask the PMS, or answer at once.
    onApproved: Literal["ask", "accept", "reject"] = "ask"


class RebateEstimateParams(ClaimRequest):
    """``healthpoint.rebateEstimate``: as a claim, without ``onApproved`` (nothing to accept)."""

    requestId: RequestId = _REQUEST_ID
    terminal: str | None = Field(default=None, pattern=_TERMINAL_PATTERN, description=_TERMINAL_RULE)


class CancelParams(BaseModel):
    """``healthpoint.cancel``: the original payload and refTag come from the journal."""

    model_config = _PARAMS

    requestId: RequestId = _REQUEST_ID
    claimJobId: JobId = _JOB_ID


class GapParams(BaseModel):
    """``payment.gap``: pay a claim's gap; ``amount`` defaults to the claim's gap."""

    model_config = _PARAMS

    requestId: RequestId = _REQUEST_ID
    claimJobId: JobId = _JOB_ID
    amount: StrictInt | None = Field(default=None, gt=0, le=MAX_CLAIM_AMOUNT)


class RefundParams(BaseModel):
    """``payment.refund``: refund (part of) an approved gap payment; ``amount`` defaults to what is left."""

    model_config = _PARAMS

    requestId: RequestId = _REQUEST_ID
    paymentJobId: JobId = _JOB_ID
    amount: StrictInt | None = Field(default=None, gt=0, le=MAX_CLAIM_AMOUNT)


class JobAnswerParams(BaseModel):
    """``job.answer``: one of the options of the pending question (case does not matter).

    ``operator`` names the person answering for the desk: any authenticated client may then
    answer (the console, ``claimbridge call --answer``); the name goes into the job's history.
    """

    model_config = _PARAMS

    jobId: JobId = _JOB_ID
    answer: str = Field(min_length=1, max_length=64)
    operator: str | None = Field(default=None, min_length=1, max_length=64)


class ReconcileParams(BaseModel):
    """``healthpoint.reconcile``: hold one Sydney day's claims report against the journal."""

    model_config = _PARAMS

    terminal: str = Field(pattern=_TERMINAL_PATTERN)
    date: IsoDate


class JobAbortParams(BaseModel):
    """``job.abort``; ``operator`` lets any authenticated client abort for the desk, as for answers."""

    model_config = _PARAMS

    jobId: JobId = _JOB_ID
    operator: str | None = Field(default=None, min_length=1, max_length=64)


class JobGetParams(BaseModel):
    """``job.get``: exactly one of ``jobId`` or ``requestId``."""

    model_config = _PARAMS

    jobId: JobId | None = Field(default=None, min_length=1, max_length=64)
    requestId: RequestId | None = Field(default=None, min_length=1, max_length=64)
    #: Add the audit trail: every state change, status line, question, answer, receipt, note.
    history: StrictBool = False

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
    #: Catching up: only the jobs changed after this change number (a Job's ``seq``, or the
    #: last page's ``nextSince``), oldest change first; the answer is then a JobPage.
    since: StrictInt | None = Field(default=None, ge=0)


class JobResolveParams(BaseModel):
    """``job.resolve``: an operator settles an ``unknown`` job, with a note saying why."""

    model_config = _PARAMS

    jobId: JobId = _JOB_ID
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
    #: A name already paired to another mid/tid is re-paired only with ``replace: true`` (else
    #: -32004 ``alreadyPaired``); the journal's history records the change.
    replace: StrictBool = False


class TerminalUnpairParams(BaseModel):
    """``terminal.unpair``: forget a terminal's pairing (refused while a job of it waits or runs)."""

    model_config = _PARAMS

    terminal: str = Field(pattern=_TERMINAL_PATTERN)


class ReconciliationParams(BaseModel):
    """``healthpoint.reconciliation``: the HealthPoint report of one terminal for one day."""

    model_config = _PARAMS

    terminal: str = Field(pattern=_TERMINAL_PATTERN)
    date: IsoDate
    type: Literal["claims", "payments"]


EventTopic: TypeAlias = Literal[
    "job.updated", "job.status", "job.question", "terminal.pairing", "reconciliation.done", "*"
]
#: Topics ``events.subscribe`` accepts; ``*`` means all.
EVENT_TOPICS: tuple[str, ...] = (
    "job.updated", "job.status", "job.question", "terminal.pairing", "reconciliation.done", "*"
)


class EventsSubscribeParams(BaseModel):
    """``events.subscribe``: receive these notifications for every job, not only your own."""

    model_config = _PARAMS

    topics: tuple[EventTopic, ...] = Field(min_length=1, max_length=len(EVENT_TOPICS))
    #: Catching up: first replay every notification of these topics numbered after this ``seq``
    #: (the last one the PMS saw), in order, then go on live.
    since: StrictInt | None = Field(default=None, ge=0)


class HealthcodeValidateParams(BaseModel):
    """``healthcode.validate``: pre-flight check of a bill (the bill model lives in healthcode.py)."""

    model_config = _PARAMS

    bill: dict[str, object]


class HealthcodeSubmitParams(BaseModel):
    """``healthcode.submit``."""

    model_config = _PARAMS

    requestId: RequestId = _REQUEST_ID
    bill: dict[str, object]
    #: The jobId of a cancelled bill, or of a collected one left unpaid, that this one resubmits.
    replaces: str | None = Field(default=None, min_length=1, max_length=64)


class HealthcodeCancelParams(BaseModel):
    """``healthcode.cancel``."""

    model_config = _PARAMS

    jobId: JobId = _JOB_ID


class HealthcodeCodesParams(BaseModel):
    """``healthcode.codes``: the pick-list a PMS shows while a code (or an insurer) is typed."""

    model_config = _PARAMS

    kind: Literal["isc", "ccsd", "icd10", "insurer"]
    query: str = Field(min_length=1, max_length=64)
    insurer: str | None = Field(default=None, min_length=1, max_length=32)
    limit: StrictInt | None = Field(default=None, ge=1, le=1000)


class HealthcodeFindMemberParams(BaseModel):
    """``healthcode.findMember``: Healthcode's membership enquiry; the insurer says which of
    the other fields it requires."""

    model_config = _PARAMS

    insurer: str = Field(min_length=1, max_length=32)
    membershipNumber: str | None = Field(default=None, min_length=1, max_length=64)
    firstName: str | None = Field(default=None, min_length=1, max_length=100)
    lastName: str | None = Field(default=None, min_length=1, max_length=100)
    dateOfBirth: IsoDate | None = None
    postcode: str | None = Field(default=None, min_length=1, max_length=16)


class HealthcodeRemittancesParams(BaseModel):
    """``healthcode.remittances``: an insurer's remittances, from Healthcode's V2 API."""

    model_config = _PARAMS

    insurer: str = Field(min_length=1, max_length=32)
    since: IsoDate | None = None
    invoiceNumber: str | None = Field(default=None, min_length=1, max_length=64)
