"""The simulated Healthcode clearing service: its rules (pure) and its aiohttp sub-application.
"""

from __future__ import annotations

from simulator.healthcode.fhir import (
    FORM_NAMES,
    INSURER_SYSTEM,
    Remittance,
    claim_response,
    find_members,
    member_bundle,
    missing_for_find,
    operation_outcome,
    payment_reconciliation,
    pounds,
)
from simulator.healthcode.rules import (
    CredentialOutcome,
    FaultPlan,
    HcStatus,
    Member,
    Provider,
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
from simulator.healthcode.v2 import (
    API_KEYS,
    SAMPLE_REJECTION,
    V2_FAULTS,
    install_v2,
    remit,
    reset_v2,
)

__all__ = [
    "API_KEYS",
    "CredentialOutcome",
    "FAULTS",
    "FORM_NAMES",
    "FaultPlan",
    "HcStatus",
    "INSURER_SYSTEM",
    "Member",
    "Provider",
    "Remittance",
    "SAMPLE_REJECTION",
    "StoredBill",
    "TEST_SITES",
    "TestSite",
    "Timings",
    "V2_FAULTS",
    "check_credentials",
    "check_required",
    "check_rules",
    "claim_response",
    "create_healthcode_app",
    "find_members",
    "install_v2",
    "make_reference",
    "member_bundle",
    "missing_for_find",
    "operation_outcome",
    "payment_reconciliation",
    "pounds",
    "remit",
    "reset_healthcode",
    "reset_v2",
    "status_at",
]
