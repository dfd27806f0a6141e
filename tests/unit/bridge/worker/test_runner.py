"""bridge/worker/runner.py's pure helpers: proving a re-attached answer is ours, policies, wire shape."""

from datetime import UTC, datetime

from bridge.jobs import JobKind, JobState
from bridge.journal import JobRecord
from bridge.worker.runner import _auto_answers, _normalise_purchase, _same_claim, job_to_wire

AT = datetime(2026, 11, 22, 23, 0, tzinfo=UTC)
SENT = {
    "providerId": "2159081W",
    "claimItems": [{"claimAmount": "10000", "patientId": "02"}, {"claimAmount": "10100", "patientId": "02"}],
}


def _job(request: dict[str, object]) -> JobRecord:
    return JobRecord("j1", "r1", JobKind.CLAIM, "front-desk", JobState.RUNNING, dict(request), None, None, None, AT, AT)


def test_same_claim_matches_echoed_items_and_ignores_the_loyalty_bonus() -> None:
    response = {
        "healthpointProviderId": "2159081W",
        "healthpointClaimItems": [
            {"claimAmount": "10000", "patientId": "02", "serviceCode": "00500"},
            {"claimAmount": "10100", "patientId": "02", "serviceCode": "00505"},
            {"claimAmount": "0", "patientId": "02", "serviceCode": "00992"},
        ],
    }
    assert _same_claim(SENT, response)


def test_another_claim_is_not_ours() -> None:
    other_provider = {"healthpointProviderId": "1455813F", "healthpointClaimItems": [
        {"claimAmount": "10000", "patientId": "02"}, {"claimAmount": "10100", "patientId": "02"}]}
    other_amounts = {"healthpointClaimItems": [{"claimAmount": "10000", "patientId": "02"}]}
    no_items = {"result": "NOT STARTED"}
    assert not _same_claim(SENT, other_provider)
    assert not _same_claim(SENT, other_amounts)
    assert not _same_claim(SENT, no_items)


def test_auto_answers_follow_on_approved() -> None:
    assert _auto_answers(_job({"onApproved": "accept"})) == ("ACCEPT",)
    assert _auto_answers(_job({"onApproved": "reject"})) == ("REJECT",)
    assert _auto_answers(_job({"onApproved": "ask"})) == ()
    assert _auto_answers(_job({})) == ()


def test_purchase_outcome_has_integer_cents_and_drops_undefined() -> None:
    out = _normalise_purchase({"result": "APPROVED", "transactionId": "t", "amount": "8040",
                               "authorisationCode": "undefined", "healthpointTransactionId": "c"})
    assert out == {"result": "APPROVED", "transactionId": "t", "amount": 8040, "healthpointTransactionId": "c"}


def test_job_to_wire_has_the_interfaces_fields() -> None:
    wire = job_to_wire(_job({"requestId": "r1"}))
    assert set(wire) == {"jobId", "requestId", "kind", "terminal", "state", "createdAt", "updatedAt",
                         "request", "result", "error"}
    assert wire["state"] == "running" and wire["createdAt"] == AT.isoformat()
