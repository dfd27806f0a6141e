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


def test_bearer_token_from_the_user_properties() -> None:
    from bridge.mqtt.topics import bearer_token

    assert bearer_token([("trace", "x"), ("Authorization", "Bearer abc")]) == "abc"
    assert bearer_token([("authorization", "Basic abc")]) is None
    assert bearer_token([("authorization", "Bearer ")]) is None
    assert bearer_token(None) is None and bearer_token([]) is None


def test_a_request_is_new_once_within_the_window() -> None:
    from bridge.mqtt.topics import RecentRequests, request_key

    key = request_key("pms/replies", b"c1", b'{"id":1}')
    assert key != request_key("pms/replies", b"c2", b'{"id":1}')
    assert key != request_key("pms/replie", b"sc1", b'{"id":1}')
    recent = RecentRequests(window_s=60, limit=3)
    assert recent.first(key, 0.0) and not recent.first(key, 0.01) and not recent.first(key, 59.0)
    assert recent.first(key, 61.0), "a redelivery a minute later is answered again"
    for n in range(5):
        recent.first(f"k{n}", 62.0)
    assert recent.first(key, 62.0), "the oldest are forgotten beyond the limit"


def test_config_takes_urls_and_url() -> None:
    import pytest
    from bridge.config import MqttConfig

    assert MqttConfig(url="mqtt://a:1").broker_urls == ["mqtt://a:1"]
    assert MqttConfig(urls=["mqtt://a:1", "mqtt://b:1"], url="mqtt://a:1").broker_urls == ["mqtt://a:1", "mqtt://b:1"]
    assert MqttConfig(urls=["mqtt://b:1"], url="mqtt://a:1").broker_urls == ["mqtt://a:1", "mqtt://b:1"]
    assert not MqttConfig().enabled and MqttConfig().session_expiry_s == 3600
    with pytest.raises(ValueError):
        MqttConfig(urls=["http://a"])
    with pytest.raises(ValueError):
        MqttConfig(urls=["mqtt://a:1", "mqtt://a:1"])
