"""Clients and their tokens: the only code that reads the client token files and the state
directory's client registry; decides no role (:mod:`bridge.roles` does).

Three sources make the list of clients (INTERFACES.md "Security on the LAN"):

- ``state_dir/token``: the engineer every daemon has (:data:`bridge.roles.DEFAULT_CLIENT`);
- ``[clients.<name>] token_file, role`` in the config;
- ``claimbridge token create NAME --role ROLE``: ``state_dir/clients/NAME.token`` (0600) and
  the client's role in ``state_dir/clients.json`` (0600, written atomically).

``claimbridge token revoke NAME`` removes a created client's token file and entry, or, for a
client of the config, lists its name under ``revoked`` in ``clients.json``. The daemon's
:class:`ClientRegistry` looks at those files twice a second and reads them again when one
changes; the server then closes every connection whose token no longer names the same client.
Tokens are never logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import os
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from bridge.endpoint import ensure_token, make_private, split_listen
from bridge.errors import StateDirUnusable
from bridge.roles import DEFAULT_CLIENT, ClientIdentity, Role

if TYPE_CHECKING:
    import ssl

    from bridge.config import Settings

__all__ = [
    "Access",
    "CLIENT_NAME",
    "ClientRegistry",
    "Registry",
    "TokenSource",
    "create_client",
    "open_access",
    "read_registry",
    "revoke_client",
    "write_private",
]

log = logging.getLogger("claimbridge.clients")

#: A client's name (also its token file's name).
CLIENT_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")

#: Seconds between two looks at the token files.
WATCH_S = 0.5

_REGISTRY = "clients.json"
_TOKENS = "clients"


@dataclass(frozen=True, slots=True)
class TokenSource:
    """Where one client's token is kept."""

    identity: ClientIdentity
    token_file: Path


@dataclass(slots=True)
class Registry:
    """``state_dir/clients.json``: created clients (name -> role) and revoked names."""

    clients: dict[str, Role] = field(default_factory=dict)
    revoked: set[str] = field(default_factory=set)

    def as_json(self) -> dict[str, object]:
        return {
            "clients": {name: {"role": str(role)} for name, role in sorted(self.clients.items())},
            "revoked": sorted(self.revoked),
        }


def write_private(path: Path, text: str) -> None:
    """Write ``path`` atomically, mode 0600 (its directory made 0700 if missing)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def read_registry(state_dir: Path) -> Registry:
    """The created clients and revoked names (an empty registry when there is no file).

    Raises:
        ValueError: the file is not the registry's JSON (it names the file).
    """
    path = state_dir / _REGISTRY
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return Registry()
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path} cannot be read as the client registry: {exc}") from None
    try:
        clients = {str(n): Role(str(v["role"])) for n, v in dict(raw.get("clients") or {}).items()}
        revoked = {str(n) for n in raw.get("revoked") or ()}
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"{path} is not a client registry ({exc})") from None
    return Registry(clients, revoked)


def _token_file(state_dir: Path, name: str) -> Path:
    return state_dir / _TOKENS / f"{name}.token"


def create_client(state_dir: Path, name: str, role: Role, configured: Mapping[str, object]) -> tuple[str, Path]:
    """Make a new client with a new token (``claimbridge token create``).

    Args:
        state_dir: the daemon's state directory.
        name: the client's name.
        role: its role.
        configured: the names the config's ``[clients]`` holds (their tokens are the config's).

    Returns:
        The token and the file it was written to.

    Raises:
        ValueError: a bad name, or one the config or the default engineer already uses.
    """
    if not CLIENT_NAME.fullmatch(name):
        raise ValueError(f"client name {name!r}: use 1 to 64 of A-Z, a-z, 0-9, '_' and '-'")
    if name == DEFAULT_CLIENT.name:
        raise ValueError(f"{name!r} is the state directory's own engineer (state_dir/token): choose another name")
    if name in configured:
        raise ValueError(f"{name!r} is a client of the config ([clients.{name}]): change its token_file there")
    state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    registry = read_registry(state_dir)
    token = secrets.token_urlsafe(32)
    path = _token_file(state_dir, name)
    write_private(path, token + "\n")
    registry.clients[name] = role
    registry.revoked.discard(name)
    write_private(state_dir / _REGISTRY, json.dumps(registry.as_json(), indent=2) + "\n")
    return token, path


def revoke_client(state_dir: Path, name: str, configured: Mapping[str, object]) -> str:
    """End a client's token (``claimbridge token revoke``); returns what was done, in words.

    Raises:
        ValueError: no client of that name, or the default engineer (its file is the daemon's).
    """
    if name == DEFAULT_CLIENT.name:
        raise ValueError("the state directory's own engineer cannot be revoked: delete state_dir/token "
                         "while the daemon is stopped to make a new one")
    registry = read_registry(state_dir)
    if name in registry.clients:
        del registry.clients[name]
        with contextlib.suppress(FileNotFoundError):
            _token_file(state_dir, name).unlink()
        write_private(state_dir / _REGISTRY, json.dumps(registry.as_json(), indent=2) + "\n")
        return f"client {name} revoked: its token file is deleted"
    if name in configured:
        registry.revoked.add(name)
        write_private(state_dir / _REGISTRY, json.dumps(registry.as_json(), indent=2) + "\n")
        return f"client {name} revoked (it stays refused until removed from the config's [clients.{name}])"
    raise ValueError(f"no client named {name!r} (claimbridge token create {name} --role ROLE makes one)")


def _read_token(path: Path) -> str | None:
    try:
        token = path.read_text(encoding="utf-8").strip()
    except OSError:
        return None
    return token or None


def _stamp(path: Path) -> tuple[int, int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_ino, st.st_mtime_ns, st.st_size)


class ClientRegistry:
    """The clients the daemon knows now, read again when their files change.

    Args:
        state_dir: the state directory (``token``, ``clients.json``, ``clients/``).
        configured: the config's ``[clients]`` (name -> (token file, role)).
        on_change: called after every reload that changed anything (the server closes the
            connections of clients that are gone).
    """

    def __init__(
        self,
        state_dir: Path,
        configured: Mapping[str, tuple[Path, Role]] | None = None,
        on_change: Callable[[], None] | None = None,
    ) -> None:
        self.state_dir = state_dir
        self._configured = dict(configured or {})
        self.on_change = on_change
        self._tokens: list[tuple[bytes, ClientIdentity]] = []
        self._stamps: tuple[object, ...] = ()
        self.reload()

    def _sources(self, registry: Registry) -> list[TokenSource]:
        out = [TokenSource(DEFAULT_CLIENT, self.state_dir / "token")]
        for name, (path, role) in sorted(self._configured.items()):
            if name not in registry.revoked:
                out.append(TokenSource(ClientIdentity(name, role), path))
        for name, role in sorted(registry.clients.items()):
            if name not in self._configured and name != DEFAULT_CLIENT.name:
                out.append(TokenSource(ClientIdentity(name, role), _token_file(self.state_dir, name)))
        return out

    def _current_stamps(self) -> tuple[object, ...]:
        files = [self.state_dir / "token", self.state_dir / _REGISTRY]
        files += [p for p, _ in self._configured.values()]
        with contextlib.suppress(OSError):
            files += sorted((self.state_dir / _TOKENS).glob("*.token"))
        return tuple((str(p), _stamp(p)) for p in files)

    def reload(self) -> bool:
        """Read every source again; returns whether the set of tokens changed."""
        stamps = self._current_stamps()
        try:
            registry = read_registry(self.state_dir)
        except ValueError as exc:
            log.error("%s; keeping the clients known before", exc)
            self._stamps = stamps
            return False
        tokens: list[tuple[bytes, ClientIdentity]] = []
        seen: set[str] = set()
        for source in self._sources(registry):
            token = _read_token(source.token_file)
            if token is None:
                if source.identity is not DEFAULT_CLIENT:
                    log.warning("client %s: no token in %s; it cannot connect", source.identity.name, source.token_file)
                continue
            if token in seen:
                log.error("client %s: its token is another client's too; refused", source.identity.name)
                continue
            seen.add(token)
            tokens.append((token.encode(), source.identity))
        changed = tokens != self._tokens
        self._tokens = tokens
        self._stamps = stamps
        return changed

    def identify(self, token: str | None) -> ClientIdentity | None:
        """The client that holds ``token`` (compared in constant time with every token), or None."""
        if not token:
            return None
        found: ClientIdentity | None = None
        given = token.encode()
        for known, identity in self._tokens:
            if hmac.compare_digest(known, given):
                found = identity
        return found

    def names(self) -> list[tuple[str, str]]:
        """(name, role) of every client that can connect now (never a token)."""
        return [(identity.name, str(identity.role)) for _, identity in self._tokens]

    def check(self) -> bool:
        """Reload if a file changed since the last look; returns whether the clients changed."""
        if self._current_stamps() == self._stamps:
            return False
        changed = self.reload()
        if changed:
            log.info("clients: %s", ", ".join(f"{n} ({r})" for n, r in self.names()))
            if self.on_change is not None:
                self.on_change()
        return changed

    async def watch(self, interval_s: float = WATCH_S, on_change: Callable[[], None] | None = None) -> None:
        """Look at the files every ``interval_s`` until cancelled (``on_change``: replaces the
        callback given at construction)."""
        if on_change is not None:
            self.on_change = on_change
        while True:
            await asyncio.sleep(interval_s)
            try:
                self.check()
            except Exception:  # a watcher that dies would leave revoked tokens working
                log.exception("reading the client token files failed")


@dataclass(frozen=True, slots=True)
class Access:
    """How clients get in: the engineer's token, every client, and the port's TLS."""

    token: str
    clients: ClientRegistry
    tls: ssl.SSLContext | None
    fingerprint: str | None


def open_access(settings: Settings, state_dir: Path) -> Access:
    """The state directory made private (0700, the journal's files 0600), its token (made at
    first start), the clients, and ``[tls]`` (the self-signed certificate made at first start),
    before the journal opens.

    Raises:
        StateDirUnusable: the token file cannot be written.
        CannotStart: the TLS certificate or key cannot be used.
    """
    try:
        make_private(state_dir)
        token = ensure_token(state_dir / "token")
    except OSError as exc:
        raise StateDirUnusable(str(state_dir), f"the token file: {exc.strerror or exc}") from None
    clients = ClientRegistry(state_dir, {n: (c.token_file, Role(c.role)) for n, c in settings.clients.items()})
    if not settings.tls.enabled:
        return Access(token, clients, None, None)
    from bridge.tls import port_tls  # cryptography only when it is used

    context, fingerprint = port_tls(settings.tls, state_dir, split_listen(settings.listen)[0])
    return Access(token, clients, context, fingerprint)
