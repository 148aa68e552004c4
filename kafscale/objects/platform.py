"""What a platform's admission rules ask of every object and pod: labels, annotations, a node
selector, a priority class, image pull secrets, the ServiceAccount of the pods that reach the
bucket, and the namespace itself. Applied to the finished objects in one place, so that no builder
can forget a pod."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import cast

from kafscale.config.naming import EtcdNames
from kafscale.config.rules import toleration_specs
from kafscale.config.settings import EtcdSettings
from kafscale.objects.metadata import object_metadata

Manifest = dict[str, object]


def service_account_name(settings: EtcdSettings, names: EtcdNames) -> str:
    """The ServiceAccount the bucket's pods run as; empty: none (the namespace's default)."""
    if settings.service_account_annotations and not settings.service_account_name:
        return names.object_prefix
    return settings.service_account_name


def service_account(settings: EtcdSettings, names: EtcdNames) -> list[Manifest]:
    """The ServiceAccount to create, when annotations ask for one and backups use it. Its token
    is never mounted: IRSA and EKS Pod Identity give a pod its own projected token."""
    if not (settings.service_account_annotations and settings.snapshot_enabled):
        return []
    metadata = object_metadata(names, service_account_name(settings, names))
    metadata["annotations"] = dict(settings.service_account_annotations)
    return [
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": metadata,
            "automountServiceAccountToken": False,
        }
    ]


def namespace(settings: EtcdSettings, names: EtcdNames) -> list[Manifest]:
    if not settings.create_namespace:
        return []
    return [
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": names.namespace, "labels": dict(names.labels)},
        }
    ]


def pod_templates(manifest: Manifest) -> Iterator[dict[str, object]]:
    """The pod templates of a StatefulSet, a Job or a CronJob."""
    spec = cast(dict[str, object], manifest.get("spec", {}))
    kind = manifest["kind"]
    if kind in ("StatefulSet", "Job"):
        yield cast(dict[str, object], spec["template"])
    elif kind == "CronJob":
        job = cast(dict[str, object], spec["jobTemplate"])
        yield cast(dict[str, object], cast(dict[str, object], job["spec"])["template"])


def _reaches_bucket(manifest: Manifest, settings: EtcdSettings, names: EtcdNames) -> bool:
    name = cast(Mapping[str, object], manifest["metadata"])["name"]
    if not settings.snapshot_enabled:
        return False
    return (manifest["kind"], name) in {
        ("StatefulSet", names.statefulset),
        ("CronJob", names.snapshot_cronjob),
    }


def with_platform_rules(
    settings: EtcdSettings, names: EtcdNames, manifests: list[Manifest]
) -> list[Manifest]:
    """Every manifest with the stack's object labels; every pod with its labels, annotations,
    node selector, priority class and pull secrets, and the bucket's pods with the
    ServiceAccount. Our own labels win: no extra label moves an object out of a selector."""
    account = service_account_name(settings, names)
    for manifest in manifests:
        metadata = cast(dict[str, object], manifest["metadata"])
        if settings.labels:
            labels = cast(dict[str, str], metadata.get("labels", {}))
            metadata["labels"] = {**dict(settings.labels), **labels}
        for template in pod_templates(manifest):
            pod_metadata = cast(dict[str, object], template.setdefault("metadata", {}))
            if settings.pod_labels:
                labels = cast(dict[str, str], pod_metadata.get("labels", {}))
                pod_metadata["labels"] = {**dict(settings.pod_labels), **labels}
            if settings.pod_annotations:
                annotations = cast(dict[str, str], pod_metadata.get("annotations", {}))
                pod_metadata["annotations"] = {**annotations, **dict(settings.pod_annotations)}
            spec = cast(dict[str, object], template["spec"])
            if settings.node_selector:
                spec["nodeSelector"] = dict(settings.node_selector)
            if settings.tolerations:
                spec["tolerations"] = toleration_specs(settings.tolerations)
            if settings.priority_class_name:
                spec["priorityClassName"] = settings.priority_class_name
            if settings.image_pull_secrets:
                spec["imagePullSecrets"] = [{"name": secret} for secret in settings.image_pull_secrets]
            if account and _reaches_bucket(manifest, settings, names):
                spec["serviceAccountName"] = account
    return manifests
