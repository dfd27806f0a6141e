"""Healthcode bill jobs, pure: a bill's status as a job state, the job's result, resubmission rules.

The worker (:mod:`bridge.clearing.worker`) and the methods (:mod:`bridge.clearing.service`)
use these; see the latter's docstring for the table of states. No I/O, no clock: time comes in
as an aware ``now``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Final
from zoneinfo import ZoneInfo

from pydantic import TypeAdapter
from typing_extensions import NotRequired, TypedDict  # pydantic reads only this one on 3.11

from bridge.errors import NotAllowedReason
from bridge.healthcode.bills import Bill, Problem, StatusReport, SubmitReceipt
from bridge.healthcode.status import BillStatus
from bridge.jobs import JobState

__all__ = [
    "CARRIED_RESULT_KEYS",
    "DUPLICATE_INVOICE",
    "BillResultData",
    "ProblemData",
    "bill_result",
    "holds_invoice",
    "is_own_bill",
    "merge_problems",
    "replacement_refusal",
    "job_state_for",
    "problem_to_wire",
    "read_bill_result",
    "uk_today",
]

_UK = ZoneInfo("Europe/London")

#: Where each Healthcode status leaves the job. Statuses not listed keep it ``running``.
_STATE_FOR_STATUS: Mapping[BillStatus, JobState] = {
    BillStatus.COLLECTED: JobState.COMPLETED,
    BillStatus.CANCELLED: JobState.COMPLETED,
    BillStatus.NOT_FOUND: JobState.UNKNOWN,
}


class ProblemData(TypedDict):
    """One problem as JSON: ``{field, error, suggestion, healthcodeField?}``."""

    field: str
    error: str
    suggestion: str
    healthcodeField: NotRequired[str]


class BillResultData(TypedDict, total=False):
    """A bill job's ``result`` as JSON (the protocol's ``BillOutcome`` with the keys the
    remittances add): what these rules read and write. Every key is optional, as in a stored
    result: ``{}`` is a bill job with no result yet."""

    status: str
    reference: str | None
    invoiceNumber: str
    at: str | None
    problems: list[ProblemData]
    duplicate: bool
    replaces: str
    replacedBy: str | None
    paid: int | None
    shortfall: int | None
    paymentReference: str | None
    datePaid: str | None
    remittanceIds: list[str]
    rejected: bool
    reason: str


_BILL_RESULT: TypeAdapter[BillResultData] = TypeAdapter(BillResultData)

#: Result keys a bill job keeps whatever Healthcode answers next: the pointers between a bill and
#: its resubmission, and what the remittances recorded (see bridge.clearing.remittances).
CARRIED_RESULT_KEYS: Final = (
    "replaces", "replacedBy", "paid", "shortfall", "paymentReference", "datePaid", "remittanceIds",
    "rejected", "reason",
)


#: Healthcode's answer to an invoice number the insurer already holds (reference §3.2 InvoiceNo).
DUPLICATE_INVOICE = Problem(
    field="invoiceNumber",
    error="Duplicate Invoice",
    suggestion="Use a new invoice number, or check the status of the bill already sent",
    healthcode_field="InvoiceNo",
)


def read_bill_result(data: Mapping[str, object]) -> BillResultData:
    """A bill job's stored result (JSON, as the journal gives it) checked against
    :class:`BillResultData`; keys it does not name are left out.

    Raises:
        pydantic.ValidationError: A key holds a value of the wrong type.
    """
    return _BILL_RESULT.validate_python(data)


def holds_invoice(state: JobState, result: BillResultData | None) -> bool:
    """Whether a bill job holds its invoice number for its insurer.

    Every bill job does but a failed one (nothing reached Healthcode) and a cancelled one
    (Healthcode frees a cancelled bill's number). An ``unknown`` bill holds it: it may be there.
    """
    if state is JobState.FAILED:
        return False
    return not (state is JobState.COMPLETED and (result or {}).get("status") == BillStatus.CANCELLED)


def is_own_bill(report: StatusReport, bill: Bill, replaced: str | None) -> bool:
    """Whether the bill Healthcode found by invoice number is this job's own lost submission.

    Only a bill that is not cancelled, is not the one this job resubmits (``replaced``) and has
    this job's content: another job's bill under the number (a cancelled one, typically) is
    never adopted. A report without the content is not proof: the caller submits instead, and
    Healthcode answers the very same bill with its reference (``duplicate``).
    """
    if report.status in (BillStatus.NOT_FOUND, BillStatus.CANCELLED) or report.reference is None:
        return False
    if report.reference == replaced or report.bill is None:
        return False
    return report.bill == bill


def merge_problems(first: list[Problem], second: list[Problem]) -> list[Problem]:
    """``first``, then the problems of ``second`` it does not already name (same field and
    error): our pre-flight's and Healthcode's problems of one bill in one answer."""
    merged = list(first)
    seen = {(p.field, p.error) for p in first}
    for problem in second:
        if (problem.field, problem.error) not in seen:
            seen.add((problem.field, problem.error))
            merged.append(problem)
    return merged


def job_state_for(status: BillStatus) -> JobState:
    """The job state a bill in ``status`` belongs in (see the module docstring's table)."""
    return _STATE_FOR_STATUS.get(status, JobState.RUNNING)


def problem_to_wire(problem: Problem) -> ProblemData:
    """``{field, error, suggestion, healthcodeField?}`` as ``healthcode.validate`` returns it."""
    wire = ProblemData(field=problem.field, error=problem.error, suggestion=problem.suggestion)
    if problem.healthcode_field is not None:
        wire["healthcodeField"] = problem.healthcode_field
    return wire


def bill_result(
    answer: SubmitReceipt | StatusReport, invoice_number: str, previous: BillResultData | None = None
) -> BillResultData:
    """A bill job's ``result`` after Healthcode's latest answer.

    Args:
        answer: A submit receipt or a status report.
        invoice_number: The bill's invoice number.
        previous: The job's result so far (keeps the reference and the duplicate flag).

    Returns:
        ``{status, reference, invoiceNumber, at, problems, duplicate}``.
    """
    before: BillResultData = previous or {}
    result: BillResultData
    if isinstance(answer, SubmitReceipt):
        result = {
            "status": str(answer.status),
            "reference": answer.reference,
            "invoiceNumber": invoice_number,
            "at": None,
            "problems": [],
            "duplicate": answer.duplicate,
        }
    else:
        result = {
            "status": str(answer.status),
            "reference": answer.reference or before.get("reference"),
            "invoiceNumber": invoice_number,
            "at": answer.at.isoformat() if answer.at is not None else None,
            "problems": [problem_to_wire(p) for p in answer.problems],
            "duplicate": bool(before.get("duplicate", False)),
        }
    for key in CARRIED_RESULT_KEYS:
        if key in before:
            result[key] = before[key]
    return result


def replacement_refusal(
    state: JobState, result: BillResultData | None,
) -> tuple[NotAllowedReason, str] | None:
    """Why a bill job may not be resubmitted (``healthcode.submit`` ``replaces``), as a reason
    code and words, or None.

    A bill may be replaced when Healthcode cancelled it, or when the insurer collected it and no
    remittance line has paid it (a line paying nothing is a rejection, not a payment) (splose, seeds/002: "if a claim has not been paid out ... create
    a new claim and submit this again"); never twice.

    Args:
        state: The job's state.
        result: The job's result.
    """
    result = result or {}
    if result.get("replacedBy"):
        return "alreadyReplaced", f"the bill was already resubmitted as job {result['replacedBy']}"
    status = result.get("status")
    if state is JobState.COMPLETED and status == BillStatus.CANCELLED:
        return None
    if state is JobState.COMPLETED and status == BillStatus.COLLECTED:
        if result.get("paid") is not None and not result.get("rejected"):
            return "billPaid", "the insurer has paid the bill (a remittance line names it)"
        return None
    if state in (JobState.QUEUED, JobState.RUNNING):
        return "billInProgress", f"the bill is still in progress at Healthcode ({status or 'not yet sent'})"
    return "notReplaceable", (
        f"only a cancelled bill, or a collected one left unpaid, can be resubmitted (this one is {state})"
    )


def uk_today(now: datetime) -> date:
    """The clinic's date (Europe/London) at the aware instant ``now``."""
    return now.astimezone(_UK).date()
