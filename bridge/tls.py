"""TLS on the daemon's one port: the only code that imports ``cryptography`` and builds ``ssl``
contexts for it (INTERFACES.md "Security on the LAN").

- ``[tls] cert_file, key_file``: the port serves ``wss://`` and ``https://`` only.
- ``[tls] self_signed = true``: a certificate and key are made in the state directory at first
  start (``tls/cert.pem``, ``tls/key.pem``, 0600; an EC P-256 key, ten years, the names the
  daemon listens on), and their SHA-256 fingerprint is printed at start and by doctor.

Clients pin that fingerprint (:func:`pinned_context`): a first TLS handshake, which sends
nothing, reads the certificate and compares its fingerprint; the connection that carries the
token then trusts that one certificate and nothing else, so a certificate swapped in between is
refused by the TLS handshake itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import ipaddress
import logging
import os
import socket
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from bridge.errors import CannotStart

if TYPE_CHECKING:
    from bridge.config import TlsConfig

__all__ = [
    "PinMismatch",
    "TlsFiles",
    "certificate_fingerprint",
    "ensure_self_signed",
    "fingerprint_of",
    "normalise_fingerprint",
    "pinned_context",
    "port_tls",
    "server_context",
]

log = logging.getLogger("claimbridge.tls")

#: Where ``self_signed`` keeps its files, under the state directory.
SELF_SIGNED_DIR = "tls"
_VALID_DAYS = 3650


class PinMismatch(Exception):
    """The server's certificate is not the one whose fingerprint the client pins."""

    def __init__(self, expected: str, got: str) -> None:
        super().__init__(f"the server's certificate has fingerprint {got}, not the pinned {expected}")
        self.expected = expected
        self.got = got


@dataclass(frozen=True, slots=True)
class TlsFiles:
    """The certificate and key the port serves, and the certificate's fingerprint."""

    cert_file: Path
    key_file: Path
    fingerprint: str


def fingerprint_of(der: bytes) -> str:
    """SHA-256 of a DER certificate as ``AB:CD:...`` (what browsers and ``openssl x509
    -fingerprint -sha256`` show)."""
    return ":".join(f"{b:02X}" for b in hashlib.sha256(der).digest())


def normalise_fingerprint(text: str) -> str:
    """A fingerprint as given (any case, with or without colons, ``sha256:`` prefix) in the
    :func:`fingerprint_of` form.

    Raises:
        ValueError: not 64 hexadecimal digits.
    """
    raw = text.strip()
    if raw.lower().startswith("sha256:"):
        raw = raw[7:]
    digits = raw.replace(":", "").replace(" ", "").upper()
    if len(digits) != 64 or any(c not in "0123456789ABCDEF" for c in digits):
        raise ValueError("a SHA-256 fingerprint is 64 hexadecimal digits (colons allowed)")
    return ":".join(digits[i:i + 2] for i in range(0, 64, 2))


def certificate_fingerprint(cert_file: Path) -> str:
    """The SHA-256 fingerprint of the first certificate in a PEM file."""
    cert = x509.load_pem_x509_certificate(cert_file.read_bytes())
    return fingerprint_of(cert.public_bytes(serialization.Encoding.DER))


def _names(hosts: tuple[str, ...]) -> list[x509.GeneralName]:
    out: list[x509.GeneralName] = []
    for host in dict.fromkeys(("localhost", "127.0.0.1", "::1", *hosts)):
        if not host or host in ("0.0.0.0", "::"):
            continue
        try:
            out.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            out.append(x509.DNSName(host))
    return out


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.chmod(path, 0o600)


def ensure_self_signed(state_dir: Path, hosts: tuple[str, ...] = (), now: dt.datetime | None = None) -> TlsFiles:
    """The state directory's self-signed certificate, made at first start.

    Args:
        state_dir: where ``tls/`` goes.
        hosts: names and addresses to put in the certificate besides loopback (the listen host,
            this machine's name).
        now: the certificate's start of validity (tests give one).
    """
    where = state_dir / SELF_SIGNED_DIR
    cert_file, key_file = where / "cert.pem", where / "key.pem"
    if cert_file.is_file() and key_file.is_file():
        return TlsFiles(cert_file, key_file, certificate_fingerprint(cert_file))
    where.mkdir(mode=0o700, parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    start = (now or dt.datetime.now(dt.UTC)) - dt.timedelta(days=1)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "claimbridge")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=_VALID_DAYS))
        .add_extension(x509.SubjectAlternativeName(_names(hosts)), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    _write_private(key_file, key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption(),
    ))
    _write_private(cert_file, cert.public_bytes(serialization.Encoding.PEM))
    return TlsFiles(cert_file, key_file, fingerprint_of(cert.public_bytes(serialization.Encoding.DER)))


def server_context(files: TlsFiles) -> ssl.SSLContext:
    """The port's TLS context (TLS 1.2 at least).

    Raises:
        OSError, ssl.SSLError: a file cannot be read, or the key does not fit the certificate.
    """
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(files.cert_file, files.key_file)
    return ctx


def port_tls(config: TlsConfig, state_dir: Path, listen_host: str) -> tuple[ssl.SSLContext, str]:
    """The daemon port's TLS context and its certificate's fingerprint (logged), the certificate
    made first when ``self_signed``.

    Raises:
        CannotStart: a certificate or key that cannot be read or does not fit.
    """
    try:
        if config.cert_file is not None and config.key_file is not None:
            files = TlsFiles(config.cert_file, config.key_file, certificate_fingerprint(config.cert_file))
        else:
            files = ensure_self_signed(state_dir, (listen_host, socket.gethostname()))
        context = server_context(files)
    except (OSError, ValueError, ssl.SSLError) as exc:
        raise CannotStart(f"claimbridge: [tls] cannot be used: {exc}; check cert_file and key_file "
                          "(PEM, readable by the daemon, the key of that certificate)") from exc
    log.info("TLS certificate %s, SHA-256 fingerprint %s", files.cert_file, files.fingerprint)
    return context, files.fingerprint


async def pinned_context(host: str, port: int, fingerprint: str, timeout_s: float = 10.0) -> ssl.SSLContext:
    """A client TLS context that trusts exactly the server certificate with ``fingerprint``.

    A first handshake (nothing is sent over it) fetches the certificate; it must have the pinned
    fingerprint. The context returned trusts that certificate alone (hostname not checked: the
    pin replaces it), so the connection made with it fails its own handshake if the server
    presents any other.

    Raises:
        PinMismatch: the server's certificate is another.
        OSError, ssl.SSLError, TimeoutError: no TLS server there.
    """
    expected = normalise_fingerprint(fingerprint)
    probe = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    probe.check_hostname = False
    probe.verify_mode = ssl.CERT_NONE  # only to read the certificate; nothing is sent
    _reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port, ssl=probe), timeout_s)
    try:
        ssl_object = writer.get_extra_info("ssl_object")
        der = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
    finally:
        writer.close()
        with contextlib.suppress(OSError, ssl.SSLError):
            await writer.wait_closed()
    got = fingerprint_of(der) if der else "(none)"
    if got != expected:
        raise PinMismatch(expected, got)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN  # the pinned certificate is the anchor
    ctx.load_verify_locations(cadata=der)
    return ctx
