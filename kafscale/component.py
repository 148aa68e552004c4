"""The Pulumi component: one Kubernetes resource per built manifest, parented to it."""

from __future__ import annotations

from collections.abc import Callable

import pulumi
import pulumi_kubernetes as k8s

from kafscale.objects import Manifest, ObjectKey, apply_after, managed_etcd_manifests
from kafscale.settings import EtcdSettings

COMPONENT_TYPE = "kafscale:etcd:ManagedEtcd"

_RESOURCE_CLASSES: dict[tuple[str, str], Callable[..., pulumi.CustomResource]] = {
    ("v1", "ConfigMap"): k8s.core.v1.ConfigMap,
    ("v1", "Service"): k8s.core.v1.Service,
    ("batch/v1", "Job"): k8s.batch.v1.Job,
    ("apps/v1", "StatefulSet"): k8s.apps.v1.StatefulSet,
    ("policy/v1", "PodDisruptionBudget"): k8s.policy.v1.PodDisruptionBudget,
    ("batch/v1", "CronJob"): k8s.batch.v1.CronJob,
    ("networking.k8s.io/v1", "NetworkPolicy"): k8s.networking.v1.NetworkPolicy,
}


class ManagedEtcd(pulumi.ComponentResource):
    """KafScale's etcd: provisioned in-cluster, or only named when external endpoints are given.

    Outputs: `client_endpoints` (what brokers use), `member_endpoints` (one URL per member),
    `stateful_set_name` (None when external), `managed`, `settings` (effective values).
    """

    client_endpoints: list[str]
    member_endpoints: list[str]
    stateful_set_name: pulumi.Output[str] | None
    managed: bool
    settings: dict[str, object]

    def __init__(self, name: str, settings: EtcdSettings, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(COMPONENT_TYPE, name, None, opts)
        created: dict[ObjectKey, pulumi.CustomResource] = {}
        order = apply_after(settings) if settings.managed else {}
        for manifest in managed_etcd_manifests(settings):
            key = _key(manifest)
            after = [created[dependency] for dependency in order.get(key, ())]
            created[key] = _create(manifest, pulumi.ResourceOptions(parent=self, depends_on=after))

        self.managed = settings.managed
        self.settings = settings.as_config_values()
        if settings.managed:
            names = settings.names
            self.client_endpoints = [names.client_url]
            self.member_endpoints = names.member_client_urls(settings.replicas)
            statefulset = created[("StatefulSet", names.statefulset)]
            self.stateful_set_name = statefulset.metadata.name
        else:
            self.client_endpoints = list(settings.endpoints)
            self.member_endpoints = list(settings.endpoints)
            self.stateful_set_name = None

        self.register_outputs(
            {
                "clientEndpoints": self.client_endpoints,
                "memberEndpoints": self.member_endpoints,
                "statefulSetName": self.stateful_set_name,
                "managed": self.managed,
                "settings": self.settings,
            }
        )


def _key(manifest: Manifest) -> ObjectKey:
    metadata = manifest["metadata"]
    assert isinstance(metadata, dict)
    return str(manifest["kind"]), str(metadata["name"])


def _create(manifest: Manifest, opts: pulumi.ResourceOptions) -> pulumi.CustomResource:
    api_version, kind = str(manifest["apiVersion"]), str(manifest["kind"])
    name = _key(manifest)[1]
    fields = {key: value for key, value in manifest.items() if key not in ("apiVersion", "kind")}
    resource_class = _RESOURCE_CLASSES.get((api_version, kind))
    if resource_class is None:
        # Prometheus operator kinds (ServiceMonitor, PrometheusRule): no typed class in the SDK.
        return k8s.apiextensions.CustomResource(name, api_version=api_version, kind=kind, opts=opts, **fields)
    return resource_class(name, opts=opts, **fields)
