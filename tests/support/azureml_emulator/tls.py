"""Loopback TLS for a test session: a throwaway CA, one server certificate, a CA bundle that trusts it.

Why TLS at all: azure-core refuses to send a bearer token over plain HTTP for several of the SDK's
operations (workspaces, models, compute, list calls), and the SDK builds every blob URL as
`https://<account>.blob.<storage_endpoint>`. So both the emulator and Azurite speak HTTPS, and the
client trusts the session's CA through `REQUESTS_CA_BUNDLE`, the variable requests (azure-core's
transport) reads.
"""

from __future__ import annotations

import datetime
import ipaddress
from dataclasses import dataclass
from pathlib import Path

import certifi
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


@dataclass(frozen=True)
class LoopbackTls:
    cert: Path  # the server certificate (PEM), for the emulator and Azurite
    key: Path  # its private key (PEM, unencrypted)
    ca_bundle: Path  # certifi's public CAs plus the session CA, for REQUESTS_CA_BUNDLE


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def make_loopback_tls(folder: Path, host_names: list[str]) -> LoopbackTls:
    """Writes a CA and a certificate for 127.0.0.1 and `host_names` into `folder`."""
    now = datetime.datetime.now(datetime.UTC)
    valid = {
        "not_valid_before": now - datetime.timedelta(minutes=5),
        "not_valid_after": now + datetime.timedelta(days=2),
    }
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = (
        x509.CertificateBuilder(**valid)
        .subject_name(_name("llmops test CA"))
        .issuer_name(_name("llmops test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    server_key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = [x509.DNSName(name) for name in host_names]
    names.append(x509.IPAddress(ipaddress.ip_address("127.0.0.1")))
    server_cert = (
        x509.CertificateBuilder(**valid)
        .subject_name(_name(host_names[0]))
        .issuer_name(ca_cert.subject)
        .public_key(server_key.public_key())
        .serial_number(x509.random_serial_number())
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    tls = LoopbackTls(cert=folder / "server.pem", key=folder / "server.key", ca_bundle=folder / "ca-bundle.pem")
    tls.cert.write_bytes(server_cert.public_bytes(serialization.Encoding.PEM))
    tls.key.write_bytes(_pem(server_key))
    tls.ca_bundle.write_bytes(
        Path(certifi.where()).read_bytes() + b"\n" + ca_cert.public_bytes(serialization.Encoding.PEM)
    )
    return tls
