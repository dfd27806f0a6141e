"""The question a terminal is waiting on (pure), as the protocol shows it: the Job's
``question`` field and the ``job.question`` notification.

Which questions are asked of the desk, and which option an answer names, is the HealthPoint
operation's business (:mod:`bridge.healthpoint.operation`). A question is pending only while the
terminal's page holds its answer callback, so it lives in the worker's memory, not in the
journal (the journal keeps the audit row): after a restart no question can be pending, the job
is ``unknown``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["Question"]


@dataclass(frozen=True, slots=True)
class Question:
    """A pending question of one job."""

    job_id: str
    text: str
    options: tuple[str, ...]

    def field(self) -> dict[str, Any]:
        """The Job's ``question`` field: ``{text, options}``."""
        return {"text": self.text, "options": list(self.options)}

    def notification(self) -> dict[str, Any]:
        """The ``job.question`` notification's params."""
        return {"jobId": self.job_id, "text": self.text, "options": list(self.options)}
