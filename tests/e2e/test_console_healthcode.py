"""The console shows a Healthcode bill as a UK clinic reads it: pounds, Europe/London time and
the shortfall with the insurer's reason, in real headless Chromium whatever the browser's zone."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.async_api import Browser

from tests.daemon_harness import Sim, make_settings, running_daemon
from tests.healthcode_harness import FAST, bill, control, paid_note, remit, v2_config, wait_final
from tests.e2e.test_console import _session, browser  # noqa: F401 - the fixture

pytestmark = pytest.mark.e2e


async def test_a_bill_in_pounds_and_uk_time_with_its_shortfall(tmp_path: Path, sim: Sim, browser: Browser) -> None:  # noqa: F811
    await control(sim, {"timings": FAST})
    settings = make_settings(tmp_path, sim, healthcode=v2_config(tmp_path, sim, remittance_poll_s=0.2))
    async with running_daemon(settings, sim, topics=["job.updated"]) as (running, c):
        job = await c.call("healthcode.submit", {"requestId": "console-bill", "bill": bill()})
        await wait_final(c, job["jobId"])
        await remit(sim, "INV-0001", 15000, reason={"code": "EXCESS", "text": "Policy excess (sample)"})
        await paid_note(c, job["jobId"])

        server = running.daemon.server
        assert server is not None
        base = f"http://127.0.0.1:{server.port}"
        context = await browser.new_context(locale="en-AU", timezone_id="Australia/Sydney")
        context.set_default_timeout(20_000)
        await context.add_cookies([{"name": "claimbridge_session", "value": await _session(base, running.daemon.token),
                                    "url": base}])
        page = await context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        await page.goto(f"{base}/console/")
        await page.wait_for_selector("body[data-ready=true]")
        row = page.locator(f"#jobs tr[data-job-id='{job['jobId']}']")
        await row.wait_for()
        text = await row.inner_text()
        assert "£150.00" in text and "£14.50" in text and "$" not in text, text
        assert re.search(r"\d{2}:\d{2}:\d{2} (GMT|BST)", text), text

        await page.get_by_role("button", name=f"Show job {job['jobId']}").first.click()
        await page.wait_for_selector(f"#job-detail[data-job-id='{job['jobId']}'][data-ready=true]")
        facts = {key: await page.text_content(f"#job-facts dd[data-fact={key}]")
                 for key in ("invoiced", "paid", "shortfall", "reason", "createdAt")}
        assert facts["invoiced"] == "£164.50" and facts["paid"] == "£150.00" and facts["shortfall"] == "£14.50"
        assert facts["reason"] == "Policy excess (sample)"
        assert (facts["createdAt"] or "").endswith(("GMT", "BST")), facts["createdAt"]
        assert "AEDT" not in (await page.text_content("#job-history") or "")
        assert errors == []
        await context.close()
