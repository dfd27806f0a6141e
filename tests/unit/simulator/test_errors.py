"""Unit tests for simulator/errors.py: the tree and the data the leaves carry."""

from __future__ import annotations

import simulator.errors as errors
from simulator.errors import HttpRefused, InvalidRequest, Problem, RequestRefused, SimulatorError


def test_every_error_under_the_root() -> None:
    for name in errors.__all__:
        value = getattr(errors, name)
        if isinstance(value, type) and issubclass(value, Exception):
            assert issubclass(value, SimulatorError), name


def test_leaves_carry_data() -> None:
    error = InvalidRequest([Problem("providerId", "exactly 8 letters or digits")])
    assert isinstance(error, RequestRefused)
    assert error.problems[0].field == "providerId"
    assert str(error) == "providerId: exactly 8 letters or digits"
    assert HttpRefused(502).status == 502
