"""bridge/terminals/history.py: audit rows named for the protocol's history."""

from __future__ import annotations

import json

from bridge.terminals import history_of as _entries


def history_of(rows: list[dict[str, object]]) -> list[dict[str, object]]:
    """The entries as the wire shows them (only the fields each was built with)."""
    return [entry.model_dump(mode="json", exclude_unset=True) for entry in _entries(rows)]


def _row(event: str, detail: str | None = None, to_state: str | None = None) -> dict[str, object]:
    return {"at": "2026-11-22T23:00:00.000000+00:00", "from_state": None, "to_state": to_state, "event": event, "detail": detail}


def test_each_kind_of_row() -> None:
    rows = [
        _row("created", to_state="queued"),
        _row("state", to_state="running"),
        _row("status", "Swipe or tap health fund card"),
        _row("question", json.dumps({"text": "Patient accepts?", "options": ["ACCEPT", "REJECT"]})),
        _row("answer", json.dumps({"answer": "ACCEPT", "by": "Dr Jones"})),
        _row("answer", json.dumps({"answer": "ACCEPT", "by": None})),
        _row("receipt", "MERCHANT COPY"),
        _row("reattach", "the terminal's last transaction is another one"),
        _row("state", "approved: checked with the fund", to_state="resolved"),
    ]
    h = history_of(rows)
    assert [e["event"] for e in h] == ["state", "state", "status", "question", "answer", "answer", "receipt", "note", "state"]
    assert h[0]["state"] == "queued" and "message" not in h[0]
    assert h[3]["message"] == "Patient accepts? [ACCEPT / REJECT]"
    assert h[4] == {"at": rows[4]["at"], "event": "answer", "message": "ACCEPT", "by": "Dr Jones"}
    assert "by" not in h[5]
    assert h[7]["message"].startswith("reattach: ")
    assert h[8] == {"at": rows[8]["at"], "event": "state", "state": "resolved", "message": "approved: checked with the fund"}


def test_the_first_state_names_the_client_that_made_the_request() -> None:
    h = history_of([_row("created", json.dumps({"by": "reception-pms"}), to_state="queued")])
    assert h == [{"at": h[0]["at"], "event": "state", "state": "queued", "by": "reception-pms"}]
