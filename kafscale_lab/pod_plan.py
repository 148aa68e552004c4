"""Planning a rendered pod as the lab runs it: its containers' argv and env, its volumes on this
machine (emptyDirs, ConfigMaps, Secrets, claims), its probes, and the loopback addresses pods get."""

from __future__ import annotations

import os
import random
import socket
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kafscale.config.naming import CLIENT_PORT, PEER_PORT
from kafscale_lab.manifests import etcd_container, pod_spec
from kafscale_lab.pod_runner import (
    ContainerRun,
    PodError,
    PodIdentity,
    container_run,
    hosts_file,
)
from kafscale_lab.pod_runner import pod_identity as container_identity
from kafscale_lab.probes import Probe, exec_probe_container, http_probe_url, probe_timing

_COMPONENT_LABEL = "app.kubernetes.io/component"


class LocalClusterError(RuntimeError):
    """The cluster could not start; the message carries etcd's own words."""


@dataclass(frozen=True)
class MemberPlan:
    """One pod: its address, its init containers and containers (etcd first), its volumes."""

    pod_name: str
    address: str
    init_containers: tuple[ContainerRun, ...]
    containers: tuple[ContainerRun, ...]
    volume_dirs: dict[str, Path] = field(default_factory=dict)
    empty_dir_volumes: frozenset[str] = frozenset()
    config_map_volumes: dict[str, tuple[str, bool]] = field(default_factory=dict)
    data_volume: str = "data"
    readiness: tuple[Probe, ...] = ()  # the containers' probes, as rendered
    liveness: tuple[Probe, ...] = ()
    startup: tuple[Probe, ...] = ()
    secret_volumes: dict[str, tuple[str, int]] = field(default_factory=dict)

    @property
    def client_url(self) -> str:
        return f"http://{self.address}:{CLIENT_PORT}"

    @property
    def argv(self) -> tuple[str, ...]:
        """The etcd container's argv."""
        return self.containers[0].argv


def pod_identity(statefulset: dict[str, Any]) -> PodIdentity | None:
    """The etcd container's effective user, group and the pod's fsGroup; None when no user is set."""
    return container_identity(pod_spec(statefulset), etcd_container(statefulset))


def apply_fs_group(volume: Path, fs_group: int) -> None:
    """What the kubelet does to a volume for `fsGroup`: group ownership, group read and write,
    setgid and group search on directories (pkg/volume/volume_linux.go)."""
    for path in [volume, *volume.rglob("*")]:
        info = path.lstat()
        if path.is_symlink():
            continue
        os.lchown(path, -1, fs_group)
        mask = 0o660
        if path.is_dir():
            mask |= 0o2110
        path.chmod((info.st_mode & 0o7777) | mask)


def _memory_volumes(pod: dict[str, Any]) -> set[str]:
    return {v["name"] for v in pod.get("volumes", []) if v.get("emptyDir", {}).get("medium") == "Memory"}


def _config_map_volumes(pod: dict[str, Any]) -> dict[str, tuple[str, bool]]:
    """Volume name -> (ConfigMap name, optional)."""
    return {
        v["name"]: (v["configMap"]["name"], bool(v["configMap"].get("optional", False)))
        for v in pod.get("volumes", [])
        if "configMap" in v
    }


def _secret_volumes(pod: dict[str, Any]) -> dict[str, tuple[str, int]]:
    """Volume name -> (Secret name, file mode: defaultMode, 0644 unless set)."""
    return {
        v["name"]: (v["secret"]["secretName"], int(v["secret"].get("defaultMode", 0o644)))
        for v in pod.get("volumes", [])
        if "secret" in v
    }


@dataclass(frozen=True)
class StandIns:
    """What stands in for each image here: the etcd image's binary, and for any other image (the
    tools image) BusyBox and etcdctl on PATH."""

    etcd_binary: str
    tools_bin_dir: Path
    shell: str | None = None  # another POSIX shell for the tools image's /bin/sh (dash)
    # Other images by reference: the env each sets (its PATH, and what stands in for a pod's
    # cloud identity, such as AWS credentials). Their /bin/sh is the same shell.
    image_env: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    # The namespace's Secrets (name -> data), for env that refers to them.
    secrets: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    def for_container(self, container: dict[str, Any]) -> tuple[dict[str, str], dict[str, str]]:
        """(command -> executable, env the image sets) for one container."""
        if container["name"] == "etcd":
            return {"etcd": self.etcd_binary, "/usr/local/bin/etcd": self.etcd_binary}, {}
        shell = self.shell or str(self.tools_bin_dir / "sh")
        env = self.image_env.get(container.get("image", ""), {"PATH": str(self.tools_bin_dir)})
        return {"/bin/sh": shell, "sh": shell}, dict(env)


def plan_pod(
    pod: dict[str, Any],
    pod_name: str,
    namespace: str,
    address: str,
    work_dir: Path,
    tmpfs_dir: Path,
    hosts_path: Path,
    stand_ins: StandIns,
    claims: Sequence[str] = (),
) -> MemberPlan:
    """One pod as the kubelet runs it: init containers, then its containers (etcd first when it
    has one), each in its own mount namespace with the pod's volumes."""
    memory = _memory_volumes(pod)
    empty_dirs = frozenset(v["name"] for v in pod.get("volumes", []) if "emptyDir" in v)
    config_maps = _config_map_volumes(pod)
    secrets = _secret_volumes(pod)
    volume_dirs = {
        volume: (tmpfs_dir if volume in memory else work_dir) / pod_name / volume
        for volume in [*empty_dirs, *config_maps, *secrets, *claims]
    }
    containers = sorted(pod["containers"], key=lambda c: c["name"] != "etcd")

    def run(container: dict[str, Any]) -> ContainerRun:
        return container_run(
            pod,
            container,
            pod_name,
            namespace,
            address,
            volume_dirs,
            hosts_path,
            *stand_ins.for_container(container),
            stand_ins.secrets,
        )

    def probe(container: dict[str, Any], kind: str) -> Probe:
        spec = container[kind]
        timing = probe_timing(spec)
        if "httpGet" in spec:
            url = http_probe_url(container, address, spec["httpGet"])
            return Probe(container["name"], url=url, **timing)  # type: ignore[arg-type]
        command = spec["exec"]["command"]
        runs = run(exec_probe_container(container, command))
        return Probe(container["name"], run=runs, **timing)  # type: ignore[arg-type]

    def probes(kind: str) -> tuple[Probe, ...]:
        return tuple(probe(c, kind) for c in containers if kind in c)

    try:
        inits = tuple(run(c) for c in pod.get("initContainers", []))
        mains = tuple(run(c) for c in containers)
        readiness, liveness, startup = (
            probes(k) for k in ("readinessProbe", "livenessProbe", "startupProbe")
        )
    except PodError as error:
        raise LocalClusterError(str(error)) from None
    data_volume = next(
        (m["name"] for m in containers[0].get("volumeMounts", []) if m["name"] in [*claims, *memory]), "data"
    )
    return MemberPlan(
        pod_name,
        address,
        inits,
        mains,
        volume_dirs,
        empty_dirs,
        config_maps,
        data_volume,
        readiness,
        liveness,
        startup,
        secrets,
    )


def plan_pods(
    statefulset: dict[str, Any],
    addresses: list[str],
    work_dir: Path,
    tmpfs_dir: Path,
    stand_ins: StandIns,
) -> list[MemberPlan]:
    """Every possible pod of the StatefulSet (one per address), written hosts file included."""
    name = statefulset["metadata"]["name"]
    namespace = statefulset["metadata"]["namespace"]
    service = statefulset["spec"]["serviceName"]
    pod_names = [f"{name}-{index}" for index in range(len(addresses))]
    hosts_path = work_dir / "hosts"
    hosts_path.write_text(hosts_file(dict(zip(pod_names, addresses, strict=True)), service, namespace))
    hosts_path.chmod(0o644)
    claims = [t["metadata"]["name"] for t in statefulset["spec"].get("volumeClaimTemplates", [])]
    return [
        plan_pod(
            pod_spec(statefulset),
            pod_name,
            namespace,
            address,
            work_dir,
            tmpfs_dir,
            hosts_path,
            stand_ins,
            claims,
        )
        for pod_name, address in zip(pod_names, addresses, strict=True)
    ]


def _port_free(address: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((address, port))
        except OSError:
            return False
    return True


def free_loopback_addresses(count: int) -> list[str]:
    """`count` addresses in one random 127.x.y.0/24 whose etcd ports are free."""
    for _ in range(50):
        subnet = f"127.{random.randint(1, 254)}.{random.randint(0, 254)}"
        addresses = [f"{subnet}.{index + 1}" for index in range(count)]
        if all(_port_free(a, p) for a in addresses for p in (CLIENT_PORT, PEER_PORT)):
            return addresses
    raise LocalClusterError("found no loopback subnet with free etcd ports")
