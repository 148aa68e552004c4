"""The two Services: headless (peer discovery, stable member DNS) and client."""

from __future__ import annotations

from kafscale.config.naming import CLIENT_PORT, PEER_PORT, EtcdNames
from kafscale.config.settings import EtcdSettings
from kafscale.objects.client_tls import client_tls_ports
from kafscale.objects.metadata import object_metadata


def headless_service(settings: EtcdSettings, names: EtcdNames) -> dict[str, object]:
    """`<c>-etcd`: publishes not-ready members, since peers must resolve before any is ready."""
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": object_metadata(names, names.headless_service),
        "spec": {
            "clusterIP": "None",
            "publishNotReadyAddresses": True,
            "selector": dict(names.labels),
            "ports": [
                {"name": "client", "port": CLIENT_PORT},
                {"name": "peer", "port": PEER_PORT},
                *client_tls_ports(settings),
            ],
        },
    }


def client_service(settings: EtcdSettings, names: EtcdNames) -> dict[str, object]:
    """`<c>-etcd-client`: what the brokers connect to."""
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": object_metadata(names, names.client_service),
        "spec": {
            "selector": dict(names.labels),
            "ports": [{"name": "client", "port": CLIENT_PORT}, *client_tls_ports(settings)],
        },
    }
