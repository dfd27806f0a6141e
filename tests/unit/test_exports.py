"""Each domain package's ``__init__`` is its one namespace: ``__all__`` is exactly what its
modules export, and nothing else public leaks out (httpx's exported-members habit)."""

from __future__ import annotations

import importlib
import types

import pytest

#: package -> the modules whose ``__all__`` it gathers (adapters of a package are not gathered).
NAMESPACES = {
    "bridge.cli": ("commands",),
    "bridge.protocol": ("billing", "envelope", "jobs", "methods", "openrpc", "params", "reports", "requests", "results"),
    "bridge.healthpoint": ("claims", "guards", "iclient", "matching", "operation", "policy", "purchases", "reconciliation", "recovery", "starting"),
    "bridge.healthcode": ("bills", "fhir", "intake", "jobs", "members", "refdata", "rules", "search", "status"),
    "bridge.journal": ("ages", "links", "reconciliations", "records", "store", "thread"),
    "bridge.terminals": ("history", "runner"),
    "simulator.healthpoint": ("adjudication", "cancels", "day", "reports", "requests"),
    "simulator.healthcode": ("fhir", "rules", "service", "v2"),
    "simulator.transactions": ("cancels", "claims", "payments", "steps"),
}


@pytest.mark.parametrize("package", sorted(NAMESPACES))
def test_namespace_is_exactly_its_modules_exports(package: str) -> None:
    namespace = importlib.import_module(package)
    expected: set[str] = set()
    for part in NAMESPACES[package]:
        module = importlib.import_module(f"{package}.{part}")
        for name in module.__all__:
            assert getattr(namespace, name) is getattr(module, name), f"{package}.{name}"
        expected |= set(module.__all__)
    assert sorted(namespace.__all__) == namespace.__all__, "keep __all__ sorted"
    assert set(namespace.__all__) == expected


@pytest.mark.parametrize("package", sorted(NAMESPACES))
def test_nothing_public_outside_all(package: str) -> None:
    namespace = importlib.import_module(package)
    public = {
        name for name, value in vars(namespace).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType) and name != "annotations"
    }
    assert public <= set(namespace.__all__)


@pytest.mark.parametrize("package", sorted(NAMESPACES))
def test_every_module_declares_all(package: str) -> None:
    for part in NAMESPACES[package]:
        module = importlib.import_module(f"{package}.{part}")
        assert isinstance(module.__all__, list) and module.__all__, f"{package}.{part}"
