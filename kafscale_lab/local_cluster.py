"""Boot a rendered etcd StatefulSet as real local etcd processes, its pods run the kubelet's way.

Every pod runs as kafscale_lab/pod_runner.py runs it: init containers one after another to
completion, then its containers (etcd and the membership sidecar), each in its own mount namespace
with the pod's volumes at their mountPaths, the pod's env and security context, an /etc/hosts
naming every pod, scripts and args unmodified. Each pod has its own loopback address
(127.x.y.z). emptyDir volumes live under a temporary directory (on tmpfs for memory emptyDirs);
configMap volumes hold the data of the ConfigMaps applied so far. Objects are applied in the
order Pulumi applies them: ConfigMaps first, the bootstrap marker once every member serves.
A pod restart is what the StatefulSet controller does: same spec, emptyDirs emptied. The cluster
always tears down: no process outlives it. Needs root, as the kubelet does.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import cast

from kafscale.config.rules import MAX_REPLICAS
from kafscale.objects.membership import MARKER_COMPONENT_LABEL
from kafscale_lab.etcd_binaries import aws_image_path, tools_image_path
from kafscale_lab.etcd_http import EtcdHttpClient, MemberStatus
from kafscale_lab.manifests import Manifest, only
from kafscale_lab.partition import PartitionError, PodGroups, own_source_addresses, partition, refused
from kafscale_lab.pod_plan import (
    _COMPONENT_LABEL,
    LocalClusterError,
    MemberPlan,
    StandIns,
    apply_fs_group,
    free_loopback_addresses,
    plan_pod,
    plan_pods,
    pod_identity,
)
from kafscale_lab.pod_runner import (
    can_run_pods,
    private_mounts,
)
from kafscale_lab.pod_supervisor import _kill, _PodRun, restart_delay_s

STARTUP_DEADLINE_S = 60.0
INIT_DEADLINE_S = 300.0
# Where pods' volumes, stand-in tools and hosts files live: a directory no container mounts over.
WORK_ROOT = "/var/tmp"
JOB_DEADLINE_S = 400.0


class LocalCluster:
    """Running members of one rendered etcd (its StatefulSet, ConfigMaps and scale-down Job).
    Use as a context manager."""

    def __init__(
        self,
        manifests: Sequence[Manifest],
        etcd_binary: str = "etcd",
        init_deadline_s: float = INIT_DEADLINE_S,
        tools_shell: str | None = None,
        aws_cli_image: str | None = None,
        secrets: Mapping[str, Mapping[str, str]] | None = None,
        restart_containers: bool = False,
        optional_config_maps_late_s: float = 0.0,
        own_source_addresses: bool = False,
    ) -> None:
        """`tools_shell`: what runs the tools image's scripts in place of BusyBox sh (such as
        /usr/bin/dash); BusyBox's applets stay on PATH either way. `aws_cli_image`: the image whose
        containers get BusyBox's applets and Debian's `aws` on PATH (and no etcdctl), as the AWS
        CLI image has them. `secrets`: the namespace's Secrets (name -> data) the pods' env refers
        to. `restart_containers`: a container that exits, and an init container that fails, runs
        again after the kubelet's back-off, as restartPolicy Always has it (without it an exit
        stays one, for the tests that look at that exit). `optional_config_maps_late_s`: a pod
        started from now on sees its optional ConfigMap volumes empty for that long, then filled:
        the kubelet fills a ConfigMap volume from its cache and refreshes it once per sync (the
        Kubernetes docs, "Mounted ConfigMaps are updated automatically": the kubelet sync period,
        1 minute by default, plus the cache's propagation delay), so an optional one the pod
        could not see at its start appears up to about 90 s later."""
        resolved = shutil.which(etcd_binary)
        if resolved is None:
            raise LocalClusterError(
                f"etcd binary {etcd_binary!r} not found: install Debian's etcd-server "
                "(apt-get install etcd-server) or pass the path of an etcd binary"
            )
        if not can_run_pods():
            raise LocalClusterError("running pods the kubelet's way needs root, unshare and setpriv")
        self.etcd_binary = resolved
        self.init_deadline_s = init_deadline_s
        self.restart_containers = restart_containers
        self.optional_config_maps_late_s = optional_config_maps_late_s
        self._late_until: dict[str, float] = {}  # pod -> when its optional ConfigMaps appear
        # Not under /tmp: containers mount emptyDirs there (the AWS CLI's HOME), which would hide
        # the stand-in tools, volumes and hosts file from them.
        self._work_dir = Path(tempfile.mkdtemp(prefix="kafscale-etcd-", dir=WORK_ROOT))
        shm = Path("/dev/shm")
        tmpfs_root = shm if shm.is_dir() and os.access(shm, os.W_OK) else self._work_dir
        self._tmpfs_dir = Path(tempfile.mkdtemp(prefix="kafscale-etcd-mem-", dir=tmpfs_root))
        for directory in (self._work_dir, self._tmpfs_dir):
            directory.chmod(0o711)  # the pod's user reaches its volumes and the stand-in tools
        tools_bin = Path(tools_image_path(self._work_dir / "tools-bin", resolved))
        image_env = {}
        if aws_cli_image is not None:
            image_env[aws_cli_image] = {"PATH": aws_image_path(self._work_dir / "aws-bin")}
        self._stand_ins = StandIns(resolved, tools_bin, tools_shell, image_env, dict(secrets or {}))
        self.config_maps: dict[str, dict[str, str]] = {}
        self._held_back: list[Manifest] = []
        self._pods: dict[str, _PodRun] = {}
        self.last_job_log = ""
        # Who `client()` logs in as once etcd's auth is on (drills.turn_auth_on): the harness, as
        # root; None: no login.
        self.client_credentials: tuple[str, str] | None = None
        self._addresses = free_loopback_addresses(MAX_REPLICAS)
        # One cgroup per pod, where a partition's packet-filter rules find its processes.
        self._groups = PodGroups.create()
        self._own_source_addresses = own_source_addresses
        self._rules = contextlib.ExitStack()
        self.apply(manifests)

    def apply(self, manifests: Sequence[Manifest]) -> None:
        """What `pulumi up` applies: the ConfigMaps (the bootstrap marker waits for the
        StatefulSet to be ready), then the StatefulSet's spec, which pods started from now on
        run. The scale-down Job runs between the two in `scale`."""
        self._apply_config_maps(manifests)
        self._apply_statefulset(manifests)

    def _apply_config_maps(self, manifests: Sequence[Manifest]) -> None:
        self.jobs = [m for m in manifests if m["kind"] == "Job"]
        self._held_back = []
        for manifest in manifests:
            if manifest["kind"] != "ConfigMap":
                continue
            if manifest["metadata"].get("labels", {}).get(_COMPONENT_LABEL) == MARKER_COMPONENT_LABEL:
                self._held_back.append(manifest)
            else:
                self.apply_config_map(manifest)

    def _apply_statefulset(self, manifests: Sequence[Manifest]) -> None:
        self.statefulset = only(manifests, "StatefulSet")
        self.replicas = int(self.statefulset["spec"]["replicas"])
        self.all_members = plan_pods(
            self.statefulset, self._addresses, self._work_dir, self._tmpfs_dir, self._stand_ins
        )
        identity = pod_identity(self.statefulset)
        self._fs_group = identity.fs_group if identity is not None else None

    def apply_config_map(self, manifest: Manifest) -> None:
        """Create or update a ConfigMap; running pods' volumes see the new data (the kubelet
        refreshes them within a minute; here at once)."""
        name = manifest["metadata"]["name"]
        self.config_maps[name] = dict(manifest.get("data", {}))
        for run in self._pods.values():
            self._fill_config_map_volumes(run.plan)

    @property
    def members(self) -> list[MemberPlan]:
        """The pods the StatefulSet has now: ordinals 0 to replicas - 1."""
        return self.all_members[: self.replicas]

    @property
    def client_urls_by_pod(self) -> dict[str, str]:
        """Each member's client URL by pod name: what the load driver writes to."""
        return {member.pod_name: member.client_url for member in self.members}

    def log_path(self, pod_name: str) -> Path:
        return self._work_dir / f"{pod_name}.log"

    def init_log_path(self, pod_name: str, container: str) -> Path:
        return self._work_dir / f"{pod_name}.{container}.log"

    def volume_dir(self, pod_name: str, volume: str) -> Path:
        """Where one of the pod's volumes lives on this machine."""
        return self._member(pod_name).volume_dirs[volume]

    def data_dir(self, pod_name: str) -> Path:
        member = self._member(pod_name)
        return member.volume_dirs[member.data_volume]

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
        """Every pod at once (podManagementPolicy Parallel), then, once they all serve, the
        objects Pulumi applies after the StatefulSet is ready. With `own_source_addresses`, each
        pod's connections leave from its own address first (partition.py)."""
        if self._own_source_addresses:
            if self._groups is None:
                raise PartitionError("no writable cgroup v2 hierarchy here: pods cannot have own addresses")
            pods = [(member.pod_name, member.address) for member in self.all_members]
            self._rules.enter_context(own_source_addresses(self._groups, pods))
        for member in self.members:
            self.start_member(member.pod_name)
        self.wait_until_serving(deadline_s)
        self.apply_held_back()

    def apply_held_back(self) -> None:
        for manifest in self._held_back:
            self.apply_config_map(manifest)
        self._held_back = []

    def _fill_config_map_volumes(self, member: MemberPlan) -> None:
        late = time.monotonic() < self._late_until.get(member.pod_name, 0.0)
        for volume, (config_map, optional) in member.config_map_volumes.items():
            directory = member.volume_dirs[volume]
            data = None if optional and late else self.config_maps.get(config_map)
            if data is None and not optional:
                raise LocalClusterError(f"{member.pod_name}: ConfigMap {config_map} does not exist")
            directory.mkdir(parents=True, exist_ok=True)
            for old in directory.iterdir():
                old.unlink()
            for key, value in (data or {}).items():
                path = directory / key
                path.write_text(value)
                path.chmod(0o644)

    def _make_volumes(self, plan: MemberPlan) -> None:
        """A pod's volumes as the kubelet makes them, handed to the pod's fsGroup."""
        for volume, directory in plan.volume_dirs.items():
            directory.mkdir(parents=True, exist_ok=True, mode=0o755)
            if volume in plan.empty_dir_volumes:
                directory.chmod(0o777)  # as the kubelet makes every emptyDir (pkg/volume/emptydir)
        self._fill_config_map_volumes(plan)
        if self._fs_group is not None:
            for directory in plan.volume_dirs.values():
                apply_fs_group(directory, self._fs_group)
        self._fill_secret_volumes(plan)

    def _fill_secret_volumes(self, member: MemberPlan) -> None:
        """Each Secret's keys as files of its defaultMode, owned by root and the pod's fsGroup
        (the kubelet's secret volume, pkg/volume/secret): a Secret that does not exist keeps the
        pod from starting."""
        for volume, (secret, mode) in member.secret_volumes.items():
            data = self._stand_ins.secrets.get(secret)
            if data is None:
                raise LocalClusterError(f"{member.pod_name}: Secret {secret} does not exist")
            directory = member.volume_dirs[volume]
            for key, value in data.items():
                staged = directory / f".{key}.new"  # each file whole or not at all, as the
                staged.write_text(value)  # kubelet's atomic writer swaps its data directory
                if self._fs_group is not None:
                    os.chown(staged, 0, self._fs_group)
                staged.chmod(mode)
                staged.replace(directory / key)

    def update_secret(self, name: str, data: Mapping[str, str]) -> None:
        """A Secret changed (a renewed certificate): every running pod that mounts it gets the new
        files in place, as the kubelet's next sync writes them, without a restart."""
        secrets = cast(dict[str, Mapping[str, str]], self._stand_ins.secrets)
        secrets[name] = dict(data)
        for run in list(self._pods.values()):
            if any(secret == name for secret, _ in run.plan.secret_volumes.values()):
                self._fill_secret_volumes(run.plan)

    def start_member(self, pod_name: str) -> None:
        """Start a pod: its volumes made and handed to fsGroup, then (on its own thread) its init
        containers to completion in order, then its containers."""
        if pod_name in self._pods:
            raise LocalClusterError(f"{pod_name} is already running")
        member = self._member(pod_name)
        if self.optional_config_maps_late_s > 0:
            until = time.monotonic() + self.optional_config_maps_late_s
            self._late_until[pod_name] = until
            timer = threading.Timer(self.optional_config_maps_late_s, self._fill_late, (pod_name, until))
            timer.daemon = True
            timer.start()
        self._make_volumes(member)
        procs = self._groups.procs_file(pod_name) if self._groups is not None else None
        run = _PodRun(member, self._work_dir, self.init_deadline_s, self.restart_containers, procs)
        self._pods[pod_name] = run
        run.start()

    def _fill_late(self, pod_name: str, until: float) -> None:
        """The kubelet's next sync: the optional ConfigMaps of the pod started with `until`
        appear, if it still runs (not if it was made again since)."""
        if self._late_until.get(pod_name) != until:
            return
        del self._late_until[pod_name]
        run = self._pods.get(pod_name)
        if run is not None:
            self._fill_config_map_volumes(run.plan)

    def _member(self, pod_name: str) -> MemberPlan:
        return next(m for m in self.all_members if m.pod_name == pod_name)

    def restart_pod(self, pod_name: str) -> None:
        """What deleting a pod does (eviction, a rolling update): the StatefulSet controller makes
        it again from the same spec, and every emptyDir volume, memory mode's data dir among
        them, comes back empty; claims keep their data."""
        self.stop_member(pod_name)
        self.empty_pod_volumes(pod_name)
        self.start_member(pod_name)

    def lose_pods(self, pod_names: Sequence[str]) -> None:
        """What a node outage does to memory-mode pods: etcd killed, the pods gone with every
        emptyDir (the tmpfs data dir among them); nothing is started again."""
        for pod_name in pod_names:
            self.kill_member(pod_name)
            self.stop_member(pod_name)
            self.empty_pod_volumes(pod_name)

    def empty_pod_volumes(self, pod_name: str) -> None:
        member = self._member(pod_name)
        for volume in member.empty_dir_volumes:
            shutil.rmtree(member.volume_dirs[volume], ignore_errors=True)

    def run_as_in_a_pod(
        self, argv: Sequence[str], timeout_s: float = 60.0
    ) -> subprocess.CompletedProcess[str]:
        """Run `argv` (as root) with the pods' /etc/hosts, so that it resolves the members' DNS
        names as a container would: what a tool run inside a pod sees of the cluster."""
        return subprocess.run(
            [
                *private_mounts('mount --bind "$0" /etc/hosts && exec "$@"'),
                str(self._work_dir / "hosts"),
                *argv,
            ],
            capture_output=True,
            text=True,
            timeout=timeout_s,
        )

    def etcd_returncode(self, pod_name: str) -> int | None:
        """The exit code of a pod's etcd, None while it runs (or before it started)."""
        etcd = self._pods[pod_name].etcd
        return None if etcd is None else etcd.poll()

    def process_ids(self) -> dict[str, int]:
        """The pid of every running etcd."""
        return {
            pod: run.etcd.pid
            for pod, run in self._pods.items()
            if run.etcd is not None and run.etcd.poll() is None
        }

    def stop_member(self, pod_name: str) -> None:
        run = self._pods.pop(pod_name, None)
        if run is not None:
            run.stop()

    def crash_etcd(self, pod_name: str, earlier_restarts: int = 0) -> float:
        """SIGKILL the pod's etcd container as a crash would, `earlier_restarts` being how often
        it restarted before (the kubelet's back-off grows with it); with `restart_containers` the
        kubelet's back-off follows, and this returns its length."""
        run = self._pods[pod_name]
        run.restarts["etcd"] = earlier_restarts
        self.kill_member(pod_name)
        return restart_delay_s(earlier_restarts)

    def kill_member(self, pod_name: str) -> None:
        """SIGKILL the pod's etcd (an OOM kill, a node failure); the pod stays until stopped."""
        run = self._pods.get(pod_name)
        if run is not None and run.etcd is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(run.etcd.pid, signal.SIGKILL)
            run.etcd.wait()

    def scale(self, manifests: Sequence[Manifest], deadline_s: float = STARTUP_DEADLINE_S) -> None:
        """`pulumi up` with a new `etcdReplicas`, in Pulumi's order: the ConfigMaps, the scale-down
        Job to completion, then the StatefulSet: pods above the new count deleted (their claims
        kept, as the StatefulSet's default retention does), new pods started."""
        self._apply_config_maps(manifests)
        for job in self.jobs:
            self.run_job(job)  # a failed Job stops here, as it stops `pulumi up`
        self._apply_statefulset(manifests)
        for pod_name in list(self._pods):
            if pod_name not in self.client_urls_by_pod:
                self.stop_member(pod_name)
                self.empty_pod_volumes(pod_name)
        for member in self.members:
            if member.pod_name not in self._pods:
                self.start_member(member.pod_name)
        self.wait_until_serving(deadline_s)
        self.apply_held_back()

    def run_cronjob(self, cronjob: Manifest) -> str:
        """Run one Job of a CronJob now, as its schedule would; the Job's log."""
        job = {
            "kind": "Job",
            "metadata": cronjob["metadata"],
            "spec": cronjob["spec"]["jobTemplate"]["spec"],
        }
        return self.run_job(job)

    def run_job(self, job: Manifest) -> str:
        """Run a Job's pod to completion, the kubelet's way (init containers in order, then its
        container); the log of all its containers in order, or LocalClusterError."""
        name = job["metadata"]["name"]
        pod = job["spec"]["template"]["spec"]
        work = self._work_dir / "jobs"
        work.mkdir(exist_ok=True)
        plan = plan_pod(
            pod,
            f"{name}-job",
            job["metadata"]["namespace"],
            "127.0.0.1",
            work,
            work,
            self._work_dir / "hosts",
            self._stand_ins,
        )
        self._make_volumes(plan)
        run = _PodRun(plan, work, JOB_DEADLINE_S)
        log = ""
        for container in [*plan.init_containers, *plan.containers]:
            run.log_path(container.name).unlink(missing_ok=True)  # a Job run before this one
        for container in [*plan.init_containers, *plan.containers]:
            process = run._popen(container)
            try:
                code = process.wait(JOB_DEADLINE_S)
            except subprocess.TimeoutExpired:
                _kill(process)
                raise LocalClusterError(f"Job {name} did not finish in {JOB_DEADLINE_S:.0f}s") from None
            output = run.log_path(container.name).read_text(errors="replace")
            log += output
            if code != 0:
                lines = output.strip().splitlines()
                raise LocalClusterError(f"Job {name} failed (exit code {code}): {lines[-1] if lines else ''}")
        shutil.rmtree(work / f"{name}-job", ignore_errors=True)
        self.last_job_log = log
        return log

    @contextlib.contextmanager
    def partitioned(self, pods: Sequence[str], others: Sequence[str]) -> Iterator[None]:
        """Cut `pods` off from `others`, both ways, until the block ends (the rules removed then,
        whatever happened inside): a network fault between nodes. Clients outside the pods (the
        load, the test's own reads) still reach every member."""
        if self._groups is None:
            raise PartitionError("no writable cgroup v2 hierarchy here: the lab cannot partition pods")
        with partition(
            self._groups,
            [(pod, self._member(pod).address) for pod in pods],
            [(pod, self._member(pod).address) for pod in others],
        ):
            yield

    def pod_ready(self, pod_name: str) -> bool:
        """The pod's Ready condition as the kubelet sets it: every container running, and every
        readiness probe as rendered passing (a container without one is ready once it runs)."""
        run = self._pods.get(pod_name)
        if run is None:
            return False
        with run.lock:
            processes = dict(run.processes)
        if len(processes) < len(run.plan.containers) or any(p.poll() is not None for p in processes.values()):
            return False
        return all(probe.passes() for probe in run.plan.readiness)

    def wait_until_ready(self, pod_name: str, deadline_s: float = STARTUP_DEADLINE_S) -> None:
        deadline = time.monotonic() + deadline_s
        while not self.pod_ready(pod_name):
            self._raise_if_failed()
            if time.monotonic() > deadline:
                raise LocalClusterError(f"{pod_name} was not Ready within {deadline_s:.0f}s")
            time.sleep(0.5)

    def roll(self, deadline_s: float = STARTUP_DEADLINE_S) -> None:
        """A StatefulSet's rolling update (`updateStrategy: RollingUpdate`): each pod made again,
        highest ordinal first, the next only once the updated one is Ready as its probes say."""
        for member in reversed(self.members):
            self.restart_pod(member.pod_name)
            self.wait_until_ready(member.pod_name, deadline_s)

    def evict(self, pod_name: str) -> bool:
        """An eviction (what `kubectl drain` asks for each pod of the node), judged as the API
        server judges it against the PodDisruptionBudget (`maxUnavailable: 1`: allowed only while
        every member counts healthy, that is Ready); True when the pod was evicted, and made
        again by the StatefulSet controller, as on another node."""
        if not all(self.pod_ready(member.pod_name) for member in self.members):
            return False
        self.restart_pod(pod_name)
        return True

    @contextlib.contextmanager
    def refusing(self, pods: Sequence[str], address: str) -> Iterator[None]:
        """Every connection from `pods` to `address` (a service outside them, such as the S3
        endpoint) refused until the block ends: an egress firewall, a service that is down."""
        if self._groups is None:
            raise PartitionError("no writable cgroup v2 hierarchy here: the lab cannot filter pods")
        with refused(self._groups, pods, address):
            yield

    def stop(self) -> None:
        for pod_name in list(self._pods):
            self.stop_member(pod_name)
        self._rules.close()
        if self._groups is not None:
            self._groups.remove()
        shutil.rmtree(self._work_dir, ignore_errors=True)
        shutil.rmtree(self._tmpfs_dir, ignore_errors=True)

    def _raise_if_failed(self) -> None:
        for pod_name, run in self._pods.items():
            if run.failure is not None:
                raise LocalClusterError(run.failure)
            etcd = run.etcd
            if etcd is not None and etcd.poll() is not None and not run.restart:
                raise LocalClusterError(
                    f"etcd member {pod_name} exited with code {etcd.returncode}: {self._last_error(pod_name)}"
                )

    def _last_error(self, pod_name: str) -> str:
        lines = self.log_path(pod_name).read_text(errors="replace").splitlines()
        for line in reversed(lines):
            if '"level":"fatal"' in line or "error" in line.lower() or "invalid" in line.lower():
                return line.strip()
        return lines[-1].strip() if lines else "(no output)"

    def running_pods(self) -> list[str]:
        """Pods whose etcd process runs."""
        return [pod for pod, run in self._pods.items() if run.etcd is not None and run.etcd.poll() is None]

    def statuses(self) -> dict[str, MemberStatus]:
        """Status of every member whose etcd runs."""
        result = {}
        for pod_name in self.running_pods():
            with EtcdHttpClient(self._member(pod_name).client_url, timeout_s=2.0) as client:
                result[pod_name] = client.status()
        return result

    def wait_for_leader(self, deadline_s: float = STARTUP_DEADLINE_S) -> str:
        """Poll until every running member answers and names the same leader; returns its pod."""
        return self._poll_leader(deadline_s, every_pod=False, what="no leader")

    def wait_until_serving(self, deadline_s: float = STARTUP_DEADLINE_S) -> str:
        """Poll until every pod of the StatefulSet runs etcd as a voting member under one leader
        (what the readiness probes and a finished promotion show); returns the leader's pod."""
        return self._poll_leader(deadline_s, every_pod=True, what="the members did not all serve")

    def _poll_leader(self, deadline_s: float, every_pod: bool, what: str) -> str:
        deadline = time.monotonic() + deadline_s
        problem = "no member answered"
        while time.monotonic() < deadline:
            self._raise_if_failed()
            leader, problem = self._agreed_leader(every_pod)
            if leader is not None:
                return leader
            time.sleep(0.1)
        raise LocalClusterError(f"{what} within {deadline_s:.0f}s: {problem}")

    def _agreed_leader(self, every_pod: bool) -> tuple[str | None, str]:
        """(the leader's pod, "") once the running members agree on one (with `every_pod`: every
        pod runs etcd and none is a learner); else (None, what is missing)."""
        if every_pod:
            waiting = [m.pod_name for m in self.members if m.pod_name not in self.running_pods()]
            if waiting:
                return None, f"pods not running etcd yet: {waiting}"
        try:
            statuses = self.statuses()
        except (OSError, ValueError) as error:
            return None, str(error)
        leaders = {status.leader_id for status in statuses.values()}
        if not statuses or len(leaders) != 1 or 0 in leaders:
            return None, f"no agreed leader yet: {leaders}"
        learners = [pod for pod, status in statuses.items() if status.is_learner]
        if every_pod and learners:
            return None, f"learners not promoted yet: {learners}"
        (leader_id,) = leaders
        leader = [pod for pod, status in statuses.items() if status.member_id == leader_id]
        return (leader[0], "") if leader else (None, "the leader is not one of the running pods")

    def localize(self, text: str) -> str:
        """Replace each pod's in-cluster DNS name in `text` by its local address."""
        service = self.statefulset["spec"]["serviceName"]
        namespace = self.statefulset["metadata"]["namespace"]
        for member in self.all_members:
            text = text.replace(f"{member.pod_name}.{service}.{namespace}.svc.cluster.local", member.address)
        return text

    @contextlib.contextmanager
    def client(self, index: int = 0) -> Iterator[EtcdHttpClient]:
        with EtcdHttpClient(self.members[index].client_url, credentials=self.client_credentials) as client:
            yield client
