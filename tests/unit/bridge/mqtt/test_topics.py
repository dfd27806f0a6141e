"""bridge/mqtt/topics.py: broker URLs, topic names, response topics."""

from __future__ import annotations

import pytest

from bridge.mqtt.topics import BrokerAddress, Topics, parse_broker_url, valid_response_topic


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("mqtt://127.0.0.1:1884", BrokerAddress("127.0.0.1", 1884, tls=False)),
        ("mqtt://broker.example", BrokerAddress("broker.example", 1883, tls=False)),
        ("mqtts://broker.example", BrokerAddress("broker.example", 8883, tls=True)),
        ("mqtts://broker.example:443/", BrokerAddress("broker.example", 443, tls=True)),
        ("mqtt://[::1]:1883", BrokerAddress("::1", 1883, tls=False)),
    ],
)
def test_parse_broker_url(url: str, expected: BrokerAddress) -> None:
    assert parse_broker_url(url) == expected


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("tcp://broker:1883", "mqtt:// or mqtts://"),
        ("broker:1883", "mqtt:// or mqtts://"),
        ("mqtt://user:pw@broker:1883", "credentials"),
        ("mqtt://user@broker", "credentials"),
        ("mqtt://broker:1883/some/path", "host[:port] only"),
        ("mqtt://broker:1883?x=1", "host[:port] only"),
        ("mqtt://:1883", "no host"),
        ("mqtt://broker:99999", "bad port"),
    ],
)
def test_parse_broker_url_refuses(url: str, why: str) -> None:
    with pytest.raises(ValueError, match=why.replace("[", r"\[").replace("]", r"\]")):
        parse_broker_url(url)


def test_topic_names() -> None:
    t = Topics("clinic-a")
    assert t.request == "claimbridge/clinic-a/request"
    assert t.events == "claimbridge/clinic-a/events"
    assert t.status == "claimbridge/clinic-a/status"
    assert t.terminal("front-desk") == "claimbridge/clinic-a/terminals/front-desk"


@pytest.mark.parametrize("site", ["", "a/b", "a+", "#", "a\x00"])
def test_bad_site_names(site: str) -> None:
    with pytest.raises(ValueError):
        Topics(site)


@pytest.mark.parametrize("name", ["", "x/y", "+", "#"])
def test_bad_terminal_names_in_topics(name: str) -> None:
    with pytest.raises(ValueError):
        Topics("clinic").terminal(name)


@pytest.mark.parametrize(
    ("topic", "ok"),
    [
        ("pms/replies/abc", True),
        ("x", True),
        ("", False),
        ("pms/+/replies", False),
        ("pms/#", False),
        (None, False),
        (b"pms/replies", False),
        ("a" * 65536, False),
    ],
)
def test_valid_response_topic(topic: object, ok: bool) -> None:
    assert valid_response_topic(topic) is ok
