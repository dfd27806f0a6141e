"""An unknown job's page in the console, in real headless Chromium: the fund's error in its own
words, what the evidence is, the next steps, and the resolve form with no outcome chosen; a
voided claim shows no benefit; the job list at 420 px keeps every column on screen; ``/``
leads to the console. Screenshots at 1280 px and 420 px go to tests/artifacts/."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, Page, async_playwright

from tests.daemon_harness import Running, claim_request

pytestmark = pytest.mark.e2e

CHROMIUM = "/usr/bin/chromium-headless-shell"
ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as pw:
        b = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        await b.close()


async def _open_console(browser: Browser, base: str, token: str, width: int) -> Page:
    async with httpx.AsyncClient(base_url=base, timeout=10) as http:
        r = await http.get("/console/session", headers={"Authorization": f"Bearer {token}"})
        session = str(r.cookies["claimbridge_session"])
    context = await browser.new_context(viewport={"width": width, "height": 900})
    context.set_default_timeout(20_000)
    await context.add_cookies([{"name": "claimbridge_session", "value": session, "url": base}])
    page = await context.new_page()
    await page.goto(f"{base}/")  # the bare address leads to the console
    await page.wait_for_selector("body[data-ready=true]")
    assert page.url == f"{base}/console/"
    return page


async def test_an_unknown_jobs_page_says_why_and_what_to_do(daemon: Running, browser: Browser) -> None:
    server = daemon.daemon.server
    assert server is not None
    base = f"http://127.0.0.1:{server.port}"
    pms = await daemon.client()
    # The fund is silent and the terminal's autovoid fails: the claim's outcome is unknown.
    silent = await pms.call("healthpoint.claim", claim_request(
        requestId="unknown-1", items=[{**claim_request()["items"][0], "claimAmount": 1015}]))
    assert silent["state"] == "unknown", silent
    voided = await pms.call("healthpoint.claim", claim_request(requestId="voided-1"))
    cancel = await pms.call("healthpoint.cancel", {"requestId": "voided-1-cancel", "claimJobId": voided["jobId"]})
    assert cancel["result"]["result"] == "CANCELLED", cancel

    for width in (1280, 420):
        page = await _open_console(browser, base, daemon.daemon.token, width)
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        # the list: the voided claim shows no benefit and no gap; short ids, whole on hover
        row = page.locator(f"#jobs tr[data-job-id='{voided['jobId']}']")
        await row.wait_for()
        assert "none (voided)" in await row.inner_text()
        assert "$120.60" not in await row.inner_text() and "$80.40" not in await row.inner_text()
        assert await page.evaluate("document.documentElement.scrollWidth") <= width
        # the unknown job's page, opened from its Resolve button
        await page.get_by_role("button", name=f"Resolve job {silent['jobId']}").click()
        await page.wait_for_selector(f"#job-detail[data-job-id='{silent['jobId']}'][data-ready=true]")
        error = await page.text_content("#job-next [data-fact=unknown-error]") or ""
        assert "1015 Error on Autovoid" in error, error
        evidence = await page.inner_text("#job-next [data-fact=evidence]")
        assert evidence.strip(), evidence
        steps = [s.strip() for s in await page.locator("#job-next [data-fact=next-steps] li").all_inner_texts()]
        assert [s.split(":")[0] for s in steps] == ["Reconcile", "Look at the terminal", "Resolve"], steps
        assert await page.is_visible("#job-detail #resolve-form")
        assert await page.eval_on_selector("#resolve-outcome", "s => s.value") == ""  # no outcome chosen
        assert await page.evaluate("document.documentElement.scrollWidth") <= width
        ARTIFACTS.mkdir(exist_ok=True)
        await page.locator("#job-detail").screenshot(path=str(ARTIFACTS / f"console-unknown-job-{width}.png"))
        # the form will not resolve until an outcome is chosen
        await page.get_by_label("Note (required: how you found out)").fill("looked at the terminal")
        await page.get_by_role("button", name="Resolve job", exact=True).click()
        assert (await daemon.daemon.journal.get(silent["jobId"])).state.value == "unknown"  # type: ignore[union-attr]
        assert errors == []
        await page.context.close()


async def test_the_bare_address_redirects_and_nothing_else_is_caught(daemon: Running) -> None:
    server = daemon.daemon.server
    assert server is not None
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}", timeout=10) as http:
        root = await http.get("/")
        assert root.status_code == 302 and root.headers["location"] == "/console/"
        assert (await http.get("/no-such-page")).status_code == 404
        assert (await http.get("/healthz")).status_code == 200
        assert (await http.get("/console/")).status_code == 200
