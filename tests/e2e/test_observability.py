"""/metrics, JSON logs and secret masking on a harness daemon after a real claim."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bridge.daemon import package_version
from bridge.observability import JOURNAL_REFRESH_S, RENDER_REUSE_S, SCRAPE_INTERVAL_S, configure_logging
from tests.daemon_harness import FRONT_DESK, Sim, claim_request, make_settings, start_daemon, stop_daemon

pytestmark = pytest.mark.e2e


@pytest.fixture
def cli_like_handler() -> Iterator[io.StringIO]:
    """JSON lines on the root logger, as ``claimbridge run`` sets them up."""
    stream = io.StringIO()
    root = logging.getLogger()
    level = root.level
    handler = configure_logging("DEBUG", stream)
    yield stream
    root.removeHandler(handler)
    root.setLevel(level)


PROMTOOL = shutil.which("promtool")


def _check_metrics_text(text: str) -> None:
    """``promtool check metrics`` (Debian's prometheus, installed by make test) passes; without
    promtool, the conventions it checks that matter here are checked by hand (and said so)."""
    if PROMTOOL is not None:
        done = subprocess.run([PROMTOOL, "check", "metrics"], input=text, capture_output=True, text=True, timeout=30)
        assert done.returncode == 0, done.stdout + done.stderr
        return
    print("promtool not installed (make test installs Debian's prometheus): checking the conventions by hand")
    for family in text_string_to_metric_families(text):
        assert family.documentation, f"{family.name} has no HELP"
        if family.type == "counter":
            assert all(s.name.endswith("_total") for s in family.samples), family.name
        assert "__" not in family.name and family.name == family.name.lower(), family.name


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


async def test_metrics_json_logs_and_no_token(
    tmp_path: Path, sim: Sim, cli_like_handler: io.StringIO, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    running = await start_daemon(make_settings(tmp_path, sim, transaction_timeout_s=20), sim)
    daemon = running.daemon
    token = daemon.token
    try:
        assert (await running.pair(*FRONT_DESK))["status"] == "success"
        c = await running.client()
        job = await c.call("healthpoint.claim", claim_request(requestId="obs-1"))
        assert job["state"] == "completed"
        leak = logging.getLogger("claimbridge.test")
        leak.warning("a careless line: %s / Authorization: Bearer %s / password=%s", token, token, "hunter2hunter2")

        base = f"http://127.0.0.1:{daemon.server.port}"  # type: ignore[union-attr]
        async with httpx.AsyncClient(base_url=base, timeout=10) as http:
            # No token: metrics hold no secrets. Job counts come from the daemon's last count of the
            # journal (redone off the scrape's path at most every JOURNAL_REFRESH_S): poll for it.
            deadline = asyncio.get_running_loop().time() + 4 * JOURNAL_REFRESH_S
            while True:
                r = await http.get("/metrics")
                if _samples(r.text).get(("claimbridge_jobs", (("kind", "claim"), ("state", "completed")))) == 1:
                    break
                assert asyncio.get_running_loop().time() < deadline, r.text
                await asyncio.sleep(0.5)
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/plain; version=0.0.4")
        m = _samples(r.text)
        assert m[("claimbridge_jobs", (("kind", "claim"), ("state", "completed")))] == 1
        assert m[("claimbridge_claim_duration_seconds_count", (("outcome", "completed"),))] == 1
        assert m[("claimbridge_claim_duration_seconds_sum", (("outcome", "completed"),))] > 0
        assert m[("claimbridge_terminal_paired", (("terminal", "front-desk"),))] == 1
        assert m[("claimbridge_terminal_busy", (("terminal", "front-desk"),))] == 0
        assert m[("claimbridge_terminal_page_ready", (("terminal", "front-desk"),))] == 1
        assert m[("claimbridge_browser_up", ())] == 1
        assert m[("claimbridge_browser_restarts_total", ())] == 0
        assert m[("claimbridge_journal_size_bytes", ())] > 0
        assert m[("claimbridge_ready", ())] == 1
        assert m[("claimbridge_build_info", (("version", package_version()),))] == 1
        assert m[("process_resident_memory_bytes", ())] > 0 and ("python_info" in r.text)
        assert "_created" not in r.text
        _check_metrics_text(r.text)
        assert token not in r.text

        assert daemon.observability is not None
        recent = daemon.observability.recent.snapshot()
        assert recent and any(rec.get("jobId") == job["jobId"] for rec in recent)
        assert token not in json.dumps(recent)
    finally:
        await stop_daemon(running)

    text = cli_like_handler.getvalue()
    lines = [json.loads(line) for line in text.splitlines()]  # every line is one JSON object
    assert lines and all({"ts", "level", "logger", "msg"} <= set(obj) for obj in lines)
    job_lines = [obj for obj in lines if obj.get("jobId") == job["jobId"]]
    assert {obj.get("state") for obj in job_lines} >= {"queued", "running", "completed"}
    assert all(obj.get("requestId") == "obs-1" for obj in job_lines if obj["logger"] == "claimbridge.jobs")
    assert token not in text and "hunter2hunter2" not in text
    assert token not in caplog.text and "hunter2hunter2" not in caplog.text
    assert any("a careless line" in obj["msg"] for obj in lines)


async def test_metrics_scrapers_in_a_loop_are_served_at_a_bounded_rate_and_see_fresh_figures(
    tmp_path: Path, sim: Sim
) -> None:
    """Twenty clients scraping /metrics in a loop: the daemon serves at most one scrape per
    SCRAPE_INTERVAL_S (the others wait their turn, none is refused), and a scrape that starts
    after a claim ended shows it (the page is at most RENDER_REUSE_S old)."""
    running = await start_daemon(make_settings(tmp_path, sim, transaction_timeout_s=20), sim)
    daemon = running.daemon
    try:
        assert (await running.pair(*FRONT_DESK))["status"] == "success"
        c = await running.client()
        base = f"http://127.0.0.1:{daemon.server.port}"  # type: ignore[union-attr]
        loop = asyncio.get_running_loop()
        served: list[tuple[float, float, int, str]] = []  # (asked, answered, status, body)
        stop = asyncio.Event()

        async def scrape() -> None:
            async with httpx.AsyncClient(base_url=base, timeout=30) as http:
                while not stop.is_set():
                    asked = loop.time()
                    r = await http.get("/metrics")
                    served.append((asked, loop.time(), r.status_code, r.text))

        scrapers = [asyncio.create_task(scrape()) for _ in range(20)]
        await asyncio.sleep(1.0)
        job = await c.call("healthpoint.claim", claim_request(requestId="obs-paced"))
        assert job["state"] == "completed"
        claimed = loop.time()
        await asyncio.sleep(3 * RENDER_REUSE_S + 20 * SCRAPE_INTERVAL_S)
        stop.set()
        await asyncio.gather(*scrapers)
    finally:
        await stop_daemon(running)

    assert served and {status for _, _, status, _ in served} == {200}  # waited their turn, never refused
    # The first was served after it was asked, the last answered after it was served, and
    # between them each scrape took its interval: the count is bounded whatever the scheduling.
    first, last = min(a for a, _, _, _ in served), max(a for _, a, _, _ in served)
    assert len(served) <= (last - first) / SCRAPE_INTERVAL_S + 1  # one per interval at most
    assert len(served) >= 5  # and they were served
    fresh = [text for asked, _, _, text in served if asked >= claimed + RENDER_REUSE_S + 0.1]
    assert fresh, "no scrape started after the claim"
    for text in fresh:
        assert _samples(text)[("claimbridge_claim_duration_seconds_count", (("outcome", "completed"),))] == 1
        assert _samples(text)[("claimbridge_terminal_busy", (("terminal", "front-desk"),))] == 0
