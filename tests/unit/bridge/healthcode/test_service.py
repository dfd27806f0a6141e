"""Tests for bridge/healthcode/service.py: its surface (the pure helpers are tested in test_jobs.py;
the methods end to end in tests/e2e/test_healthcode_daemon.py)."""

from __future__ import annotations

from bridge.healthcode import service


def test_exports_are_public_names_it_defines() -> None:
    assert service.__all__ and all(not name.startswith("_") for name in service.__all__)
    assert all(getattr(service, name).__module__ == service.__name__ for name in service.__all__)
