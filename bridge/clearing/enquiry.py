"""Healthcode membership enquiry in the daemon: ``healthcode.findMember`` and the pre-flight.

Asks Find Member through :class:`~bridge.clearing.v2.HealthcodeV2`; what to ask and what the
answer means is :mod:`bridge.healthcode.members` (pure). With ``[healthcode] member_check =
true``, ``healthcode.validate`` and ``healthcode.submit`` run it on a bill whose own checks
passed: a member not found is a problem (INTERFACES.md).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime

from bridge.errors import HealthcodeCredentialsInvalid, HealthcodeError, HealthcodeUnavailable, NotAllowedNow
from bridge.healthcode.bills import Bill, Problem
from bridge.healthcode.fhir import read_members
from bridge.healthcode.jobs import uk_today
from bridge.healthcode.members import (
    MemberAnswer,
    MemberQuery,
    bill_member_query,
    find_member_form,
    find_member_result,
    member_check_problems,
    missing_fields_answer,
    missing_member_fields,
    not_found_answer,
)
from bridge.healthcode.refdata import HealthcodeReference
from bridge.clearing.v2 import HealthcodeV2

__all__ = ["MemberEnquiry"]


class MemberEnquiry:
    """Find Member for the methods and the pre-flight.

    Args:
        v2: The open V2 client; None when ``api_key_id`` is not set (then every enquiry is
            refused with -32004 naming the settings).
        reference: Insurers and the fields each requires.
        now: The daemon's clock (``policyActiveOn`` is the clinic's date).
    """

    def __init__(
        self, v2: HealthcodeV2 | None, reference: HealthcodeReference, now: Callable[[], datetime],
    ) -> None:
        self.v2 = v2
        self.reference = reference
        self.now = now

    async def find(
        self, insurer: str, given: MemberQuery, *, prefix: str = "", on: date | None = None
    ) -> MemberAnswer:
        """The ``healthcode.findMember`` answer; the policy checked for day ``on`` (default: the
        clinic's today).

        Raises:
            NotAllowedNow: V2 credentials are not configured.
            HealthcodeUnavailable: Healthcode could not be asked (after retries).
            HealthcodeCredentialsInvalid: The API key was refused.
        """
        problems = missing_member_fields(insurer, given, self.reference, prefix=prefix)
        rules = self.reference.insurers.get(insurer)
        if problems or rules is None:
            return missing_fields_answer(problems)
        if rules.find_member_requires is None:
            return not_found_answer(f"{rules.name} offers no membership enquiry through Healthcode")
        if self.v2 is None:
            raise NotAllowedNow(
                "notConfigured", "membership enquiry is not configured: set [healthcode] api_key_id and api_key_file",
            )
        form = find_member_form(insurer, given, on or uk_today(self.now()))
        try:
            bundle = await self.v2.find_member(form)
        except (HealthcodeUnavailable, HealthcodeCredentialsInvalid):
            raise
        except HealthcodeError as exc:
            if exc.extra.get("httpStatus") == 422:
                return not_found_answer(f"{rules.name}: {exc.detail}")
            raise
        return find_member_result(read_members(bundle), rules.name)

    async def preflight(self, bill: Bill) -> list[Problem]:
        """Problems of a bill's membership (``member_check``): none when the insurer offers no
        enquiry; a required field the bill lacks, or a member not found, is one."""
        rules = self.reference.insurers.get(bill.insurer)
        if rules is None or rules.find_member_requires is None:
            return []
        # Cover on the day of treatment, not today (a policy lapsed since still pays for it).
        result = await self.find(bill.insurer, bill_member_query(bill), prefix="patient.",
                                 on=bill.first_service_date)
        if result["problems"]:
            return [Problem.model_validate(p) for p in result["problems"]]
        return member_check_problems(result)
