"""Unit tests for simulator/iclient.py: the payloads of iClient's callbacks."""

from __future__ import annotations

from datetime import date

import pytest

from simulator import iclient
from simulator.errors import HttpRefused, InvalidRequest, NotPaired, Problem, TerminalBusy


def test_refusal_is_an_error_question_then_not_started_with_the_terminal_code() -> None:
    final, question = iclient.refusal(TerminalBusy(2187, 1))
    assert question == {"text": "Terminal is busy.", "options": ["OK"], "isError": True}
    assert final == {
        "result": "NOT STARTED",
        "healthpointErrorCode": "409",
        "healthpointErrorDescription": "Terminal is busy.",
    }
    final, _ = iclient.refusal(HttpRefused(503))
    assert final["healthpointErrorCode"] == "503"
    final, _ = iclient.refusal(InvalidRequest([Problem("items", "1 to 16 items")]))
    assert final["healthpointErrorCode"] == "400" and "items: 1 to 16 items" in final["healthpointErrorDescription"]
    final, _ = iclient.refusal(NotPaired(1, 2))
    assert final["healthpointErrorDescription"] == iclient.NOT_PAIRED_TEXT


@pytest.mark.parametrize(
    ("method", "expected"),
    [
        ("terminalInfo", {"status": "failure", "message": iclient.NOT_PAIRED_TEXT}),
        ("healthpointReconciliationReport",
         {"result": "failure", "healthpointErrorCode": "401", "healthpointErrorDescription": iclient.NOT_PAIRED_TEXT}),
        ("reconciliationReport", {"result": "failure", "error": iclient.NOT_PAIRED_TEXT}),
    ],
)
def test_a_query_from_an_unpaired_pos_fails_in_its_own_shape(method: str, expected: dict[str, str]) -> None:
    assert iclient.not_paired_answer(method) == expected


def test_pairing_payloads() -> None:
    assert iclient.pairing_success("k") == {"status": "success", "message": "Paired", "integrationKey": "k"}
    assert iclient.pairing_store(2187, 1, "k") == {
        "op": "store", "key": "pairing", "value": {"mid": 2187, "tid": 1, "integrationKey": "k"},
    }
    assert iclient.PAIRING_TIMED_OUT["status"] == "failure"


def test_terminal_info_and_configuration() -> None:
    assert iclient.terminal_info(2187, 1, "SIM00001") == {
        "status": "success", "terminalInfo": {"mid": 2187, "tid": 1, "terminalId": "SIM00001", "model": "Sim"},
    }
    assert iclient.configuration(2187, None, paired=False, pos_product_data=None) == {
        "mid": 2187, "tid": None, "paired": False, "posProductData": None,
    }


def test_report_request_reads_type_and_day() -> None:
    assert iclient.read_report_request({"reportType": "claims", "reconDate": "20261205"}) == (
        "claims", date(2026, 12, 5),
    )


@pytest.mark.parametrize(
    ("params", "fields"),
    [
        ({}, ["reportType", "reconDate"]),
        ({"reportType": "claims", "reconDate": "20261305"}, ["reconDate"]),
        ({"reportType": "both", "reconDate": "2026-12-05"}, ["reportType", "reconDate"]),
    ],
)
def test_report_request_names_every_bad_field(params: dict[str, str], fields: list[str]) -> None:
    with pytest.raises(InvalidRequest) as caught:
        iclient.read_report_request(params)
    assert [p.field for p in caught.value.problems] == fields
    failure = iclient.report_failure(caught.value)
    assert failure["result"] == "failure" and failure["healthpointErrorCode"] == "400"
