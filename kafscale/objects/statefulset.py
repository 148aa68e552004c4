"""The etcd StatefulSet: one member per replica, started from the config file its init container writes."""

from __future__ import annotations

from typing import cast

from kafscale.config.naming import CLIENT_PORT, DATA_DIR, PEER_PORT, EtcdNames
from kafscale.config.quantities import format_binary_si
from kafscale.config.settings import EtcdSettings
from kafscale.objects.client_tls import client_tls_mounts, client_tls_ports, client_tls_volumes
from kafscale.objects.containers import downward_env
from kafscale.objects.membership import (
    CONFIG_FILE,
    etcd_config_mount,
    join_container,
    membership_volumes,
    promote_container,
    scripts_container,
)
from kafscale.objects.metadata import label_selector, object_metadata
from kafscale.objects.peer_tls import peer_tls_mounts, peer_tls_volumes
from kafscale.objects.placement import pod_placement
from kafscale.objects.pod_security import container_security_context, pod_security_context
from kafscale.objects.probes import etcd_probes
from kafscale.objects.restore import (
    join_restore_env,
    join_restore_mounts,
    restore_init_containers,
    restore_volumes,
)

DATA_VOLUME = "data"
SNAPSHOTS_VOLUME = "snapshots"


# The sidecar's requests (and limits, for Guaranteed QoS): a shell loop and an etcdctl call every
# few seconds.
SIDECAR_RESOURCES = {"cpu": "50m", "memory": "64Mi"}


def memory_request_bytes(settings: EtcdSettings) -> int:
    """Memory mode: the quota, or the whole limit for Guaranteed QoS (requests equal limits)."""
    return settings.memory_limit_bytes if settings.guaranteed_qos else settings.quota_backend_bytes


def etcd_resources(settings: EtcdSettings) -> dict[str, dict[str, str]]:
    """The etcd container's requests: CPU in both modes; memory the quota in memory mode (the
    tmpfs counts against the container: limited at quota + headroom, so a full backend is killed
    inside the pod, not on the node), etcdMemoryRequest in disk mode. Guaranteed QoS: limits
    equal to the requests."""
    if settings.storage_memory:
        requests = {"cpu": settings.cpu_request, "memory": format_binary_si(memory_request_bytes(settings))}
        limits = {"memory": format_binary_si(settings.memory_limit_bytes)}
    else:
        requests = {"cpu": settings.cpu_request, "memory": settings.memory_request}
        limits = {}
    if settings.guaranteed_qos:
        limits = dict(requests)
    return {"requests": requests, "limits": limits} if limits else {"requests": requests}


def etcd_container(settings: EtcdSettings, names: EtcdNames) -> dict[str, object]:
    container: dict[str, object] = {
        "name": "etcd",
        "image": settings.image,
        "command": ["etcd"],
        # etcd takes every setting from the file the member-join init container writes.
        "args": [f"--config-file={CONFIG_FILE}"],
        # Not read by etcd (only ETCD_* variables are, and a config file overrides them): they
        # tell the sidecar which etcd in the pod's process namespace is this pod's.
        "env": [downward_env("POD_NAME", "metadata.name"), downward_env("POD_IP", "status.podIP")],
        "ports": [
            {"name": "client", "containerPort": CLIENT_PORT},
            {"name": "peer", "containerPort": PEER_PORT},
            *({"name": p["name"], "containerPort": p["port"]} for p in client_tls_ports(settings)),
        ],
        "volumeMounts": [
            {"name": DATA_VOLUME, "mountPath": DATA_DIR},
            etcd_config_mount(),
            *peer_tls_mounts(settings),
            *client_tls_mounts(settings),
        ],
        "securityContext": container_security_context(settings),
    }
    if settings.probes:
        container.update(etcd_probes())
    container["resources"] = etcd_resources(settings)
    return container


def with_guaranteed_qos(settings: EtcdSettings, pod_spec: dict[str, object]) -> None:
    """Guaranteed QoS needs limits equal to requests on every container, init containers too
    (Kubernetes' QoS classes): each init container gets etcd's (the restore needs as much), the
    sidecar SIDECAR_RESOURCES."""
    if not settings.guaranteed_qos:
        return
    etcd = etcd_resources(settings)
    for container in cast(list[dict[str, object]], pod_spec["initContainers"]):
        container["resources"] = etcd
    for container in cast(list[dict[str, object]], pod_spec["containers"]):
        if container["name"] != "etcd":
            container["resources"] = {"requests": dict(SIDECAR_RESOURCES), "limits": dict(SIDECAR_RESOURCES)}


def pod_volumes(settings: EtcdSettings, names: EtcdNames) -> list[dict[str, object]]:
    volumes: list[dict[str, object]] = [
        {"name": SNAPSHOTS_VOLUME, "emptyDir": {}},
        *membership_volumes(names),
        *restore_volumes(settings),
        *peer_tls_volumes(settings),
        *client_tls_volumes(settings),
    ]
    if settings.storage_memory:
        # Beyond the operator: the tmpfs can never outgrow the container's memory limit.
        volumes.append(
            {
                "name": DATA_VOLUME,
                "emptyDir": {
                    "medium": "Memory",
                    "sizeLimit": format_binary_si(settings.memory_limit_bytes),
                },
            }
        )
    return volumes


def data_claim_template(settings: EtcdSettings) -> dict[str, object]:
    claim_spec: dict[str, object] = {
        "accessModes": ["ReadWriteOnce"],
        "resources": {"requests": {"storage": settings.storage_size}},
    }
    if settings.storage_class:
        claim_spec["storageClassName"] = settings.storage_class
    return {"metadata": {"name": DATA_VOLUME}, "spec": claim_spec}


def statefulset(settings: EtcdSettings, names: EtcdNames) -> dict[str, object]:
    pod_spec: dict[str, object] = {
        **pod_placement(settings, names),
        "automountServiceAccountToken": False,
        # The sidecar stops this pod's etcd to recover a lost cluster from its data.
        "shareProcessNamespace": True,
        "securityContext": pod_security_context(settings),
        "initContainers": [
            scripts_container(settings),
            join_container(
                settings,
                names,
                DATA_VOLUME,
                join_restore_env(settings),
                join_restore_mounts(settings),
            ),
            *restore_init_containers(settings, names, DATA_VOLUME),
        ],
        "containers": [
            etcd_container(settings, names),
            promote_container(settings, names, DATA_VOLUME),
        ],
        "volumes": pod_volumes(settings, names),
    }
    with_guaranteed_qos(settings, pod_spec)
    spec: dict[str, object] = {
        "serviceName": names.headless_service,
        "replicas": settings.replicas,
        "selector": label_selector(names),
        "template": {
            "metadata": {"labels": dict(names.labels)},
            "spec": pod_spec,
        },
    }
    if settings.probes:
        # With readiness gating, OrderedReady would wait for member 0 to be ready before
        # creating member 1, and member 0 cannot be ready without a quorum: start all at once.
        spec["podManagementPolicy"] = "Parallel"
    if not settings.storage_memory:
        spec["volumeClaimTemplates"] = [data_claim_template(settings)]
        # The claims outlive the StatefulSet (a deliberate replacement, a `pulumi destroy`) and a
        # scale-down: the Kubernetes default, stated so that no cluster default can change it.
        spec["persistentVolumeClaimRetentionPolicy"] = {"whenDeleted": "Retain", "whenScaled": "Retain"}
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": object_metadata(names, names.statefulset),
        "spec": spec,
    }
