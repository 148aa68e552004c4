"""Security contexts that meet the Kubernetes Pod Security Standard "restricted".

Both default images run as any user: etcd is one static binary that writes only its data dir,
and the Alpine tools image needs only BusyBox and etcdctl. `fsGroup` keeps the data volume
writable for that user, including a volume an earlier root-run etcd left behind (the kubelet
gives the group read and write on mount).

No pod talks to the Kubernetes API (membership needs none: the bootstrap marker is a mounted
ConfigMap), so none gets a service account token, and no RBAC object is rendered.
"""

from __future__ import annotations

from kafscale.config.settings import EtcdSettings


def pod_security_context(settings: EtcdSettings) -> dict[str, object]:
    return {
        "runAsNonRoot": True,
        "runAsUser": settings.run_as_user,
        "runAsGroup": settings.run_as_user,
        "fsGroup": settings.run_as_user,
        # Re-own the volume only when its root does not already belong to fsGroup.
        "fsGroupChangePolicy": "OnRootMismatch",
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def container_security_context(settings: EtcdSettings) -> dict[str, object]:
    return {
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
        "readOnlyRootFilesystem": settings.read_only_root_filesystem,
        "runAsNonRoot": True,
    }
