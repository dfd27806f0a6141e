"""The engineers' console in real headless Chromium (Playwright async API) against a harness daemon."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, Page, async_playwright
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from bridge.jobs import JobKind, JobState
from tests.daemon_harness import FRONT_DESK, Running, Sim, claim_request, make_settings, start_daemon, stop_daemon

pytestmark = pytest.mark.e2e

CHROMIUM = "/usr/bin/chromium-headless-shell"
ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"


@pytest.fixture
async def unpaired(tmp_path: Path, sim: Sim) -> AsyncIterator[Running]:
    running = await start_daemon(make_settings(tmp_path, sim, transaction_timeout_s=20), sim)
    yield running
    await stop_daemon(running)


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as pw:
        b = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        await b.close()


async def _shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / f"console-{name}.png"), full_page=True)


async def test_console_login_pair_claim_resolve(unpaired: Running, browser: Browser) -> None:
    daemon = unpaired.daemon
    assert daemon.server is not None and daemon.journal is not None
    base = f"http://127.0.0.1:{daemon.server.port}"
    context = await browser.new_context()
    context.set_default_timeout(20_000)
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    await page.goto(f"{base}/console/")

    # a wrong token is refused, the right one logs in
    await page.get_by_label("Token").fill("not-the-token")
    await page.get_by_role("button", name="Log in").click()
    await page.wait_for_selector("#login-error:text('refused')")
    await _shot(page, "1-login-refused")
    await page.get_by_label("Token").fill(daemon.token)
    await page.get_by_role("button", name="Log in").click()
    await page.wait_for_selector("body[data-ready=true]")
    assert await page.is_hidden("#login")
    await page.wait_for_selector("#terminals tr[data-terminal=front-desk]")
    await page.wait_for_selector("#system dt:text('POS product')")

    # pair front-desk: the engineer presses "Authorise POS" on the (simulated) terminal
    name, mid, tid = FRONT_DESK
    await page.get_by_label("Terminal name").fill(name)
    await page.get_by_label("Merchant ID (MID)").fill(str(mid))
    await page.get_by_label("Terminal ID (TID)").fill(str(tid))
    await page.get_by_role("button", name="Pair", exact=True).click()
    await page.wait_for_selector("#pair-countdown:text('s left')")
    await _shot(page, "2-pairing")
    for _ in range(200):
        if await unpaired.sim.authorise(mid, tid) < 300:
            break
        await asyncio.sleep(0.05)
    await page.wait_for_selector("#pair-progress[data-status=success]")
    assert await page.is_hidden("#pair-retry")
    await page.wait_for_selector("#terminals tr[data-terminal=front-desk] td:nth-child(4):text('yes')")
    assert (await daemon.journal.pairing(name)) is not None
    await _shot(page, "3-paired")

    # a claim made by the PMS appears live in the job list
    client = await unpaired.client()
    job = await client.call("healthpoint.claim", claim_request(requestId="console-claim-1"))
    assert job["state"] == "completed"
    await page.wait_for_selector(f"#jobs tr[data-job-id='{job['jobId']}'][data-state=completed]")
    await _shot(page, "4-claim")

    # an unknown job (as a crash mid-claim leaves it) is resolved with a note
    record, _ = await daemon.journal.create_job(
        kind=JobKind.CLAIM, request_id="console-unknown-1", terminal=name,
        request=claim_request(requestId="console-unknown-1"),
    )
    await daemon.journal.move(record.job_id, JobState.RUNNING)
    await daemon.journal.move(record.job_id, JobState.UNKNOWN, error={"message": "browser died mid-claim"})
    await page.get_by_label("State").select_option("unknown")
    await page.get_by_role("button", name="Apply filters").click()
    row = f"#jobs tr[data-job-id='{record.job_id}'][data-state=unknown]"
    await page.wait_for_selector(row)
    await page.get_by_role("button", name=f"Resolve job {record.job_id}").click()
    await page.get_by_label("What happened").select_option("notProcessed")
    await page.get_by_label("Note (required: how you found out)").fill("Not on the reconciliation report; re-presented.")
    await _shot(page, "5-resolve-form")
    await page.get_by_role("button", name="Resolve job", exact=True).click()
    await page.wait_for_selector("#jobs-live:text('resolved')")
    resolved = await daemon.journal.get(record.job_id)
    assert resolved.state is JobState.RESOLVED
    assert await page.is_hidden("#resolve")
    await _shot(page, "6-resolved")

    # logs are shown; a reload stays logged in through the cookie
    await page.get_by_role("button", name="Refresh logs").click()
    await page.wait_for_selector("#logs tbody tr")
    await page.reload()
    await page.wait_for_selector("body[data-ready=true]")
    assert await page.is_hidden("#login")
    cookies = await context.cookies()
    cookie = next(c for c in cookies if c["name"] == "claimbridge_token")
    assert cookie["sameSite"] == "Strict" and cookie["path"] == "/"
    await _shot(page, "7-reloaded")
    await context.close()
    assert errors == []


async def test_pairing_timeout_offers_retry(tmp_path: Path, sim: Sim, browser: Browser) -> None:
    running = await start_daemon(make_settings(tmp_path, sim, pairing_timeout_s=1), sim)
    try:
        base = f"http://127.0.0.1:{running.daemon.server.port}"  # type: ignore[union-attr]
        context = await browser.new_context()
        await context.add_cookies([{"name": "claimbridge_token", "value": running.daemon.token, "url": base}])
        page = await context.new_page()
        await page.goto(f"{base}/console/")
        await page.wait_for_selector("body[data-ready=true]")
        await page.get_by_label("Merchant ID (MID)").fill("2187")
        await page.get_by_label("Terminal ID (TID)").fill("1")
        await page.get_by_role("button", name="Pair", exact=True).click()  # nobody presses Authorise
        await page.wait_for_selector("#pair-progress[data-status=failure]", timeout=30_000)
        assert "timed out" in (await page.text_content("#pair-message") or "")
        assert await page.is_visible("#pair-retry")
        await _shot(page, "8-pairing-timeout")
        await context.close()
    finally:
        await stop_daemon(running)


async def test_cookie_origin_and_logs_access(unpaired: Running) -> None:
    daemon = unpaired.daemon
    assert daemon.server is not None
    base = f"http://127.0.0.1:{daemon.server.port}"
    cookie = {"Cookie": f"claimbridge_token={daemon.token}"}
    async with httpx.AsyncClient(base_url=base, timeout=10) as http:
        assert (await http.get("/console/logs.json")).status_code == 401
        assert (await http.get("/console/info.json", headers={"Cookie": "claimbridge_token=wrong"})).status_code == 401
        r = await http.get("/console/logs.json", headers=cookie)
        assert r.status_code == 200 and isinstance(r.json(), list)
        assert daemon.token not in r.text
        assert (await http.get("/console/")).status_code == 200
        assert (await http.get("/console/../token")).status_code == 404
    # the cookie opens /v1 from the console's own origin, never from another site
    async with connect(daemon.url, additional_headers={**cookie, "Origin": base}) as ws:
        await ws.send('{"jsonrpc":"2.0","id":1,"method":"terminal.list"}')
        assert '"result"' in await ws.recv()
    with pytest.raises(InvalidStatus) as refused:
        async with connect(daemon.url, additional_headers={**cookie, "Origin": "http://evil.example"}):
            pass
    assert refused.value.response.status_code == 403
