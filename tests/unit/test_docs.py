"""docs/protocol.md and docs/claimbridge.d.ts are generated from the OpenRPC document and the
examples recorded against the simulator (docs/record_examples.py); these fail when they drift."""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from bridge.protocol import METHODS
from tests.daemon_harness import validate_answer, validate_error, validate_notification

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("generate_protocol", DOCS / "generate_protocol.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _examples() -> dict[str, Any]:
    examples: dict[str, Any] = json.loads((DOCS / "protocol_examples.json").read_text())
    return examples


def test_protocol_md_is_current() -> None:
    expected = _generator().render()
    assert (DOCS / "protocol.md").read_text() == expected, "run: .venv/bin/python docs/generate_protocol.py"


def test_typescript_definitions_are_current() -> None:
    expected = _generator().render_types_file()
    assert (DOCS / "claimbridge.d.ts").read_text() == expected, "run: .venv/bin/python docs/generate_protocol.py"


def test_every_method_has_a_recorded_example() -> None:
    examples = _examples()["methods"]
    public = {name for name in METHODS if not name.startswith("rpc.")}
    assert set(examples) == public, "run: .venv/bin/python docs/record_examples.py"
    text = (DOCS / "protocol.md").read_text()
    for name in public:
        assert f"### `{name}`" in text
        assert f'"method": "{name}"' in text
        assert examples[name], name


def test_every_recorded_example_fits_its_schema() -> None:
    recorded = _examples()
    for name, exchanges in recorded["methods"].items():
        for exchange in exchanges:
            validate_answer(name, exchange["result"])
            for note in exchange.get("notifications", ()):
                validate_notification(note)
    assert recorded["errors"]
    for refusal in recorded["errors"]:
        validate_error(refusal["error"])


def test_the_examples_show_the_real_shapes() -> None:
    """What the issue found wrong in the hand-written examples, now as the simulator answers."""
    methods = _examples()["methods"]
    report = methods["healthpoint.reconciliation"][0]["result"]
    assert re.fullmatch(r"\d{8}", report["date"]) and report["terminalId"].startswith("SIM")
    assert set(report["totals"]) >= {"totalNumberClaims", "sumBenefitAmount", "sumClaimAmount"}
    cancel = methods["healthpoint.cancel"][0]["result"]
    assert cancel["result"]["result"] == "CANCELLED" and cancel["result"]["items"]
    gap = methods["payment.gap"][0]["result"]["result"]
    assert {"authorisationCode", "rrn", "elidedPan", "cardType"} <= set(gap)
    submitted = methods["healthcode.submit"][0]["result"]
    assert "reference" in submitted["result"] and submitted["state"] in ("running", "completed")


def test_docs_cite_no_file_outside_the_repository() -> None:
    for name in ("protocol.md", "claimbridge.d.ts", "operations.md"):
        text = (DOCS / name).read_text()
        assert "../" not in text, name
        for cited in re.findall(r"\b(?:seeds|reference|shared)/[\w./-]+", text):
            pytest.fail(f"{name} cites {cited}, which is not shipped")
        assert "INTERFACES.md" not in text and "DESIGN.md" not in text, name


def _tsc(tmp_path: Path, files: list[Path]) -> subprocess.CompletedProcess[str]:
    tsc = shutil.which("tsc")
    assert tsc is not None
    shim = tmp_path / "node-shim.d.ts"
    # The example runs on Node; these two names are all it uses of Node's own types.
    shim.write_text('declare const process: { argv: string[]; exitCode?: number };\n'
                    'declare module "node:fs" { export function readFileSync(path: string, encoding: "utf8"): string; }\n')
    return subprocess.run(
        [tsc, "--noEmit", "--strict", "--allowJs", "--checkJs", "--target", "es2022", "--lib", "es2022,dom",
         "--module", "commonjs", "--moduleResolution", "node", *map(str, files), str(shim)],
        capture_output=True, text=True, timeout=120)


@pytest.mark.skipif(shutil.which("tsc") is None, reason="tsc (TypeScript) not installed")
def test_tsc_accepts_the_definitions_and_the_js_example(tmp_path: Path) -> None:
    done = _tsc(tmp_path, [DOCS / "claimbridge.d.ts", ROOT / "examples" / "pms_client.js"])
    assert done.returncode == 0, done.stdout + done.stderr
    # and the check can fail: a claim amount as a string is a type error
    (tmp_path / "docs").mkdir()
    (tmp_path / "examples").mkdir()
    shutil.copy(DOCS / "claimbridge.d.ts", tmp_path / "docs")
    bad = tmp_path / "examples" / "pms_client.js"
    bad.write_text((ROOT / "examples" / "pms_client.js").read_text().replace("claimAmount: 10000", 'claimAmount: "10000"'))
    done = _tsc(tmp_path, [tmp_path / "docs" / "claimbridge.d.ts", bad])
    assert done.returncode != 0 and re.search(r"pms_client\.js\(\d+,\d+\): error TS2322: Type 'string' is not "
                                              r"assignable to type 'number'", done.stdout), done.stdout


def test_the_generator_has_a_check_mode() -> None:
    done = subprocess.run([sys.executable, str(DOCS / "generate_protocol.py"), "--check"], capture_output=True,
                          text=True, timeout=60, cwd=ROOT)
    assert done.returncode == 0, done.stderr
