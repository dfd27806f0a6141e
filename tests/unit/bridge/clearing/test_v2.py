"""Tests for bridge.clearing.v2: the V2 client against the simulator's stand-in over real HTTP.

The simulator's Healthcode application runs in-process on 127.0.0.1 (aiohttp's test server),
on a frozen clock; a test-only discovery route moves an endpoint to check re-discovery.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from bridge.errors import HealthcodeCredentialsInvalid, HealthcodeError, HealthcodeUnavailable
from bridge.clearing.v2 import HealthcodeV2
from simulator.clock import Clock
from simulator.healthcode import create_healthcode_app

NOW = datetime(2026, 11, 20, 14, 0, tzinfo=UTC)
AVIVA = {"insurerIdentifier": "nuh", "lastName": "Placeholder", "firstName": "F",
         "dateOfbirth": "1970-01-15", "postCode": "ZZ5 6IJ"}


@dataclass
class Stand:
    base: str
    moved: dict[str, bool]

    async def control(self, client: HealthcodeV2, body: dict[str, Any]) -> None:
        async with client._http().post(f"{self.base}/healthcode/_control/v2", json=body) as response:
            assert response.status == 200


@pytest.fixture
async def stand() -> AsyncIterator[Stand]:
    moved = {"first": False}
    root = web.Application()
    root.add_subapp("/healthcode/", create_healthcode_app(Clock(NOW, scale=0)))

    async def moving_discovery(request: web.Request) -> web.Response:
        # The first read names a find-member URL that is gone (404); later reads the real one.
        base = f"{request.url.origin()}/healthcode"
        find = f"{base}/v2/gone" if not moved["first"] else f"{base}/v2/membership/find"
        moved["first"] = True
        return web.json_response({"token_endpoint": f"{base}/v2/oauth/token", "find_member_endpoint": find,
                                  "search_remittance_summary_endpoint": f"{base}/v2/remittances/search",
                                  "get_remittance_details_endpoint": f"{base}/v2/remittances/details"})

    root.router.add_get("/moving-discovery", moving_discovery)
    server = TestServer(root, host="127.0.0.1")
    await server.start_server()
    yield Stand(str(server.make_url("")).rstrip("/"), moved)
    await server.close()


def client(stand: Stand, key: str = "healthcode-v2-test", *, discovery: str = "/healthcode/.well-known/discovery-document.json",
           **kw: Any) -> HealthcodeV2:
    return HealthcodeV2(stand.base + discovery, "SIM001", "claimbridge-v2", key,
                        retry_initial_s=0.01, retry_max_s=0.02, **kw)


async def test_token_cached_and_discovery_read_once(stand: Stand) -> None:
    async with client(stand) as hc:
        for _ in range(3):
            bundle = await hc.find_member(AVIVA)
            assert bundle["total"] == 1
        assert hc.tokens_fetched == 1 and hc.discoveries_read == 1


async def test_token_renewed_when_it_expires_by_the_clock(stand: Stand) -> None:
    now = [0.0]
    async with client(stand, monotonic=lambda: now[0]) as hc:
        await hc.find_member(AVIVA)
        now[0] = 3600.0  # past expires_in (less the margin): a new token before the call
        await hc.find_member(AVIVA)
        assert hc.tokens_fetched == 2


async def test_revoked_token_refreshed_once_on_401(stand: Stand) -> None:
    async with client(stand) as hc:
        await hc.find_member(AVIVA)
        await stand.control(hc, {"fault": "expiredToken", "count": 1})
        assert (await hc.find_member(AVIVA))["total"] == 1
        assert hc.tokens_fetched == 2
        # Refused again after the fresh token: not a loop, an error.
        await stand.control(hc, {"fault": "expiredToken", "count": 2})
        with pytest.raises(HealthcodeCredentialsInvalid):
            await hc.find_member(AVIVA)


async def test_wrong_api_key_is_credentials_invalid(stand: Stand) -> None:
    async with client(stand, key="wrong") as hc:
        with pytest.raises(HealthcodeCredentialsInvalid) as err:
            await hc.find_member(AVIVA)
        assert "wrong" not in repr(hc) and err.value.extra["operation"] == "token"


async def test_5xx_and_slow_answers_are_retried_with_backoff(stand: Stand) -> None:
    async with client(stand, timeout=0.2) as hc:
        await hc.find_member(AVIVA)
        await stand.control(hc, {"fault": "503", "count": 2})
        assert (await hc.find_member(AVIVA))["total"] == 1
        await stand.control(hc, {"fault": "slow", "count": 1, "slowSeconds": 1})
        assert (await hc.find_member(AVIVA))["total"] == 1
        await stand.control(hc, {"fault": "503", "count": 10})
        with pytest.raises(HealthcodeUnavailable):
            await hc.find_member(AVIVA)


async def test_endpoint_moved_is_rediscovered_on_404(stand: Stand) -> None:
    async with client(stand, discovery="/moving-discovery") as hc:
        assert (await hc.find_member(AVIVA))["total"] == 1
        assert hc.discoveries_read == 2


async def test_other_4xx_is_an_error_with_healthcodes_text(stand: Stand) -> None:
    async with client(stand) as hc:
        with pytest.raises(HealthcodeError) as err:
            await hc.find_member({"insurerIdentifier": "nuh"})
        assert "nuh requires" in err.value.detail and err.value.extra["httpStatus"] == 400
        bundle = await hc.search_remittances({"insurerIdentifier": "bup"})
        assert bundle["resourceType"] == "Bundle" and bundle["total"] == 0
