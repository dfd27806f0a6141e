"""docs/protocol.md is generated from the OpenRPC document; this fails when it is stale."""

import importlib.util
import json
from pathlib import Path
from types import ModuleType

from bridge.protocol import METHODS

DOCS = Path(__file__).resolve().parents[2] / "docs"


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("generate_protocol", DOCS / "generate_protocol.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_protocol_md_is_current() -> None:
    expected = _generator().render()
    assert (DOCS / "protocol.md").read_text() == expected, "run: .venv/bin/python docs/generate_protocol.py"


def test_every_method_has_a_worked_example() -> None:
    examples = json.loads((DOCS / "protocol_examples.json").read_text())
    public = {name for name in METHODS if not name.startswith("rpc.")}
    assert set(examples) == public
    text = (DOCS / "protocol.md").read_text()
    for name in public:
        assert f"### `{name}`" in text
        assert f'"method": "{name}"' in text

