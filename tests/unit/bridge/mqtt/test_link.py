"""bridge/mqtt/link.py's constants and surface (the link itself runs against a real mosquitto in
tests/mqtt/)."""

from __future__ import annotations

from bridge.mqtt import link


def test_status_payloads_and_exports() -> None:
    assert (link.ONLINE, link.OFFLINE) == (b"online", b"offline")
    assert set(link.__all__) <= set(dir(link))
