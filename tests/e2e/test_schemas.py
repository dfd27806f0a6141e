"""Every method once against the simulator (the scripted session of docs/record_examples.py), each
answer and each notification validated with jsonschema against rpc.discover's schemas."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from bridge.protocol import METHODS, openrpc_document
from tests.daemon_harness import validate_answer, validate_error, validate_notification

pytestmark = pytest.mark.e2e

DOCS = Path(__file__).resolve().parents[2] / "docs"


def _recorder() -> ModuleType:
    spec = importlib.util.spec_from_file_location("record_examples", DOCS / "record_examples.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["record_examples"] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def session() -> tuple[dict[str, Any], list[dict[str, Any]], list[tuple[str, dict[str, Any]]]]:
    import asyncio

    notes: list[dict[str, Any]] = []
    answers: list[tuple[str, dict[str, Any]]] = []
    examples = asyncio.run(_recorder().record(notes, answers))
    return examples, notes, answers


def test_every_method_answered_and_every_answer_fits_its_schema(session: Any) -> None:
    examples, _, answers = session
    public = {name for name in METHODS if not name.startswith("rpc.")}
    assert public <= {method for method, _ in answers}
    assert set(examples["methods"]) == public
    checked = 0
    for method, response in answers:
        if "error" in response:
            validate_error(response["error"])
        else:
            validate_answer(method, response["result"])
            checked += 1
    assert checked >= len(public)


def test_every_notification_fits_its_schema(session: Any) -> None:
    _, notes, _ = session
    assert {n["method"] for n in notes} >= {"job.updated", "job.status", "job.question", "terminal.pairing"}
    for note in notes:
        validate_notification(note)


def test_the_schemas_can_fail() -> None:
    """The check is not vacuous: a claim result with a cent amount as a string is refused."""
    job = {"jobId": "j", "requestId": "r", "kind": "claim", "terminal": None, "state": "completed",
           "createdAt": "2026-11-23T10:00:00+11:00", "updatedAt": "2026-11-23T10:00:00+11:00", "request": {},
           "result": {"result": "APPROVED", "totalBenefit": "12060"}, "error": None}
    with pytest.raises(AssertionError, match="totalBenefit"):
        validate_answer("job.get", job)
    gap_as_bill = {**job, "kind": "gap", "result": {"status": "Collected", "invoiceNumber": "x"}}
    with pytest.raises(AssertionError):
        validate_answer("job.get", gap_as_bill)
    report = {"type": "claims", "available": True, "terminalId": "SIM00001", "date": "2026-12-01"}
    with pytest.raises(AssertionError, match="date"):
        validate_answer("healthpoint.reconciliation", report)


async def test_rpc_discover_is_the_models_document(daemon: Any) -> None:
    c = await daemon.client()
    doc = await c.call("rpc.discover")
    assert doc["components"] == openrpc_document("")["components"]
    assert [m["name"] for m in doc["methods"]] == [m["name"] for m in openrpc_document("")["methods"]]
