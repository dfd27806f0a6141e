"""Tests for bridge/protocol.py: the one namespace re-exports every part, unchanged."""

from __future__ import annotations

import importlib

from bridge import protocol

PARTS = ("healthpoint", "jsonrpc", "openrpc", "protocol_methods", "protocol_params", "protocol_results")


def test_every_name_is_exported_from_its_home_module() -> None:
    homes = [importlib.import_module(f"bridge.{part}") for part in PARTS]
    for name in protocol.__all__:
        value = getattr(protocol, name)
        assert any(getattr(home, name, None) is value for home in homes), name


def test_exports_are_unique_and_cover_the_parts() -> None:
    assert len(protocol.__all__) == len(set(protocol.__all__))
    for part in PARTS[1:]:
        module = importlib.import_module(f"bridge.{part}")
        assert set(module.__all__) - {"EventTopic"} <= set(protocol.__all__), part
