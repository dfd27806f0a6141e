"""``claimbridge doctor``'s V2 check: a real sign-in to Healthcode's V2 APIs (membership
enquiry, remittances) with ``[healthcode] api_key_id`` and ``api_key_file``, so a wrong API key
fails the doctor as a wrong password does (kept apart from doctor.py, which others edit).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from pathlib import Path

from bridge.config import HealthcodeConfig
from bridge.errors import ClaimbridgeError, HealthcodeCredentialsInvalid

__all__ = ["check_v2"]

#: ``report.check(name, ok, detail, fix)`` of the doctor's report.
Check = Callable[[str, bool, str, str], None]


async def _sign_in(config: HealthcodeConfig, key: str) -> None:
    from bridge.clearing.service import discovery_url
    from bridge.clearing.v2 import HealthcodeV2

    async with HealthcodeV2(discovery_url(config), str(config.site_id), str(config.api_key_id), key,
                            timeout=min(config.timeout_s, 10), attempts=1) as v2:
        await v2.sign_in()


def check_v2(check: Check, config: HealthcodeConfig) -> None:
    """Sign in to the V2 APIs and report it as ``healthcode V2 sign-in``."""
    path = Path(os.path.expanduser(str(config.api_key_file)))
    name = "healthcode V2 sign-in"
    try:
        key = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        check(name, False, f"api_key_file {path}: {exc.strerror}", "set [healthcode] api_key_file to the API Key's file")
        return
    try:
        asyncio.run(_sign_in(config, key))
    except HealthcodeCredentialsInvalid:
        check(name, False, f"API Key Id {config.api_key_id}: Healthcode refused the API Key Id or API Key",
              "check api_key_id and the key in api_key_file in your Healthcode Account (API Keys)")
        return
    except ClaimbridgeError as exc:
        check(name, False, f"cannot ask Healthcode's V2 APIs ({exc.message})",
              "check [healthcode] url / discovery_url and the network path to it")
        return
    check(name, True, f"API Key Id {config.api_key_id}: signed in", "")
