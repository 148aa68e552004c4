"""Reading rendered manifests: the objects of a kind, a pod template, its containers."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

Manifest = dict[str, Any]


def only(manifests: Iterable[Manifest], kind: str) -> Manifest:
    """The one object of `kind` (a render has one StatefulSet)."""
    (manifest,) = [m for m in manifests if m["kind"] == kind]
    return manifest


def pod_spec(manifest: Manifest) -> dict[str, Any]:
    """The pod template's spec of a StatefulSet or a CronJob."""
    if manifest["kind"] == "CronJob":
        return manifest["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return manifest["spec"]["template"]["spec"]


def container(manifest: Manifest, name: str) -> dict[str, Any]:
    return next(c for c in pod_spec(manifest)["containers"] if c["name"] == name)


def init_container(manifest: Manifest, name: str) -> dict[str, Any]:
    return next(c for c in pod_spec(manifest)["initContainers"] if c["name"] == name)


def etcd_container(statefulset: Manifest) -> dict[str, Any]:
    return container(statefulset, "etcd")


def maintenance_container(cronjob: Manifest) -> dict[str, Any]:
    return container(cronjob, "maintenance")


def cronjobs_by_task(manifests: Iterable[Manifest]) -> dict[str, Manifest]:
    """The CronJobs (maintenance, snapshot) by their `kafscale.io/etcd-task` label."""
    return {m["metadata"]["labels"]["kafscale.io/etcd-task"]: m for m in manifests if m["kind"] == "CronJob"}
