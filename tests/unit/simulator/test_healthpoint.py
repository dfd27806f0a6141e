"""Unit tests for simulator/healthpoint.py: the one namespace re-exports every part, unchanged."""

from __future__ import annotations

import importlib

from simulator import healthpoint

PARTS = ("adjudication", "cancels", "day", "reports", "requests")


def test_every_name_is_exported_from_its_home_module() -> None:
    homes = [importlib.import_module(f"simulator.healthpoint_{part}") for part in PARTS]
    for name in healthpoint.__all__:
        value = getattr(healthpoint, name)
        assert any(getattr(home, name, None) is value for home in homes), name


def test_exports_are_unique() -> None:
    assert len(healthpoint.__all__) == len(set(healthpoint.__all__))
