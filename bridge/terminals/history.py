"""A job's history as the protocol shows it, from the journal's audit rows (pure).

``job.get {…, history: true}`` answers ``history: [{at, event, state?, message?, by?}]``
(INTERFACES.md "A Job"): every state change, status line, question, answer (and who gave it),
receipt and note, oldest first. The journal's rows are kept as they were written; this module
only names them for the PMS.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

from bridge.protocol import HistoryEntry

__all__ = ["history_of"]

#: Audit events shown under their own name; everything else is a ``note``.
_NAMED = frozenset({"status", "question", "answer", "receipt"})


def _json(detail: object) -> object:
    if not isinstance(detail, str) or not detail.startswith("{"):
        return None
    try:
        return json.loads(detail)
    except ValueError:
        return None


def _entry(row: Mapping[str, object]) -> HistoryEntry:
    """One row as the protocol names it (only the fields it has are set: the wire shows no more)."""
    return HistoryEntry.model_validate(_fields(row))


def _fields(row: Mapping[str, object]) -> dict[str, object]:
    event = str(row.get("event") or "")
    detail = row.get("detail")
    out: dict[str, object] = {"at": row.get("at"), "event": event}
    if event in ("created", "state"):
        out["event"] = "state"
        out["state"] = row.get("to_state")
        made = _json(detail) if event == "created" else None
        if isinstance(made, dict):
            if made.get("by"):
                out["by"] = str(made["by"])  # the client that made the request
        elif detail:
            out["message"] = detail
        return out
    parsed = _json(detail)
    if event == "question" and isinstance(parsed, dict):
        offered = parsed.get("options") or []
        options = " / ".join(str(o) for o in offered) if isinstance(offered, list) else ""
        out["message"] = f"{parsed.get('text', '')} [{options}]" if options else str(parsed.get("text", ""))
        return out
    if event == "answer" and isinstance(parsed, dict):
        out["message"] = str(parsed.get("answer", ""))
        if parsed.get("by"):
            out["by"] = str(parsed["by"])
        return out
    if event not in _NAMED:
        out["event"] = "note"
        out["message"] = f"{event}: {detail}" if detail else event
        return out
    if detail is not None:
        out["message"] = detail
    return out


def history_of(rows: Sequence[Mapping[str, object]]) -> list[HistoryEntry]:
    """The protocol's ``history`` from the journal's audit rows of one job (oldest first).

    Args:
        rows: ``{at, from_state, to_state, event, detail}`` rows as the journal returns them.

    Raises:
        pydantic.ValidationError: a row does not fit the documented entry (a bug: the dispatcher
            answers -32603 rather than send it).
    """
    return [_entry(r) for r in rows]
