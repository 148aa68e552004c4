"""The etcd StatefulSet: one member per replica, args in the operator's order."""

from __future__ import annotations

from kafscale.naming import (
    CLIENT_PORT,
    DATA_DIR,
    PEER_PORT,
    POD_NAME_REF,
    POD_NAMESPACE_REF,
    EtcdNames,
)
from kafscale.objects.metadata import label_selector, object_metadata
from kafscale.objects.pod_security import container_security_context, pod_security_context
from kafscale.objects.probes import etcd_probes
from kafscale.quantities import format_binary_si
from kafscale.settings import EtcdSettings

DATA_VOLUME = "data"
SNAPSHOTS_VOLUME = "snapshots"


def memory_request_bytes(settings: EtcdSettings) -> int:
    return settings.quota_backend_bytes


def etcd_args(settings: EtcdSettings, names: EtcdNames) -> list[str]:
    """The etcd command line, flag for flag and in the order the operator renders it."""
    own_host = names.member_host(POD_NAME_REF, POD_NAMESPACE_REF)
    initial_cluster = ",".join(
        f"{member}=http://{names.member_host(member, POD_NAMESPACE_REF)}:{PEER_PORT}"
        for member in names.member_names(settings.replicas)
    )
    return [
        f"--name={POD_NAME_REF}",
        f"--data-dir={DATA_DIR}",
        f"--listen-peer-urls=http://0.0.0.0:{PEER_PORT}",
        f"--listen-client-urls=http://0.0.0.0:{CLIENT_PORT}",
        f"--advertise-client-urls=http://{own_host}:{CLIENT_PORT}",
        f"--initial-advertise-peer-urls=http://{own_host}:{PEER_PORT}",
        f"--initial-cluster={initial_cluster}",
        "--initial-cluster-state=new",
        f"--initial-cluster-token={names.initial_cluster_token}",
        f"--auto-compaction-mode={settings.auto_compaction_mode}",
        f"--auto-compaction-retention={settings.auto_compaction_retention}",
        f"--quota-backend-bytes={settings.quota_backend_bytes}",
    ]


def _downward_env(name: str, field_path: str) -> dict[str, object]:
    return {"name": name, "valueFrom": {"fieldRef": {"fieldPath": field_path}}}


def etcd_container(settings: EtcdSettings, names: EtcdNames) -> dict[str, object]:
    container: dict[str, object] = {
        "name": "etcd",
        "image": settings.image,
        "command": ["etcd"],
        "args": etcd_args(settings, names),
        "env": [
            _downward_env("POD_NAME", "metadata.name"),
            _downward_env("POD_NAMESPACE", "metadata.namespace"),
        ],
        "ports": [
            {"name": "client", "containerPort": CLIENT_PORT},
            {"name": "peer", "containerPort": PEER_PORT},
        ],
        "volumeMounts": [{"name": DATA_VOLUME, "mountPath": DATA_DIR}],
        "securityContext": container_security_context(settings),
    }
    if settings.probes:
        container.update(etcd_probes())
    if settings.storage_memory:
        # The tmpfs counts against this container's memory cgroup: reserve the quota and cap
        # it with headroom so a full backend is killed inside the pod, not on the node.
        container["resources"] = {
            "requests": {"memory": format_binary_si(memory_request_bytes(settings))},
            "limits": {"memory": format_binary_si(settings.memory_limit_bytes)},
        }
    return container


def pod_volumes(settings: EtcdSettings) -> list[dict[str, object]]:
    volumes: list[dict[str, object]] = [{"name": SNAPSHOTS_VOLUME, "emptyDir": {}}]
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
    spec: dict[str, object] = {
        "serviceName": names.headless_service,
        "replicas": settings.replicas,
        "selector": label_selector(names),
        "template": {
            "metadata": {"labels": dict(names.labels)},
            "spec": {
                "affinity": {
                    "podAntiAffinity": {
                        "preferredDuringSchedulingIgnoredDuringExecution": [
                            {
                                "weight": 100,
                                "podAffinityTerm": {
                                    "topologyKey": "kubernetes.io/hostname",
                                    "labelSelector": label_selector(names),
                                },
                            }
                        ]
                    }
                },
                "securityContext": pod_security_context(settings),
                "containers": [etcd_container(settings, names)],
                "volumes": pod_volumes(settings),
            },
        },
    }
    if settings.probes:
        # With readiness gating, OrderedReady would wait for member 0 to be ready before
        # creating member 1, and member 0 cannot be ready without a quorum: start all at once.
        spec["podManagementPolicy"] = "Parallel"
    if not settings.storage_memory:
        spec["volumeClaimTemplates"] = [data_claim_template(settings)]
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": object_metadata(names, names.statefulset),
        "spec": spec,
    }
