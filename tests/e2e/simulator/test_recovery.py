"""The simulator through a real browser: recovery (continueLastTransaction, lost links) and the served pages.

A PMS page on its own origin (fixtures/pms) loads ``iclient-v1.js`` from the simulator and is
driven through ``window.pms``; the control API sets scenarios, the clock and reads the ledger.
"""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import Pms, Sim
from tests.e2e.simulator.iclient_wire import MID, TID, TODAY, claim_request, item, kinds, pair

__all__: list[str] = []

pytestmark = pytest.mark.e2e


# --------------------------------------------------------------------------- recovery


def test_continue_last_transaction_after_reload_mid_claim(pms: Pms, sim: Sim) -> None:
    terminal = pair(pms, sim)
    pms.start("claim", claim_request([1000, 10000], terminal), {"answer": None})
    pms.wait_for_event("question")

    pms.reload()
    outcome = pms.call("continueLast", {"answer": "ACCEPT"})

    assert outcome["questions"][0]["options"] == ["ACCEPT", "REJECT"]
    assert outcome["response"]["result"] == "APPROVED"
    assert kinds(sim) == ["claim"]


def test_continue_last_transaction_resends_dropped_result(pms: Pms, sim: Sim) -> None:
    terminal = pair(pms, sim)
    sim.scenario(dropResponse=True)
    pms.start("claim", claim_request([1000, 10000], terminal), {"answer": "ACCEPT"})
    pms.page.wait_for_function(
        "window.pms.events.some(e => e.type === 'status' && e.value === 'Printing patient copy')"
    )
    pms.reload()
    outcome = pms.call("continueLast", {"answer": "ACCEPT"})

    assert outcome["response"]["result"] == "APPROVED"
    assert kinds(sim) == ["claim"]


def test_no_last_transaction_leaves_only_the_report(pms: Pms, sim: Sim) -> None:
    terminal = pair(pms, sim)
    sim.scenario(dropResponse=True, noLastTransaction=True)
    pms.start("claim", claim_request([1000, 10000], terminal), {"answer": "ACCEPT"})
    pms.page.wait_for_function(
        "window.pms.events.some(e => e.type === 'status' && e.value === 'Printing patient copy')"
    )
    for _ in range(500):  # the transaction ends (after the simulated print) and is forgotten
        if sim.http.get("/_sim/terminals").json()["terminals"][0]["transaction"] is None:
            break
        pms.page.wait_for_timeout(10)
    pms.reload()
    outcome = pms.call("continueLast", {"answer": "ACCEPT"})
    assert outcome["response"]["result"] == "NOT STARTED"
    report = pms.call("healthpointReconciliation", {"reportType": "claims", "reconDate": TODAY, **terminal})
    (ledger,) = sim.ledger()
    assert f"<ref-tag>{ledger['refTag']}</ref-tag><status>APP</status>" in report["data"]


def test_claims_report_lists_each_status_and_a_check_footer(pms: Pms, sim: Sim) -> None:
    terminal = pair(pms, sim)
    kept = pms.call("claim", claim_request([1000, 10000], terminal), {"answer": "ACCEPT"})["response"]
    voided = pms.call("claim", claim_request([2000], terminal), {"answer": "REJECT"})["response"]
    cancelled = pms.call("claim", claim_request([3000], terminal), {"answer": "ACCEPT"})["response"]
    undo = claim_request([3000], terminal, refTag=cancelled["healthpointRefTag"])
    assert pms.call("cancelClaim", undo, {"answer": "ACCEPT"})["response"]["result"] == "CANCELLED"
    autovoided = pms.call("claim", claim_request([99055], terminal), {"answer": "ACCEPT"})["response"]
    data = pms.call("healthpointReconciliation", {"reportType": "claims", "reconDate": TODAY, **terminal})["data"]
    for response, status in ((kept, "APP"), (voided, "VOID"), (cancelled, "CAN"), (autovoided, "AVOID")):
        assert f"<ref-tag>{response['healthpointRefTag']}</ref-tag><status>{status}</status>" in data
    assert "<check><total-number-claims>000004</total-number-claims>" in data
    empty = pms.call("healthpointReconciliation", {"reportType": "claims", "reconDate": "20261101", **terminal})["data"]
    assert "<claim-date>20261101</claim-date><unavailable>No report created.</unavailable>" in empty


def test_refund_sends_both_receipts(pms: Pms, sim: Sim) -> None:
    terminal = pair(pms, sim)
    outcome = pms.call("run", "initiateRefund", {"amount": "4400", "integratedReceipt": True, **terminal}, {})
    assert outcome["response"]["result"] == "APPROVED"
    assert "MERCHANT COPY" in outcome["receipts"][0]["merchantReceipt"]
    assert "REFUND" in outcome["response"]["customerReceipt"] and "CUSTOMER COPY" in outcome["response"]["customerReceipt"]
    assert [(r["kind"], r["amount"]) for r in sim.ledger()] == [("refund", 4400)]


# --------------------------------------------------------------------------- wire and pages


def test_served_script_carries_the_base_url(sim: Sim) -> None:
    text = httpx.get(sim.base_url + "iclient-v1.js").text

    assert "__CLAIMBRIDGE_SIM_BASE_URL__" not in text
    assert f"'{sim.base_url}'" in text


def test_iframe_ignores_foreign_messages_and_pings_once(pms: Pms, sim: Sim) -> None:
    """Drive iclient.html by hand the way Tyro's library does (§2.1 of the reference)."""
    pair(pms, sim)
    result = pms.page.evaluate(
        """async (base) => {
          const seen = [];
          const frame = document.createElement('iframe');
          const origin = location.protocol + '//' + location.host;
          frame.src = base + 'iclient.html?apiKey=Test%20API%20Key&originOfPos=' + encodeURIComponent(origin);
          const done = new Promise((resolve) => {
            window.addEventListener('message', (event) => {
              if (event.source !== frame.contentWindow) return;
              seen.push({type: typeof event.data, data: event.data, origin: event.origin});
              if (typeof event.data === 'string' && event.data.includes('transactionComplete')) resolve();
            });
          });
          document.body.appendChild(frame);
          while (seen.length === 0) await new Promise(r => setTimeout(r, 20));
          const target = new URL(base).origin;
          frame.contentWindow.postMessage({method: 'tyroIclient::continueLastTransaction'}, target);
          frame.contentWindow.postMessage('not json', target);
          frame.contentWindow.postMessage(JSON.stringify({method: 'tyroIclient::__ready', params: 'pong'}), target);
          frame.contentWindow.postMessage(
            JSON.stringify({method: 'tyroIclient::continueLastTransaction'}), target);
          await done;
          frame.remove();
          return seen;
        }""",
        sim.base_url,
    )
    assert all(message["type"] == "string" for message in result)
    assert all(message["origin"] == sim.base_url.rstrip("/") for message in result)
    pings = [m for m in result if m["data"] == '{"method":"tyroIclient::__ready","params":"ping"}']
    assert len(pings) == 1
    assert result[0] == pings[0]
    last = json.loads(result[-1]["data"])
    assert last == {"method": "tyroIclient::transactionComplete", "params": last["params"]}
    assert last["params"]["result"] == "NOT STARTED"


def test_configuration_and_logs_pages(pms: Pms, sim: Sim) -> None:
    pair(pms, sim)
    page = pms.page.context.new_page()
    page.goto(sim.base_url + "logs.html")
    assert "tyroIclient::pairTerminal" in page.inner_text("#logs")
    page.goto(sim.base_url + "configuration.html")
    page.fill("#mid", str(MID))
    page.fill("#tid", "7")
    page.click("#pair")
    page.wait_for_selector("#progress li:has-text('inProgress')")
    assert sim.authorise(MID, 7).status_code < 300
    page.wait_for_selector("#progress li.success")
    assert page.inner_text("#current") == f"MID {MID}, TID 7"
    page.close()


def test_cancel_right_after_start_cancels_before_the_fund(pms: Pms, sim: Sim) -> None:
    terminal = pair(pms, sim)
    pms.page.evaluate("req => { window.pms.start('claim', req, {answer: 'ACCEPT'}); window.pms.cancel(); }",
                      claim_request([1000, 10000], terminal))
    outcome = pms.wait()

    assert outcome["response"]["result"] == "CANCELLED"
    assert outcome["questions"] == []
    assert sim.ledger() == []


def test_iframe_holds_a_cancel_that_overtakes_its_request(pms: Pms, sim: Sim) -> None:
    """Tyro's library flushes early messages newest first (reference §2.1 item 4)."""
    terminal = pair(pms, sim)
    result = pms.page.evaluate(
        """async ([base, request]) => {
          const frame = document.createElement('iframe');
          const origin = location.protocol + '//' + location.host;
          frame.src = base + 'iclient.html?apiKey=Test%20API%20Key&originOfPos=' + encodeURIComponent(origin);
          const target = new URL(base).origin;
          const send = (message) => frame.contentWindow.postMessage(JSON.stringify(message), target);
          const complete = new Promise((resolve) => {
            window.addEventListener('message', (event) => {
              if (event.source !== frame.contentWindow) return;
              const message = JSON.parse(event.data);
              if (message.params === 'ping') {
                send({method: 'tyroIclient::__ready', params: 'pong'});
                send({method: 'tyroIclient::cancelTransaction'});
                send({method: 'tyroIclient::healthpointClaim', params: {...request, type: 'healthpointClaim'}});
              } else if (message.method === 'tyroIclient::transactionComplete') {
                resolve(message.params);
              }
            });
          });
          document.body.appendChild(frame);
          const response = await complete;
          frame.remove();
          return response;
        }""",
        [sim.base_url, claim_request([1000, 10000], terminal)],
    )

    assert result["result"] == "CANCELLED"
    assert sim.ledger() == []


def test_library_ignores_messages_not_from_its_iframe(pms: Pms, sim: Sim) -> None:
    terminal = pair(pms, sim)
    pms.start("claim", claim_request([1000, 10000], terminal), {"answer": None})
    pms.wait_for_event("question")
    forged = '{"method":"tyroIclient::transactionComplete","params":{"result":"APPROVED"}}'
    pms.page.evaluate("text => window.postMessage(text, '*')", forged)
    pms.page.wait_for_timeout(200)
    assert pms.events("complete") == []
    assert pms.call("iframeCount") == 1

    pms.call("answer", "REJECT")
    assert pms.wait()["response"]["result"] == "CANCELLED"


def test_refund(pms: Pms, sim: Sim) -> None:
    terminal = pair(pms, sim)
    outcome = pms.call("run", "initiateRefund", {"amount": "10000", "integratedReceipt": False, **terminal},
                       {"answer": "YES"})

    assert outcome["response"]["result"] == "APPROVED"
    assert kinds(sim) == ["refund"]


def _iclient_frame(pms: Pms) -> Any:
    frames = [frame for frame in pms.page.frames if "iclient.html" in frame.url]
    assert len(frames) == 1
    return frames[0]


def test_lost_link_reattaches_to_the_running_claim(pms: Pms, sim: Sim) -> None:
    terminal = pair(pms, sim)
    pms.start("claim", claim_request([1000, 10000], terminal), {"answer": None})
    pms.wait_for_event("question")

    _iclient_frame(pms).evaluate("window.claimbridgeFrame.dropLink()")
    pms.page.wait_for_function("window.pms.events.filter(e => e.type === 'question').length >= 2")
    pms.call("answer", "ACCEPT")
    outcome = pms.wait()

    assert outcome["response"]["result"] == "APPROVED"
    assert outcome["questions"][0] == outcome["questions"][-1]
    assert kinds(sim) == ["claim"]


def test_lost_link_during_pairing_reports_failure(pms: Pms, sim: Sim) -> None:
    pms.start("pair", MID, TID)
    pms.wait_for_event("pairingStatus")
    _iclient_frame(pms).evaluate("window.claimbridgeFrame.dropLink()")
    result = pms.wait()

    assert result["statuses"][-1] == {"status": "failure", "message": "Connection to the terminal was lost."}
    assert pms.call("iframeCount") == 0


def test_unanswered_question_voids_after_120_seconds(pms: Pms, sim: Sim) -> None:
    terminal = pair(pms, sim)
    sim.set_clock(scale=1000)
    outcome = pms.call("claim", claim_request([1000, 10000], terminal), {"answer": None})

    assert len(outcome["questions"]) >= 1
    assert "Voiding claim" in outcome["statuses"]
    assert outcome["response"]["result"] == "CANCELLED"
    assert kinds(sim) == ["claim", "void"]


def test_gap_purchase_above_the_gap_is_declined(pms: Pms, sim: Sim) -> None:
    terminal = pair(pms, sim)
    claim = pms.call("claim", claim_request([1000, 10000], terminal), {"answer": "ACCEPT"})["response"]
    purchase = {
        "amount": str(int(claim["healthpointGapAmount"]) + 1),
        "integratedReceipt": False,
        "healthpointTransactionId": claim["transactionId"],
        **terminal,
    }
    outcome = pms.call("purchase", purchase, {"answer": "YES"})

    assert outcome["response"]["result"] == "DECLINED"


def test_link_that_keeps_failing_ends_unknown(pms: Pms, sim: Sim) -> None:
    terminal = pair(pms, sim)
    frames: list[str] = []

    def black_hole(ws: Any) -> None:
        def on_message(message: str | bytes) -> None:
            frames.append(str(message))
            ws.close()

        ws.on_message(on_message)

    pms.page.route_web_socket(re.compile(r".*/_term/ws.*"), black_hole)
    outcome = pms.call("claim", claim_request([1000, 10000], terminal), {"answer": "ACCEPT"})

    assert outcome["response"] == {"result": "UNKNOWN"}
    assert '"method":"healthpointClaim"' in frames[0]
    assert all('"method":"continueLastTransaction"' in frame for frame in frames[1:])
    assert len(frames) == 6
    assert sim.ledger() == []
