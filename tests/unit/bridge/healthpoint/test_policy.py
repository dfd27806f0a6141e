"""bridge/healthpoint/policy.py: what the page answers by itself."""

from __future__ import annotations

import pytest

from bridge.healthpoint import ACCEPT, REJECT, auto_answers


@pytest.mark.parametrize(
    ("policy", "answers"),
    [("accept", (ACCEPT,)), ("reject", (REJECT,)), ("ask", ()), (None, ()), ("ACCEPT", ())],
)
def test_on_approved_policy(policy: str | None, answers: tuple[str, ...]) -> None:
    assert auto_answers(policy) == answers
