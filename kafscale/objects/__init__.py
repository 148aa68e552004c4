"""Pure builders: effective settings -> Kubernetes manifests (plain dicts, camelCase fields)."""

from __future__ import annotations

from typing import Any

from kafscale.objects.maintenance import maintenance_cronjobs
from kafscale.objects.monitoring import monitoring_objects
from kafscale.objects.network_policy import network_policy
from kafscale.objects.pdb import pod_disruption_budget
from kafscale.objects.services import client_service, headless_service
from kafscale.objects.statefulset import statefulset
from kafscale.settings import EtcdSettings

Manifest = dict[str, object]

# The order `render` prints and the tests read: by kind, then by name.
KIND_ORDER = (
    "Service",
    "StatefulSet",
    "PodDisruptionBudget",
    "NetworkPolicy",
    "CronJob",
    "ServiceMonitor",
    "PrometheusRule",
)


def managed_etcd_manifests(settings: EtcdSettings) -> list[Manifest]:
    """Every object of a managed etcd, in apply order; none when external endpoints are set."""
    if not settings.managed:
        return []
    names = settings.names
    return [
        headless_service(names),
        client_service(names),
        statefulset(settings, names),
        pod_disruption_budget(names),
        *([network_policy(settings, names)] if settings.network_policy else []),
        *maintenance_cronjobs(settings, names),
        *monitoring_objects(settings, names),
    ]


def in_render_order(manifests: list[Any]) -> list[Any]:
    """By kind (KIND_ORDER), then by name."""
    return sorted(manifests, key=_order_key)


def _order_key(manifest: Any) -> tuple[int, str]:
    kind = manifest.get("kind", "")
    rank = KIND_ORDER.index(kind) if kind in KIND_ORDER else len(KIND_ORDER)
    return rank, manifest.get("metadata", {}).get("name", "")
