"""The question a terminal is waiting on (pure): who it is for, its text and options, and which
option an answer means.

A question is pending only while the terminal's page holds its answer callback, so it lives in
the worker's memory, not in the journal (the journal keeps the audit row): after a restart no
question can be pending, the job is ``unknown``.
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

    @classmethod
    def of(cls, job_id: str, payload: dict[str, Any]) -> Question:
        """From the page's question event (iClient's ``questionCallback``, reference §1.2)."""
        return cls(job_id, str(payload.get("text") or ""), tuple(str(o) for o in payload.get("options") or []))

    def field(self) -> dict[str, Any]:
        """The Job's ``question`` field: ``{text, options}``."""
        return {"text": self.text, "options": list(self.options)}

    def notification(self) -> dict[str, Any]:
        """The ``job.question`` notification's params."""
        return {"jobId": self.job_id, "text": self.text, "options": list(self.options)}

    def option(self, answer: str) -> str | None:
        """The option ``answer`` names, matched without regard to case ("accept" is "ACCEPT"),
        as the terminal offered it; None when it names none."""
        wanted = answer.strip().casefold()
        return next((o for o in self.options if o.casefold() == wanted), None)
