"""MQTT addressing, pure: the broker URLs, the topic names of a site (INTERFACES.md, "MQTT"), the
``authorization`` user property, and the memory that runs a request arriving on several broker
connections once."""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

__all__ = [
    "BrokerAddress",
    "RecentRequests",
    "Topics",
    "bearer_token",
    "parse_broker_url",
    "request_key",
    "valid_response_topic",
]

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


def bearer_token(user_properties: Iterable[tuple[str, str]] | None) -> str | None:
    """The client token of a request: its MQTT 5 user property ``authorization: Bearer <token>``
    (the name without regard to case, the first one given), or None."""
    for name, value in user_properties or ():
        if str(name).lower() == "authorization":
            scheme, _, token = str(value).strip().partition(" ")
            return token.strip() or None if scheme.lower() == "bearer" else None
    return None


def request_key(response_topic: str | None, correlation: bytes | None, payload: bytes) -> str:
    """What makes two deliveries the same request: where the answer goes, its correlation data
    and the request itself (a SHA-256, so the memory holds no request)."""
    digest = hashlib.sha256()
    for part in ((response_topic or "").encode("utf-8"), correlation or b"", payload):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


class RecentRequests:
    """Requests seen lately: the cluster routes one publish to each of our node connections, and
    it is run and answered once. A key seen again after ``window_s`` is new again (a QoS 1
    redelivery much later is answered again, with the same job: requests are idempotent).

    Args:
        window_s: how long a request is remembered.
        limit: the most keys held (the oldest are forgotten first).
    """

    def __init__(self, window_s: float = 60.0, limit: int = 10_000) -> None:
        self.window_s = window_s
        self.limit = limit
        self._seen: OrderedDict[str, float] = OrderedDict()

    def first(self, key: str, now: float) -> bool:
        """Whether ``key`` is new at ``now`` (monotonic seconds); remembers it either way."""
        while self._seen:
            oldest, at = next(iter(self._seen.items()))
            if now - at < self.window_s and len(self._seen) < self.limit:
                break
            del self._seen[oldest]
        seen_at = self._seen.get(key)
        if seen_at is not None and now - seen_at < self.window_s:
            return False
        self._seen[key] = now
        self._seen.move_to_end(key)
        return True
