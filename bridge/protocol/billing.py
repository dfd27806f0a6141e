"""Protocol results of the Healthcode methods, pure: credentials, validation, codes, Find Member
and remittances (amounts in pence)."""

from __future__ import annotations


from pydantic import BaseModel, ConfigDict

from bridge.protocol.results import BillProblem

__all__ = [
    "CodeEntry",
    "CredentialsResult",
    "FindMemberResult",
    "MemberDetails",
    "RemittanceEntry",
    "RemittanceLineEntry",
    "ValidateResult",
]

_RESULT = ConfigDict(frozen=True)


class CredentialsResult(BaseModel):
    """``healthcode.checkCredentials`` result."""

    model_config = _RESULT

    ok: bool
    message: str


class ValidateResult(BaseModel):
    """``healthcode.validate`` result."""

    model_config = _RESULT

    valid: bool
    problems: tuple[BillProblem, ...] = ()


class CodeEntry(BaseModel):
    """One line of a ``healthcode.codes`` pick-list."""

    model_config = _RESULT

    code: str
    description: str
    allowed: bool


class MemberDetails(BaseModel):
    """The member Healthcode's Find Member found (``healthcode.findMember``)."""

    model_config = _RESULT

    firstName: str | None = None
    lastName: str | None = None
    dateOfBirth: str | None = None
    membershipNumber: str | None = None


class FindMemberResult(BaseModel):
    """``healthcode.findMember`` result; ``problems`` name required fields that are missing."""

    model_config = _RESULT

    found: bool
    policyActive: bool
    member: MemberDetails | None = None
    message: str
    problems: tuple[BillProblem, ...] = ()


class RemittanceLineEntry(BaseModel):
    """One bill paid in a remittance, in pence; ``jobId`` is the bill's job when matched."""

    model_config = _RESULT

    invoiceNumber: str
    amountInvoiced: int | None = None
    amountPaid: int
    shortfall: int
    reason: str | None = None
    jobId: str | None = None


class RemittanceEntry(BaseModel):
    """One remittance of ``healthcode.remittances`` (amounts in pence)."""

    model_config = _RESULT

    paymentReference: str
    datePaid: str | None = None
    insurer: str
    total: int
    lines: tuple[RemittanceLineEntry, ...] = ()
