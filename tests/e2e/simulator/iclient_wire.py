"""What the simulator-through-a-browser tests share: the test terminal, iClient's wire form of a
claim, pairing through the PMS page, and the ledger's record kinds."""

from __future__ import annotations

from typing import Any

from tests.e2e.conftest import Pms, Sim

__all__ = ["CLAIM_STATUSES", "MID", "PHF_DECLINES", "PROVIDER", "TID", "TODAY", "claim_request", "item", "kinds", "pair"]

MID = 2187
TID = 1
PROVIDER = "2159081W"
TODAY = "20261123"

CLAIM_STATUSES = [
    "Swipe or tap health fund card",
    "Reading card",
    "Sending claim to health fund",
    "Waiting for health fund response",
]

#: Claim/PHF decline codes of Tyro's Integration Server Simulator (reference §4.3).
PHF_DECLINES = {
    "21": "CONTACT HELP DESK",
    "25": "UNABLE TO FIND CLAIM",
    "30": "SYSTEM DATA ERROR",
    "58": "TRANS NOT PERMITTED",
    "76": "NOT SAME DAY AS CLAIM",
    "80": "PAYMENT REQUIRED BY EMPLOYER",
    "81": "UNABLE TO LOCATE CLAIM",
    "82": "CLAIM ALREADY PAID",
    "91": "SYSTEM BUSY TRY AGAIN",
    "92": "SYSTEM UNAVAILABLE",
    "93": "SYSTEM PROBLEM",
    "94": "DUPLICATE TRANSACTION",
}


def item(claim_amount: int, code: str = "500", date: str = TODAY, patient: str = "02") -> dict[str, str]:
    """One claim item in iClient's wire form (strings of cents)."""
    return {
        "claimAmount": str(claim_amount),
        "serviceCode": code,
        "description": "Assessment Consult",
        "serviceReference": "01",
        "patientId": patient,
        "serviceDate": date,
    }


def claim_request(
    amounts: list[int], terminal: dict[str, Any] | None = None, date: str = TODAY, **overrides: Any
) -> dict[str, Any]:
    """A HealthPoint claim request whose totals add up."""
    items = [item(amount, code=str(500 + index * 20), date=date) for index, amount in enumerate(amounts)]
    request: dict[str, Any] = {
        "providerId": PROVIDER,
        "serviceType": "P",
        "claimItemsCount": str(len(items)),
        "totalClaimAmount": str(sum(amounts)),
        "claimItems": items,
    }
    request.update(terminal or {})
    request.update(overrides)
    return request


def pair(pms: Pms, sim: Sim, mid: int = MID, tid: int = TID) -> dict[str, Any]:
    """Headless pairing through the page; returns mid/tid/integrationKey for later requests."""
    pms.start("pair", mid, tid)
    pms.wait_for_event("pairingStatus")
    response = sim.authorise(mid, tid)
    assert response.status_code < 300, response.text
    result = pms.wait()
    final = result["statuses"][-1]
    assert final["status"] == "success", result
    return {"mid": mid, "tid": tid, "integrationKey": final["integrationKey"]}


def kinds(sim: Sim) -> list[str]:
    """The ledger's record kinds, in order."""
    return [record["kind"] for record in sim.ledger()]
