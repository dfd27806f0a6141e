"""Healthcode bills, pure: the one namespace of the bill model, statuses, rules, reference data
models, code search and the job decisions.

Nothing here does I/O. The adapters that talk to Healthcode, read reference files and run the
``healthcode.*`` methods live in :mod:`bridge.clearing`.
"""

from __future__ import annotations

from bridge.healthcode.bills import (
    Bill,
    BillLine,
    CodeKind,
    CodeMatch,
    CredentialsCheck,
    MAX_REFERENCE_LENGTH,
    Patient,
    Payee,
    PayeeKind,
    Practitioner,
    Problem,
    Setting,
    StatusReport,
    SubmitReceipt,
    parse_bill,
)
from bridge.healthcode.fhir import (
    MemberMatch,
    Remittance,
    RemittanceLine,
    pence_from_pounds,
    pounds_from_pence,
    read_members,
    read_remittance,
    resources,
)
from bridge.healthcode.intake import (
    HEALTHCODE_FIELDS,
    check_bill,
)
from bridge.healthcode.jobs import (
    CARRIED_RESULT_KEYS,
    DUPLICATE_INVOICE,
    bill_result,
    holds_invoice,
    is_own_bill,
    job_state_for,
    merge_problems,
    problem_to_wire,
    replacement_refusal,
    uk_today,
)
from bridge.healthcode.members import (
    FIND_MEMBER_FIELDS,
    bill_member_query,
    find_member_form,
    find_member_result,
    member_check_problems,
    missing_member_fields,
)
from bridge.healthcode.refdata import (
    CcsdCode,
    CodeFormat,
    HealthcodeReference,
    Icd10Code,
    InsurerRules,
    INSURER_ID,
    IscCode,
    Registration,
    WrongNumberHint,
    parse_code_list,
)
from bridge.healthcode.rules import (
    validate_bill,
)
from bridge.healthcode.search import (
    known_codes,
    search_codes,
)
from bridge.healthcode.status import (
    BILL_TRANSITIONS,
    BillStatus,
    FINAL_STATUSES,
    can_reach,
    can_transition,
    is_final,
)

__all__ = [
    "BILL_TRANSITIONS",
    "Bill",
    "BillLine",
    "BillStatus",
    "CARRIED_RESULT_KEYS",
    "CcsdCode",
    "CodeFormat",
    "CodeKind",
    "CodeMatch",
    "CredentialsCheck",
    "DUPLICATE_INVOICE",
    "FINAL_STATUSES",
    "FIND_MEMBER_FIELDS",
    "HEALTHCODE_FIELDS",
    "HealthcodeReference",
    "INSURER_ID",
    "Icd10Code",
    "InsurerRules",
    "IscCode",
    "MAX_REFERENCE_LENGTH",
    "MemberMatch",
    "Patient",
    "Payee",
    "PayeeKind",
    "Practitioner",
    "Problem",
    "Registration",
    "Remittance",
    "RemittanceLine",
    "Setting",
    "StatusReport",
    "SubmitReceipt",
    "WrongNumberHint",
    "bill_member_query",
    "bill_result",
    "can_reach",
    "can_transition",
    "check_bill",
    "find_member_form",
    "find_member_result",
    "holds_invoice",
    "is_final",
    "is_own_bill",
    "job_state_for",
    "known_codes",
    "member_check_problems",
    "merge_problems",
    "missing_member_fields",
    "parse_bill",
    "parse_code_list",
    "pence_from_pounds",
    "pounds_from_pence",
    "problem_to_wire",
    "read_members",
    "read_remittance",
    "replacement_refusal",
    "resources",
    "search_codes",
    "uk_today",
    "validate_bill",
]
