"""Pure builders: effective settings -> Kubernetes manifests (plain dicts, camelCase fields)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any, cast

from kafscale.config.settings import EtcdSettings
from kafscale.objects.auth import (
    ROOT_USER,
    auth_job,
    auth_on,
    credentials_secrets,
    generated_users,
    with_root_credentials,
)
from kafscale.objects.client_tls import client_certificates
from kafscale.objects.maintenance import maintenance_cronjobs
from kafscale.objects.membership import bootstrap_marker, members_configmap, scale_down_job
from kafscale.objects.monitoring import monitoring_objects
from kafscale.objects.network_policy import network_policy
from kafscale.objects.pdb import pod_disruption_budget
from kafscale.objects.peer_tls import peer_certificates
from kafscale.objects.platform import namespace, service_account, with_platform_rules
from kafscale.objects.services import client_service, headless_service
from kafscale.objects.snapshot import snapshot_cronjobs
from kafscale.objects.statefulset import statefulset

Manifest = dict[str, object]

# The order `render` prints and the tests read: by kind, then by name.
KIND_ORDER = (
    "Namespace",
    "ServiceAccount",
    "Secret",
    "Certificate",
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


def managed_etcd_manifests(
    settings: EtcdSettings, deployment: str = "", identity: str = ""
) -> list[Manifest]:
    """Every object of a managed etcd, in apply order; none when external endpoints are set.
    `deployment` is the stack that deploys it (`<project>/<stack>`), part of the
    snapshots' identity (EtcdNames.snapshot_identity); `identity` the hex digits drawn once for
    the stack, part of a first bootstrap's token (the component's `RandomId`)."""
    if not settings.managed:
        return []
    names = replace(settings.names, deployment=deployment)
    # The marker follows the StatefulSet it records, but precedes it when adopting (apply_after).
    members = [statefulset(settings, names), bootstrap_marker(names)]
    manifests = [
        *namespace(settings, names),
        *service_account(settings, names),
        *credentials_secrets(settings, names),
        *peer_certificates(settings, names),
        *client_certificates(settings, names),
        members_configmap(settings, names, identity),
        headless_service(settings, names),
        client_service(settings, names),
        scale_down_job(settings, names),
        *(reversed(members) if settings.adopt_operator_objects else members),
        *auth_job(settings, names),
        pod_disruption_budget(names),
        *([network_policy(settings, names)] if settings.network_policy else []),
        *maintenance_cronjobs(settings, names),
        *snapshot_cronjobs(settings, names),
        *monitoring_objects(settings, names),
    ]
    manifests = with_root_credentials(settings, names, manifests)
    manifests = with_platform_rules(settings, names, manifests)
    if settings.adopt_operator_objects:
        manifests = [_forced(m) if names.is_operator_object(*_kind_and_name(m)) else m for m in manifests]
    return manifests


def _kind_and_name(manifest: Manifest) -> tuple[str, str]:
    return str(manifest["kind"]), str(cast(Mapping[str, object], manifest["metadata"])["name"])


# pulumi-kubernetes' annotation that forces a server-side apply over fields another field manager
# owns (provider/pkg/metadata/annotations.go `AnnotationPatchForce`, read by await.go `patchForce`).
PATCH_FORCE = "pulumi.com/patchForce"


def _forced(manifest: Manifest) -> Manifest:
    """The manifest, annotated so that its first apply takes over the operator's fields."""
    metadata = dict(cast(Mapping[str, object], manifest["metadata"]))
    annotations = dict(cast(Mapping[str, str], metadata.get("annotations", {})))
    annotations[PATCH_FORCE] = "true"
    metadata["annotations"] = annotations
    return {**manifest, "metadata": metadata}


ObjectKey = tuple[str, str]  # (kind, name)


def apply_after(settings: EtcdSettings) -> dict[ObjectKey, tuple[ObjectKey, ...]]:
    """Object -> the objects it must wait for (Pulumi `depends_on`): the scale-down Job runs
    against the members that stay before the StatefulSet drops the others, and the bootstrap
    marker exists only once the StatefulSet is ready (pulumi-kubernetes awaits its rollout), but
    when adopting the operator's cluster, which exists already: then the marker goes first."""
    names = settings.names
    members = ("ConfigMap", names.members_configmap)
    job = ("Job", names.scale_down_job)
    statefulset_key = ("StatefulSet", names.statefulset)
    marker = ("ConfigMap", names.bootstrap_marker)
    if settings.adopt_operator_objects:  # the adopted cluster exists: the marker goes first
        order = {job: (members,), statefulset_key: (members, job, marker)}
    else:
        order = {job: (members,), statefulset_key: (members, job), marker: (statefulset_key,)}
    if settings.peer_tls_issuer:  # the pods mount the Secret cert-manager writes for it
        order[statefulset_key] = (("Certificate", names.peer_certificate), *order[statefulset_key])
    if settings.client_tls_issuer:  # and the one for the TLS client listener
        order[statefulset_key] = (("Certificate", names.client_certificate), *order[statefulset_key])
    if auth_on(settings):
        # Every step that runs etcdctl reads root's Secret; the auth Job runs once the members
        # are ready with it, and its users' Secrets exist (KafScale's clients read them).
        # A Secret a person provides is not ours to wait for.
        if ROOT_USER in generated_users(settings):
            root = ("Secret", names.credentials_secret(ROOT_USER))
            for key in (job, statefulset_key):
                order[key] = (root, *order[key])
        secrets = tuple(("Secret", names.credentials_secret(user)) for user in generated_users(settings))
        order[("Job", names.auth_job)] = (*secrets, statefulset_key)
    if settings.create_namespace:  # every object waits for its namespace
        created_namespace = ("Namespace", names.namespace)
        for manifest in managed_etcd_manifests(settings):
            key = _kind_and_name(manifest)
            if key != created_namespace:
                order[key] = (created_namespace, *order.get(key, ()))
    return order


def in_render_order(manifests: list[Any]) -> list[Any]:
    """By kind (KIND_ORDER), then by name."""
    return sorted(manifests, key=_order_key)


def _order_key(manifest: Any) -> tuple[int, str]:
    kind = manifest.get("kind", "")
    rank = KIND_ORDER.index(kind) if kind in KIND_ORDER else len(KIND_ORDER)
    return rank, manifest.get("metadata", {}).get("name", "")
