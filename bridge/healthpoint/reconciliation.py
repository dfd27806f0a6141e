"""HealthPoint reconciliation reports: iClient's XML answer turned into JSON.

Shape from reference/tyro-iclient-healthpoint.md §4.4 (real simulator responses captured in
osgirl/Mediclinic): root ``<claims-reconciliation-response>`` (or the payments one), a header
with ``healthpoint-terminal-id`` and ``claim-date``, one ``<claim>`` per claim, and a ``<check>``
footer with totals; ``<unavailable>`` when no report exists for that day. Pure: no I/O.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import NotRequired, TypeAlias, TypedDict, final

from bridge.healthpoint.iclient import JsonObject

__all__ = ["Reconciliation", "ReportEntry", "ReportFailure", "parse_reconciliation"]

#: One ``<claim>`` (or ``<payment>``) or the ``<check>`` footer: its tags in camelCase, amounts
#: and counts as integers, every other value text.
ReportEntry: TypeAlias = dict[str, str | int]

_AMOUNT_TAGS = frozenset({
    "total-claim-amount",
    "private-health-fund-total-benefit-amount",
    "sum-benefit-amount",
    "sum-claim-amount",
    "total-number-claims",
    "amount",
    "benefit-amount",
})


@final
class ReportFailure(TypedDict):
    """Why there is no report: iClient's ``healthpointErrorCode`` (as it sent it) and words."""

    code: object
    message: object


@final
class Reconciliation(TypedDict):
    """A parsed report (``healthpoint.reconciliation``'s result, before its model checks it)."""

    type: str
    available: bool
    terminalId: NotRequired[str]
    date: NotRequired[str]
    claims: NotRequired[list[ReportEntry]]
    payments: NotRequired[list[ReportEntry]]
    totals: NotRequired[ReportEntry]
    message: NotRequired[str]
    error: NotRequired[ReportFailure]


def _camel(tag: str) -> str:
    head, *rest = tag.split("-")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def _value(tag: str, text: str | None) -> str | int:
    text = (text or "").strip()
    if tag in _AMOUNT_TAGS and text.lstrip("-").isdigit():
        return int(text)  # zero-padded cents or counts in the XML; integers in our interfaces
    return text


def _element(el: ET.Element) -> ReportEntry:
    out: ReportEntry = {_camel(k): v for k, v in el.attrib.items()}
    for child in el:
        if len(child):
            continue
        out[_camel(child.tag)] = _value(child.tag, child.text)
    return out


def parse_reconciliation(response: JsonObject, report_type: str) -> Reconciliation:
    """Parse the ``healthpointReconciliationReportResponse`` of iClient.

    Args:
        response: ``{result, data: <xml>, healthpointErrorCode?, healthpointErrorDescription?}``.
        report_type: ``claims`` or ``payments``.

    Returns:
        ``{type, available, terminalId, date, claims: [...], totals: {...}}``; on failure
        ``{type, available: False, error: {...}}``; when no report exists ``available`` is
        False with the fund's message.
    """
    if str(response.get("result", "")).lower() != "success":
        return {"type": report_type, "available": False, "error": {
            "code": response.get("healthpointErrorCode"),
            "message": response.get("healthpointErrorDescription") or response.get("error") or "report failed",
        }}
    data = str(response.get("data") or "").strip()
    if not data:
        return {"type": report_type, "available": False, "message": "empty report"}
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        return {"type": report_type, "available": False,
                "error": {"code": None, "message": f"unreadable report XML: {exc}"}}
    unavailable = root if root.tag == "unavailable" else root.find(".//unavailable")
    if unavailable is not None:
        return {"type": report_type, "available": False, "message": (unavailable.text or "").strip()}
    header = root.find("./*[healthpoint-terminal-id]")
    if header is None:
        header = root
    entries = [_element(el) for el in root.iter() if el.tag in ("claim", "payment")]
    check = root.find(".//check")
    out: Reconciliation = {
        "type": report_type,
        "available": True,
        "terminalId": (header.findtext("healthpoint-terminal-id") or "").strip(),
        "date": (header.findtext("claim-date") or header.findtext("payment-date") or "").strip(),
    }
    if report_type == "claims":
        out["claims"] = entries
    else:
        out["payments"] = entries
    out["totals"] = _element(check) if check is not None else {}
    return out
