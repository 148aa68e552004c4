"""Boot the rendered etcd StatefulSet as real local etcd processes, one per replica.

Each pod becomes a process on its own loopback address (127.x.y.z), started with the
container's command and args as rendered: `$(VAR)` expanded from the container env the way
Kubernetes does, each pod's DNS name replaced by that pod's address, `0.0.0.0` listeners bound
to it, and every mounted volume path moved under a temporary directory (on tmpfs when the
volume is a memory emptyDir). Run as root, it also honours the pod's security context the way
the kubelet does: each volume is handed to `fsGroup` (group read and write, setgid directories)
and etcd runs as `runAsUser`/`runAsGroup` with `fsGroup` as a supplementary group. The cluster
always tears down: no process outlives it.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kafscale.naming import CLIENT_PORT, PEER_PORT
from kafscale_lab.etcd_http import EtcdHttpClient, MemberStatus
from kafscale_lab.manifests import etcd_container

STARTUP_DEADLINE_S = 30.0
STOP_GRACE_S = 5.0
_ENV_REFERENCE = re.compile(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)")
_PR_SET_PDEATHSIG = 1


class LocalClusterError(RuntimeError):
    """The cluster could not start; the message carries etcd's own words."""


@dataclass(frozen=True)
class MemberPlan:
    pod_name: str
    address: str
    argv: tuple[str, ...]
    data_dirs: tuple[Path, ...]

    @property
    def client_url(self) -> str:
        return f"http://{self.address}:{CLIENT_PORT}"


def expand_kubernetes_refs(text: str, env: dict[str, str]) -> str:
    """Kubernetes' `$(VAR)` expansion: defined vars are replaced, `$$` escapes, others stay."""

    def substitute(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name = match.group(1)
        return env.get(name, match.group(0))

    return _ENV_REFERENCE.sub(substitute, text)


def _container_env(container: dict[str, Any], pod_name: str, namespace: str) -> dict[str, str]:
    fields = {"metadata.name": pod_name, "metadata.namespace": namespace}
    env: dict[str, str] = {}
    for entry in container.get("env", []):
        if "value" in entry:
            env[entry["name"]] = expand_kubernetes_refs(str(entry["value"]), env)
        else:
            field_path = entry.get("valueFrom", {}).get("fieldRef", {}).get("fieldPath", "")
            if field_path not in fields:
                raise LocalClusterError(f"env {entry['name']}: fieldRef {field_path!r} is not simulated")
            env[entry["name"]] = fields[field_path]
    return env


@dataclass(frozen=True)
class PodIdentity:
    """Who the pod's etcd container runs as, from the rendered security contexts."""

    user: int
    group: int
    fs_group: int | None


def pod_identity(statefulset: dict[str, Any]) -> PodIdentity | None:
    """The container's effective user, group and the pod's fsGroup; None when no user is set."""
    pod = statefulset["spec"]["template"]["spec"]
    merged = {**pod.get("securityContext", {}), **etcd_container(statefulset).get("securityContext", {})}
    user = merged.get("runAsUser")
    if user is None:
        return None
    fs_group = pod.get("securityContext", {}).get("fsGroup")
    group = int(merged.get("runAsGroup", 0))
    return PodIdentity(int(user), group, None if fs_group is None else int(fs_group))


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


def _memory_volumes(statefulset: dict[str, Any]) -> set[str]:
    volumes = statefulset["spec"]["template"]["spec"].get("volumes", [])
    return {v["name"] for v in volumes if v.get("emptyDir", {}).get("medium") == "Memory"}


def plan_members(
    statefulset: dict[str, Any], etcd_binary: str, addresses: list[str], work_dir: Path, tmpfs_dir: Path
) -> list[MemberPlan]:
    """The command line of every member, as Kubernetes would run it, moved onto this machine."""
    name = statefulset["metadata"]["name"]
    namespace = statefulset["metadata"]["namespace"]
    service = statefulset["spec"]["serviceName"]
    replicas = int(statefulset["spec"]["replicas"])
    if len(addresses) != replicas:
        raise ValueError(f"need {replicas} addresses, got {len(addresses)}")
    container = etcd_container(statefulset)
    memory_volumes = _memory_volumes(statefulset)
    pod_names = [f"{name}-{index}" for index in range(replicas)]
    host_to_address: dict[str, str] = {}
    for pod_name, address in zip(pod_names, addresses, strict=True):
        for suffix in (".svc.cluster.local", ".svc", ""):
            host_to_address[f"{pod_name}.{service}.{namespace}{suffix}"] = address
    # Longest first, so a full DNS name is replaced before any of its prefixes.
    hosts = sorted(host_to_address, key=len, reverse=True)

    plans = []
    for pod_name, address in zip(pod_names, addresses, strict=True):
        env = _container_env(container, pod_name, namespace)
        mounts = {}
        for mount in container.get("volumeMounts", []):
            base = tmpfs_dir if mount["name"] in memory_volumes else work_dir
            mounts[mount["mountPath"]] = base / pod_name / mount["name"]
        argv = [etcd_binary, *container["command"][1:]]
        for arg in container.get("args", []):
            arg = expand_kubernetes_refs(arg, env)
            for host in hosts:
                arg = arg.replace(host, host_to_address[host])
            arg = arg.replace("0.0.0.0", address)
            for mount_path, local_path in mounts.items():
                arg = re.sub(rf"(?<==){re.escape(mount_path)}(?=/|$)", str(local_path), arg)
            argv.append(arg)
        plans.append(MemberPlan(pod_name, address, tuple(argv), tuple(mounts.values())))
    return plans


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


def _die_with_parent() -> None:
    """In the child: get SIGTERM if the test process dies, so no etcd is ever orphaned."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class LocalCluster:
    """Running members of one rendered StatefulSet. Use as a context manager."""

    def __init__(
        self,
        statefulset: dict[str, Any],
        etcd_binary: str = "etcd",
        run_as_pod_user: bool | None = None,
    ) -> None:
        """`run_as_pod_user`: honour the pod's security context (default: whenever running as
        root and the pod names a user); False runs etcd as this process's own user."""
        resolved = shutil.which(etcd_binary)
        if resolved is None:
            raise LocalClusterError(
                f"etcd binary {etcd_binary!r} not found: install Debian's etcd-server "
                "(apt-get install etcd-server) or pass the path of an etcd binary"
            )
        self.etcd_binary = resolved
        self.statefulset = statefulset
        self._work_dir = Path(tempfile.mkdtemp(prefix="kafscale-etcd-"))
        shm = Path("/dev/shm")
        tmpfs_root = shm if shm.is_dir() and os.access(shm, os.W_OK) else self._work_dir
        self._tmpfs_dir = Path(tempfile.mkdtemp(prefix="kafscale-etcd-mem-", dir=tmpfs_root))
        replicas = int(statefulset["spec"]["replicas"])
        self.members = plan_members(
            statefulset, resolved, free_loopback_addresses(replicas), self._work_dir, self._tmpfs_dir
        )
        self._processes: dict[str, subprocess.Popen[bytes]] = {}
        identity = pod_identity(statefulset)
        if run_as_pod_user is None:
            run_as_pod_user = identity is not None and os.geteuid() == 0
        if run_as_pod_user and (identity is None or os.geteuid() != 0):
            raise LocalClusterError("running etcd as the pod's user needs root and a runAsUser")
        self.identity: PodIdentity | None = None
        if run_as_pod_user:
            self.run_members_as(identity)

    def run_members_as(self, identity: PodIdentity | None) -> None:
        """Members started from now on run as `identity` (None: as this process's user)."""
        self.identity = identity
        if identity is not None:
            # Let the pod's user reach its volumes under the private temporary directories.
            for directory in (self._work_dir, self._tmpfs_dir):
                directory.chmod(0o711)

    @property
    def client_urls_by_pod(self) -> dict[str, str]:
        """Each member's client URL by pod name: what the load driver writes to."""
        return {member.pod_name: member.client_url for member in self.members}

    def log_path(self, pod_name: str) -> Path:
        return self._work_dir / f"{pod_name}.log"

    def data_dir(self, pod_name: str) -> Path:
        member = next(m for m in self.members if m.pod_name == pod_name)
        return member.data_dirs[0]

    def __enter__(self) -> LocalCluster:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    def start(self, deadline_s: float = STARTUP_DEADLINE_S) -> None:
        for member in self.members:
            self.start_member(member.pod_name)
        self.wait_for_leader(deadline_s)

    def start_member(self, pod_name: str) -> None:
        member = next(m for m in self.members if m.pod_name == pod_name)
        identity = self.identity
        for directory in member.data_dirs:
            directory.parent.mkdir(parents=True, exist_ok=True)
            if identity is not None and identity.fs_group is not None:
                directory.mkdir(mode=0o755, exist_ok=True)
                apply_fs_group(directory, identity.fs_group)
        log = self.log_path(pod_name).open("ab")
        as_user: dict[str, Any] = {}
        if identity is not None:
            as_user = {
                "user": identity.user,
                "group": identity.group,
                "extra_groups": [] if identity.fs_group is None else [identity.fs_group],
            }
        self._processes[pod_name] = subprocess.Popen(
            member.argv,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=_die_with_parent,
            **as_user,
        )
        log.close()

    def process_ids(self) -> dict[str, int]:
        """The pid of every running member."""
        return {pod: process.pid for pod, process in self._processes.items() if process.poll() is None}

    def stop_member(self, pod_name: str) -> None:
        process = self._processes.pop(pod_name, None)
        if process is None or process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(STOP_GRACE_S)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()

    def stop(self) -> None:
        for pod_name in list(self._processes):
            self.stop_member(pod_name)
        shutil.rmtree(self._work_dir, ignore_errors=True)
        shutil.rmtree(self._tmpfs_dir, ignore_errors=True)

    def _raise_if_exited(self) -> None:
        for pod_name, process in self._processes.items():
            if process.poll() is not None:
                reason = self._last_error(pod_name)
                raise LocalClusterError(
                    f"etcd member {pod_name} exited with code {process.returncode}: {reason}"
                )

    def _last_error(self, pod_name: str) -> str:
        lines = self.log_path(pod_name).read_text(errors="replace").splitlines()
        for line in reversed(lines):
            if '"level":"fatal"' in line or "error" in line.lower() or "invalid" in line.lower():
                return line.strip()
        return lines[-1].strip() if lines else "(no output)"

    def statuses(self) -> dict[str, MemberStatus]:
        """Status of every running member."""
        result = {}
        for member in self.members:
            if member.pod_name not in self._processes:
                continue
            with EtcdHttpClient(member.client_url, timeout_s=2.0) as client:
                result[member.pod_name] = client.status()
        return result

    def wait_for_leader(self, deadline_s: float = STARTUP_DEADLINE_S) -> str:
        """Poll until every running member answers and names the same leader; returns its pod."""
        deadline = time.monotonic() + deadline_s
        last_problem = "no member answered"
        while time.monotonic() < deadline:
            self._raise_if_exited()
            try:
                statuses = self.statuses()
            except (OSError, ValueError) as error:
                last_problem = str(error)
            else:
                leaders = {status.leader_id for status in statuses.values()}
                if len(leaders) == 1 and 0 not in leaders:
                    (leader_id,) = leaders
                    return next(pod for pod, s in statuses.items() if s.member_id == leader_id)
                last_problem = f"no agreed leader yet: {leaders}"
            time.sleep(0.1)
        raise LocalClusterError(f"no leader within {deadline_s:.0f}s: {last_problem}")

    def localize(self, text: str) -> str:
        """Replace each pod's in-cluster DNS name in `text` by its local address."""
        service = self.statefulset["spec"]["serviceName"]
        namespace = self.statefulset["metadata"]["namespace"]
        for member in self.members:
            text = text.replace(f"{member.pod_name}.{service}.{namespace}.svc.cluster.local", member.address)
        return text

    @contextlib.contextmanager
    def client(self, index: int = 0) -> Iterator[EtcdHttpClient]:
        with EtcdHttpClient(self.members[index].client_url) as client:
            yield client
