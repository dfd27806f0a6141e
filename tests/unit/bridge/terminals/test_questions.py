"""bridge/terminals/questions.py: a pending question and which option an answer names."""

from __future__ import annotations

from bridge.terminals.questions import Question


def test_options_are_matched_without_regard_to_case() -> None:
    q = Question.of("j1", {"text": "Patient accepts?", "options": ["ACCEPT", "REJECT"]})
    assert q.option("accept") == "ACCEPT" and q.option(" Reject ") == "REJECT" and q.option("maybe") is None
    assert q.field() == {"text": "Patient accepts?", "options": ["ACCEPT", "REJECT"]}
    assert q.notification() == {"jobId": "j1", "text": "Patient accepts?", "options": ["ACCEPT", "REJECT"]}
    assert q == Question.of("j1", {"text": "Patient accepts?", "options": ["ACCEPT", "REJECT"]})
