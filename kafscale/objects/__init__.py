"""Pure builders: effective settings -> Kubernetes manifests (plain dicts, camelCase fields)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from kafscale.objects.maintenance import maintenance_cronjobs
from kafscale.objects.membership import bootstrap_marker, members_configmap, scale_down_job
from kafscale.objects.monitoring import monitoring_objects
from kafscale.objects.network_policy import network_policy
from kafscale.objects.pdb import pod_disruption_budget
from kafscale.objects.services import client_service, headless_service
from kafscale.objects.snapshot import snapshot_cronjobs
from kafscale.objects.statefulset import statefulset
from kafscale.settings import EtcdSettings

Manifest = dict[str, object]

# The order `render` prints and the tests read: by kind, then by name.
KIND_ORDER = (
    "ConfigMap",
    "Service",
    "Job",
    "StatefulSet",
    "PodDisruptionBudget",
    "NetworkPolicy",
    "CronJob",
    "ServiceMonitor",
    "PrometheusRule",
)


def managed_etcd_manifests(settings: EtcdSettings, deployment: str = "") -> list[Manifest]:
    """Every object of a managed etcd, in apply order; none when external endpoints are set.
    `deployment` is the stack that deploys it (`<project>/<stack>`), part of the
    snapshots' identity (EtcdNames.snapshot_identity)."""
    if not settings.managed:
        return []
    names = replace(settings.names, deployment=deployment)
    return [
        members_configmap(settings, names),
        headless_service(names),
        client_service(names),
        scale_down_job(settings, names),
        statefulset(settings, names),
        bootstrap_marker(names),
        pod_disruption_budget(names),
        *([network_policy(settings, names)] if settings.network_policy else []),
        *maintenance_cronjobs(settings, names),
        *snapshot_cronjobs(settings, names),
        *monitoring_objects(settings, names),
    ]


ObjectKey = tuple[str, str]  # (kind, name)


def apply_after(settings: EtcdSettings) -> dict[ObjectKey, tuple[ObjectKey, ...]]:
    """Object -> the objects it must wait for (Pulumi `depends_on`): the scale-down Job runs
    against the members that stay before the StatefulSet drops the others, and the bootstrap
    marker exists only once the StatefulSet is ready (pulumi-kubernetes awaits its rollout)."""
    names = settings.names
    members = ("ConfigMap", names.members_configmap)
    job = ("Job", names.scale_down_job)
    statefulset_key = ("StatefulSet", names.statefulset)
    return {
        job: (members,),
        statefulset_key: (members, job),
        ("ConfigMap", names.bootstrap_marker): (statefulset_key,),
    }


def in_render_order(manifests: list[Any]) -> list[Any]:
    """By kind (KIND_ORDER), then by name."""
    return sorted(manifests, key=_order_key)


def _order_key(manifest: Any) -> tuple[int, str]:
    kind = manifest.get("kind", "")
    rank = KIND_ORDER.index(kind) if kind in KIND_ORDER else len(KIND_ORDER)
    return rank, manifest.get("metadata", {}).get("name", "")
