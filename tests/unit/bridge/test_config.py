"""Tests for bridge/config.py: defaults, the TOML file, and environment overrides."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from bridge.config import (
    HealthcodeConfig,
    MqttConfig,
    Settings,
    TerminalConfig,
    load_settings,
)

CONFIG_DIR = Path(__file__).parents[3] / "fixtures" / "config"
EXAMPLE = CONFIG_DIR / "claimbridge.toml"


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch):
    import os

    for key in list(os.environ):
        if key.upper().startswith("CLAIMBRIDGE_"):
            monkeypatch.delenv(key)


def test_defaults_without_a_file(monkeypatch):
    monkeypatch.chdir(Path(__file__).parent)  # no claimbridge.toml here
    settings = load_settings()
    assert settings.listen == "127.0.0.1:8765"
    assert (settings.listen_host, settings.listen_port) == ("127.0.0.1", 8765)
    assert settings.state_dir == Path("./var")
    assert settings.iclient_url == "http://127.0.0.1:8730/iclient-v1.js"
    assert settings.terminals == {}
    assert settings.healthcode.url is None and settings.healthcode.password_file is None
    assert settings.mqtt.url is None and settings.mqtt.site == "default"
    assert settings.api_key == "Test API Key"
    assert settings.pos_product.vendor == "claimbridge" and settings.pos_product.version
    assert settings.browser.args == ()
    assert settings.allowed_origins == []
    assert settings.log_level == "INFO"
    assert (settings.max_frame_bytes, settings.max_batch) == (1_048_576, 50)
    assert (settings.pairing_timeout_s, settings.transaction_timeout_s) == (90, 600)
    assert (settings.page_probe_timeout_s, settings.max_connections, settings.max_in_flight) == (10, 256, 32)


def test_toml_file():
    settings = load_settings(EXAMPLE)
    assert settings.listen_port == 9765
    assert settings.state_dir == Path("/var/lib/claimbridge")
    assert settings.terminals == {
        "front-desk": TerminalConfig(mid=123, tid=456),
        "room-2": TerminalConfig(mid=123, tid=457),
    }
    assert settings.healthcode.site_id == "SITE01"
    assert settings.healthcode.password_file == Path("/etc/claimbridge/healthcode-password")
    assert settings.mqtt.site == "clinic-a" and settings.mqtt.url is None
    assert settings.browser.executable_path == "/opt/chromium/chrome"
    assert settings.allowed_origins == ["http://pms.local:8080"]
    assert settings.log_level == "DEBUG"
    assert settings.max_batch == 20


def test_default_file_in_the_working_directory(monkeypatch):
    monkeypatch.chdir(CONFIG_DIR)
    assert load_settings().listen == "0.0.0.0:9765"


def test_environment_overrides_the_file_including_nested_keys(monkeypatch):
    monkeypatch.setenv("CLAIMBRIDGE_LISTEN", "127.0.0.1:1234")
    monkeypatch.setenv("CLAIMBRIDGE_STATE_DIR", "/tmp/cb-state")
    monkeypatch.setenv("CLAIMBRIDGE_ICLIENT_URL", "http://127.0.0.1:1/iclient-v1.js")
    monkeypatch.setenv("CLAIMBRIDGE_MQTT__URL", "mqtt://127.0.0.1:1883")
    monkeypatch.setenv("CLAIMBRIDGE_HEALTHCODE__URL", "http://127.0.0.1:2/healthcode/")
    monkeypatch.setenv("CLAIMBRIDGE_MAX_BATCH", "5")
    settings = load_settings(EXAMPLE)
    assert settings.listen == "127.0.0.1:1234"
    assert settings.state_dir == Path("/tmp/cb-state")
    assert settings.iclient_url == "http://127.0.0.1:1/iclient-v1.js"
    assert settings.max_batch == 5
    # nested: the env value replaces one key, the file keeps the others
    assert settings.mqtt.url == "mqtt://127.0.0.1:1883" and settings.mqtt.site == "clinic-a"
    assert settings.healthcode.url == "http://127.0.0.1:2/healthcode/"
    assert settings.healthcode.site_id == "SITE01"


def test_environment_alone(monkeypatch):
    monkeypatch.chdir(Path(__file__).parent)
    monkeypatch.setenv("CLAIMBRIDGE_TERMINALS", '{"front-desk": {"mid": 1, "tid": 2}}')
    monkeypatch.setenv("CLAIMBRIDGE_ALLOWED_ORIGINS", '["http://a"]')
    settings = load_settings()
    assert settings.terminals["front-desk"].tid == 2
    assert settings.allowed_origins == ["http://a"]


def test_missing_file_is_an_error():
    with pytest.raises(FileNotFoundError):
        load_settings(CONFIG_DIR / "nope.toml")


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("CLAIMBRIDGE_LISTEN", "8765"),
        ("CLAIMBRIDGE_LISTEN", "host:99999"),
        ("CLAIMBRIDGE_LOG_LEVEL", "LOUD"),
        ("CLAIMBRIDGE_MAX_BATCH", "0"),
        ("CLAIMBRIDGE_TERMINALS", '{"Front Desk": {"mid": 1, "tid": 2}}'),
        ("CLAIMBRIDGE_TERMINALS", '{"a": {"mid": 0, "tid": 2}}'),
        ("CLAIMBRIDGE_SURPRISE", "1"),
    ],
)
def test_bad_values_are_refused(monkeypatch, key, value):
    monkeypatch.chdir(Path(__file__).parent)
    monkeypatch.setenv(key, value)
    if key == "CLAIMBRIDGE_SURPRISE":
        # unknown environment variables are ignored (only known keys are read)
        load_settings()
        return
    with pytest.raises(ValidationError):
        load_settings()


def test_secrets_stay_out_of_repr():
    settings = load_settings(EXAMPLE)
    assert "fixture-api-key" not in repr(settings)
    assert settings.api_key == "fixture-api-key"


def test_settings_are_frozen():
    settings = Settings()
    with pytest.raises(ValidationError):
        settings.listen = "x:1"  # type: ignore[misc]


# --- [mqtt] and [healthcode] tuning fields ----------------------------------------------------

URL_ERROR = "url must be mqtt://HOST[:PORT] or mqtts://HOST[:PORT] (no credentials)"

#: Every [mqtt] key, none at its default (written to a temporary file: the shared fixture keeps
#: the [mqtt] section off).
MQTT_TOML = """
[mqtt]
url = "mqtts://broker.clinic.test:8883"
site = "clinic-a"
username = "bridge"
password_file = "/etc/claimbridge/mqtt-password"
ca_file = "/etc/claimbridge/ca.pem"
cert_file = "/etc/claimbridge/client.pem"
key_file = "/etc/claimbridge/client.key"
client_id = "cb-front"
keepalive_s = 45
session_expiry_s = 0
reconnect_min_s = 0.25
reconnect_max_s = 10.5
state_interval_s = 15

[healthcode]
poll_initial_s = 5
poll_max_s = 60.5
retry_initial_s = 0.5
retry_max_s = 30
submit_wait_s = 2
concurrency = 3
timeout_s = 4.5
"""


def _write_toml(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "claimbridge.toml"
    path.write_text(text)
    return path


def _error_locations(exc: ValidationError) -> set[tuple[str | int, ...]]:
    return {tuple(error["loc"]) for error in exc.errors()}


def test_mqtt_and_healthcode_tuning_defaults(monkeypatch):
    monkeypatch.chdir(Path(__file__).parent)
    mqtt = load_settings().mqtt
    assert mqtt == MqttConfig()
    assert (mqtt.username, mqtt.password_file) == (None, None)
    assert (mqtt.ca_file, mqtt.cert_file, mqtt.key_file) == (None, None, None)
    assert mqtt.client_id is None  # bridge/mqtt.py then uses claimbridge-<site>
    assert (mqtt.keepalive_s, mqtt.session_expiry_s) == (30, 3600)
    assert (mqtt.reconnect_min_s, mqtt.reconnect_max_s) == (0.5, 30.0)
    assert mqtt.state_interval_s == 60.0
    healthcode = load_settings().healthcode
    assert healthcode == HealthcodeConfig()
    assert (healthcode.poll_initial_s, healthcode.poll_max_s) == (30.0, 900.0)
    assert (healthcode.retry_initial_s, healthcode.retry_max_s) == (1.0, 120.0)
    assert (healthcode.submit_wait_s, healthcode.concurrency, healthcode.timeout_s) == (30.0, 8, 15.0)


def test_mqtt_and_healthcode_tuning_from_toml(tmp_path):
    settings = load_settings(_write_toml(tmp_path, MQTT_TOML))
    assert settings.mqtt == MqttConfig(
        url="mqtts://broker.clinic.test:8883",
        site="clinic-a",
        username="bridge",
        password_file=Path("/etc/claimbridge/mqtt-password"),
        ca_file=Path("/etc/claimbridge/ca.pem"),
        cert_file=Path("/etc/claimbridge/client.pem"),
        key_file=Path("/etc/claimbridge/client.key"),
        client_id="cb-front",
        keepalive_s=45,
        session_expiry_s=0,
        reconnect_min_s=0.25,
        reconnect_max_s=10.5,
        state_interval_s=15.0,
    )
    assert isinstance(settings.mqtt.password_file, Path)
    hc = settings.healthcode
    assert (hc.poll_initial_s, hc.poll_max_s, hc.retry_initial_s, hc.retry_max_s) == (5.0, 60.5, 0.5, 30.0)
    assert (hc.submit_wait_s, hc.concurrency, hc.timeout_s) == (2.0, 3, 4.5)
    assert hc.url is None  # keys left out keep their defaults


def test_mqtt_and_healthcode_tuning_from_environment(monkeypatch):
    monkeypatch.chdir(Path(__file__).parent)
    env = {
        "CLAIMBRIDGE_MQTT__URL": "mqtt://127.0.0.1:1883",
        "CLAIMBRIDGE_MQTT__USERNAME": "env-user",
        "CLAIMBRIDGE_MQTT__PASSWORD_FILE": "/run/secrets/mqtt",
        "CLAIMBRIDGE_MQTT__CA_FILE": "/run/secrets/ca.pem",
        "CLAIMBRIDGE_MQTT__CERT_FILE": "/run/secrets/cert.pem",
        "CLAIMBRIDGE_MQTT__KEY_FILE": "/run/secrets/key.pem",
        "CLAIMBRIDGE_MQTT__CLIENT_ID": "env-client",
        "CLAIMBRIDGE_MQTT__KEEPALIVE_S": "120",
        "CLAIMBRIDGE_MQTT__SESSION_EXPIRY_S": "3600",
        "CLAIMBRIDGE_MQTT__RECONNECT_MIN_S": "1.5",
        "CLAIMBRIDGE_MQTT__RECONNECT_MAX_S": "90",
        "CLAIMBRIDGE_MQTT__STATE_INTERVAL_S": "7.5",
        "CLAIMBRIDGE_HEALTHCODE__POLL_INITIAL_S": "3",
        "CLAIMBRIDGE_HEALTHCODE__POLL_MAX_S": "30",
        "CLAIMBRIDGE_HEALTHCODE__RETRY_INITIAL_S": "0.2",
        "CLAIMBRIDGE_HEALTHCODE__RETRY_MAX_S": "9",
        "CLAIMBRIDGE_HEALTHCODE__SUBMIT_WAIT_S": "1",
        "CLAIMBRIDGE_HEALTHCODE__CONCURRENCY": "64",
        "CLAIMBRIDGE_HEALTHCODE__TIMEOUT_S": "2",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    settings = load_settings()
    mqtt = settings.mqtt
    assert mqtt.url == "mqtt://127.0.0.1:1883" and mqtt.site == "default"
    assert mqtt.username == "env-user"
    assert mqtt.password_file == Path("/run/secrets/mqtt")
    assert (mqtt.ca_file, mqtt.cert_file, mqtt.key_file) == (
        Path("/run/secrets/ca.pem"), Path("/run/secrets/cert.pem"), Path("/run/secrets/key.pem"),
    )
    assert mqtt.client_id == "env-client"
    assert (mqtt.keepalive_s, mqtt.session_expiry_s) == (120, 3600)
    assert (mqtt.reconnect_min_s, mqtt.reconnect_max_s, mqtt.state_interval_s) == (1.5, 90.0, 7.5)
    hc = settings.healthcode
    assert (hc.poll_initial_s, hc.poll_max_s, hc.retry_initial_s, hc.retry_max_s) == (3.0, 30.0, 0.2, 9.0)
    assert (hc.submit_wait_s, hc.concurrency, hc.timeout_s) == (1.0, 64, 2.0)


def test_environment_overrides_one_mqtt_key_of_the_file(monkeypatch, tmp_path):
    monkeypatch.setenv("CLAIMBRIDGE_MQTT__KEEPALIVE_S", "10")
    monkeypatch.setenv("CLAIMBRIDGE_HEALTHCODE__CONCURRENCY", "1")
    settings = load_settings(_write_toml(tmp_path, MQTT_TOML))
    assert settings.mqtt.keepalive_s == 10
    assert settings.mqtt.username == "bridge" and settings.mqtt.reconnect_max_s == 10.5
    assert settings.healthcode.concurrency == 1 and settings.healthcode.timeout_s == 4.5


@pytest.mark.parametrize(
    "url",
    [
        "mqtt://127.0.0.1",
        "mqtt://127.0.0.1:1883",
        "mqtts://broker.example:8883",
        "mqtts://broker.example",
        "mqtt://broker.example/",
        "mqtt://[::1]:1883",
    ],
)
def test_mqtt_url_accepted(monkeypatch, url):
    monkeypatch.chdir(Path(__file__).parent)
    monkeypatch.setenv("CLAIMBRIDGE_MQTT__URL", url)
    assert load_settings().mqtt.url == url
    assert MqttConfig(url=url).url == url


@pytest.mark.parametrize(
    "url",
    [
        "http://broker.example:1883",
        "ws://broker.example:9001",
        "tcp://broker.example:1883",
        "mqtt:/broker.example",
        "mqtt://",
        "mqtt://broker.example/claimbridge",
        "mqtt://broker example:1883",
        "broker.example:1883",
        "MQTT://broker.example",
        "",
    ],
)
def test_mqtt_url_refused(monkeypatch, url):
    monkeypatch.chdir(Path(__file__).parent)
    monkeypatch.setenv("CLAIMBRIDGE_MQTT__URL", url)
    with pytest.raises(ValidationError) as refused:
        load_settings()
    assert _error_locations(refused.value) == {("mqtt", "url")}
    assert URL_ERROR in str(refused.value)


@pytest.mark.parametrize(
    "url",
    [
        "mqtt://user:secret@broker.example:1883",
        "mqtts://user@broker.example",
        "mqtt://:secret@broker.example",
    ],
)
def test_mqtt_url_with_credentials_gets_the_specific_error(tmp_path, url):
    with pytest.raises(ValidationError) as direct:
        MqttConfig(url=url)
    assert [error["msg"] for error in direct.value.errors()] == [f"Value error, {URL_ERROR}"]
    path = _write_toml(tmp_path, f'[mqtt]\nurl = "{url}"\n')
    with pytest.raises(ValidationError) as from_file:
        load_settings(path)
    assert _error_locations(from_file.value) == {("mqtt", "url")}
    assert URL_ERROR in str(from_file.value)


@pytest.mark.parametrize("url", ["mqtt://broker.example:port", "mqtt://broker.example:99999"])
def test_mqtt_url_with_a_bad_port_is_refused(url):
    with pytest.raises(ValidationError):
        MqttConfig(url=url)


def test_mqtt_password_is_never_a_setting(monkeypatch, tmp_path):
    """Only ``password_file``: a ``password`` key, in the file or the environment, is refused."""
    with pytest.raises(ValidationError) as in_file:
        load_settings(_write_toml(tmp_path, '[mqtt]\nurl = "mqtt://127.0.0.1"\npassword = "secret"\n'))
    assert _error_locations(in_file.value) == {("mqtt", "password")}
    monkeypatch.chdir(Path(__file__).parent)
    monkeypatch.setenv("CLAIMBRIDGE_MQTT__PASSWORD", "secret")
    with pytest.raises(ValidationError) as in_env:
        load_settings()
    assert _error_locations(in_env.value) == {("mqtt", "password")}


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("CLAIMBRIDGE_MQTT__CLIENT_ID", ""),
        ("CLAIMBRIDGE_MQTT__CLIENT_ID", "c" * 129),
        ("CLAIMBRIDGE_MQTT__KEEPALIVE_S", "4"),
        ("CLAIMBRIDGE_MQTT__KEEPALIVE_S", "65536"),
        ("CLAIMBRIDGE_MQTT__KEEPALIVE_S", "1.5"),
        ("CLAIMBRIDGE_MQTT__SESSION_EXPIRY_S", "-1"),
        ("CLAIMBRIDGE_MQTT__RECONNECT_MIN_S", "0"),
        ("CLAIMBRIDGE_MQTT__RECONNECT_MAX_S", "-1"),
        ("CLAIMBRIDGE_MQTT__STATE_INTERVAL_S", "0"),
        ("CLAIMBRIDGE_MQTT__SITE", "clinic/a"),
        ("CLAIMBRIDGE_MQTT__SITE", "s" * 65),
        ("CLAIMBRIDGE_HEALTHCODE__POLL_INITIAL_S", "0"),
        ("CLAIMBRIDGE_HEALTHCODE__POLL_MAX_S", "-5"),
        ("CLAIMBRIDGE_HEALTHCODE__RETRY_INITIAL_S", "0"),
        ("CLAIMBRIDGE_HEALTHCODE__RETRY_MAX_S", "0"),
        ("CLAIMBRIDGE_HEALTHCODE__SUBMIT_WAIT_S", "0"),
        ("CLAIMBRIDGE_HEALTHCODE__CONCURRENCY", "0"),
        ("CLAIMBRIDGE_HEALTHCODE__CONCURRENCY", "65"),
        ("CLAIMBRIDGE_HEALTHCODE__TIMEOUT_S", "0"),
        ("CLAIMBRIDGE_HEALTHCODE__TIMEOUT_S", "soon"),
    ],
)
def test_bad_mqtt_and_healthcode_values_are_refused(monkeypatch, key, value):
    monkeypatch.chdir(Path(__file__).parent)
    monkeypatch.setenv(key, value)
    with pytest.raises(ValidationError) as refused:
        load_settings()
    section, field = key.removeprefix("CLAIMBRIDGE_").lower().split("__")
    assert _error_locations(refused.value) == {(section, field)}


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("keepalive_s", 5, 5),
        ("keepalive_s", 65535, 65535),
        ("session_expiry_s", 0, 0),
        ("client_id", "c" * 128, "c" * 128),
        ("site", "A_b-9", "A_b-9"),
    ],
)
def test_mqtt_limits_are_inclusive(key, value, expected):
    assert getattr(MqttConfig(**{key: value}), key) == expected


@pytest.mark.parametrize(("cls", "key"), [(MqttConfig, "keepalive"), (HealthcodeConfig, "poll_s")])
def test_unknown_section_keys_are_refused(cls, key):
    with pytest.raises(ValidationError):
        cls(**{key: 1})


def test_sections_are_frozen():
    mqtt = MqttConfig()
    with pytest.raises(ValidationError):
        mqtt.keepalive_s = 10  # type: ignore[misc]
    healthcode = HealthcodeConfig()
    with pytest.raises(ValidationError):
        healthcode.concurrency = 2  # type: ignore[misc]


def test_backoff_bounds_must_be_ordered():
    with pytest.raises(ValidationError, match="reconnect_min_s must not exceed reconnect_max_s"):
        MqttConfig(reconnect_min_s=60, reconnect_max_s=30)
    with pytest.raises(ValidationError, match="poll_initial_s must not exceed poll_max_s"):
        HealthcodeConfig(poll_initial_s=1000, poll_max_s=900)
    with pytest.raises(ValidationError, match="retry_initial_s must not exceed retry_max_s"):
        HealthcodeConfig(retry_initial_s=200, retry_max_s=120)


def test_a_refused_url_is_not_repeated_in_the_error():
    with pytest.raises(ValidationError) as err:
        MqttConfig(url="mqtt://user:hunter2secret@broker.example:1883")
    assert "hunter2secret" not in str(err.value)


def test_availability_limits_from_the_environment_and_their_rules(monkeypatch):
    monkeypatch.setenv("CLAIMBRIDGE_PAGE_PROBE_TIMEOUT_S", "2.5")
    monkeypatch.setenv("CLAIMBRIDGE_MAX_CONNECTIONS", "8")
    monkeypatch.setenv("CLAIMBRIDGE_MAX_IN_FLIGHT", "4")
    settings = load_settings(None)
    assert (settings.page_probe_timeout_s, settings.max_connections, settings.max_in_flight) == (2.5, 8, 4)
    monkeypatch.setenv("CLAIMBRIDGE_MAX_IN_FLIGHT", "0")
    with pytest.raises(Exception, match="max_in_flight"):
        load_settings(None)
