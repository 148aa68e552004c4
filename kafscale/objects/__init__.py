"""Pure builders: effective settings -> Kubernetes manifests (plain dicts, camelCase fields)."""

from __future__ import annotations

from kafscale.objects.maintenance import maintenance_cronjobs
from kafscale.objects.monitoring import monitoring_objects
from kafscale.objects.network_policy import network_policy
from kafscale.objects.pdb import pod_disruption_budget
from kafscale.objects.services import client_service, headless_service
from kafscale.objects.statefulset import statefulset
from kafscale.settings import EtcdSettings

Manifest = dict[str, object]


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
