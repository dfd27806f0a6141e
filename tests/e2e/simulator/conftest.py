"""The simulator-through-a-browser tests' own fixture."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import Sim

__all__: list[str] = []


@pytest.fixture
def sim(browser_sim: Sim) -> Sim:
    """The simulator of tests/e2e/conftest.py, under a short name in this package only."""
    return browser_sim
