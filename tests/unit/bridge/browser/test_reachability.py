"""The iClient server's reachability: one WARNING line when an outage starts and one when it ends,
whatever the number of failed requests; what counts as evidence; the probe URL's query hidden."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest

from bridge.browser.reachability import Reachability, is_daemon_url, is_network_failure, where

T0 = datetime(2026, 11, 23, 0, 0, tzinfo=UTC)


class Ticking:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


def test_an_outage_is_one_warning_when_it_starts_and_one_when_it_ends(caplog: pytest.LogCaptureFixture) -> None:
    clock = Ticking()
    r = Reachability(clock)
    assert r.view() == {"ok": True, "since": T0.isoformat(), "reason": None}
    caplog.set_level(logging.INFO, "claimbridge.browser.iclient")
    clock.now = T0 + timedelta(seconds=5)
    r.failed("net::ERR_CONNECTION_REFUSED (http://sim/iclient.html)")
    r.failed("net::ERR_CONNECTION_REFUSED (http://sim/iclient-v1.js)")
    assert r.view() == {"ok": False, "since": clock.now.isoformat(),
                        "reason": "net::ERR_CONNECTION_REFUSED (http://sim/iclient.html)"}
    clock.now = T0 + timedelta(seconds=65)
    r.reached()
    r.reached()
    assert r.ok and r.reason is None and r.since == clock.now and r.outages == 1 and r.changes == 2
    lines = [(rec.levelno, rec.getMessage()) for rec in caplog.records]
    assert lines == [
        (logging.WARNING, "the iClient server cannot be reached: net::ERR_CONNECTION_REFUSED (http://sim/iclient.html)"),
        (logging.WARNING, "the iClient server can be reached again (outage of 60 s)"),
    ]


@pytest.mark.parametrize(("text", "evidence"), [
    ("net::ERR_CONNECTION_REFUSED", True),
    ("net::ERR_NAME_NOT_RESOLVED", True),
    ("net::ERR_TIMED_OUT", True),
    ("net::ERR_ABORTED", False),  # the page itself cancelled it (an iframe removed)
    ("net::ERR_BLOCKED_BY_CLIENT", False),
    ("", False),
])
def test_what_counts_as_a_network_failure(text: str, evidence: bool) -> None:
    assert is_network_failure(text) is evidence


def test_the_daemons_own_requests_are_no_evidence() -> None:
    host = "http://127.0.0.1:8765/host/index.html"
    assert is_daemon_url("http://127.0.0.1:8765/host/host.js", host)
    assert is_daemon_url("ws://127.0.0.1:8765/page/x", host)
    assert is_daemon_url("data:text/html,hi", host)
    assert not is_daemon_url("http://127.0.0.1:8730/iclient-v1.js", host)


def test_where_drops_the_query_that_carries_the_api_key() -> None:
    assert where("http://sim:8730/iclient.html?apiKey=secret&x=1") == "http://sim:8730/iclient.html"


HOST = "http://127.0.0.1:8765/host/index.html"


def test_a_failed_frame_load_is_an_outage_that_nothing_left_the_page_through() -> None:
    from bridge.browser.reachability import Evidence, request_failed

    frame = request_failed("http://sim/iclient.html?apiKey=k", "net::ERR_CONNECTION_REFUSED", "document", HOST)
    assert frame == Evidence(False, "net::ERR_CONNECTION_REFUSED (http://sim/iclient.html)", True)
    probe = request_failed("http://sim/iclient-v1.js", "net::ERR_CONNECTION_REFUSED", "fetch", HOST)
    assert probe is not None and not probe.frame
    assert request_failed("http://sim/iclient.html", "net::ERR_ABORTED", "document", HOST) is None
    assert request_failed("http://127.0.0.1:8765/host/host.js", "net::ERR_CONNECTION_REFUSED", "script", HOST) is None


def test_answers_say_the_server_is_reached_unless_iclient_itself_got_a_5xx() -> None:
    from bridge.browser.reachability import Evidence, response_seen

    assert response_seen("http://sim/iclient-v1.js", 200, "script", HOST) == Evidence(True)
    assert response_seen("http://sim/api", 503, "fetch", HOST) == Evidence(True)  # it answered
    assert response_seen("http://sim/iclient.html", 502, "document", HOST) == Evidence(False, "HTTP 502 (http://sim/iclient.html)", True)
    assert response_seen("http://127.0.0.1:8765/host/index.html", 200, "document", HOST) is None


def test_a_probe_answer_ends_an_outage_and_a_probe_failure_starts_one() -> None:
    r = Reachability(Ticking())
    assert r.probed("Failed to fetch", "http://sim/iclient-v1.js?x=1") is False
    assert r.reason == "Failed to fetch (http://sim/iclient-v1.js)"
    assert r.probed(None, "http://sim/iclient-v1.js") is True and r.ok
