"""What peer and client TLS share: a certificate's Secret mounted read-only into the etcd container,
and cert-manager's Certificate that writes it (kafscale/objects/peer_tls.py, client_tls.py)."""

from __future__ import annotations

from collections.abc import Sequence

from kafscale.config.naming import EtcdNames
from kafscale.objects.metadata import object_metadata

# The Secret's keys, as cert-manager and `kubectl create secret tls` (plus ca.crt) write them.
CERT_KEY, PRIVATE_KEY_KEY, CA_KEY = "tls.crt", "tls.key", "ca.crt"
# Readable by the owner and the pod's fsGroup, which etcd runs in, and no one else.
SECRET_MODE = 0o440


def secret_mounts(secret: str, volume: str, directory: str) -> list[dict[str, object]]:
    """The certificate's volume, read-only at `directory`; none without a Secret."""
    return [{"name": volume, "mountPath": directory, "readOnly": True}] if secret else []


def secret_volumes(secret: str, volume: str) -> list[dict[str, object]]:
    """The certificate's Secret as the pod's volume; none without a Secret."""
    if not secret:
        return []
    return [{"name": volume, "secret": {"secretName": secret, "defaultMode": SECRET_MODE}}]


def certificate(
    names: EtcdNames, name: str, secret: str, issuer: str, dns_names: Sequence[str], usages: Sequence[str]
) -> list[dict[str, object]]:
    """cert-manager's Certificate `name`, written into `secret`, when an issuer is named
    (`<kind>/<name>`, as rules.issuer_reference gives it)."""
    if not issuer:
        return []
    kind, _, issuer_name = issuer.partition("/")
    return [
        {
            "apiVersion": "cert-manager.io/v1",
            "kind": "Certificate",
            "metadata": object_metadata(names, name),
            "spec": {
                "secretName": secret,
                "issuerRef": {"name": issuer_name, "kind": kind, "group": "cert-manager.io"},
                "dnsNames": list(dns_names),
                "usages": list(usages),
                "privateKey": {"algorithm": "ECDSA", "size": 256, "rotationPolicy": "Always"},
            },
        }
    ]
