"""Test helper: iClient claim requests built from fixtures/healthpoint/requests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

REQUESTS = Path(__file__).resolve().parents[4] / "fixtures" / "healthpoint" / "requests"


def params(**changes: Any) -> dict[str, Any]:
    """The two-item example claim, with top-level changes."""
    data: dict[str, Any] = json.loads((REQUESTS / "claim_two_items.json").read_text())
    data.update(changes)
    return data


def one_item(amount: int, **item: Any) -> dict[str, Any]:
    """A one-item claim of ``amount`` cents (magic amounts pick outcomes)."""
    base = {"claimAmount": str(amount), "serviceCode": "500", "description": "Consult",
            "patientId": "00", "serviceDate": "20261123"}
    base.update(item)
    return params(claimItems=[base], claimItemsCount="1", totalClaimAmount=str(amount))
