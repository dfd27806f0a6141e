"""What the simulated terminal answers through iClient's callbacks, pure.

Each function builds one callback's payload in the shape Tyro's iClient gives it (reference
§1–§3): pairing progress, the refusal of a transaction that never started, the answers to
queries (terminal info, reports) and the iframe's ``getConfiguration``. The runtime
(:mod:`simulator.runtime`) only decides *when* to send them.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from simulator.errors import InvalidRequest, Problem, RequestRefused
from simulator.healthpoint import refusal_answer

__all__ = [
    "NOT_PAIRED_TEXT",
    "NOT_STARTED",
    "PAIRING_BUSY",
    "PAIRING_IN_PROGRESS",
    "PAIRING_NEEDS_MID_TID",
    "PAIRING_TIMED_OUT",
    "REPORT_METHODS",
    "SYSTEM_ERROR",
    "configuration",
    "not_paired_answer",
    "pairing_store",
    "pairing_success",
    "read_report_request",
    "refusal",
    "report_failure",
    "terminal_info",
    "unsupported_report",
]

Payload = dict[str, Any]

NOT_STARTED: Payload = {"result": "NOT STARTED"}
"""continueLastTransaction on a terminal that remembers no transaction."""
SYSTEM_ERROR: Payload = {"result": "SYSTEM ERROR"}
"""The end of a transaction that crashed inside the simulator."""
NOT_PAIRED_TEXT = "POS is not paired with a terminal."

PAIRING_NEEDS_MID_TID: Payload = {"status": "failure", "message": "MID and TID are required"}
PAIRING_BUSY: Payload = {"status": "failure", "message": "Terminal is busy."}
PAIRING_IN_PROGRESS: Payload = {"status": "inProgress", "message": "Press Authorise POS on the terminal"}
PAIRING_TIMED_OUT: Payload = {"status": "failure", "message": "Pairing timed out"}

REPORT_METHODS = ("terminalInfo", "healthpointReconciliationReport", "reconciliationReport")
"""The queries a paired POS may make besides transactions."""


def pairing_success(key: str | None) -> Payload:
    return {"status": "success", "message": "Paired", "integrationKey": key}


def pairing_store(mid: int, tid: int, key: str | None) -> Payload:
    """The iframe's ``store`` frame: the pairing kept in the POS's local storage."""
    return {"op": "store", "key": "pairing", "value": {"mid": mid, "tid": tid, "integrationKey": key}}


def refusal(error: RequestRefused) -> tuple[Payload, Payload]:
    """A transaction refused before it started: the final answer (NOT STARTED with the
    terminal's code) and the error question shown first, whose only option is OK."""
    answer = refusal_answer(error)
    final = {
        "result": "NOT STARTED",
        "healthpointErrorCode": answer.error_code,
        "healthpointErrorDescription": answer.description,
    }
    question = {"text": answer.question, "options": ["OK"], "isError": True}
    return final, question


def not_paired_answer(method: str) -> Payload:
    """A query from a POS that is not paired, in the shape of that query's callback."""
    if method == "terminalInfo":
        return {"status": "failure", "message": NOT_PAIRED_TEXT}
    if method == "healthpointReconciliationReport":
        return {"result": "failure", "healthpointErrorCode": "401", "healthpointErrorDescription": NOT_PAIRED_TEXT}
    return {"result": "failure", "error": NOT_PAIRED_TEXT}


def terminal_info(mid: int, tid: int, terminal_id: str) -> Payload:
    info = {"mid": mid, "tid": tid, "terminalId": terminal_id, "model": "Sim"}
    return {"status": "success", "terminalInfo": info}


def unsupported_report() -> Payload:
    return {"result": "failure", "error": "Not supported by the simulator"}


def configuration(mid: int | None, tid: int | None, *, paired: bool, pos_product_data: Any) -> Payload:
    """The iframe's ``getConfiguration`` result."""
    return {"mid": mid, "tid": tid, "paired": paired, "posProductData": pos_product_data}


def read_report_request(params: Mapping[str, Any]) -> tuple[str, date]:
    """A healthpointReconciliationReport request's type and day.

    Raises:
        InvalidRequest: Every problem of ``reportType`` and ``reconDate`` at once.
    """
    problems: list[Problem] = []
    report_type = params.get("reportType")
    if report_type not in ("claims", "payments"):
        problems.append(Problem("reportType", '"claims" or "payments"'))
    raw_date = params.get("reconDate")
    day: date | None = None
    if isinstance(raw_date, str) and len(raw_date) == 8 and raw_date.isdigit():
        try:
            day = datetime.strptime(raw_date, "%Y%m%d").date()
        except ValueError:
            day = None
    if day is None:
        problems.append(Problem("reconDate", "a date as yyyyMMdd"))
    if problems or day is None:
        raise InvalidRequest(problems)
    return str(report_type), day


def report_failure(error: InvalidRequest) -> Payload:
    return {"result": "failure", "healthpointErrorCode": "400", "healthpointErrorDescription": str(error)}
