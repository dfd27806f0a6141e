"""bridge/terminals/methods.py, without a daemon: every handler is typed as its method documents (the
behaviour is tests/e2e/daemon's)."""

import typing

from bridge.clearing.service import HealthcodeService
from bridge.protocol import METHODS
from bridge.terminals.methods import Service


def _handler_table() -> dict[str, typing.Any]:
    """Every handler the daemon serves (bound to bare instances: only annotations are read)."""
    service = object.__new__(Service)
    table: dict[str, typing.Any] = dict(Service.handlers(service))
    table.update(HealthcodeService.methods(object.__new__(HealthcodeService)))
    return table


def test_every_method_has_a_handler_annotated_with_its_documented_params_and_result() -> None:
    table = _handler_table()
    assert set(table) == set(METHODS) - {"rpc.discover"}
    for method, handler in table.items():
        hints = typing.get_type_hints(handler)
        spec = METHODS[method]
        assert hints["params"] is (type(None) if spec.params is None else spec.params), method
        assert hints["return"] == spec.result, method
