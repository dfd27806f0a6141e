"""bridge/terminals/questions.py: a pending question as the protocol shows it."""

from __future__ import annotations

from bridge.terminals.questions import Question


def test_the_field_and_the_notification() -> None:
    q = Question("j1", "Patient accepts?", ("ACCEPT", "REJECT"))
    assert q.field() == {"text": "Patient accepts?", "options": ["ACCEPT", "REJECT"]}
    assert q.notification() == {"jobId": "j1", "text": "Patient accepts?", "options": ["ACCEPT", "REJECT"]}
