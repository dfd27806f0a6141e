"""The engineers' console in real headless Chromium (Playwright async API) against a harness daemon."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from aiohttp import web
from playwright.async_api import Browser, Page, async_playwright
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from bridge.jobs import JobKind, JobState
from bridge.protocol import ClaimParams, JobError
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


async def _session(base: str, token: str) -> str:
    """Log in as the console does (token in a header once); return the session cookie's value."""
    async with httpx.AsyncClient(base_url=base, timeout=10) as http:
        r = await http.get("/console/session", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 200, r.text
        return str(r.cookies["claimbridge_session"])


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
        request=ClaimParams.model_validate(claim_request(requestId="console-unknown-1")),
    )
    await daemon.journal.move(record.job_id, JobState.RUNNING)
    await daemon.journal.move(record.job_id, JobState.UNKNOWN, error=JobError(message="browser died mid-claim"))
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
    cookie = next(c for c in cookies if c["name"] == "claimbridge_session")
    assert cookie["sameSite"] == "Strict" and cookie["path"] == "/" and cookie["httpOnly"] is True
    assert daemon.token not in cookie["value"]
    assert all(c["name"] != "claimbridge_token" for c in cookies)
    assert "claimbridge_session" not in await page.evaluate("document.cookie")
    await _shot(page, "7-reloaded")
    # logout forgets the session on the daemon's side
    await page.get_by_role("button", name="Log out").click()
    await page.wait_for_selector("#login:not([hidden])")
    assert not daemon.server.console_sessions.valid(cookie["value"])
    await context.close()
    assert errors == []


async def test_pairing_timeout_offers_retry(tmp_path: Path, sim: Sim, browser: Browser) -> None:
    running = await start_daemon(make_settings(tmp_path, sim, pairing_timeout_s=1), sim)
    try:
        base = f"http://127.0.0.1:{running.daemon.server.port}"  # type: ignore[union-attr]
        context = await browser.new_context()
        session = await _session(base, running.daemon.token)
        await context.add_cookies([{"name": "claimbridge_session", "value": session, "url": base}])
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


async def test_session_cookie_origin_and_logs_access(unpaired: Running) -> None:
    daemon = unpaired.daemon
    assert daemon.server is not None
    base = f"http://127.0.0.1:{daemon.server.port}"
    async with httpx.AsyncClient(base_url=base, timeout=10) as http:
        refused = await http.get("/console/session", headers={"Authorization": "Bearer wrong"})
        assert refused.status_code == 401 and "set-cookie" not in refused.headers
        login = await http.get("/console/session", headers={"Authorization": f"Bearer {daemon.token}"})
        assert login.status_code == 200
        set_cookie = login.headers["set-cookie"]
        assert "HttpOnly" in set_cookie and "SameSite=Strict" in set_cookie and "Path=/" in set_cookie
        assert daemon.token not in set_cookie
        session = str(login.cookies["claimbridge_session"])
    cookie = {"Cookie": f"claimbridge_session={session}"}
    async with httpx.AsyncClient(base_url=base, timeout=10) as http:
        assert (await http.get("/console/logs.json")).status_code == 401
        assert (await http.get("/console/info.json", headers={"Cookie": "claimbridge_session=wrong"})).status_code == 401
        # the old cookie, holding the token, opens nothing any more
        assert (await http.get("/console/info.json", headers={"Cookie": f"claimbridge_token={daemon.token}"})).status_code == 401
        r = await http.get("/console/logs.json", headers=cookie)
        assert r.status_code == 200 and isinstance(r.json(), list)
        assert daemon.token not in r.text
        page = await http.get("/console/")
        assert page.status_code == 200 and "frame-ancestors 'none'" in page.headers["content-security-policy"]
        assert (await http.get("/console/../token")).status_code == 404
    # the session opens /v1 from the console's own origin only; the token cookie never does
    async with connect(daemon.url, additional_headers={**cookie, "Origin": base}) as ws:
        await ws.send('{"jsonrpc":"2.0","id":1,"method":"terminal.list"}')
        assert '"result"' in await ws.recv()
    for headers in ({**cookie, "Origin": "http://127.0.0.1:1"}, {**cookie, "Origin": "http://evil.example"}, cookie,
                    {"Cookie": f"claimbridge_token={daemon.token}", "Origin": base}):
        with pytest.raises(InvalidStatus) as refused_ws:
            async with connect(daemon.url, additional_headers=headers):
                pass
        assert refused_ws.value.response.status_code == 401
    # logout forgets it
    async with httpx.AsyncClient(base_url=base, timeout=10) as http:
        out = await http.get("/console/logout", headers=cookie)
        assert "Max-Age=0" in out.headers["set-cookie"]
        assert (await http.get("/console/logs.json", headers=cookie)).status_code == 401


async def test_a_restart_forgets_console_sessions(tmp_path: Path, sim: Sim) -> None:
    first = await start_daemon(make_settings(tmp_path, sim), sim)
    session = await _session(f"http://127.0.0.1:{first.daemon.server.port}", first.daemon.token)  # type: ignore[union-attr]
    await stop_daemon(first)
    second = await start_daemon(make_settings(tmp_path, sim), sim)
    try:
        base = f"http://127.0.0.1:{second.daemon.server.port}"  # type: ignore[union-attr]
        async with httpx.AsyncClient(base_url=base, timeout=10) as http:
            r = await http.get("/console/logs.json", headers={"Cookie": f"claimbridge_session={session}"})
        assert r.status_code == 401
    finally:
        await stop_daemon(second)


async def test_a_page_on_another_port_can_neither_read_nor_use_the_session(unpaired: Running, browser: Browser) -> None:
    daemon = unpaired.daemon
    assert daemon.server is not None
    base = f"http://127.0.0.1:{daemon.server.port}"
    other = web.Application()

    async def evil(request: web.Request) -> web.Response:
        return web.Response(text=f'<!doctype html><title>other</title><iframe id="f" src="{base}/console/"></iframe>',
                            content_type="text/html")

    other.router.add_get("/", evil)
    runner = web.AppRunner(other)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        context = await browser.new_context()
        context.set_default_timeout(20_000)
        page = await context.new_page()
        await page.goto(f"{base}/console/")
        await page.get_by_label("Token").fill(daemon.token)
        await page.get_by_role("button", name="Log in").click()
        await page.wait_for_selector("body[data-ready=true]")
        assert "claimbridge_session" not in await page.evaluate("document.cookie")

        # same host, another port: same site, so the browser even sends the cookie, but the
        # page cannot read it and /v1 refuses its origin
        evil_page = await context.new_page()
        await evil_page.goto(f"http://127.0.0.1:{runner.addresses[0][1]}/")
        assert "claimbridge_session" not in await evil_page.evaluate("document.cookie")
        opened = await evil_page.evaluate(
            """url => new Promise(resolve => {
                const ws = new WebSocket(url, ["claimbridge.v1"]);
                ws.onopen = () => resolve("open");
                ws.onerror = () => resolve("refused");
            })""",
            daemon.url,
        )
        assert opened == "refused"
        # and the console cannot be framed (frame-ancestors 'none'): the frame holds no console
        await evil_page.wait_for_load_state("load")  # the frame has loaded (or been refused)
        frame = next(f for f in evil_page.frames if f != evil_page.main_frame)
        assert await frame.query_selector("#login-form") is None
        await _shot(evil_page, "9-framing-refused")
        await context.close()
    finally:
        await runner.cleanup()


async def test_job_view_in_aud_and_sydney_time(daemon: Running, browser: Browser) -> None:
    """A browser in the US on UTC still sees the clinic's story in AUD and Sydney time."""
    import json
    import re

    from tests.daemon_harness import validate_answer

    server = daemon.daemon.server
    assert server is not None
    base = f"http://127.0.0.1:{server.port}"
    pms = await daemon.client()
    claim = await pms.call("healthpoint.claim", claim_request(requestId="view-claim-1"))
    gap = await pms.call("payment.gap", {"requestId": "view-gap-1", "claimJobId": claim["jobId"]})
    second = await pms.call("healthpoint.claim", claim_request(
        requestId="view-claim-2", items=[{**claim_request()["items"][0], "claimAmount": 8000}]))
    cancel = await pms.call("healthpoint.cancel", {"requestId": "view-cancel-2", "claimJobId": second["jobId"]})
    # the fund is silent and the autovoid fails: unknown, then settled by hand as "never reached
    # the fund", though the fund's report shows it approved: a discrepancy to mark
    silent = await pms.call("healthpoint.claim", claim_request(
        requestId="view-claim-silent", items=[{**claim_request()["items"][0], "claimAmount": 1015}]))
    assert silent["state"] == "unknown", silent
    resolved = await pms.call("job.resolve", {"jobId": silent["jobId"], "outcome": "notProcessed",
                                              "note": "no sign of it at the fund"})
    for job, method in ((claim, "healthpoint.claim"), (gap, "payment.gap"), (cancel, "healthpoint.cancel"),
                        (silent, "healthpoint.claim"), (resolved, "job.resolve")):
        validate_answer(method, job)
    assert claim["result"]["totalBenefit"] == 12060 and claim["result"]["gap"] == 8040

    context = await browser.new_context(locale="en-US", timezone_id="UTC", viewport={"width": 1280, "height": 900})
    context.set_default_timeout(20_000)
    session = await _session(base, daemon.daemon.token)
    await context.add_cookies([{"name": "claimbridge_session", "value": session, "url": base}])
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    sent: list[dict[str, object]] = []
    page.on("websocket", lambda ws: ws.on("framesent", lambda frame: sent.append(json.loads(frame))))
    await page.goto(f"{base}/console/")
    await page.wait_for_selector("body[data-ready=true]")
    assert await page.evaluate("Intl.DateTimeFormat().resolvedOptions().timeZone") == "UTC"
    assert await page.evaluate("navigator.language") == "en-US"

    # every form pattern compiles as browsers compile it (the v flag): none silently disables checking
    bad = await page.evaluate("""() => [...document.querySelectorAll('input[pattern]')].filter(i => {
        try { new RegExp(i.pattern, 'v'); return false; } catch (e) { return true; } }).map(i => i.id)""")
    assert bad == []
    await page.get_by_label("Terminal name").fill("Front Desk")
    assert await page.evaluate("document.getElementById('pair-terminal').validity.patternMismatch") is True

    # the list: ids shortened (the whole id on hover), amounts in AUD, and a claim later cancelled says so
    row = page.locator(f"#jobs tr[data-job-id='{second['jobId']}']")
    await row.locator("td.outcome", has_text="APPROVED, then CANCELLED").wait_for()
    assert await row.get_by_role("button", name=f"Show job {second['jobId']}").get_attribute("title") == second["jobId"]
    assert "$120.60" in await page.locator(f"#jobs tr[data-job-id='{claim['jobId']}']").inner_text()

    # the claim's whole story
    await page.get_by_role("button", name=f"Show job {claim['jobId']}").first.click()
    await page.wait_for_selector(f"#job-detail[data-job-id='{claim['jobId']}'][data-ready=true]")
    facts = {key: await page.text_content(f"#job-facts dd[data-fact={key}]")
             for key in ("benefit", "gap", "claimed", "createdAt", "fund", "member", "refTag", "settlement")}
    assert facts["benefit"] == "$120.60" and facts["gap"] == "$80.40" and facts["claimed"] == "$201.00"
    # 23:00 UTC on 22 November is 10:00 on 23 November in Sydney (AEDT, UTC+11)
    assert re.fullmatch(r"23 Nov 2026, 10:\d\d:\d\d am AEDT", facts["createdAt"] or ""), facts["createdAt"]
    assert facts["fund"] == f"{claim['result']['fund']['name']} (PHF00999)"
    assert facts["member"] == claim["result"]["memberNumber"] and facts["refTag"] == claim["result"]["refTag"]
    assert (facts["settlement"] or "").endswith(("AEDT", "AEST"))
    assert await page.locator("#job-items tbody tr").count() == 2
    linked = page.locator("#job-links").get_by_role("button", name=f"Show job {gap['jobId']}")
    assert await linked.count() == 1  # the linked gap
    await _shot(page, "10-job-detail")

    # the gap payment: its card, code and amount
    await linked.click()
    await page.wait_for_selector(f"#job-detail[data-job-id='{gap['jobId']}'][data-ready=true]")
    assert await page.text_content("#job-facts dd[data-fact=amount]") == "$80.40"
    assert "Visa" in (await page.text_content("#job-facts dd[data-fact=card]") or "")

    # the day's reconciliation as a table, each row matched to its job
    await page.get_by_label("Day").fill("2026-11-23")
    await page.get_by_role("button", name="Get report").click()
    await page.wait_for_selector(f"#recon-table tr[data-job-id='{claim['jobId']}']")
    claim_row = await page.inner_text(f"#recon-table tr[data-job-id='{claim['jobId']}']")
    assert "$201.00" in claim_row and "$120.60" in claim_row and "matches" in claim_row
    assert re.search(r"23 Nov 2026, 10:\d\d:\d\d Sydney", claim_row)
    assert "matches" in await page.inner_text(f"#recon-table tr[data-job-id='{second['jobId']}']")
    marked = page.locator(f"#recon-table tr.discrepancy[data-job-id='{silent['jobId']}']")
    assert "APP at the fund, resolved by hand: notProcessed here" in await marked.inner_text()
    assert await page.locator("#recon-table tr.discrepancy").count() == 1
    assert "1 discrepancy marked" in (await page.text_content("#recon-summary") or "")
    listed = page.locator(f"#jobs tr[data-job-id='{silent['jobId']}'] td.outcome")
    assert await listed.inner_text() == "resolved by hand: notProcessed"
    await _shot(page, "11-reconciliation")

    # a pending question answered from the console as an operator
    asked = asyncio.ensure_future(pms.call("healthpoint.claim", claim_request(requestId="view-claim-3", onApproved="ask")))
    note = await pms.wait_note(lambda n: n["method"] == "job.question")
    asked_id = note["params"]["jobId"]
    await page.get_by_role("button", name=f"Show job {asked_id}").first.click()
    await page.wait_for_selector(f"#job-detail[data-job-id='{asked_id}'] #job-question button[data-answer]")
    await page.get_by_label("Your name (recorded with your answer)").fill("alice")
    await page.locator("#job-question button[data-answer='ACCEPT']").click()
    await page.wait_for_selector("#job-answer-result:not(:empty)")
    answers = [f for f in sent if f.get("method") == "job.answer"]
    assert answers and answers[-1]["params"] == {"jobId": asked_id, "answer": "ACCEPT", "operator": "alice"}
    outcome = await page.text_content("#job-answer-result") or ""
    # Until the daemon takes answers from any client naming an operator (the question/history
    # work), it refuses one from a connection that did not submit the job: then the console
    # says so plainly, and the claim runs on to the terminal's own timeout.
    assert outcome == "Answered ACCEPT as alice." or "another client" in outcome, outcome
    await _shot(page, "12-question-answered")
    await asyncio.wait_for(asked, 60)

    # System values for a person, logs in pages
    system = await page.inner_text("#system")
    assert "{" not in system and "OK: open" in system and "Jobs by state" in system
    await page.get_by_role("button", name="Refresh logs").click()
    await page.wait_for_selector("#logs tbody tr")
    assert await page.locator("#logs tbody tr").count() <= 25
    assert "Page" in (await page.text_content("#logs-page") or "")

    # 420 px wide: nothing wider than the screen
    await page.set_viewport_size({"width": 420, "height": 900})
    await page.get_by_role("button", name=f"Show job {claim['jobId']}").first.click()
    await page.wait_for_selector(f"#job-detail[data-job-id='{claim['jobId']}'][data-ready=true]")
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= 420, width
    await _shot(page, "13-narrow")
    await context.close()
    assert errors == []
