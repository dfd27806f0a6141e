"""The MQTT fleet link: :mod:`bridge.mqtt.topics` (pure addressing) and :mod:`bridge.mqtt.link`
(the aiomqtt adapter, imported by its own name only when ``[mqtt] url`` is set)."""
