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
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from kafscale.naming import CLIENT_PORT, PEER_PORT
from kafscale_lab.etcd_binaries import tools_image_path
from kafscale_lab.etcd_http import EtcdHttpClient, MemberStatus
from kafscale_lab.manifests import etcd_container, pod_spec
from kafscale_lab.pod_runner import (
    ContainerRun,
    PodError,
    PodIdentity,
    can_run_pods,
    container_env,
    container_run,
    expand_kubernetes_refs,
    hosts_file,
)
from kafscale_lab.pod_runner import pod_identity as container_identity

STARTUP_DEADLINE_S = 30.0
STOP_GRACE_S = 5.0
INIT_DEADLINE_S = 120.0
_PR_SET_PDEATHSIG = 1


class LocalClusterError(RuntimeError):
    """The cluster could not start; the message carries etcd's own words."""


@dataclass(frozen=True)
class MemberPlan:
    """One pod: its address, the etcd process to start and the volume dirs it mounts. A pod run
    the kubelet's way also has its init containers, an env, and every volume of the pod."""

    pod_name: str
    address: str
    argv: tuple[str, ...]
    data_dirs: tuple[Path, ...]
    init_containers: tuple[ContainerRun, ...] = ()
    env: dict[str, str] | None = None
    volume_dirs: dict[str, Path] = field(default_factory=dict)
    empty_dir_volumes: frozenset[str] = frozenset()

    @property
    def client_url(self) -> str:
        return f"http://{self.address}:{CLIENT_PORT}"


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


def _memory_volumes(statefulset: dict[str, Any]) -> set[str]:
    volumes = pod_spec(statefulset).get("volumes", [])
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
        try:
            env = container_env(container, pod_name, namespace)
        except PodError as error:
            raise LocalClusterError(str(error)) from None
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


@dataclass(frozen=True)
class StandIns:
    """What stands in for each image here: the etcd image's binary, and for any other image (the
    tools image) BusyBox and etcdctl on PATH."""

    etcd_binary: str
    tools_bin_dir: Path

    def for_container(self, container: dict[str, Any]) -> tuple[dict[str, str], dict[str, str]]:
        """(command -> executable, env the image sets) for one container."""
        if container["name"] == "etcd":
            return {"etcd": self.etcd_binary, "/usr/local/bin/etcd": self.etcd_binary}, {}
        shell = str(self.tools_bin_dir / "sh")
        return {"/bin/sh": shell, "sh": shell}, {"PATH": str(self.tools_bin_dir)}


def plan_pods(
    statefulset: dict[str, Any],
    addresses: list[str],
    work_dir: Path,
    tmpfs_dir: Path,
    stand_ins: StandIns,
) -> list[MemberPlan]:
    """Every pod as the kubelet runs it: init containers, then etcd, each in its own mount
    namespace with the pod's volumes and an /etc/hosts naming every pod (written to work_dir)."""
    name = statefulset["metadata"]["name"]
    namespace = statefulset["metadata"]["namespace"]
    service = statefulset["spec"]["serviceName"]
    pod = pod_spec(statefulset)
    pod_names = [f"{name}-{index}" for index in range(int(statefulset["spec"]["replicas"]))]
    if len(addresses) != len(pod_names):
        raise ValueError(f"need {len(pod_names)} addresses, got {len(addresses)}")
    hosts_path = work_dir / "hosts"
    hosts_path.write_text(hosts_file(dict(zip(pod_names, addresses, strict=True)), service, namespace))
    hosts_path.chmod(0o644)
    memory = _memory_volumes(statefulset)
    empty_dirs = frozenset(v["name"] for v in pod.get("volumes", []) if "emptyDir" in v)
    claims = [t["metadata"]["name"] for t in statefulset["spec"].get("volumeClaimTemplates", [])]
    plans = []
    for pod_name, address in zip(pod_names, addresses, strict=True):
        volume_dirs = {
            volume: (tmpfs_dir if volume in memory else work_dir) / pod_name / volume
            for volume in [*empty_dirs, *claims]
        }
        containers = [etcd_container(statefulset), *pod.get("initContainers", [])]
        try:
            main, *inits = [
                container_run(
                    pod, c, pod_name, namespace, address, volume_dirs, hosts_path, *stand_ins.for_container(c)
                )
                for c in containers
            ]
        except PodError as error:
            raise LocalClusterError(str(error)) from None
        etcd_mounts = [m["name"] for m in etcd_container(statefulset).get("volumeMounts", [])]
        plans.append(
            MemberPlan(
                pod_name,
                address,
                main.argv,
                tuple(volume_dirs[v] for v in etcd_mounts),
                tuple(inits),
                main.env,
                volume_dirs,
                empty_dirs,
            )
        )
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


def _child_io(log: IO[bytes]) -> dict[str, Any]:
    """A container process's wiring: output to its log, no input, gone with this process."""
    return {
        "stdout": log,
        "stderr": subprocess.STDOUT,
        "stdin": subprocess.DEVNULL,
        "preexec_fn": _die_with_parent,
    }


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
        kubelet: bool | None = None,
    ) -> None:
        """`run_as_pod_user`: honour the pod's security context (default: whenever running as
        root and the pod names a user); False runs etcd as this process's own user.

        `kubelet`: run every pod the kubelet's way (kafscale_lab/pod_runner.py): init containers,
        mount namespaces, /etc/hosts, args unmodified. The default for pods with init containers;
        it needs root, and always honours the pod's security context."""
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
        addresses = free_loopback_addresses(replicas)
        self.kubelet = bool(pod_spec(statefulset).get("initContainers")) if kubelet is None else kubelet
        if self.kubelet:
            if not can_run_pods():
                raise LocalClusterError("running pods the kubelet's way needs root, unshare and setpriv")
            stand_ins = StandIns(resolved, Path(tools_image_path(self._work_dir / "tools-bin", resolved)))
            self.members = plan_pods(statefulset, addresses, self._work_dir, self._tmpfs_dir, stand_ins)
            run_as_pod_user = False  # setpriv in each container's argv does it, after the mounts
            self._work_dir.chmod(0o711)  # the pod's user runs the stand-in tools from here
        else:
            self.members = plan_members(statefulset, resolved, addresses, self._work_dir, self._tmpfs_dir)
        self._processes: dict[str, subprocess.Popen[bytes]] = {}
        identity = pod_identity(statefulset)
        self._fs_group = identity.fs_group if identity is not None and os.geteuid() == 0 else None
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
        return self._member(pod_name).data_dirs[0]

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
        """Start a pod: its volumes handed to fsGroup, its init containers run to completion in
        order (kubelet mode), then etcd."""
        member = self._member(pod_name)
        identity = self.identity
        fs_group = self._fs_group if self.kubelet else (identity.fs_group if identity is not None else None)
        for directory in member.volume_dirs.values() if self.kubelet else member.data_dirs:
            directory.parent.mkdir(parents=True, exist_ok=True)
            if self.kubelet or fs_group is not None:
                directory.mkdir(mode=0o755, exist_ok=True)
            if fs_group is not None:
                apply_fs_group(directory, fs_group)
        for init in member.init_containers:
            self._run_init_container(pod_name, init)
        log = self.log_path(pod_name).open("ab")
        as_user: dict[str, Any] = {}
        if identity is not None:
            as_user = {
                "user": identity.user,
                "group": identity.group,
                "extra_groups": [] if identity.fs_group is None else [identity.fs_group],
            }
        self._processes[pod_name] = subprocess.Popen(
            member.argv, env=member.env, start_new_session=True, **_child_io(log), **as_user
        )
        log.close()

    def _member(self, pod_name: str) -> MemberPlan:
        return next(m for m in self.members if m.pod_name == pod_name)

    def init_log_path(self, pod_name: str, container: str) -> Path:
        return self._work_dir / f"{pod_name}.{container}.log"

    def _run_init_container(self, pod_name: str, init: ContainerRun) -> None:
        """One init container, to completion; a failure stops the pod, as the kubelet's would."""
        log_path = self.init_log_path(pod_name, init.name)
        with log_path.open("ab") as log:
            try:
                finished = subprocess.run(
                    init.argv, env=init.env, timeout=INIT_DEADLINE_S, check=False, **_child_io(log)
                )
            except subprocess.TimeoutExpired:
                raise LocalClusterError(
                    f"init container {init.name} of {pod_name} did not finish in {INIT_DEADLINE_S:.0f}s"
                ) from None
        if finished.returncode != 0:
            lines = log_path.read_text(errors="replace").strip().splitlines()
            raise LocalClusterError(
                f"init container {init.name} of {pod_name} exited with code {finished.returncode}: "
                + (lines[-1] if lines else "(no output)")
            )

    def restart_pod(self, pod_name: str) -> None:
        """What deleting a pod does (eviction, a rolling update): the StatefulSet controller makes
        it again from the same spec, and every emptyDir volume, memory mode's data dir among
        them, comes back empty; claims keep their data."""
        if not self.kubelet:
            raise LocalClusterError("restart_pod needs the kubelet mode (LocalCluster(..., kubelet=True))")
        self.stop_member(pod_name)
        member = self._member(pod_name)
        for volume in member.empty_dir_volumes:
            shutil.rmtree(member.volume_dirs[volume], ignore_errors=True)
        self.start_member(pod_name)

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
