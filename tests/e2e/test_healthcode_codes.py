"""Healthcode codes as a clinic has them: ICD-10 in full (WHO, by code and by words) and an
insurer's own ISC / CCSD list imported with ``claimbridge codes import``, through a running
daemon (real websocket, the real command in a real process).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest


from tests.daemon_harness import Sim, make_settings, running_daemon
from tests.healthcode_harness import bill, hc_config, password_file

pytestmark = pytest.mark.e2e

BIN = Path(sys.executable).parent


def import_codes(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    config = tmp_path / "claimbridge.toml"
    config.write_text(f'state_dir = "{tmp_path}"\n')
    return subprocess.run([str(BIN / "claimbridge"), "--config", str(config), "codes", "import", *args],
                          capture_output=True, text=True, timeout=60)


async def test_icd10_in_full_and_an_insurer_s_own_list(tmp_path: Path, sim: Sim) -> None:
    settings = make_settings(tmp_path, sim, healthcode=hc_config(sim, password_file(tmp_path)))
    async with running_daemon(settings, sim) as (running, c):
        sciatica = await c.call("healthcode.codes", {"kind": "icd10", "query": "sciatica"})
        assert sciatica[0] == {"code": "M54.3", "description": "Sciatica", "allowed": True}
        disc = await c.call("healthcode.codes", {"kind": "icd10", "query": "M51.1"})
        assert [entry["code"] for entry in disc] == ["M51.1"]
        assert (await c.call("healthcode.codes", {"kind": "icd10", "query": "tennis elbow"}))[0]["code"] == "M77.1"

        before = {e["code"]: e["allowed"] for e in await c.call(
            "healthcode.codes", {"kind": "isc", "query": "phys", "insurer": "bup", "limit": 100})}
        assert before["ISC-PHYS-FU"] is True and "PHY001" not in before

        bad = tmp_path / "bad.csv"
        bad.write_text("code,description\nPHY 1,x\nPHY002,\n")
        refused = import_codes(tmp_path, "--insurer", "bup", "--kind", "isc", str(bad))
        assert refused.returncode == 2 and "line 2" in refused.stderr and "line 3" in refused.stderr

        csv = tmp_path / "bupa-isc.csv"
        csv.write_text("code,description\nISC-PHYS-INIT,Physiotherapy initial assessment\n"
                       "PHY001,Physiotherapy session (Bupa's own code)\n")
        done = import_codes(tmp_path, "--insurer", "bup", "--kind", "isc", str(csv))
        assert done.returncode == 0, done.stderr
        assert "imported 2 ISC code(s)" in done.stdout

        bupa = {e["code"]: e["allowed"] for e in await c.call(
            "healthcode.codes", {"kind": "isc", "query": "phys", "insurer": "bup", "limit": 100})}
        assert bupa["PHY001"] is True and bupa["ISC-PHYS-INIT"] is True and bupa["ISC-PHYS-FU"] is False
        axa = {e["code"]: e["allowed"] for e in await c.call(
            "healthcode.codes", {"kind": "isc", "query": "phys", "insurer": "ppp", "limit": 100})}
        assert axa["ISC-PHYS-FU"] is True and "PHY001" not in axa, "another insurer's list is its own"

        # A bill is checked against the insurer's list: its own code passes, ours outside it not.
        listed = bill(lines=[{"serviceDate": "2026-11-10", "isc": "PHY001", "description": "Physio", "fee": 9500}])
        assert await c.call("healthcode.validate", {"bill": listed}) == {"valid": True, "problems": []}
        answer = await c.call("healthcode.validate", {"bill": bill()})
        assert [(p["field"], p["error"]) for p in answer["problems"]] == [
            ("lines[1].isc", "Code not valid for insurer"), ("lines[2].isc", "Code not valid for insurer")]
        assert (await c.call("healthcode.validate", {"bill": bill("clinic_payee_axa.json")}))["valid"] is True
