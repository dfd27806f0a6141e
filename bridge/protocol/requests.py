"""What a job keeps as its ``request``, pure: the model of each kind's stored request.

A HealthPoint job keeps its method's params as validated (with the defaults the daemon filled
in: a claim's ``terminal``, a gap's or refund's ``amount``); a Healthcode bill's job keeps only
:class:`BillRequest` (the bill and what it replaces, not the ``requestId``, which is the row's
own). :data:`JOB_REQUESTS` maps each kind to that model, beside
:data:`bridge.protocol.results.JOB_RESULTS`; the journal decodes a stored request with it and
writes one with :func:`request_data`, in the JSON shape it has always had.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, TypeAlias

from pydantic import BaseModel, ConfigDict, Field

from bridge.healthcode.bills import Bill
from bridge.protocol.params import CancelParams, ClaimParams, GapParams, RebateEstimateParams, RefundParams

__all__ = [
    "BillRequest",
    "JOB_REQUESTS",
    "JobRequest",
    "request_data",
]


class BillRequest(BaseModel):
    """What a ``healthcodeBill`` job keeps of ``healthcode.submit``: the checked bill, and the
    jobId of the bill it resubmits."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    bill: Bill
    replaces: str | None = Field(default=None, min_length=1, max_length=64)


#: Any kind's stored request (:data:`JOB_REQUESTS` says which one a kind has).
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


def request_data(request: JobRequest) -> dict[str, Any]:
    """A stored request as JSON values: camelCase, optional fields that are not set left out
    (the shape the journal stores, digests and puts in the wire Job)."""
    return request.model_dump(mode="json", by_alias=True, exclude_none=True)
