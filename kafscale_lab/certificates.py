"""Test certificates from Debian's openssl: a CA, and a certificate it signs for given DNS names,
usable for server and client auth (what etcd's peers present to each other)."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Certificate:
    cert: Path
    key: Path
    ca: Path  # the CA that signed it

    def secret_data(self) -> dict[str, str]:
        """As a kubernetes.io/tls Secret with `ca.crt` holds it (cert-manager's layout)."""
        return {
            "tls.crt": self.cert.read_text(),
            "tls.key": self.key.read_text(),
            "ca.crt": self.ca.read_text(),
        }


def _openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=60)


def make_ca(directory: Path, name: str) -> tuple[Path, Path]:
    """A self-signed CA (EC P-256, one day): its certificate and key."""
    directory.mkdir(parents=True, exist_ok=True)
    cert, key = directory / f"{name}-ca.crt", directory / f"{name}-ca.key"
    _openssl(
        "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", f"/CN={name} CA",
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
    )  # fmt: skip
    return cert, key


def make_certificate(directory: Path, name: str, ca: tuple[Path, Path], dns_names: list[str]) -> Certificate:
    """A certificate `ca` signs for `dns_names`, for server and client auth (EC P-256, one day)."""
    ca_cert, ca_key = ca
    cert, key, request = directory / f"{name}.crt", directory / f"{name}.key", directory / f"{name}.csr"
    extensions = directory / f"{name}.ext"
    extensions.write_text(
        "basicConstraints=CA:FALSE\n"
        "keyUsage=critical,digitalSignature,keyEncipherment\n"
        "extendedKeyUsage=serverAuth,clientAuth\n"
        f"subjectAltName={','.join(f'DNS:{dns}' for dns in dns_names)}\n"
    )
    _openssl(
        "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", str(key), "-out", str(request), "-subj", f"/CN={name}",
    )  # fmt: skip
    _openssl(
        "x509", "-req", "-in", str(request), "-CA", str(ca_cert), "-CAkey", str(ca_key),
        "-CAcreateserial", "-out", str(cert), "-days", "1", "-extfile", str(extensions),
    )  # fmt: skip
    return Certificate(cert, key, ca_cert)
