"""Tests for bridge/config.py: defaults, the TOML file, and environment overrides."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from bridge.config import (
    DEFAULT_BROWSER_ARGS,
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
    assert settings.browser.args == DEFAULT_BROWSER_ARGS
    assert settings.allowed_origins == []
    assert settings.log_level == "INFO"
    assert (settings.max_frame_bytes, settings.max_batch) == (1_048_576, 50)
    assert (settings.pairing_timeout_s, settings.transaction_timeout_s) == (90, 600)


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
