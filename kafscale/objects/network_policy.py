"""The NetworkPolicy: peers only from etcd, clients only from this namespace and those listed."""

from __future__ import annotations

from kafscale.config.naming import CLIENT_PORT, CLIENT_TLS_PORT, EVIDENCE_PORT, PEER_PORT, EtcdNames
from kafscale.config.settings import EtcdSettings
from kafscale.objects.metadata import label_selector, object_metadata

NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"  # set on every namespace since Kubernetes 1.22


def _tcp(port: int) -> list[dict[str, object]]:
    return [{"protocol": "TCP", "port": port}]


def client_peers(settings: EtcdSettings) -> list[dict[str, object]]:
    """Who may open the client port: every pod of this namespace, every pod of each listed
    namespace, and pods matching each listed label selector in any namespace."""
    peers: list[dict[str, object]] = [{"podSelector": {}}]
    peers += [
        {"namespaceSelector": {"matchLabels": {NAMESPACE_NAME_LABEL: namespace}}}
        for namespace in settings.client_namespaces
    ]
    peers += [
        {"namespaceSelector": {}, "podSelector": {"matchLabels": dict(selector)}}
        for selector in settings.client_pod_selectors
    ]
    return peers


def network_policy(settings: EtcdSettings, names: EtcdNames) -> dict[str, object]:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": object_metadata(names, names.network_policy),
        "spec": {
            "podSelector": label_selector(names),
            "policyTypes": ["Ingress"],
            "ingress": [
                {
                    "from": [{"podSelector": label_selector(names)}],
                    "ports": [*_tcp(PEER_PORT), *_tcp(EVIDENCE_PORT)],
                },
                {
                    "from": client_peers(settings),
                    # The TLS listener admits the same clients as the plain one.
                    "ports": [
                        *_tcp(CLIENT_PORT),
                        *(_tcp(CLIENT_TLS_PORT) if settings.client_tls_secret else []),
                    ],
                },
            ],
        },
    }
