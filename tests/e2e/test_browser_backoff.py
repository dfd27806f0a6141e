"""A browser that dies right after each launch is relaunched with a growing delay, not at once
(INTERFACES.md "Installing and running anywhere"; under a strict syscall filter Chromium died at
launch and the daemon relaunched it 535 times in 2 minutes).

The browser is a script around Debian's real chromium-headless-shell: its first launch stays up
(so the daemon starts), every later one is killed half a second after it starts. The script
writes the time of each launch; a real ``claimbridge run`` runs on it for a few seconds."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

BIN = Path(sys.executable).parent
# The binary itself: Debian's /usr/bin/chromium-headless-shell is a shell script that runs it as
# a child, so killing the script would leave the browser up.
CHROMIUM = next((p for p in ("/usr/lib/chromium/chromium-headless-shell", shutil.which("chromium-headless-shell"))
                 if p and os.access(p, os.X_OK)), "/usr/lib/chromium/chromium-headless-shell")

WRAPPER = """#!/bin/sh
# A Chromium that dies 0.5 s after every launch but the first.
python3 -c 'import time; print(time.monotonic())' >> "{launches}"
if [ "$(wc -l < "{launches}")" -eq 1 ]; then echo $$ > "{first}"; exec "{chromium}" "$@"; fi
"{chromium}" "$@" &
sleep 0.5
kill -9 $!
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_browser_that_keeps_dying_is_relaunched_ever_more_slowly(tmp_path: Path) -> None:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(f"{CHROMIUM} is not installed (make browser)")
    launches = tmp_path / "launches"
    wrapper = tmp_path / "dying-chromium"
    first = tmp_path / "first.pid"
    wrapper.write_text(WRAPPER.format(launches=launches, first=first, chromium=CHROMIUM))
    wrapper.chmod(0o755)
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("CLAIMBRIDGE_")},
           "CLAIMBRIDGE_LISTEN": f"127.0.0.1:{_free_port()}", "CLAIMBRIDGE_STATE_DIR": str(tmp_path / "var"),
           "CLAIMBRIDGE_BROWSER__EXECUTABLE_PATH": str(wrapper)}
    log = tmp_path / "daemon.log"
    with log.open("w") as out:
        proc = subprocess.Popen([str(BIN / "claimbridge"), "run"], cwd=tmp_path, env=env, stdout=out, stderr=out)
    try:
        deadline = time.monotonic() + 60
        while "claimbridge ready:" not in log.read_text():
            assert proc.poll() is None and time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.1)
        # The first browser stays up: kill it (its pid, the script's, which exec kept), as a crash
        # would; every later one dies by itself.
        os.kill(int(first.read_text()), 9)
        time.sleep(12)
    finally:
        proc.terminate()
        proc.wait(timeout=60)
    times = [float(t) for t in launches.read_text().split()]
    relaunches = times[1:]
    gaps = [b - a for a, b in zip(relaunches, relaunches[1:])]
    text = log.read_text()
    # At once it would be a launch about every second (0.5 s up, the launch itself): 12 or more.
    # Backing off 0.25 s, 0.5 s, 1 s, 2 s, 4 s on top: about 6.
    assert 3 <= len(relaunches) <= 8, (times, text[-3000:])
    assert gaps[-1] > gaps[0] + 1.0, (gaps, text[-3000:])
    assert "relaunching the browser in" in text
    assert "Traceback" not in text


LIVES = """#!/bin/sh
# A Chromium that lives {seconds} s after each launch, then dies.
python3 -c 'import time; print(time.monotonic())' >> "{launches}"
"{chromium}" "$@" &
sleep {seconds}
kill -9 $!
"""


async def _relaunches(tmp_path: Path, lives_s: float, stable_after_s: float, watch_s: float) -> list[float]:
    """Launch times of a real Browser (bridge.browser.page) on a Chromium that dies after
    ``lives_s``, relaunched by its crash handler for ``watch_s`` seconds."""
    import asyncio

    from bridge.browser.page import Browser

    launches = tmp_path / f"launches-{lives_s}-{stable_after_s}"
    wrapper = tmp_path / f"chromium-{lives_s}-{stable_after_s}"
    wrapper.write_text(LIVES.format(seconds=lives_s, launches=launches, chromium=CHROMIUM))
    wrapper.chmod(0o755)
    browser: Browser

    async def crashed() -> None:
        await browser.relaunch()

    browser = Browser(str(wrapper), on_crash=crashed, stable_after_s=stable_after_s)
    async with browser:
        await asyncio.sleep(watch_s)
    return [float(t) for t in launches.read_text().split()]


async def test_a_browser_that_stayed_up_long_enough_is_relaunched_at_once_again(tmp_path: Path) -> None:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(f"{CHROMIUM} is not installed (make browser)")
    # Up 1 s each time, stable after 0.5 s: every crash is a first crash, relaunched at once, so
    # the gaps stay those of its life and launch (no 0.25, 0.5, 1, 2 s added one after another).
    stable = await _relaunches(tmp_path, lives_s=1.0, stable_after_s=0.5, watch_s=10.0)
    gaps = [b - a for a, b in zip(stable, stable[1:])]
    assert len(stable) >= 5, stable
    # (a loaded machine makes each launch take 1-2 s, unevenly: compare ends, not single gaps)
    assert sum(gaps[-2:]) / 2 < sum(gaps[:2]) / 2 + 1.0, gaps
    # The same browser counted as never stable (stable only after 60 s): the delays grow.
    growing = await _relaunches(tmp_path, lives_s=1.0, stable_after_s=60.0, watch_s=15.0)
    grown = [b - a for a, b in zip(growing, growing[1:])]
    assert grown[-1] > grown[0] + 1.0, (grown, gaps)
