"""Settings: one TOML file overridden by ``CLAIMBRIDGE_*`` environment variables.

Reads the config file and the environment (nothing else). Nested keys in the environment are
joined by ``__``: ``CLAIMBRIDGE_MQTT__URL``, ``CLAIMBRIDGE_HEALTHCODE__URL``; a dict such as
``terminals`` may also be given whole as JSON: ``CLAIMBRIDGE_TERMINALS={"front-desk": {...}}``.
Defaults make ``make run`` work with no file (INTERFACES.md, "Configuration"). Pairing keys
never live here: the journal keeps them.
"""

from __future__ import annotations

import re
from contextvars import ContextVar
from importlib import metadata
from pathlib import Path
from urllib.parse import urlsplit
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

__all__ = [
    "BROWSER_CANDIDATES",
    "DEFAULT_CONFIG_FILE",
    "BrowserConfig",
    "ClientConfig",
    "HealthcodeConfig",
    "MqttConfig",
    "PosProduct",
    "PractitionerConfig",
    "ReconciliationConfig",
    "Settings",
    "TerminalConfig",
    "TlsConfig",
    "load_settings",
]

#: Used when ``--config`` is not given and the file exists in the working directory.
DEFAULT_CONFIG_FILE = Path("claimbridge.toml")

#: Chromium builds tried in order when ``[browser] executable_path`` is not set.
BROWSER_CANDIDATES: tuple[str, ...] = (
    "/usr/bin/chromium-headless-shell",
    "/usr/lib/chromium/chromium",
    "/usr/bin/chromium",
)


_TERMINAL_NAME = re.compile(r"^[a-z0-9-]{1,40}$")
#: Also the name of the client's token file that ``claimbridge token create`` writes.
_CLIENT_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")

# The file load_settings() is reading, seen by Settings.settings_customise_sources.
_config_file: ContextVar[Path | None] = ContextVar("claimbridge_config_file", default=None)


def _package_version() -> str:
    try:
        return metadata.version("claimbridge")
    except metadata.PackageNotFoundError:  # running from a tree that was never installed
        return "0.0.0"


def _first_browser() -> str | None:
    for candidate in BROWSER_CANDIDATES:
        if Path(candidate).exists():
            return candidate
    return None


class _Section(BaseModel):
    # hide_input_in_errors: a refused value (say a URL with a password in it) must not be
    # repeated in an error message that ends up in a log or on a terminal.
    model_config = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)


class TerminalConfig(_Section):
    """``[terminals.<name>]``: the terminal's merchant and terminal ids."""

    mid: int = Field(gt=0)
    tid: int = Field(gt=0)


class ClientConfig(_Section):
    """``[clients.<name>]``: one PMS, dashboard or engineer, its token file and its role.

    The token stays in its file (read again when it changes; a file that is gone ends the
    client's connections). Roles: ``readonly``, ``pms``, ``engineer`` (INTERFACES.md "Security on
    the LAN").
    """

    token_file: Path
    role: Literal["readonly", "pms", "engineer"]


class PractitionerConfig(_Section):
    """``[healthcode.practitioners.<healthcodeId>]``: a practitioner's (or payee's) registrations.

    ``insurers = {bup = "P162345"}``: the insurers they are registered with at Healthcode and
    the provider number each knows them by; ``payee = false`` when they are not set up as a
    payee provider. Once any practitioner is listed, a bill for an insurer its practitioner
    (or payee) is not registered with is a problem ("Provider not mapped").
    """

    insurers: dict[str, str] = Field(default_factory=dict)
    payee: bool = True


class HealthcodeConfig(_Section):
    """``[healthcode]``: where and as whom to submit bills. The password stays in its file."""

    url: str | None = None
    site_id: str | None = None
    user_id: str | None = None
    password_file: Path | None = None
    #: First wait before polling a submitted bill's status; doubles up to ``poll_max_s``.
    poll_initial_s: float = Field(default=30.0, gt=0)
    poll_max_s: float = Field(default=900.0, gt=0)
    #: First wait before retrying a submit Healthcode did not take (502/503, refused connection).
    retry_initial_s: float = Field(default=1.0, gt=0)
    retry_max_s: float = Field(default=120.0, gt=0)
    #: How long ``healthcode.submit`` waits for the bill to reach Healthcode before it returns
    #: the job as it stands (still ``queued``).
    submit_wait_s: float = Field(default=30.0, gt=0)
    #: Bills submitted at the same time.
    concurrency: int = Field(default=8, ge=1, le=64)
    #: Seconds for each HTTP connect, read and write.
    timeout_s: float = Field(default=15.0, gt=0)
    #: V2 APIs (membership enquiry, remittances): the API Key Id, and the file holding the API
    #: Key (OAuth 2.0 client credentials, reference/healthcode.md §2.3). Both or neither.
    api_key_id: str | None = None
    api_key_file: Path | None = None
    #: Where the V2 discovery document is; None: ``<url>.well-known/discovery-document.json``.
    discovery_url: str | None = None
    #: Run Find Member before validate and submit; a member not found is a problem.
    member_check: bool = False
    #: Seconds between remittance fetches.
    remittance_poll_s: float = Field(default=3600.0, gt=0)
    #: A clinic's own reference data (insurers.json, isc.json, ccsd.json, icd10.json), in place
    #: of the lists shipped in the package.
    reference_dir: Path | None = None
    #: Healthcode ID -> registrations with insurers (see :class:`PractitionerConfig`).
    practitioners: dict[str, PractitionerConfig] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _ordered(self) -> HealthcodeConfig:
        for low, high in (("poll_initial_s", "poll_max_s"), ("retry_initial_s", "retry_max_s")):
            if getattr(self, low) > getattr(self, high):
                raise ValueError(f"{low} must not exceed {high}")
        if (self.api_key_id is None) != (self.api_key_file is None):
            raise ValueError("api_key_id and api_key_file go together: set both or neither")
        return self


class MqttConfig(_Section):
    """``[mqtt]``: off unless ``urls`` (or ``url``) is set (``mqtt://host:port``, or ``mqtts://``
    for TLS). ``urls`` are the nodes of one broker cluster: the link holds a connection (and a
    QoS 1 subscription) on each at once.

    The password stays in its file; TLS uses the system's CAs unless ``ca_file`` is given, and a
    client certificate when ``cert_file`` (and ``key_file``) are.
    """

    url: str | None = None
    urls: list[str] = Field(default_factory=list, max_length=16)
    site: str = Field(default="default", pattern=r"^[A-Za-z0-9_-]{1,64}$")
    username: str | None = None
    password_file: Path | None = None
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    #: The MQTT client id; ``claimbridge-<site>`` when unset (one daemon per site and id).
    client_id: str | None = Field(default=None, min_length=1, max_length=128)
    keepalive_s: int = Field(default=30, ge=5, le=65535)
    #: How long the broker keeps our session (subscription, queued requests) while we are away.
    session_expiry_s: int = Field(default=3600, ge=0)
    reconnect_min_s: float = Field(default=0.5, gt=0)
    reconnect_max_s: float = Field(default=30.0, gt=0)
    #: Retained terminal states are re-published this often, besides on every change.
    state_interval_s: float = Field(default=60.0, gt=0)

    @field_validator("urls")
    @classmethod
    def _check_urls(cls, value: list[str]) -> list[str]:
        for url in value:
            cls._check_url(url)
        if len(set(value)) != len(value):
            raise ValueError("urls must not repeat a node")
        return value

    @property
    def enabled(self) -> bool:
        """Whether the link is on."""
        return bool(self.broker_urls)

    @property
    def broker_urls(self) -> list[str]:
        """The nodes to connect to: ``urls``, with ``url`` (if set and not among them) first."""
        out = list(self.urls)
        if self.url is not None and self.url not in out:
            out.insert(0, self.url)
        return out

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: str | None) -> str | None:
        if value is None:
            return value
        if not re.fullmatch(r"mqtts?://[^/@\s]+/?", value):
            raise ValueError("url must be mqtt://HOST[:PORT] or mqtts://HOST[:PORT] (no credentials)")
        try:
            port = urlsplit(value).port
        except ValueError:
            port = -1
        if port is not None and not 1 <= port <= 65535:
            raise ValueError("url's port must be a number from 1 to 65535")
        return value

    @model_validator(mode="after")
    def _ordered(self) -> MqttConfig:
        if self.reconnect_min_s > self.reconnect_max_s:
            raise ValueError("reconnect_min_s must not exceed reconnect_max_s")
        return self


class TlsConfig(_Section):
    """``[tls]``: the one port serves ``wss://`` and ``https://`` only.

    Either ``cert_file`` and ``key_file`` (PEM), or ``self_signed = true``: a certificate made in
    the state directory at first start, its SHA-256 fingerprint printed at start and by doctor
    for clients to pin. ``fingerprint`` is for clients on this machine (``claimbridge call``,
    doctor): the certificate they pin; unset, they pin the daemon's own certificate file.
    """

    cert_file: Path | None = None
    key_file: Path | None = None
    self_signed: bool = False
    fingerprint: str | None = None

    @model_validator(mode="after")
    def _one_way(self) -> TlsConfig:
        if (self.cert_file is None) != (self.key_file is None):
            raise ValueError("cert_file and key_file go together: set both or neither")
        if self.self_signed and self.cert_file is not None:
            raise ValueError("self_signed = true makes its own certificate: leave cert_file and key_file out")
        if self.fingerprint is not None:
            digits = self.fingerprint.strip().removeprefix("sha256:").replace(":", "")
            if len(digits) != 64 or any(c not in "0123456789abcdefABCDEF" for c in digits):
                raise ValueError("fingerprint is a SHA-256: 64 hexadecimal digits (colons allowed)")
        return self

    @property
    def enabled(self) -> bool:
        """Whether the port speaks TLS."""
        return self.self_signed or self.cert_file is not None


class ReconciliationConfig(_Section):
    """``[reconciliation]``: when the daemon holds the fund's claims report against its journal.

    ``daily_at`` (``HH:MM``, Sydney time) reconciles each paired terminal's previous day;
    every ``retry_s`` seconds the day of each ``unknown`` claim or cancel is reconciled again,
    until it is settled or 7 days old.
    """

    daily_at: str = Field(default="07:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    retry_s: float = Field(default=300.0, gt=0)


class PosProduct(_Section):
    """What iClient is told about us (``posProductData``)."""

    vendor: str = "claimbridge"
    name: str = "claimbridge"
    version: str = Field(default_factory=_package_version)


class BrowserConfig(_Section):
    """``[browser]``: which Chromium to launch, with which arguments.

    ``executable_path`` defaults to the first of :data:`BROWSER_CANDIDATES` that exists (the
    headless shell first). ``args`` are added to the flags the daemon always passes, which keep
    Chromium off the network (``bridge.browser.page.BROWSER_ARGS``); ``--no-sandbox`` is added by
    itself only when running as root.
    """

    executable_path: str | None = Field(default_factory=_first_browser)
    args: tuple[str, ...] = ()


class Settings(BaseSettings):
    """All settings of the daemon. Build it with :func:`load_settings`."""

    model_config = SettingsConfigDict(
        env_prefix="CLAIMBRIDGE_",
        env_nested_delimiter="__",
        extra="forbid",
        frozen=True,
        hide_input_in_errors=True,
    )

    listen: str = "127.0.0.1:8765"
    state_dir: Path = Path("./var")
    iclient_url: str = "http://127.0.0.1:8730/iclient-v1.js"
    terminals: dict[str, TerminalConfig] = Field(default_factory=dict)
    #: Each client's own token and role; ``state_dir/token`` is always an engineer's besides.
    clients: dict[str, ClientConfig] = Field(default_factory=dict)
    healthcode: HealthcodeConfig = Field(default_factory=HealthcodeConfig)
    mqtt: MqttConfig = Field(default_factory=MqttConfig)
    tls: TlsConfig = Field(default_factory=TlsConfig)
    reconciliation: ReconciliationConfig = Field(default_factory=ReconciliationConfig)
    #: The iClient API key (Tyro issues one per POS product); kept out of repr.
    api_key: str = Field(default="Test API Key", repr=False)
    pos_product: PosProduct = Field(default_factory=PosProduct)
    browser: BrowserConfig = Field(default_factory=BrowserConfig)
    allowed_origins: list[str] = Field(default_factory=list)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    max_frame_bytes: int = Field(default=1_048_576, gt=0)
    max_batch: int = Field(default=50, gt=0)
    pairing_timeout_s: float = Field(default=90, gt=0)
    transaction_timeout_s: float = Field(default=600, gt=0)
    #: SIGTERM ends the daemon within this many seconds whatever the journal or a terminal does:
    #: a running transaction is waited for until then; an outcome not yet written is logged.
    shutdown_timeout_s: float = Field(default=30, gt=0, le=3600)
    #: A terminal page that does not answer a liveness probe within this is dead (INTERFACES.md
    #: "Availability"); every other call into a page has the same limit.
    page_probe_timeout_s: float = Field(default=10, gt=0, le=600)
    #: Websocket connections served at once; the next handshake gets HTTP 503.
    max_connections: int = Field(default=256, ge=1, le=65536)
    #: Requests one connection may have in flight; the next one gets -32005.
    max_in_flight: int = Field(default=32, ge=1, le=10000)

    @field_validator("listen")
    @classmethod
    def _check_listen(cls, value: str) -> str:
        host, sep, port = value.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
            raise ValueError("listen must be HOST:PORT, e.g. 127.0.0.1:8765")
        return value

    @field_validator("terminals")
    @classmethod
    def _check_terminal_names(cls, value: dict[str, TerminalConfig]) -> dict[str, TerminalConfig]:
        for name in value:
            if not _TERMINAL_NAME.fullmatch(name):
                raise ValueError(f"terminal name {name!r}: use 1 to 40 of a-z, 0-9 and '-'")
        return value

    @field_validator("clients")
    @classmethod
    def _check_client_names(cls, value: dict[str, ClientConfig]) -> dict[str, ClientConfig]:
        for name in value:
            if not _CLIENT_NAME.fullmatch(name):
                raise ValueError(f"client name {name!r}: use 1 to 64 of A-Z, a-z, 0-9, '_' and '-'")
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @property
    def listen_host(self) -> str:
        """Host part of :attr:`listen` (brackets of an IPv6 literal removed)."""
        return self.listen.rpartition(":")[0].strip("[]")

    @property
    def listen_port(self) -> int:
        """Port part of :attr:`listen`."""
        return int(self.listen.rpartition(":")[2])

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Arguments, then the environment, then the TOML file (if :func:`load_settings` set one)."""
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        path = _config_file.get()
        if path is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=path))
        return tuple(sources)


def load_settings(config_file: Path | None = None) -> Settings:
    """Read the settings: the TOML file, overridden by ``CLAIMBRIDGE_*`` variables.

    Args:
        config_file: The file given with ``--config``; ``None`` means ``./claimbridge.toml`` if
            it exists, else defaults and the environment only.

    Returns:
        The settings.

    Raises:
        FileNotFoundError: ``config_file`` was given and does not exist.
        pydantic.ValidationError: A value breaks its rule (the message names the key).
    """
    if config_file is None:
        path = DEFAULT_CONFIG_FILE if DEFAULT_CONFIG_FILE.is_file() else None
    else:
        if not config_file.is_file():
            raise FileNotFoundError(f"config file not found: {config_file}")
        path = config_file
    token = _config_file.set(path)
    try:
        return Settings()
    finally:
        _config_file.reset(token)
