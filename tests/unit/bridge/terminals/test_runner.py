"""bridge/terminals/runner.py's pure helpers: the policy a job carries (the wire shape is
tests/unit/bridge/protocol/test_jobs.py's)."""

from datetime import UTC, datetime

from bridge.jobs import JobKind, JobState
from bridge.journal import JobRecord
from bridge.terminals.runner import _auto_answers

AT = datetime(2026, 11, 22, 23, 0, tzinfo=UTC)


def _job(request: dict[str, object]) -> JobRecord:
    return JobRecord("j1", "r1", JobKind.CLAIM, "front-desk", JobState.RUNNING, dict(request), None, None, None, AT, AT)


def test_auto_answers_follow_on_approved() -> None:
    assert _auto_answers(_job({"onApproved": "accept"})) == ("ACCEPT",)
    assert _auto_answers(_job({"onApproved": "reject"})) == ("REJECT",)
    assert _auto_answers(_job({"onApproved": "ask"})) == ()
    assert _auto_answers(_job({})) == ()
