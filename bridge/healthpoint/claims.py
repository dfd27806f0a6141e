"""HealthPoint domain rules: claim items, claims, cancels, gap payments, and the iClient boundary.

The models here are valid by construction: an item that breaks a HealthPoint rule cannot be
built. Conversions to and from iClient's shapes (strings of cents, ``YYYYMMDD`` dates) happen
only here. Every rule cites its source: ``seeds/004`` is Tyro's "Integrated Private Health Fund
Claiming" page; ``reference §n`` is ``reference/tyro-iclient-healthpoint.md``.

Pure: no I/O, no clock (time is always an argument).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from types import MappingProxyType
from typing import Annotated, NewType
from zoneinfo import ZoneInfo

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictInt,
    field_validator,
)
from pydantic_core import PydanticCustomError

from bridge.healthpoint.iclient import ClaimCall, ClaimItemCall, JsonObject, PairingKeys

__all__ = [
    "APPROVED_ITEM_CODES",
    "BONUS_SERVICE_CODE",
    "FIELD_RULES",
    "FUNDS_BY_DIGITS",
    "MAX_CLAIM_AMOUNT",
    "MAX_ITEMS",
    "MODALITIES",
    "SYDNEY",
    "ClaimItem",
    "ClaimItemResult",
    "ClaimRequest",
    "ClaimResult",
    "Fund",
    "IsoDate",
    "Pairing",
    "RefTag",
    "cancel_deadline",
    "claim_total",
    "may_cancel",
    "normalise_claim_response",
    "pad_service_code",
    "to_iclient_cancel",
    "to_iclient_claim",
]

#: A claim's ``healthpointRefTag``, needed to cancel it (reference §1.5).
RefTag = NewType("RefTag", str)

#: HealthPoint's day is Australian Eastern time, DST-aware (seeds/004 "Settlement", "Claim Cancel").
SYDNEY = ZoneInfo("Australia/Sydney")

#: Modality codes for ``serviceType``: seeds/004 "Modalities" table, in its order.
#: (Mediclinic's list in reference §5.1 also has I, N and 9; Tyro's own table wins.)
MODALITIES: tuple[str, ...] = (
    "0", "1", "3", "4", "5", "6", "7", "8",
    "B", "C", "D", "E", "F", "G", "H", "J", "M", "O", "P", "Q", "S", "U", "V", "Y", "Z",
)  # fmt: skip

#: "JSON array of claim items (max 16)": seeds/004 request parameters; reference §5.2.
MAX_ITEMS = 16
#: "Claim amount in cents (max 10 digits)": seeds/004 claimItems table.
MAX_CLAIM_AMOUNT = 9_999_999_999
#: "All responses except '00 - APPROVED' mean the item has been declined" (seeds/004); the
#: example response shows the four-digit form "0000".
APPROVED_ITEM_CODES: frozenset[str] = frozenset({"00", "0000"})
#: The loyalty/bonus benefit-only item a fund may add (seeds/004 "Loyalty and bonus codes").
BONUS_SERVICE_CODE = "00992"
#: HCF "More For" ICD-10 item marker; "only one such item per claim" (reference §5.1).
_ICD10_REFERENCE = "ZZZ"

#: Health funds by card identifying digits: seeds/004 "Health funds supported by Tyro
#: HealthPoint" (struck-out entries left out).
_FUNDS: tuple[tuple[str, str, str], ...] = (
    ("0012", "PHF00010", "ACA"),
    ("0109", "PHF00510", "ADF Family Health"),
    ("0041", "PHF00550", "AHM"),
    ("0138", "PHF00420", "AIA"),
    ("0008", "PHF00040", "Australian Unity"),
    ("0007", "PHF00300", "BUPA"),
    ("0009", "PHF00070", "CBHS"),
    ("0139", "PHF00075", "CBHS Corporate Health"),
    ("0045", "PHF00060", "Credicare (See-U by HBF)"),
    ("0020", "PHF00030", "Defence"),
    ("0005", "PHF00020", "Doctors Health Fund"),
    ("0140", "PHF00470", "EMERGENCY SERVICES HEALTH"),
    ("0042", "PHF00100", "GMHBA/FRANK/BUDGET"),
    ("0025", "PHF00180", "HBF"),
    ("0015", "PHF00200", "HCF"),
    ("0013", "PHF00140", "HCI"),
    ("0024", "PHF00450", "Health Partners"),
    ("0026", "PHF00160", "HIF"),
    ("0038", "PHF00220", "Latrobe"),
    ("0016", "PHF00230", "Lysaght / Peoplecare"),
    ("0004", "PHF00240", "Medibank Private"),
    ("0010", "PHF00310", "Navy"),
    ("0002", "PHF00290", "nib"),
    ("0088", "PHF00460", "onemedifund (National Health Benefits Australia)"),
    ("0019", "PHF00330", "Phoenix Health"),
    ("0021", "PHF00380", "Police"),
    ("0022", "PHF00280", "QLD Country"),
    ("0089", "PHF00350", "Reserve Bank Health Society"),
    ("0084", "PHF00350", "RT / Transport Health"),
    ("0044", "PHF00390", "St Lukes / Astute Simplicity"),
    ("0011", "PHF00320", "Teachers UniHealth"),
    ("0018", "PHF00340", "TUH"),
    ("0096", "PHF00440", "Westfund"),
    ("0099", "PHF00999", "isoft Fund (for testing only)"),
)

#: Plain-words rule for each HealthPoint field, used in ``InvalidParams`` (keyed by field name).
FIELD_RULES: Mapping[str, str] = MappingProxyType(
    {
        "claimAmount": f"must be a whole number of cents from 0 to {MAX_CLAIM_AMOUNT}",
        "serviceCode": "must be 1 to 5 letters or digits",
        "description": "must be 1 to 32 printable ASCII characters, not starting with a space",
        "serviceReference": "must be 1 to 3 letters or digits",
        "patientId": "must be exactly two digits",
        "serviceDate": "must be a date written YYYY-MM-DD",
        "providerId": "must be an 8-character provider number: 6 digits, a digit or capital "
        "letter, then a capital letter (e.g. 2159081W)",
        "serviceType": "must be one of the modality codes " + ", ".join(MODALITIES),
        "items": f"must be a list of 1 to {MAX_ITEMS} items",
    }
)


def _iso_date(value: object) -> object:
    # JSON has no date type: accept only the ISO text "YYYY-MM-DD" (not timestamps, not
    # YYYYMMDD), or a real date when built from Python.
    if isinstance(value, datetime):
        raise PydanticCustomError("date_format", FIELD_RULES["serviceDate"])
    if isinstance(value, date):
        return value
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        return value
    raise PydanticCustomError("date_format", FIELD_RULES["serviceDate"])


#: A calendar date that arrives in JSON as ``YYYY-MM-DD`` and nothing else.
IsoDate = Annotated[date, BeforeValidator(_iso_date)]

_PARAMS_CONFIG = ConfigDict(frozen=True, extra="forbid")


class ClaimItem(BaseModel):
    """One claimable service (seeds/004 "claimItems Table"; reference §5.1)."""

    model_config = _PARAMS_CONFIG

    #: "Claim amount in cents (max 10 digits)".
    claimAmount: StrictInt = Field(ge=0, le=MAX_CLAIM_AMOUNT, description="Amount in cents.")
    #: "Item number or service code (max 5 chars)"; sent as the PMS keeps it.
    serviceCode: str = Field(pattern=r"^[A-Za-z0-9]{1,5}$")
    #: "Item description for receipt (max 32 chars)"; printed, so printable ASCII.
    description: str = Field(pattern=r"^[!-~][ -~]{0,31}$", min_length=1, max_length=32)
    #: "clinical reference or tooth number suffix ... (max 3 chars)", alphanumeric per profession.
    serviceReference: str | None = Field(default=None, pattern=r"^[A-Za-z0-9]{1,3}$")
    #: "Patient identifier (exactly 2 digits)", as on the card.
    patientId: str = Field(pattern=r"^[0-9]{2}$")
    #: Date of service; ``YYYYMMDD`` only at the iClient boundary.
    serviceDate: IsoDate


class ClaimRequest(BaseModel):
    """What HealthPoint needs for a claim, rebate estimate or cancel (seeds/004 "Request Parameters")."""

    model_config = _PARAMS_CONFIG

    #: "8-character provider number (usually Medicare issued)": 6-digit stem, practice location
    #: character, check letter; seeds/004 examples 2159081W, 1455813F, 2147661H, reference §4.3 4237955J.
    providerId: str = Field(pattern=r"^[0-9]{6}[0-9A-Z][A-Z]$")
    #: "1-character category of service": one of :data:`MODALITIES`.
    serviceType: str = Field(
        pattern="^[" + "".join(MODALITIES) + "]$",
        json_schema_extra={"enum": list(MODALITIES)},
    )
    items: tuple[ClaimItem, ...] = Field(min_length=1, max_length=MAX_ITEMS)

    @field_validator("items")
    @classmethod
    def _check_items(cls, items: tuple[ClaimItem, ...]) -> tuple[ClaimItem, ...]:
        # totalClaimAmount is sent as one number of cents; keep it within the item limit.
        if sum(item.claimAmount for item in items) > MAX_CLAIM_AMOUNT:
            raise PydanticCustomError(
                "items_total", f"items' total must be at most {MAX_CLAIM_AMOUNT} cents"
            )
        # reference §5.1: HCF ICD-10 item ("ZZZ") - "Only one such item per claim".
        if sum(1 for item in items if item.serviceReference == _ICD10_REFERENCE) > 1:
            raise PydanticCustomError(
                "items_icd10", "at most one item may have serviceReference ZZZ"
            )
        return items


class Fund(BaseModel):
    """A health fund: HealthPoint id (e.g. ``PHF00999``) and name as the fund returns it."""

    model_config = ConfigDict(frozen=True)

    id: str | None = None
    name: str | None = None


#: seeds/004 fund table by card identifying digits.
FUNDS_BY_DIGITS: Mapping[str, Fund] = MappingProxyType(
    {digits: Fund(id=fund_id, name=name) for digits, fund_id, name in _FUNDS}
)


class ClaimItemResult(BaseModel):
    """One item of a claim response (seeds/004 "Example response", ``healthpointClaimItems``)."""

    model_config = ConfigDict(frozen=True)

    #: As the fund returns it, zero-padded to 5 when numeric.
    serviceCode: str
    claimAmount: int
    benefit: int
    responseCode: str | None = None
    responseText: str | None = None
    #: Response code "00" / "0000".
    approved: bool
    #: An item the fund added (loyalty code 00992) that was not in the request.
    bonus: bool = False
    patientId: str | None = None
    description: str | None = None


class ClaimResult(BaseModel):
    """A normalised HealthPoint claim / rebate estimate / cancel response (amounts in cents)."""

    model_config = ConfigDict(frozen=True)

    #: iClient ``result``: APPROVED, DECLINED, CANCELLED, REVERSED, NOT STARTED, SYSTEM ERROR, UNKNOWN.
    result: str
    transactionId: str | None = None
    refTag: RefTag | None = None
    fund: Fund | None = None
    memberNumber: str | None = None
    totalBenefit: int | None = None
    gap: int | None = None
    #: Settlement time with its Sydney offset.
    settlementAt: datetime | None = None
    #: The terminal's (the fund's) time of the transaction, Sydney: its day is the claim's day.
    terminalAt: datetime | None = None
    items: tuple[ClaimItemResult, ...] = ()
    freeText: str | None = None
    phfResponseCode: str | None = None
    phfResponseText: str | None = None
    #: ``healthpointErrorCode`` / ``healthpointErrorDescription`` on failures (reference §1.5).
    errorCode: str | None = None
    errorText: str | None = None


@dataclass(frozen=True, slots=True)
class Pairing:
    """A terminal's headless-pairing keys (reference §0.2: pass mid/tid/integrationKey every time).

    The integration key is a secret: ``repr`` and ``str`` hide it.
    """

    mid: int
    tid: int
    integrationKey: str = field(repr=False)

    def as_iclient(self) -> PairingKeys:
        """The ``mid``/``tid``/``integrationKey`` members of an iClient request."""
        return {"mid": self.mid, "tid": self.tid, "integrationKey": self.integrationKey}


def claim_total(items: Sequence[ClaimItem]) -> int:
    """Total of the items in cents (iClient's ``totalClaimAmount``)."""
    return sum(item.claimAmount for item in items)


def pad_service_code(code: str) -> str:
    """A service code as funds return it: numeric codes zero-padded to 5 (seeds/004 "500" -> "00500")."""
    code = code.strip()
    return code.zfill(5) if code.isdigit() and len(code) < 5 else code


def _iclient_item(item: ClaimItem) -> ClaimItemCall:
    # seeds/004 "Example request": every value a string, cents as digits, date YYYYMMDD.
    amount, code, text = str(item.claimAmount), item.serviceCode, item.description
    day = item.serviceDate.strftime("%Y%m%d")
    if item.serviceReference is None:
        return {"claimAmount": amount, "serviceCode": code, "description": text, "patientId": item.patientId,
                "serviceDate": day}
    return {"claimAmount": amount, "serviceCode": code, "description": text,
            "serviceReference": item.serviceReference, "patientId": item.patientId, "serviceDate": day}


def to_iclient_claim(
    request: ClaimRequest, pairing: Pairing | None, *, transaction_id: str | None = None
) -> ClaimCall:
    """The ``initiateHealthPointClaim`` (or rebate estimate) request for ``request``.

    Args:
        request: The claim (a ``ClaimParams`` or ``RebateEstimateParams`` is one).
        pairing: Keys for headless pairing; ``None`` leaves mid/tid/integrationKey out.
        transaction_id: Optional custom iClient ``transactionId``.

    Returns:
        seeds/004 "Example request" shape: ``claimItemsCount`` and ``totalClaimAmount`` computed,
        as strings like the example; ``mid``/``tid`` integers as the table says.
    """
    out: ClaimCall = {
        "providerId": request.providerId,
        "serviceType": request.serviceType,
        "claimItemsCount": str(len(request.items)),
        "totalClaimAmount": str(claim_total(request.items)),
        "claimItems": [_iclient_item(item) for item in request.items],
    }
    if pairing is not None:
        out["mid"], out["tid"], out["integrationKey"] = pairing.mid, pairing.tid, pairing.integrationKey
    if transaction_id is not None:
        out["transactionId"] = transaction_id
    return out


def to_iclient_cancel(
    original: ClaimRequest, ref_tag: str, pairing: Pairing | None
) -> ClaimCall:
    """The ``cancelHealthPointClaim`` request: "the same payload as the original claim" + refTag.

    Source: seeds/004 "Claim Cancel" (every field "must be same as original claim"; ``refTag``
    required).

    Raises:
        ValueError: ``ref_tag`` is empty.
    """
    if not ref_tag.strip():
        raise ValueError("a cancel needs the original claim's refTag")
    out = to_iclient_claim(original, pairing)
    out["refTag"] = ref_tag
    return out


_MISSING_TEXTS = frozenset({"", "undefined", "null", "none"})


def _text(raw: JsonObject, key: str) -> str | None:
    # reference §1.5: "Mediclinic stores a missing field as the literal string 'undefined'".
    value = raw.get(key)
    if value is None or isinstance(value, (dict, list)):
        return None
    text = str(value).strip()
    return None if text.lower() in _MISSING_TEXTS else text


def _cents(raw: JsonObject, key: str) -> int | None:
    # Amounts are strings of integer cents inside iClient (reference conventions).
    value = raw.get(key)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    text = _text(raw, key)
    if text is None or not text.isdigit():
        return None
    return int(text)


def _ref_tag(text: str | None) -> RefTag | None:
    return RefTag(text) if text is not None else None


def _sydney_time(text: str | None) -> datetime | None:
    # reference §1.5: settlement/terminal times are yyyyMMddHHmmss, local (Sydney) time. In the
    # repeated hour when DST ends, fold=0 picks the first (daylight) reading.
    if text is None or not re.fullmatch(r"\d{14}", text):
        return None
    try:
        naive = datetime.strptime(text, "%Y%m%d%H%M%S")
    except ValueError:
        return None
    return naive.replace(tzinfo=SYDNEY)


def normalise_claim_response(
    raw: JsonObject, request: ClaimRequest | None = None
) -> ClaimResult:
    """Turn iClient's ``transactionCompleteCallback`` response into a :class:`ClaimResult`.

    Tolerant by design (reference §1.5): missing fields and the literal ``"undefined"`` become
    ``None``; an unrecognisable amount is ``None`` rather than a guess.

    Args:
        raw: The response object as the page passed it.
        request: The claim as sent, so fund-added loyalty items can be told apart; without it,
            any 00992 item counts as a bonus.

    Returns:
        Integers for cents; each item ``approved`` when its response code is "00"/"0000";
        ``bonus`` for a 00992 item the request did not have; ``serviceCode`` zero-padded to 5;
        ``settlementAt`` aware, Australia/Sydney.
    """
    requested = (
        {pad_service_code(item.serviceCode) for item in request.items} if request else set()
    )
    items: list[ClaimItemResult] = []
    raw_items = raw.get("healthpointClaimItems")
    if isinstance(raw_items, str):
        raw_items = None  # never eval text; the page is expected to pass objects
    for entry in raw_items if isinstance(raw_items, list) else []:
        if not isinstance(entry, Mapping):
            continue
        code = pad_service_code(_text(entry, "serviceCode") or "")
        response_code = _text(entry, "responseCode")
        items.append(
            ClaimItemResult(
                serviceCode=code,
                claimAmount=_cents(entry, "claimAmount") or 0,
                benefit=_cents(entry, "rebateAmount") or 0,
                responseCode=response_code,
                responseText=_text(entry, "responseCodeDescription"),
                approved=response_code in APPROVED_ITEM_CODES,
                bonus=code == BONUS_SERVICE_CODE and code not in requested,
                patientId=_text(entry, "patientId"),
                description=_text(entry, "description"),
            )
        )
    digits = _text(raw, "healthpointHealthFundIdentifyingDigits")
    fund_name = _text(raw, "healthpointHealthFundName")
    known = FUNDS_BY_DIGITS.get(digits) if digits else None
    fund = (
        Fund(id=known.id if known else None, name=fund_name or (known.name if known else None))
        if (digits or fund_name)
        else None
    )
    return ClaimResult(
        result=(_text(raw, "result") or "UNKNOWN").upper(),
        transactionId=_text(raw, "transactionId"),
        refTag=_ref_tag(_text(raw, "healthpointRefTag")),
        fund=fund,
        memberNumber=_text(raw, "healthpointMemberNumber"),
        totalBenefit=_cents(raw, "healthpointTotalBenefitAmount"),
        gap=_cents(raw, "healthpointGapAmount"),
        settlementAt=_sydney_time(_text(raw, "healthpointSettlementDateTime")),
        terminalAt=_sydney_time(_text(raw, "healthpointTerminalDateTime")),
        items=tuple(items),
        freeText=_text(raw, "healthpointFreeText"),
        phfResponseCode=_text(raw, "healthpointPhfResponseCode"),
        phfResponseText=_text(raw, "healthpointPhfResponseCodeDescription"),
        errorCode=_text(raw, "healthpointErrorCode"),
        errorText=_text(raw, "healthpointErrorDescription"),
    )


def cancel_deadline(claimed_at: datetime) -> datetime:
    """The last moment a claim may be cancelled: 23:59:59 Australia/Sydney on its Sydney day.

    Source: seeds/004 "Claim Cancel": "cancelled on the same day it was processed prior to
    settlement (23:59:59 Australian Eastern Time, adjusted for daylight savings)".

    Args:
        claimed_at: When the claim was processed; must be aware.

    Returns:
        An aware datetime in Australia/Sydney.

    Raises:
        ValueError: ``claimed_at`` is naive.
    """
    if claimed_at.tzinfo is None or claimed_at.utcoffset() is None:
        raise ValueError("claimed_at must be an aware datetime")
    day = claimed_at.astimezone(SYDNEY).date()
    return datetime.combine(day, time(23, 59, 59), tzinfo=SYDNEY)


def may_cancel(claimed_at: datetime, now: datetime) -> bool:
    """Whether a claim processed at ``claimed_at`` may still be cancelled at ``now``.

    The whole 23:59:59 second still counts; from 00:00:00 Sydney the next day it is too late.

    Raises:
        ValueError: Either datetime is naive.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be an aware datetime")
    return now < cancel_deadline(claimed_at) + timedelta(seconds=1)
