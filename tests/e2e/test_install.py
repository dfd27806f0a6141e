"""``pip install .`` as an operator does it, outside the checkout (INTERFACES.md "Installing and
running anywhere"): the sdist and the wheel are built (``python -m build``: the wheel is built
from the sdist, so both must carry the package data), the wheel goes into a fresh venv WITHOUT
extras, and from a directory outside the checkout ``claimbridge run --with-simulator`` (with
``[healthcode]`` pointed at the simulator) takes an APPROVED claim through ``claimbridge call``,
``claimbridge-sim`` serves iClient, and ``[mqtt] url`` without the extra is one line naming it.

Skipped, with the reason printed, only when a venv cannot be made or the build tools are missing.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tarfile
import time
import venv
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

ROOT = Path(__file__).resolve().parents[2]

#: Files the code reads at run time (beside the modules), that the wheel and the sdist must carry.
PACKAGE_DATA = (
    "bridge/browser/host/index.html",
    "bridge/console/index.html",
    "simulator/static/iclient-v1.js",
    "simulator/healthpoint/data/funds.json",
    "simulator/healthpoint/data/modalities.json",
    "simulator/healthpoint/data/response_codes.json",
    "simulator/healthcode/data/insurers.json",
    "simulator/healthcode/data/members.json",
    "bridge/clearing/data/insurers.json",
    "bridge/clearing/data/isc.json",
    "bridge/clearing/data/ccsd.json",
    "bridge/clearing/data/icd10.json",
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Installed:
    """A fresh venv with the wheel in it (no extras), and a working directory outside the checkout."""

    bin: Path
    work: Path
    dist: Path

    def env(self, **extra: str) -> dict[str, str]:
        # Nothing of the checkout or the test venv leaks in: no PYTHONPATH, no VIRTUAL_ENV.
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV", "CLAIMBRIDGE_"))}
        return {**env, "PATH": f"{self.bin}:{env.get('PATH', '')}", **extra}


def _build(dist: Path) -> None:
    try:
        import build  # noqa: F401 - only whether it is there
    except ImportError:
        pytest.skip("the 'build' package is not installed (pip install -e '.[test]'): cannot build the sdist")
    done = subprocess.run([sys.executable, "-m", "build", "--no-isolation", "--outdir", str(dist), str(ROOT)],
                          capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Installed]:
    base = tmp_path_factory.mktemp("install")
    dist, env_dir, work = base / "dist", base / "venv", base / "clinic"
    work.mkdir()
    _build(dist)
    try:
        venv.EnvBuilder(with_pip=True).create(env_dir)
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.skip(f"cannot create a venv here ({exc}): the wheel cannot be installed")
    wheel = next(dist.glob("claimbridge-*.whl"))
    pip = subprocess.run([str(env_dir / "bin" / "pip"), "install", "-q", "--disable-pip-version-check", str(wheel)],
                         capture_output=True, text=True, timeout=240, cwd=work)
    assert pip.returncode == 0, pip.stdout[-3000:] + pip.stderr[-3000:]
    yield Installed(env_dir / "bin", work, dist)


def test_the_wheel_and_the_sdist_carry_the_package_data(installed: Installed) -> None:
    wheel = next(installed.dist.glob("claimbridge-*.whl"))
    sdist = next(installed.dist.glob("claimbridge-*.tar.gz"))
    in_wheel = set(zipfile.ZipFile(wheel).namelist())
    with tarfile.open(sdist) as tar:
        in_sdist = {name.split("/", 1)[1] for name in tar.getnames() if "/" in name}
    for name in PACKAGE_DATA:
        assert name in in_wheel, f"{name} is not in the wheel"
        assert name in in_sdist, f"{name} is not in the sdist"


def test_no_extras_means_no_extras(installed: Installed) -> None:
    probe = "import importlib.util as u; print(u.find_spec('aiomqtt') is None, u.find_spec('prometheus_client') is not None)"
    done = subprocess.run([str(installed.bin / "python"), "-c", probe], capture_output=True, text=True,
                          env=installed.env(), cwd=installed.work)
    assert done.stdout.split() == ["True", "True"], done.stdout + done.stderr


def _claim(request_id: str) -> str:
    today = datetime.now(ZoneInfo("Australia/Sydney")).date().isoformat()
    item = {"claimAmount": 10000, "serviceCode": "500", "description": "Assessment Consult",
            "serviceReference": "01", "patientId": "02", "serviceDate": today}
    return json.dumps({"requestId": request_id, "terminal": "front-desk", "providerId": "2159081W",
                       "serviceType": "P", "items": [item]})


def test_run_with_the_simulator_takes_an_approved_claim(installed: Installed) -> None:
    port, sim_port = _free_port(), _free_port()
    env = installed.env(CLAIMBRIDGE_LISTEN=f"127.0.0.1:{port}", CLAIMBRIDGE_STATE_DIR=str(installed.work / "var"))
    proc = subprocess.Popen([str(installed.bin / "claimbridge"), "run", "--with-simulator",
                             "--simulator-port", str(sim_port)],
                            env=env, cwd=installed.work, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    seen: list[str] = []
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + 60
        for line in proc.stdout:
            seen.append(line)
            if "pairing:" in line:
                assert "success" in line, "".join(seen)
                break
            assert time.monotonic() < deadline, "no pairing within 60 s:\n" + "".join(seen)
        else:
            raise AssertionError(f"claimbridge run exited with {proc.wait()}:\n" + "".join(seen))

        def call(*args: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run([str(installed.bin / "claimbridge"), "call", *args], env=env, cwd=installed.work,
                                  capture_output=True, text=True, timeout=120)

        claim = call("healthpoint.claim", _claim("install-claim-1"), "--answer", "accept", "--field", "result.result")
        assert claim.returncode == 0 and claim.stdout.strip() == "APPROVED", claim.stdout + claim.stderr
        # [healthcode] is configured for the simulator: its reference data is read from the install.
        codes = call("healthcode.codes", json.dumps({"kind": "insurer", "query": "a", "limit": 5}))
        assert codes.returncode == 0 and json.loads(codes.stdout), codes.stdout + codes.stderr
        metrics = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10)
        assert metrics.status_code == 200 and "claimbridge_jobs" in metrics.text
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_the_simulator_alone(installed: Installed) -> None:
    port = _free_port()
    proc = subprocess.Popen([str(installed.bin / "claimbridge-sim"), "--host", "127.0.0.1", "--port", str(port)],
                            env=installed.env(), cwd=installed.work, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                if httpx.get(f"{base}/_sim/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None, proc.communicate()[0]
            time.sleep(0.1)
        script = httpx.get(f"{base}/iclient-v1.js", timeout=5)
        assert script.status_code == 200 and "iclient" in script.text.lower()
        assert httpx.get(f"{base}/_sim/terminals", timeout=5).status_code == 200
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_mqtt_without_its_extra_is_one_line_naming_it(installed: Installed) -> None:
    env = installed.env(CLAIMBRIDGE_LISTEN=f"127.0.0.1:{_free_port()}", CLAIMBRIDGE_STATE_DIR=str(installed.work / "mqtt"),
                        CLAIMBRIDGE_MQTT__URL="mqtt://127.0.0.1:1883")
    done = subprocess.run([str(installed.bin / "claimbridge"), "run"], env=env, cwd=installed.work,
                          capture_output=True, text=True, timeout=60)
    lines = (done.stdout + done.stderr).strip().splitlines()
    assert done.returncode != 0 and len(lines) == 1 and "Traceback" not in lines[0], lines
    assert "pip install 'claimbridge[mqtt]'" in lines[0], lines


def test_nothing_was_read_from_the_checkout(installed: Installed) -> None:
    where = subprocess.run([str(installed.bin / "python"), "-c", "import bridge, simulator; print(bridge.__file__, simulator.__file__)"],
                           capture_output=True, text=True, env=installed.env(), cwd=installed.work)
    assert str(ROOT) not in where.stdout and "site-packages" in where.stdout, where.stdout + where.stderr
    assert shutil.which("claimbridge", path=str(installed.bin))
