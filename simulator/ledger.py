"""In-memory ledger: what the funds saw, one record per fund-side event, plus the fund's
memory of each claim (for cancels, gap payments and reconciliation reports).

Pure: no I/O, no clock; the runtime passes times in.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

from simulator.healthpoint.funds import Reference
from simulator.healthpoint import (
    Adjudication,
    ClaimStanding,
    OriginalClaim,
    PaymentLine,
    ReconClaim,
    settlement_datetime,
    sydney_date,
)

__all__ = ["Ledger", "LedgerKind", "LedgerRecord", "items_json"]

LedgerKind = Literal[
    "claim", "rebateEstimate", "cancel", "void", "autovoid", "purchase", "refund"
]


@dataclass(frozen=True, slots=True)
class LedgerRecord:
    """One fund-side event (INTERFACES.md "GET /_sim/ledger"); amounts are integer cents."""

    ref_tag: str | None
    transaction_id: str
    mid: int
    tid: int
    kind: LedgerKind
    status: str
    total_claim_amount: int
    total_benefit: int
    items: tuple[dict[str, Any], ...]
    at: datetime
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The record as the control API returns it."""
        out: dict[str, Any] = {
            "refTag": self.ref_tag,
            "transactionId": self.transaction_id,
            "mid": self.mid,
            "tid": self.tid,
            "kind": self.kind,
            "status": self.status,
            "totalClaimAmount": self.total_claim_amount,
            "totalBenefit": self.total_benefit,
            "items": [dict(i) for i in self.items],
            "at": self.at.isoformat(),
        }
        out.update(self.extra)
        return out


def items_json(adjudication: Adjudication | None) -> tuple[dict[str, Any], ...]:
    """Ledger items (integers) from an adjudication."""
    if adjudication is None:
        return ()
    return tuple(
        {
            "serviceCode": o.item.service_code.zfill(5),
            "claimAmount": o.item.claim_amount,
            "benefit": o.benefit,
            "responseCode": o.response_code,
            "patientId": o.item.patient_id,
            "serviceDate": o.item.service_date,
            "bonus": o.bonus,
        }
        for o in adjudication.items
    )


_RECON_STATUS: dict[ClaimStanding, Literal["APP", "CAN", "VOID", "AVOID"]] = {
    "accepted": "APP",
    "unknown": "APP",  # a failed autovoid: the fund did take the claim (OUR CHOICE)
    "cancelled": "CAN",
    "voided": "VOID",
    "autovoided": "AVOID",
}


@dataclass
class _ClaimEntry:
    mid: int
    tid: int
    original: OriginalClaim
    fund_name: str


class Ledger:
    """Records plus the fund's memory of claims, keyed per terminal."""

    def __init__(self) -> None:
        self._records: list[LedgerRecord] = []
        self._claims: dict[tuple[int, int, str], _ClaimEntry] = {}

    @property
    def records(self) -> Sequence[LedgerRecord]:
        """Every record, oldest first."""
        return tuple(self._records)

    def add(self, record: LedgerRecord) -> None:
        """Append a fund-side event."""
        self._records.append(record)

    def clear(self) -> None:
        """Forget everything (``POST /_sim/reset``)."""
        self._records.clear()
        self._claims.clear()

    def remember(self, mid: int, tid: int, original: OriginalClaim, fund_name: str) -> None:
        """Remember a claim or estimate the fund answered."""
        self._claims[(mid, tid, original.ref_tag)] = _ClaimEntry(mid, tid, original, fund_name)

    def set_standing(self, mid: int, tid: int, ref_tag: str, standing: ClaimStanding) -> None:
        """Move a remembered claim to a new standing (accepted, voided, cancelled...)."""
        entry = self._claims.get((mid, tid, ref_tag))
        if entry is not None:
            entry.original = dataclasses.replace(entry.original, standing=standing)

    def claim(self, mid: int, tid: int, ref_tag: str) -> OriginalClaim | None:
        """The claim with this refTag on this terminal, if the fund knows it."""
        entry = self._claims.get((mid, tid, ref_tag))
        return entry.original if entry is not None else None

    def claim_by_transaction(self, mid: int, tid: int, transaction_id: str) -> OriginalClaim | None:
        """The claim with this transactionId on this terminal, if any."""
        for entry in self._claims.values():
            if (entry.mid, entry.tid) == (mid, tid):
                if entry.original.transaction_id == transaction_id:
                    return entry.original
        return None

    def gap_paid(self, mid: int, tid: int, claim_transaction_id: str) -> int:
        """Cents already paid by approved gap purchases linked to a claim."""
        return sum(
            r.extra.get("amount", 0)
            for r in self._records
            if r.kind == "purchase"
            and r.status == "APPROVED"
            and (r.mid, r.tid) == (mid, tid)
            and r.extra.get("healthpointTransactionId") == claim_transaction_id
        )

    def recon_claims(self, mid: int, tid: int, day: date) -> list[ReconClaim]:
        """Claims of one terminal on one Sydney day, for the claims report (reference §4.4)."""
        lines = []
        for entry in self._claims.values():
            original = entry.original
            status = _RECON_STATUS.get(original.standing)
            if (entry.mid, entry.tid) != (mid, tid) or status is None:
                continue
            if sydney_date(original.at) != day:
                continue
            adjudication = original.adjudication
            lines.append(
                ReconClaim(
                    ref_tag=original.ref_tag,
                    status=status,
                    provider_id=original.request.provider_id,
                    fund_id=original.card.fund_id,
                    total_claim_amount=original.request.total_claim_amount,
                    total_benefit=adjudication.total_benefit if adjudication else 0,
                    phf_code=adjudication.phf_code if adjudication else "00",
                    text=adjudication.free_text or "" if adjudication else "",
                    at=original.at,
                    settlement_at=settlement_datetime(original.at),
                )
            )
        return sorted(lines, key=lambda c: (c.at, c.ref_tag))

    def payments(self, mid: int, tid: int, day: date, reference: Reference) -> list[PaymentLine]:
        """Settlements paid on one Sydney day, one line per fund (approved claims only)."""
        per_fund: dict[str, tuple[str, datetime, int, int]] = {}
        for entry in self._claims.values():
            original = entry.original
            if (entry.mid, entry.tid) != (mid, tid) or _RECON_STATUS.get(original.standing) != "APP":
                continue
            settles = settlement_datetime(original.at)
            if settles.date() != day:
                continue
            benefit = original.adjudication.total_benefit if original.adjudication else 0
            name, at, count, amount = per_fund.get(
                original.card.fund_id, (entry.fund_name, settles, 0, 0)
            )
            per_fund[original.card.fund_id] = (name, at, count + 1, amount + benefit)
        return [
            PaymentLine(fund_id, name, at, count, amount)
            for fund_id, (name, at, count, amount) in sorted(per_fund.items())
        ]
