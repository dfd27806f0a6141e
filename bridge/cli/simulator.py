"""The settings of ``claimbridge run --with-simulator``: iClient, Healthcode and a terminal on
the simulator. Writes two files, the simulator's Healthcode password and V2 API key (mode 0600).
"""

from __future__ import annotations

import os
from pathlib import Path

from bridge.config import Settings, TerminalConfig

__all__ = ["SIMULATOR_HEALTHCODE", "SIMULATOR_TERMINAL", "simulator_settings"]

#: The terminal ``--with-simulator`` pairs when the config names none: (name, mid, tid).
SIMULATOR_TERMINAL = ("front-desk", 2187, 1)

#: The simulator's documented Healthcode test credentials (simulator/README-healthcode.md).
SIMULATOR_HEALTHCODE = {"site_id": "SIM001", "user_id": "claimbridge", "password": "healthcode-test",
                        "api_key_id": "claimbridge-v2", "api_key": "healthcode-v2-test"}


def _write_secret(path: Path, value: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(value)


def simulator_settings(settings: Settings, port: int, *, write_password: bool = True) -> Settings:
    """The settings ``run --with-simulator --simulator-port PORT`` uses.

    iClient and the ``[healthcode]`` section point at the simulator with its documented test
    credentials (the password goes to ``state_dir/healthcode-password`` and the V2 API key to
    ``state_dir/healthcode-api-key``, mode 0600); a config
    without terminals gets the simulator's ``front-desk``.

    Args:
        settings: The loaded settings.
        port: The simulator's port on 127.0.0.1.
        write_password: Write the password file (``doctor`` only reads what ``run`` wrote).
    """
    base = f"http://127.0.0.1:{port}"
    updates: dict[str, object] = {"iclient_url": f"{base}/iclient-v1.js"}
    if not settings.terminals:
        name, mid, tid = SIMULATOR_TERMINAL
        updates["terminals"] = {name: TerminalConfig(mid=mid, tid=tid)}
    state = Path(settings.state_dir)
    pw = state / "healthcode-password"
    key = state / "healthcode-api-key"
    if write_password:
        state.mkdir(parents=True, exist_ok=True)
        _write_secret(pw, SIMULATOR_HEALTHCODE["password"])
        _write_secret(key, SIMULATOR_HEALTHCODE["api_key"])
    healthcode = settings.healthcode.model_copy(update={
        "url": f"{base}/healthcode/",
        "site_id": SIMULATOR_HEALTHCODE["site_id"],
        "user_id": SIMULATOR_HEALTHCODE["user_id"],
        "password_file": pw,
        "api_key_id": SIMULATOR_HEALTHCODE["api_key_id"],
        "api_key_file": key,
        "discovery_url": None,
    })
    return settings.model_copy(update={**updates, "healthcode": healthcode})


