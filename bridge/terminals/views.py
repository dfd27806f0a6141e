"""The journal's records as the pure HealthPoint rules see them, and the browser as
``system.health`` sees it (no I/O).

The money guards (:mod:`bridge.healthpoint.guards`) cannot see the protocol's models (the
protocol is built on them); :func:`job_view` reads what they need off a record's request and
result models, once, and hands it over as a :class:`~bridge.healthpoint.JobView`.
"""

from __future__ import annotations

from typing import TypedDict

from bridge.healthpoint import JobView
from bridge.journal import JobRecord
from bridge.protocol import ClaimOutcome, GapParams, PaymentOutcome, RefundParams

__all__ = ["BrowserState", "job_view"]


class BrowserState(TypedDict, total=False):
    """The browser as its owner sees it, for ``system.health`` (none of it: no browser)."""

    up: bool
    #: Up, no page hung and not restarting.
    ok: bool
    hungPages: list[str]
    restarts: int
    executable: str | None


def job_view(job: JobRecord) -> JobView:
    """A journal row as the money guards see it: the terminal's result word, a payment's
    amounts (asked and reported), a claim's gap and its times at the terminal and settlement."""
    result, request = job.result, job.request
    word = result.result if isinstance(result, (ClaimOutcome, PaymentOutcome)) else None
    claim = result if isinstance(result, ClaimOutcome) else None
    return JobView(
        job_id=job.job_id, kind=job.kind, state=job.state, result=str(word) if word else None,
        parent_job_id=job.parent_job_id,
        asked=request.amount if isinstance(request, (GapParams, RefundParams)) else None,
        paid=result.amount if isinstance(result, PaymentOutcome) else None,
        gap=claim.gap if claim is not None else None,
        terminal_at=claim.terminalAt if claim is not None else None,
        settlement_at=claim.settlementAt if claim is not None else None,
    )
