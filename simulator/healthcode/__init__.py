"""The simulated Healthcode clearing service: its rules (pure) and its aiohttp sub-application.
"""

from __future__ import annotations

from simulator.healthcode.rules import (
    CredentialOutcome,
    HcStatus,
    Member,
    StoredBill,
    TEST_SITES,
    TestSite,
    Timings,
    check_credentials,
    check_required,
    check_rules,
    make_reference,
    status_at,
)
from simulator.healthcode.service import (
    FAULTS,
    create_healthcode_app,
    reset_healthcode,
)

__all__ = [
    "CredentialOutcome",
    "FAULTS",
    "HcStatus",
    "Member",
    "StoredBill",
    "TEST_SITES",
    "TestSite",
    "Timings",
    "check_credentials",
    "check_required",
    "check_rules",
    "create_healthcode_app",
    "make_reference",
    "reset_healthcode",
    "status_at",
]
