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


def script_and_args(container: dict[str, Any], pod: dict[str, Any]) -> tuple[str, list[str]]:
    """The script text a container runs and what `sh -c TEXT` would get after it (`$0`, the
    script's name, then its arguments): from `sh -c TEXT NAME ARGS...`, or from `sh PATH ARGS...`
    where an init container of `pod` (the pod's spec) wrote PATH with
    `sh -c INSTALL install-scripts DIR NAME TEXT...` (kafscale/objects/membership.py)."""
    command = container["command"]
    if command[1] == "-c":
        return command[2], list(command[3:])
    directory, _, name = command[1].rpartition("/")
    for init in pod.get("initContainers", []):
        words = init["command"]
        if words[3:5] == ["install-scripts", directory]:
            scripts = dict(zip(words[5::2], words[6::2], strict=True))
            return scripts[name], [name, *command[2:]]
    raise KeyError(f"no init container of the pod writes {command[1]}")


def etcd_container(statefulset: Manifest) -> dict[str, Any]:
    return container(statefulset, "etcd")


def maintenance_container(cronjob: Manifest) -> dict[str, Any]:
    return container(cronjob, "maintenance")


def cronjobs_by_task(manifests: Iterable[Manifest]) -> dict[str, Manifest]:
    """The CronJobs (maintenance, snapshot) by their `kafscale.io/etcd-task` label."""
    return {m["metadata"]["labels"]["kafscale.io/etcd-task"]: m for m in manifests if m["kind"] == "CronJob"}
