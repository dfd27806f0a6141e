"""Tests for bridge/cli/codes.py: ``claimbridge codes import`` checks the file whole."""

from __future__ import annotations

from pathlib import Path

import pytest

from bridge.cli.commands import main
from bridge.clearing.codelists import CodeListStore


def config(tmp_path: Path) -> str:
    path = tmp_path / "claimbridge.toml"
    path.write_text(f'state_dir = "{tmp_path}"\n')
    return str(path)


def test_import_stores_the_list(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    csv = tmp_path / "axa.csv"
    csv.write_text("code,description\nW9220,Laser therapy (AXA list)\n0001T,Another procedure\n")
    assert main(["--config", config(tmp_path), "codes", "import", "--insurer", "ppp", "--kind", "ccsd", str(csv)]) == 0
    assert "imported 2 CCSD code(s) for AXA Health (ppp)" in capsys.readouterr().out
    assert CodeListStore(tmp_path / "healthcode-codes").get("ppp", "ccsd") == {
        "W9220": "Laser therapy (AXA list)", "0001T": "Another procedure"}


@pytest.mark.parametrize(("insurer", "text", "said"), [
    ("zzz", "code,description\nW9220,x\n", "not a Healthcode insurer"),
    ("ppp", "code;description\nW9220;x\n", "header"),
    ("ppp", "code,description\nW922,x\nW9220,x\nW9220,y\n", "line 2"),
])
def test_bad_input_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                  insurer: str, text: str, said: str) -> None:
    csv = tmp_path / "list.csv"
    csv.write_text(text)
    assert main(["--config", config(tmp_path), "codes", "import", "--insurer", insurer, "--kind", "ccsd", str(csv)]) == 2
    assert said in capsys.readouterr().err
    assert not (tmp_path / "healthcode-codes").exists()
