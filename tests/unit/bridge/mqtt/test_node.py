"""bridge/mqtt/node.py's surface (the connections run against a real mosquitto in tests/mqtt and
two ejabberd nodes in tests/fleet)."""

from __future__ import annotations

from bridge.mqtt import node


def test_the_mqtt5_line_names_the_broker_and_what_to_do() -> None:
    line = node.NO_MQTT5.format(where="rabbit:1883")
    assert "rabbit:1883" in line and "MQTT 5" in line and "3.1.1" in line
    assert set(node.__all__) <= set(dir(node))


def test_each_node_gets_its_own_client_id() -> None:
    from bridge.mqtt.link import _node_ids

    assert _node_ids("claimbridge-clinic", 1) == ["claimbridge-clinic"]
    assert _node_ids("claimbridge-clinic", 2) == ["claimbridge-clinic-1", "claimbridge-clinic-2"]
