"""TLS for clients (etcdClientTlsSecret, etcdClientTlsIssuer): a second client listener, https on
CLIENT_TLS_PORT, beside the plain one on CLIENT_PORT, which KafScale's clients use (none of them
configures TLS for etcd) and the program's own steps too.

etcd serves each `listen-client-urls` entry with its own scheme: an `https` one takes
`client-transport-security`, an `http` one ignores it (server/embed/etcd.go
`configureClientListeners`, 3.4 and 3.5: "scheme is HTTP while key and cert files are present;
ignoring key and cert files"). Server authentication only (no `client-cert-auth`): clients
verify the members with `ca.crt` and log in with a password (etcdAuth). The advertised client
URLs stay plain, so `member list` shows what the program's steps and the brokers use. etcd reads
the files again for every new connection, so a renewed certificate needs no restart
(kafscale/objects/peer_tls.py)."""

from __future__ import annotations

from kafscale.config.naming import CLIENT_PORT, CLIENT_TLS_PORT, EtcdNames
from kafscale.config.settings import EtcdSettings
from kafscale.objects.peer_tls import peer_dns_names
from kafscale.objects.tls_secrets import CERT_KEY, PRIVATE_KEY_KEY, certificate, secret_mounts, secret_volumes

CLIENT_TLS_VOLUME = "client-tls"
CLIENT_TLS_DIR = "/etc/etcd-client-tls"


def listen_client_urls(settings: EtcdSettings) -> str:
    """etcd's client listeners: plain HTTP, and TLS beside it when a certificate is set."""
    plain = f"http://0.0.0.0:{CLIENT_PORT}"
    return f"{plain},https://0.0.0.0:{CLIENT_TLS_PORT}" if settings.client_tls_secret else plain


def client_tls_config(settings: EtcdSettings) -> dict[str, object]:
    """etcd's config-file keys for the TLS listener; none without it."""
    if not settings.client_tls_secret:
        return {}
    return {
        "client-transport-security": {
            "cert-file": f"{CLIENT_TLS_DIR}/{CERT_KEY}",
            "key-file": f"{CLIENT_TLS_DIR}/{PRIVATE_KEY_KEY}",
        }
    }


def client_tls_mounts(settings: EtcdSettings) -> list[dict[str, object]]:
    return secret_mounts(settings.client_tls_secret, CLIENT_TLS_VOLUME, CLIENT_TLS_DIR)


def client_tls_volumes(settings: EtcdSettings) -> list[dict[str, object]]:
    return secret_volumes(settings.client_tls_secret, CLIENT_TLS_VOLUME)


def client_tls_ports(settings: EtcdSettings) -> list[dict[str, object]]:
    """The TLS listener's port on the etcd container and both Services; none without it."""
    return [{"name": "client-tls", "port": CLIENT_TLS_PORT}] if settings.client_tls_secret else []


def client_dns_names(names: EtcdNames) -> list[str]:
    """The client Service's names, and every member's (a client may name one member)."""
    service = f"{names.client_service}.{names.namespace}.svc"
    return [f"{service}.cluster.local", service, *peer_dns_names(names)]


def client_certificates(settings: EtcdSettings, names: EtcdNames) -> list[dict[str, object]]:
    """cert-manager's Certificate for the TLS listener, when an issuer is named."""
    return certificate(
        names,
        names.client_certificate,
        settings.client_tls_secret,
        settings.client_tls_issuer,
        client_dns_names(names),
        ["server auth", "digital signature", "key encipherment"],
    )
