"""Mutual TLS between members (etcdPeerTlsSecret, etcdPeerTlsIssuer): etcd's peer settings, the
certificate's Secret mounted into the etcd container, and cert-manager's Certificate. With
etcdPeerUrlScheme=http the members hold the certificate (their peer transport dials https peers
with it) while their peer URLs stay http: the step a running cluster takes between the two
(settings.py `peer_scheme`; scripts/etcd-member.sh `switch_peer_url`).

etcd's security guide (etcd.io/docs/v3.5/op-guide/security, "Example 3: Transport security and
client certificates in a cluster"): `--peer-cert-file`, `--peer-key-file`, `--peer-trusted-ca-file`
and `--peer-client-cert-auth` make every member present its certificate and accept only peers whose
certificate the CA signed. In a config file these are `peer-transport-security` (embed/config.go,
`configYAML.PeerSecurityJSON`, the same in 3.4 and 3.5). etcd reads the files again for every new
connection ("Notes for TLS authentication": since v3.2.0 certificates are reloaded on every client
connection), so a renewed certificate needs no restart: the kubelet updates a Secret volume in
place (Kubernetes docs, "Mounted Secrets are updated automatically")."""

from __future__ import annotations

from kafscale.config.naming import EtcdNames
from kafscale.config.settings import EtcdSettings
from kafscale.objects.tls_secrets import (
    CA_KEY,
    CERT_KEY,
    PRIVATE_KEY_KEY,
    certificate,
    secret_mounts,
    secret_volumes,
)

PEER_TLS_VOLUME = "peer-tls"
PEER_TLS_DIR = "/etc/etcd-peer-tls"


def peer_tls_config(settings: EtcdSettings) -> dict[str, object]:
    """etcd's config-file keys for peer TLS; none without it."""
    if not settings.peer_tls_secret:
        return {}
    return {
        "peer-transport-security": {
            "cert-file": f"{PEER_TLS_DIR}/{CERT_KEY}",
            "key-file": f"{PEER_TLS_DIR}/{PRIVATE_KEY_KEY}",
            "trusted-ca-file": f"{PEER_TLS_DIR}/{CA_KEY}",
            "client-cert-auth": True,
        }
    }


def peer_tls_mounts(settings: EtcdSettings) -> list[dict[str, object]]:
    return secret_mounts(settings.peer_tls_secret, PEER_TLS_VOLUME, PEER_TLS_DIR)


def peer_tls_volumes(settings: EtcdSettings) -> list[dict[str, object]]:
    return secret_volumes(settings.peer_tls_secret, PEER_TLS_VOLUME)


def peer_dns_names(names: EtcdNames) -> list[str]:
    """Every member's stable DNS names through the headless Service, as one wildcard each."""
    domain = f"{names.headless_service}.{names.namespace}.svc"
    return [f"*.{domain}.cluster.local", f"*.{domain}"]


def peer_certificates(settings: EtcdSettings, names: EtcdNames) -> list[dict[str, object]]:
    """cert-manager's Certificate for the members' peer TLS, when an issuer is named. A member
    presents it when it dials a peer (client) and when a peer dials it (server)."""
    return certificate(
        names,
        names.peer_certificate,
        settings.peer_tls_secret,
        settings.peer_tls_issuer,
        peer_dns_names(names),
        ["server auth", "client auth", "digital signature", "key encipherment"],
    )
