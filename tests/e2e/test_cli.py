"""The ``claimbridge`` commands as an engineer types them, against ``claimbridge run
--with-simulator`` in its own process (real simulator, real Chromium, real websockets): the
README tour pasted whole, plain one-line errors, ``doctor`` asking the running daemon."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class MakeRun:
    """``claimbridge run --with-simulator`` on free ports, as ``make run PORT=.. SIM_PORT=..`` starts it."""

    port: int
    sim_port: int
    state: Path
    proc: subprocess.Popen[str]

    @property
    def env(self) -> dict[str, str]:
        return {**os.environ, "CLAIMBRIDGE_LISTEN": f"127.0.0.1:{self.port}",
                "CLAIMBRIDGE_STATE_DIR": str(self.state)}

    def cli(self, *args: str, check: bool = False) -> subprocess.CompletedProcess[str]:
        done = subprocess.run([str(BIN / "claimbridge"), *args], env=self.env, cwd=self.state.parent,
                              capture_output=True, text=True, timeout=120)
        if check:
            assert done.returncode == 0, done.stderr
        return done


def start_make_run(tmp: Path, port: int | None = None, sim_port: int | None = None) -> MakeRun:
    state = tmp / "var"
    run = MakeRun(port or _free_port(), sim_port or _free_port(), state, None)  # type: ignore[arg-type]
    run.proc = subprocess.Popen(
        [str(BIN / "claimbridge"), "run", "--with-simulator", "--simulator-port", str(run.sim_port)],
        env=run.env, cwd=tmp, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert run.proc.stdout is not None
    deadline = time.monotonic() + 60
    for line in run.proc.stdout:
        if "pairing:" in line:
            assert "success" in line, line
            return run
        assert time.monotonic() < deadline, "claimbridge run did not pair within 60 s"
    raise AssertionError(f"claimbridge run exited with {run.proc.wait()}")


@pytest.fixture(scope="module")
def make_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MakeRun]:
    run = start_make_run(tmp_path_factory.mktemp("make-run"))
    yield run
    run.proc.terminate()
    run.proc.wait(timeout=30)


def _tour() -> str:
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## A 60-second tour"):]
    match = re.search(r"```sh\n(.*?)```", section, re.S)
    assert match is not None
    return match.group(1)


def test_the_readme_tour_runs_as_pasted(make_run: MakeRun) -> None:
    script = _tour().replace("B=.venv/bin", f"B={BIN}").replace("8730", str(make_run.sim_port))
    assert "<jobId" not in script and "sed " not in script
    done = subprocess.run(["bash", "-e", "-c", script], env=make_run.env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    out, err = done.stdout, done.stderr
    assert "Traceback" not in out + err
    assert "[FAIL]" not in out
    # the human summaries, one line per event, on stderr; the question answered as alice
    assert re.search(r"job \S+ claim running", err)
    assert re.search(r"job \S+: answered 'ACCEPT' as alice", err)
    assert re.search(r"claim completed: APPROVED, benefit \$120\.60, gap \$80\.40", err)
    assert '"request"' not in err, "a summary must not repeat the request"
    assert "CANCELLED" in out
    ledger = out.strip().splitlines()[-1]
    assert ledger.count('"kind": "claim"') == 2 and '"kind": "cancel"' in ledger


def test_a_second_make_run_says_the_port_is_in_use(make_run: MakeRun, tmp_path: Path) -> None:
    for port, sim_port, word in ((make_run.port, _free_port(), "PORT="), (_free_port(), make_run.sim_port, "SIM_PORT=")):
        env = {**os.environ, "CLAIMBRIDGE_LISTEN": f"127.0.0.1:{port}", "CLAIMBRIDGE_STATE_DIR": str(tmp_path / "v")}
        done = subprocess.run([str(BIN / "claimbridge"), "run", "--with-simulator", "--simulator-port", str(sim_port)],
                              env=env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 1
        assert "Traceback" not in done.stderr and "OSError" not in done.stderr
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and "is in use" in lines[0] and word in lines[0], done.stderr


def test_refusals_are_one_plain_line(make_run: MakeRun) -> None:
    done = make_run.cli("call", "healthpoint.claim", '{"requestId": "x", "items": []}')
    assert done.returncode == 1 and done.stdout == ""
    line = done.stderr.strip()
    assert "\n" not in line and "{'" not in line and "Traceback" not in line
    assert line.startswith("claimbridge: healthpoint.claim refused (-32602 Invalid params): ")
    assert "providerId is required" in line and "Fix these params" in line
    done = make_run.cli("call", "job.get", '{"jobId": "nope"}', "--json")
    assert done.returncode == 1 and '"code": -32002' in done.stdout
    done = make_run.cli("call", "no.such")
    assert "rpc.discover lists the methods" in done.stderr


def test_no_daemon_no_token_and_jobs_when_empty(make_run: MakeRun, tmp_path: Path) -> None:
    done = make_run.cli("call", "system.health", "--url", f"ws://127.0.0.1:{_free_port()}/v1")
    assert done.returncode == 3 and "no daemon is running" in done.stderr and "Errno" not in done.stderr
    done = make_run.cli("call", "system.health", "--token-file", str(tmp_path / "none"))
    assert done.returncode == 3 and "no token file" in done.stderr
    bad = tmp_path / "bad-token"
    bad.write_text("wrong\n")
    done = make_run.cli("call", "system.health", "--token-file", str(bad))
    assert done.returncode == 3 and "refused the token" in done.stderr
    done = make_run.cli("jobs", "--state", "resolved", check=True)
    assert done.stdout.strip() == "no jobs in state resolved"


def test_doctor_asks_the_running_daemon(make_run: MakeRun) -> None:
    done = make_run.cli("doctor", "--simulator-port", str(make_run.sim_port))
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert f"[ok  ] iClient URL: http://127.0.0.1:{make_run.sim_port}/iclient-v1.js" in out
    assert "[ok  ] healthcode sign-in:" in out and "accepted" in out
    assert "[ok  ] daemon's terminal front-desk" in out
    assert "[ok  ] daemon's healthcode sign-in" in out
    # without --simulator-port this config has no Healthcode, but the daemon does
    done = make_run.cli("doctor")
    assert "[skip] healthcode (this config): not configured" in done.stdout
    assert "[ok  ] daemon's healthcode sign-in" in done.stdout


def test_doctor_fails_a_wrong_healthcode_password(make_run: MakeRun, tmp_path: Path) -> None:
    pw = tmp_path / "pw"
    pw.write_text("not-the-password\n")
    pw.chmod(0o600)
    config = tmp_path / "claimbridge.toml"
    config.write_text(
        f'state_dir = "{tmp_path / "state"}"\niclient_url = "http://127.0.0.1:{make_run.sim_port}/iclient-v1.js"\n'
        f'[healthcode]\nurl = "http://127.0.0.1:{make_run.sim_port}/healthcode/"\nsite_id = "SIM001"\n'
        f'user_id = "claimbridge"\npassword_file = "{pw}"\n')
    done = subprocess.run([str(BIN / "claimbridge"), "--config", str(config), "doctor"], capture_output=True,
                          text=True, timeout=60, env={k: v for k, v in os.environ.items() if not k.startswith("CLAIMBRIDGE_")})
    assert done.returncode == 1
    assert "[FAIL] healthcode sign-in" in done.stdout, done.stdout
    assert "Traceback" not in done.stdout + done.stderr


def test_printed_results_fit_their_schemas(make_run: MakeRun) -> None:
    import json

    from tests.daemon_harness import validate_answer

    for method, params in (("terminal.list", None), ("system.health", None), ("job.list", '{"limit": 5}')):
        done = make_run.cli("call", method, *([params] if params else []), check=True)
        validate_answer(method, json.loads(done.stdout))
