"""MQTT addressing, pure: the broker URL and the topic names of a site (INTERFACES.md, "MQTT")."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

__all__ = ["BrokerAddress", "Topics", "parse_broker_url", "valid_response_topic"]

_DEFAULT_PORTS = {"mqtt": 1883, "mqtts": 8883}



@dataclass(frozen=True, slots=True)
class BrokerAddress:
    """Where the broker is, from ``[mqtt] url``."""

    host: str
    port: int
    tls: bool


def parse_broker_url(url: str) -> BrokerAddress:
    """Read ``mqtt://host[:port]`` (1883) or ``mqtts://host[:port]`` (8883, TLS).

    Args:
        url: The configured URL.

    Returns:
        The host, port and whether to use TLS.

    Raises:
        ValueError: Another scheme, no host, a bad port, a path, or credentials in the URL
            (they belong in ``username``/``password_file``, where they are not logged).
    """
    parts = urlsplit(url)
    if parts.scheme not in _DEFAULT_PORTS:
        raise ValueError(f"MQTT url must start with mqtt:// or mqtts://, not {parts.scheme or 'nothing'}")
    if parts.username is not None or parts.password is not None:
        raise ValueError("MQTT url must not carry credentials: use username and password_file")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError("MQTT url must be scheme://host[:port] only")
    if not parts.hostname:
        raise ValueError("MQTT url has no host")
    try:
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"MQTT url has a bad port: {exc}") from None
    return BrokerAddress(parts.hostname, port or _DEFAULT_PORTS[parts.scheme], parts.scheme == "mqtts")


@dataclass(frozen=True, slots=True)
class Topics:
    """The topic names of one site (INTERFACES.md, "MQTT").

    Raises:
        ValueError: The site is empty or holds ``/``, ``+``, ``#`` or NUL.
    """

    site: str

    def __post_init__(self) -> None:
        if not self.site or any(c in self.site for c in "/+#\x00"):
            raise ValueError(f"bad MQTT site name {self.site!r}")

    @property
    def request(self) -> str:
        """Where PMS clients publish JSON-RPC requests."""
        return f"claimbridge/{self.site}/request"

    @property
    def events(self) -> str:
        """Where every job notification goes."""
        return f"claimbridge/{self.site}/events"

    @property
    def status(self) -> str:
        """``online``/``offline``, retained; the last will."""
        return f"claimbridge/{self.site}/status"

    def terminal(self, name: str) -> str:
        """One terminal's retained state.

        Raises:
            ValueError: The name would change the topic's shape.
        """
        if not name or any(c in name for c in "/+#\x00"):
            raise ValueError(f"bad terminal name for a topic: {name!r}")
        return f"claimbridge/{self.site}/terminals/{name}"


def valid_response_topic(topic: object) -> bool:
    """Whether an answer may be published to ``topic`` (a non-empty topic name, no wildcards)."""
    return (
        isinstance(topic, str)
        and 0 < len(topic.encode("utf-8")) <= 65535
        and not any(c in topic for c in "+#\x00")
    )
