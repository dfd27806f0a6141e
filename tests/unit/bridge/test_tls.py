"""Tests for bridge/tls.py: the self-signed certificate, fingerprints, and pinning over real TLS
handshakes on loopback."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from cryptography import x509

from bridge.config import TlsConfig
from bridge.errors import CannotStart
from bridge.tls import (
    PinMismatch,
    TlsFiles,
    certificate_fingerprint,
    ensure_self_signed,
    normalise_fingerprint,
    pinned_context,
    port_tls,
    server_context,
)


def test_self_signed_is_made_once_private_and_names_loopback(tmp_path: Path) -> None:
    files = ensure_self_signed(tmp_path, ("clinic-pc", "192.168.1.20"))
    assert files.key_file.stat().st_mode & 0o777 == 0o600
    assert files.cert_file.parent.stat().st_mode & 0o777 == 0o700
    assert ensure_self_signed(tmp_path) == files, "made again at the second start"
    assert certificate_fingerprint(files.cert_file) == files.fingerprint
    cert = x509.load_pem_x509_certificate(files.cert_file.read_bytes())
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "clinic-pc" in names.get_values_for_type(x509.DNSName)
    assert {str(ip) for ip in names.get_values_for_type(x509.IPAddress)} >= {"127.0.0.1", "192.168.1.20"}


@pytest.mark.parametrize("text", ["ab" * 32, "sha256:" + "AB" * 32, ":".join(["ab"] * 32)])
def test_fingerprints_are_read_in_any_usual_form(text: str) -> None:
    assert normalise_fingerprint(text) == ":".join(["AB"] * 32)


@pytest.mark.parametrize("text", ["", "ab" * 31, "zz" * 32])
def test_a_bad_fingerprint_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        normalise_fingerprint(text)


@pytest.fixture
async def tls_server(tmp_path: Path) -> AsyncIterator[tuple[int, TlsFiles]]:
    files = ensure_self_signed(tmp_path / "a")

    async def hello(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"hello")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(hello, "127.0.0.1", 0, ssl=server_context(files))
    yield server.sockets[0].getsockname()[1], files
    server.close()
    await server.wait_closed()


async def test_a_client_that_pins_the_fingerprint_connects(tls_server: tuple[int, TlsFiles]) -> None:
    port, files = tls_server
    context = await pinned_context("127.0.0.1", port, files.fingerprint.lower().replace(":", ""))
    reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=context)
    assert await reader.read() == b"hello"
    writer.close()


async def test_a_client_that_does_not_pin_is_refused_by_its_own_verification(tls_server: tuple[int, TlsFiles]) -> None:
    port, _files = tls_server
    with pytest.raises(ssl.SSLCertVerificationError):
        await asyncio.open_connection("127.0.0.1", port, ssl=ssl.create_default_context())


async def test_another_certificate_is_refused_whether_pinned_before_or_during(
    tls_server: tuple[int, TlsFiles], tmp_path: Path,
) -> None:
    port, _files = tls_server
    other = ensure_self_signed(tmp_path / "b")
    with pytest.raises(PinMismatch):
        await pinned_context("127.0.0.1", port, other.fingerprint)
    # A context pinned to another certificate (a server swapped after the first look) fails the
    # handshake itself.
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN
    context.load_verify_locations(cafile=str(other.cert_file))
    with pytest.raises(ssl.SSLCertVerificationError):
        await asyncio.open_connection("127.0.0.1", port, ssl=context)


def test_port_tls_names_what_is_wrong_in_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.pem"
    bad.write_text("not a certificate\n")
    with pytest.raises(CannotStart, match=r"\[tls\] cannot be used"):
        port_tls(TlsConfig(cert_file=bad, key_file=bad), tmp_path, "127.0.0.1")
    context, fingerprint = port_tls(TlsConfig(self_signed=True), tmp_path, "127.0.0.1")
    assert isinstance(context, ssl.SSLContext) and len(fingerprint) == 95


def test_tls_config_rules() -> None:
    with pytest.raises(ValueError, match="go together"):
        TlsConfig(cert_file=Path("a"))
    with pytest.raises(ValueError, match="leave cert_file"):
        TlsConfig(self_signed=True, cert_file=Path("a"), key_file=Path("b"))
    with pytest.raises(ValueError, match="64 hexadecimal"):
        TlsConfig(fingerprint="abc")
    assert not TlsConfig().enabled and TlsConfig(self_signed=True).enabled
