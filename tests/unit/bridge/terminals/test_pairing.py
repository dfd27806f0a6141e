"""bridge/terminals/pairing.py: what the engineer is told (pairing itself runs against real
Chromium and the simulator's "Authorise POS" in tests/e2e/daemon/test_terminals.py)."""

from __future__ import annotations

from bridge.terminals.pairing import PairingOutcome, timed_out_message


def test_timeout_message_says_how_long_and_what_to_press() -> None:
    text = timed_out_message(90.0)
    assert "90 s" in text and "Authorise POS" in text


def test_outcome_without_a_key_by_default() -> None:
    assert PairingOutcome("failure", "Pairing failed").integration_key is None
