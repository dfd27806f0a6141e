"""bridge/cli/text.py: refusals, events and config problems in plain words."""

from pathlib import Path

import pytest
from pydantic import ValidationError

from bridge.cli.text import config_problems, error_line, event_line
from bridge.config import Settings


def test_invalid_params_name_every_field_plainly() -> None:
    line = error_line("healthpoint.claim", {"code": -32602, "message": "Invalid params", "data": {
        "errors": [{"field": "providerId", "message": "is required"},
                   {"field": "items.0.claimAmount", "message": "must be a whole number of cents"}]}})
    assert line == ("healthpoint.claim refused (-32602 Invalid params): providerId is required; "
                    "items.0.claimAmount must be a whole number of cents. Fix these params and send again.")


def test_unavailable_says_when_to_try_again() -> None:
    line = error_line("healthpoint.claim", {"code": -32005, "message": "Temporarily unavailable",
                                            "data": {"reason": "starting", "retryAfterMs": 2500}})
    assert "reason: starting" in line and line.endswith("try again in 2 s.")
    assert "{" not in line


def test_event_summaries_are_short() -> None:
    job = {"jobId": "j-1", "kind": "claim", "state": "completed", "request": {"items": [1] * 16},
           "result": {"result": "APPROVED", "totalBenefit": 12060, "gap": 8040}}
    assert event_line({"method": "job.updated", "params": {"job": job}}) == \
        "job j-1 claim completed: APPROVED, benefit $120.60, gap $80.40"
    assert event_line({"method": "job.status", "params": {"jobId": "j-1", "message": "Reading card"}}) == \
        "job j-1: Reading card"
    assert event_line({"method": "job.question", "params": {"jobId": "j-1", "text": "Accept?",
                                                            "options": ["ACCEPT", "REJECT"]}}) == \
        "job j-1 asks: Accept? [ACCEPT / REJECT]"
    assert "pairing success" in event_line({"method": "terminal.pairing",
                                            "params": {"terminal": "t", "status": "success", "message": "Paired"}})


def test_environment_variables_are_named_as_such(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLAIMBRIDGE_LISTEN", "nonsense")
    with pytest.raises(ValidationError) as err:
        Settings()
    (problem,) = config_problems(err.value, Path("x.toml"))
    assert problem.file == "environment" and problem.key == "CLAIMBRIDGE_LISTEN"
    assert "HOST:PORT" in problem.rule


def test_data_is_written_in_words_never_as_a_repr() -> None:
    line = error_line("job.answer", {"code": -32004, "message": "Not allowed now", "data": {
        "reason": "answer must be one of ACCEPT, REJECT", "options": ["ACCEPT", "REJECT"], "gap": None}})
    assert "options: ACCEPT, REJECT" in line and "gap: none" in line
    assert "[" not in line and "'" not in line


def test_money_is_dollars_and_cents() -> None:
    from bridge.cli.text import money

    assert [money(c) for c in (12060, 8040, 5, 0, -500, 123456789)] == [
        "$120.60", "$80.40", "$0.05", "$0.00", "-$5.00", "$1,234,567.89"]


def test_times_are_sydney_with_the_zone_named() -> None:
    from bridge.cli.text import sydney_time

    assert sydney_time("2026-11-22T23:00:00+00:00") == "2026-11-23 10:00:00 AEDT"
    assert sydney_time("2026-06-14T21:00:00+00:00") == "2026-06-15 07:00:00 AEST"
    assert sydney_time("not a time") == "not a time"


def test_a_job_line_for_claimbridge_jobs() -> None:
    from bridge.cli.text import job_line

    job = {"createdAt": "2026-11-22T23:00:00+00:00", "jobId": "j-1", "kind": "claim", "terminal": "front-desk",
           "state": "completed", "result": {"result": "APPROVED", "totalBenefit": 12060, "gap": 8040}}
    assert job_line(job) == ("2026-11-23 10:00:00 AEDT  j-1  claim          front-desk   completed  "
                             "APPROVED, benefit $120.60, gap $80.40")
    queued = {**job, "state": "queued", "result": None, "terminal": None}
    assert job_line(queued) == "2026-11-23 10:00:00 AEDT  j-1  claim          -            queued"
