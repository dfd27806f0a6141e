"""The unit under a real systemd: systemd 252 as PID 1 in a ``systemd-nspawn`` container over a
throwaway overlay of this machine's root (so Chromium, Python and the checkout are the host's),
with systemd/claimbridge.service installed as docs/operations.md says. A checker unit inside, once
the daemon is up, pairs the simulator's terminal, takes a claim (APPROVED), records what
systemd says (active, the STATUS= line, the watchdog) and what journald kept (bare JSON, each
line at its priority), then stops the unit while a claim is at the fund: the stop waits for it
and the claim is APPROVED. Then the container powers off.

Skipped, with the reason printed, where the machine cannot do it (not root, no systemd-nspawn,
no overlay mount, a container that does not boot).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
SITE = next((BIN.parent / "lib").glob("python3*/site-packages"))
NSPAWN = shutil.which("systemd-nspawn")
SYSTEM_PYTHON = "/usr/bin/python3"
MID, TID = 2187, 1

CHECK = """#!/bin/sh
# Runs inside the container once claimbridge.service is up; writes what it saw to /var/tmp/check.
CB="/opt/claimbridge/.venv/bin/claimbridge --config /etc/claimbridge/claimbridge.toml"
out=/var/tmp/check
{{
  echo "active=$(systemctl is-active claimbridge)"
  echo "status=$(systemctl show -P StatusText claimbridge)"
  echo "watchdog=$(systemctl show -P WatchdogUSec claimbridge)"
  $CB pair front-desk --mid {mid} --tid {tid} --token-file /var/lib/claimbridge/token > /var/tmp/pair 2>&1 &
  pair=$!
  for i in $(seq 1 100); do
    {python} -c "import urllib.request as u; u.urlopen(u.Request('{sim}/_sim/terminals/{mid}/{tid}/authorise', method='POST'))" 2>/dev/null && break
    sleep 0.1
  done
  wait $pair
  echo "pair=$(tail -1 /var/tmp/pair)"
  echo "claim=$($CB call healthpoint.claim '{claim}' --answer accept --field result.result --token-file /var/lib/claimbridge/token 2>/var/tmp/claim.err)"
  sleep 1
  echo "status_after=$(systemctl show -P StatusText claimbridge)"
  echo "still_active=$(systemctl is-active claimbridge)"
  echo "restarts=$(systemctl show -P NRestarts claimbridge)"
  journalctl -u claimbridge -o cat -n 20 --no-pager > /var/tmp/daemon.log 2>&1
  # journald got each line's priority and kept bare JSON (docs/operations.md's commands)
  echo "first_line=$(journalctl -u claimbridge -o cat | grep -m1 '^{{' | cut -c1-8)"
  echo "ready_priority=$(journalctl -u claimbridge -o json | {python} -c 'import sys, json; print([json.loads(l)["PRIORITY"] for l in sys.stdin if "ready: ws" in l][0])')"
  # a stop waits for the running claim: the fund answers after 4 s, the stop is asked while it runs
  {python} /usr/local/bin/slow-fund
  $CB call healthpoint.claim '{claim2}' --answer accept --field result.result --token-file /var/lib/claimbridge/token > /var/tmp/claim2 2>&1 &
  claim2=$!
  for i in $(seq 1 60); do  # until the claim is running (at the fund)
    # a job's line ("... claim  front-desk  running"), not "no jobs in state running"
    $CB jobs --state running --token-file /var/lib/claimbridge/token 2>/dev/null | grep -qE "front-desk +running" && break
    sleep 0.2
  done
  start=$(date +%s)
  timeout 120 systemctl stop claimbridge
  echo "stop_seconds=$(( $(date +%s) - start ))"
  wait $claim2
  echo "claim2=$(tail -1 /var/tmp/claim2)"
  echo "stopped=$(systemctl is-active claimbridge)"
}} > $out 2>&1
"""

CHECK_UNIT = """[Unit]
Description=checks claimbridge from inside the container, then powers off
After=claimbridge.service
# Wants, not Requires: it stops claimbridge itself and must live on to record what followed.
Wants=claimbridge.service

[Service]
Type=oneshot
ExecStart=/usr/local/bin/claimbridge-check
ExecStopPost=/bin/systemctl --no-block poweroff
TimeoutStartSec=150

[Install]
WantedBy=multi-user.target
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _skip(reason: str) -> None:
    print(f"SKIPPED: {reason}")
    pytest.skip(reason)


@pytest.fixture
def overlay(tmp_path: Path) -> Iterator[Path]:
    if os.geteuid() != 0:
        _skip("running the unit under systemd-nspawn needs root")
    if NSPAWN is None:
        _skip("systemd-nspawn is not installed (Debian's systemd-container)")
    if not os.access(SYSTEM_PYTHON, os.X_OK):
        _skip(f"{SYSTEM_PYTHON} is missing: the unit's venv is made with Debian's Python")
    base = Path("/var/tmp") / f"claimbridge-nspawn-{uuid.uuid4().hex[:8]}"  # not under /tmp: the container mounts its own
    upper, work, merged = base / "upper", base / "work", base / "merged"
    for d in (upper, work, merged):
        d.mkdir(parents=True)
    mounted = subprocess.run(["mount", "-t", "overlay", "overlay", "-o",
                              f"lowerdir=/,upperdir={upper},workdir={work}", str(merged)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        shutil.rmtree(base, ignore_errors=True)
        _skip(f"cannot mount an overlay of / here: {mounted.stderr.strip()}")
    try:
        yield merged
    finally:
        subprocess.run(["umount", "-l", str(merged)], capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


#: Where the checkout is seen inside the container: not under /tmp, which the unit's PrivateTmp
#: hides (a CI clone may live there).
INSIDE = Path("/opt/claimbridge-checkout")


def _inside(path: Path) -> Path:
    """``path`` (the checkout, or its venv's packages) as the container sees it."""
    return INSIDE / path.relative_to(ROOT) if path.is_relative_to(ROOT) else path


def _binds() -> list[str]:
    binds = [f"--bind-ro={ROOT}:{INSIDE}"]
    if not SITE.is_relative_to(ROOT):
        binds.append(f"--bind-ro={SITE}")
    return binds


def _install(root: Path, port: int, sim: str) -> None:
    """docs/operations.md's install, into the container's root: the venv (Debian's Python, this
    checkout's packages through a .pth), the user, the config, the unit."""
    venv = root / "opt/claimbridge/.venv"
    subprocess.run([SYSTEM_PYTHON, "-m", "venv", "--without-pip", str(venv)], check=True)
    site = next((venv / "lib").glob("python3*")) / "site-packages"
    (site / "claimbridge-checkout.pth").write_text(f"{_inside(ROOT)}\n{_inside(SITE)}\n")
    (venv / "bin/claimbridge").write_text(
        "#!/opt/claimbridge/.venv/bin/python\nimport sys\nfrom bridge.cli import main\nsys.exit(main())\n")
    (venv / "bin/claimbridge").chmod(0o755)
    subprocess.run(["chroot", str(root), "useradd", "--system", "--home-dir", "/var/lib/claimbridge",
                    "--shell", "/usr/sbin/nologin", "claimbridge"], check=True, capture_output=True)
    (root / "etc/claimbridge").mkdir(parents=True, exist_ok=True)
    (root / "etc/claimbridge/claimbridge.toml").write_text(
        f'listen = "127.0.0.1:{port}"\niclient_url = "{sim}/iclient-v1.js"\n'
        f'[terminals.front-desk]\nmid = {MID}\ntid = {TID}\n')
    (root / "etc/machine-id").unlink(missing_ok=True)
    units = root / "etc/systemd/system"
    shutil.copy(ROOT / "systemd/claimbridge.service", units / "claimbridge.service")
    (units / "claimbridge-check.service").write_text(CHECK_UNIT)
    wants = units / "multi-user.target.wants"
    wants.mkdir(exist_ok=True)
    # The host's own services (brokers, databases, epmd) would boot too, on the host's network:
    # slow, and in the way of the tests that start their own. Only the units under test run.
    for folder in (wants, units / "sockets.target.wants"):
        for enabled in folder.glob("*") if folder.is_dir() else ():
            enabled.unlink()
    for name in ("claimbridge.service", "claimbridge-check.service"):
        (wants / name).unlink(missing_ok=True)
        (wants / name).symlink_to(f"/etc/systemd/system/{name}")
    claim = json.dumps({"requestId": "nspawn-1", "terminal": "front-desk", "providerId": "2159081W",
                        "serviceType": "P", "items": [{"claimAmount": 10000, "serviceCode": "500",
                        "description": "Assessment Consult", "serviceReference": "01", "patientId": "02",
                        "serviceDate": time.strftime("%Y-%m-%d")}]})
    check = root / "usr/local/bin/claimbridge-check"
    claim2 = claim.replace("nspawn-1", "nspawn-2")
    check.write_text(CHECK.format(mid=MID, tid=TID, sim=sim, claim=claim, claim2=claim2, python=SYSTEM_PYTHON))
    check.chmod(0o755)
    (root / "usr/local/bin/slow-fund").write_text(
        "import json, urllib.request as u\n"
        f"u.urlopen(u.Request({sim + '/_sim/scenario'!r}, data=json.dumps({{'fundDelayMs': 4000}}).encode(),\n"
        "          headers={'Content-Type': 'application/json'}, method='POST'))\n")


def test_the_unit_under_real_systemd(overlay: Path, tmp_path: Path) -> None:
    port, sim_port = _free_port(), _free_port()
    sim_url = f"http://127.0.0.1:{sim_port}"
    sim = subprocess.Popen([str(BIN / "claimbridge-sim"), "--port", str(sim_port)], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                if httpx.get(f"{sim_url}/_sim/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        _install(overlay, port, sim_url)
        container = subprocess.Popen(
            [str(NSPAWN), "--quiet", f"--directory={overlay}", *_binds(), "--register=no", "--keep-unit", "--link-journal=no",
             f"--uuid={uuid.uuid4().hex}", "--boot"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            out, err = container.communicate(timeout=200)
        except subprocess.TimeoutExpired:
            container.terminate()  # nspawn asks the container's systemd to power off
            try:
                out, err = container.communicate(timeout=60)
            except subprocess.TimeoutExpired:
                container.kill()
                out, err = container.communicate()
        boot = subprocess.CompletedProcess(container.args, container.returncode, out, err)
    finally:
        sim.terminate()
        sim.wait(timeout=30)
    console = boot.stdout[-4000:] + boot.stderr[-2000:]
    result = overlay / "var/tmp/check"
    if not result.exists():
        if "Started" not in boot.stdout:
            _skip(f"the container did not boot here: {console[-500:]}")
        raise AssertionError(f"the checker did not run:\n{console}")
    seen = dict(line.split("=", 1) for line in result.read_text().splitlines() if "=" in line)
    print(seen)
    daemon_log = overlay / "var/tmp/daemon.log"
    assert seen.get("active") == "active", (seen, daemon_log.read_text() if daemon_log.exists() else console)
    assert seen.get("watchdog") == "30s", seen
    assert "front-desk" in seen.get("status", ""), seen
    assert seen.get("pair", "").startswith("success"), (seen, (overlay / "var/tmp/pair").read_text())
    assert seen.get("claim") == "APPROVED", (seen, (overlay / "var/tmp/claim.err").read_text())
    assert seen.get("still_active") == "active" and seen.get("restarts") == "0", seen
    assert seen.get("first_line", "").startswith('{"ts":'), seen  # `journalctl -o cat | jq .` reads it
    assert seen.get("ready_priority") == "6", seen
    assert int(seen.get("stop_seconds", "0")) >= 1 and seen.get("claim2") == "APPROVED", seen
    assert seen.get("stopped") == "inactive", seen
