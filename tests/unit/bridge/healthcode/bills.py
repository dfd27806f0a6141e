"""Test helper: the example bills of fixtures/healthcode/bills, with dotted-path changes."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from bridge.healthcode import Bill

BILLS = Path(__file__).resolve().parents[4] / "fixtures" / "healthcode" / "bills"

#: Pass as a value to ``make`` to remove that key.
DELETE = object()


def wire(name: str = "valid_bupa.json") -> dict[str, Any]:
    """A fixture bill as JSON."""
    data: dict[str, Any] = json.loads((BILLS / name).read_text(encoding="utf-8"))
    return data


def make(name: str = "valid_bupa.json", /, **patch: Any) -> Bill:
    """The fixture bill with dotted-path changes: ``make(**{"patient.lastName": "X"})``."""
    data = copy.deepcopy(wire(name))
    for path, value in patch.items():
        node: Any = data
        *parents, leaf = path.split(".")
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        if isinstance(node, list):
            node[int(leaf)] = value
        elif value is DELETE:
            del node[leaf]
        else:
            node[leaf] = value
    return Bill.model_validate(data)
