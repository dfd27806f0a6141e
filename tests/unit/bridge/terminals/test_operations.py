"""bridge/terminals/operations.py: operation ids and pairing keys (the page-driving helpers run
against real Chromium in tests/e2e/daemon: pairing, reports, re-attach)."""

from __future__ import annotations

from datetime import UTC, datetime

from bridge.journal import PairingRecord
from bridge.terminals.operations import next_op_id, pairing_keys


def test_operation_ids_are_unique_and_keep_their_prefix() -> None:
    ids = {next_op_id("report") for _ in range(100)}
    assert len(ids) == 100 and all(i.startswith("report-") for i in ids)


def test_pairing_keys_come_from_the_journal_record() -> None:
    record = PairingRecord("front-desk", 2187, 1, "secret-key", datetime(2026, 11, 22, tzinfo=UTC))
    keys = pairing_keys(record)
    assert keys.as_iclient() == {"mid": 2187, "tid": 1, "integrationKey": "secret-key"}
    assert "secret-key" not in repr(keys)
