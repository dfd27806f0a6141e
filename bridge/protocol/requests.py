"""What a job keeps, pure: the model of each kind's stored request, and its result as stored.

A HealthPoint job keeps its method's params as validated (with the defaults the daemon filled
in: a claim's ``terminal``, a gap's or refund's ``amount``); a Healthcode bill's job keeps only
:class:`BillRequest` (the bill and what it replaces, not the ``requestId``, which is the row's
own). :data:`JOB_REQUESTS` maps each kind to that model, beside
:data:`bridge.protocol.results.JOB_RESULTS`; the journal decodes a stored request with it and
writes one with :func:`request_data`, in the JSON shape it has always had.

A result is stored as one JSON object with the job's receipts inside it (one row, one write):
:func:`decode_result` lifts them out into :class:`~bridge.protocol.results.Receipts` and the
result into its kind's model (:data:`~bridge.protocol.results.JOB_RESULTS`);
:func:`result_json` puts them back.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from types import MappingProxyType
from typing import TypeAlias

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic_core import from_json

from bridge.healthcode.bills import Bill
from bridge.healthpoint.claims import ClaimResult
from bridge.healthpoint.iclient import Failure, PurchaseOutcome
from bridge.jobs import JobState
from bridge.protocol.params import CancelParams, ClaimParams, GapParams, RebateEstimateParams, RefundParams
from bridge.protocol.results import JOB_RESULTS, BillOutcome, ClaimOutcome, JobError, PaymentOutcome, Receipts

__all__ = [
    "BillRequest",
    "JOB_REQUESTS",
    "JobRequest",
    "JobResult",
    "decode_result",
    "fitted_outcome",
    "outcome_models",
    "outcome_of",
    "request_data",
    "result_data",
    "result_json",
]


class BillRequest(BaseModel):
    """What a ``healthcodeBill`` job keeps of ``healthcode.submit``: the checked bill, and the
    jobId of the bill it resubmits."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    bill: Bill
    replaces: str | None = Field(default=None, min_length=1, max_length=64)


#: The stored request of every kind (:data:`JOB_REQUESTS` says which one a kind has).
JobRequest: TypeAlias = ClaimParams | RebateEstimateParams | CancelParams | GapParams | RefundParams | BillRequest

#: Job kind -> the model of the ``request`` its jobs keep.
JOB_REQUESTS: Mapping[str, type[JobRequest]] = MappingProxyType(
    {
        "claim": ClaimParams,
        "rebateEstimate": RebateEstimateParams,
        "cancel": CancelParams,
        "gap": GapParams,
        "refund": RefundParams,
        "healthcodeBill": BillRequest,
    }
)


def request_data(request: JobRequest) -> dict[str, object]:
    """A stored request as JSON values: camelCase, optional fields that are not set left out
    (the shape the journal stores, digests and puts in the wire Job)."""
    return request.model_dump(mode="json", by_alias=True, exclude_none=True)


#: The result of every kind (:data:`~bridge.protocol.results.JOB_RESULTS` says which one a kind has).
JobResult: TypeAlias = ClaimOutcome | PaymentOutcome | BillOutcome


def outcome_of(kind: str, data: Mapping[str, object]) -> tuple[JobResult, Receipts | None]:
    """A result as JSON values (receipts inside, as the terminal's operation gives it, or as
    stored) -> the kind's result model and the receipts lifted out (None when there are none).

    Raises:
        pydantic.ValidationError: ``data`` does not fit the kind's result (a ``ValueError``).
    """
    receipts = None
    if "receipts" in data:
        data = dict(data)
        receipts = data.pop("receipts")
    result: JobResult = JOB_RESULTS[kind].model_validate(data)  # type: ignore[assignment]
    return result, Receipts.model_validate(receipts) if receipts else None


#: A result as a terminal's operation decides it (:class:`bridge.healthpoint.Finish`).
TerminalAnswer: TypeAlias = ClaimResult | PurchaseOutcome


def _answer_data(result: TerminalAnswer, receipts: Mapping[str, str] | None) -> dict[str, object]:
    """A terminal's result as JSON values, every field it has (its receipts inside when given)."""
    data: dict[str, object] = result.model_dump(mode="json") if isinstance(result, ClaimResult) else dict(result)
    if receipts is not None:
        data["receipts"] = receipts
    return data


def outcome_models(
    kind: str, result: TerminalAnswer | None, receipts: Mapping[str, str] | None, error: Failure | None,
) -> tuple[JobResult | None, Receipts | None, JobError | None]:
    """An outcome as a terminal's operation decides it -> the kind's result model, the receipts
    and the error model; None for what is not given (receipts come only with a result).

    Raises:
        pydantic.ValidationError: the result or error does not fit its model.
    """
    found = None if result is None else outcome_of(kind, _answer_data(result, None))[0]
    kept = Receipts.model_validate(receipts) if found is not None and receipts else None
    return found, kept, JobError.model_validate(error) if error is not None else None


def fitted_outcome(
    kind: str, state: JobState, result: TerminalAnswer | None, receipts: Mapping[str, str] | None,
    error: Failure | None,
) -> tuple[JobState, JobResult | None, Receipts | None, JobError | None, str | None]:
    """A terminal's outcome (the operation's ``state``, ``result``, ``receipts`` and ``error``)
    as the kind's models, with the note for the job's history (None: nothing to add).

    An answer whose result or error does not fit the documented models is not guessed at nor
    lost: the job is ``unknown`` and its history keeps the answer whole, for an operator to
    settle with ``job.resolve``. (The operation already leaves a member of an undocumented
    type ``unknown``; this is the last guard, for a result that does not fit the kind.)
    """
    try:
        models = outcome_models(kind, result, receipts, error)
    except ValidationError as exc:
        data = None if result is None else _answer_data(result, receipts)
        answer = json.dumps({"result": data, "error": error}, sort_keys=True, default=str)
        why = f"the terminal's answer does not fit the documented result ({exc.error_count()} problem(s))"
        return JobState.UNKNOWN, None, None, JobError(message=why), f"{why}: {answer}"
    return state, *models, None


def decode_result(kind: str, text: str | None) -> tuple[JobResult | None, Receipts | None]:
    """A stored ``result`` column (NULL: no result yet) as :func:`outcome_of` gives it.

    Raises:
        ValueError: not JSON, not an object, or not the kind's result.
    """
    if text is None:
        return None, None
    data = from_json(text)
    if not isinstance(data, dict):
        raise ValueError(f"the stored result is not an object: {text[:40]!r}")
    return outcome_of(kind, data)


def result_json(result: JobResult, receipts: Receipts | None) -> str:
    """A result (with its receipts inside) as the journal stores it: the fields it was built
    with, no more (what the wire Job shows, :func:`bridge.protocol.jobs.job_wire`)."""
    if receipts is None:
        return result.model_dump_json(exclude_unset=True)
    data = result.model_dump(mode="json", exclude_unset=True)
    data["receipts"] = receipts.model_dump(mode="json", exclude_unset=True)
    return json.dumps(data, separators=(",", ":"))


def result_data(result: JobResult | None) -> dict[str, object]:
    """A result as JSON values, the fields it was built with (``{}`` for none): for the pure
    rules of :mod:`bridge.healthpoint` and :mod:`bridge.healthcode`, which read JSON results and
    cannot see the protocol's models."""
    return {} if result is None else result.model_dump(mode="json", exclude_unset=True)
