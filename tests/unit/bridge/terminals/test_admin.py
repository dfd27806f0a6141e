"""terminal.pair / terminal.unpair's busy rule: -32004 terminalBusy while a job runs or waits."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from bridge.errors import NotAllowedNow, to_jsonrpc_error
from bridge.terminals.admin import refuse_busy


@pytest.mark.parametrize(("busy", "queued"), [(True, 0), (False, 1), (True, 3)])
def test_a_terminal_with_a_job_running_or_waiting_is_busy(busy: bool, queued: int) -> None:
    worker: Any = SimpleNamespace(name="front-desk", busy=busy, queued=queued)
    with pytest.raises(NotAllowedNow) as refused:
        refuse_busy(worker, "unpair it")
    error = to_jsonrpc_error(refused.value)
    assert error["code"] == -32004
    assert error["data"]["reason"] == "terminalBusy"
    assert error["data"]["message"] == "terminal 'front-desk' has a job running or waiting: unpair it once it is idle"
    assert (error["data"]["busy"], error["data"]["queued"]) == (busy, queued)


def test_an_idle_terminal_or_none_is_not_refused() -> None:
    refuse_busy(SimpleNamespace(name="front-desk", busy=False, queued=0), "unpair it")  # type: ignore[arg-type]
    refuse_busy(None, "re-pair it")
